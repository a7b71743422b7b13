import Attribution
import Diagnosis
import Foundation
import Reports
import Testing
import DNSTrailTestSupport
import Transactions

/// Issue 12: the diagnosis on captures of real cluster layouts (captures/README.md gives each
/// one's known answers, checked with tshark): CoreDNS behind the kube-dns ClusterIP, with
/// hostNetwork, behind NodeLocal DNSCache over TCP; a throttled resolver; REFUSED.
struct LayoutDiagnosisTests {
    static func analysed(_ capture: String, pods: String? = nil) throws -> AnalysedCapture {
        let directory = try pods.map { try ClusterDirectory.load(path: Paths.captures.appendingPathComponent("k8s/\($0)").path) }
        return try AnalysedCapture(Paths.captures.appendingPathComponent(capture), directory: directory ?? ClusterDirectory())
    }

    static func count(_ finding: Finding, _ name: String) -> Int? { finding.counts.first { $0.0 == name }?.1 }

    /// -i any on the node: clients ask 10.96.0.10, DNATed to the CoreDNS pod 10.244.0.53,
    /// whose 6 upstream queries to 192.0.2.53 go unanswered; 4 SERVFAIL to the clients.
    @Test func coreDNSBehindTheClusterIP() throws {
        let report = try Self.analysed("upstream-service.pcap", pods: "coredns-pod-cluster.json").report
        #expect(report.findings.map(\.kind) == [.upstreamTimeout])
        let finding = try #require(report.findings.first)
        #expect(finding.title == "DNS server kube-system/coredns-5d78c9869d-4qv8n (10.244.0.53, node-a) behind "
                + "kube-system/kube-dns Service (10.96.0.10) gets no answer from its upstream 192.0.2.53")
        #expect(finding.sources.map(\.ip.description) == ["10.244.0.53"])
        #expect(finding.servers.map(\.ip.description) == ["192.0.2.53"])
        #expect(Self.count(finding, "servfail_answers") == 4)
        #expect(Self.count(finding, "unanswered_upstream_queries") == 6)
        #expect(finding.confidence == .high)
    }

    /// The same, captured 2.6-4.2 s after the upstream queries left (less than the 5 s
    /// timeout): clients already got SERVFAIL, the upstream queries still waiting count.
    @Test func shortCaptureCountsUpstreamQueriesWaitingAtTheEnd() throws {
        let report = try Self.analysed("upstream-service-short.pcap", pods: "coredns-pod-cluster.json").report
        #expect(report.findings.map(\.kind) == [.upstreamTimeout])
        let finding = try #require(report.findings.first)
        #expect(finding.title.contains("behind kube-system/kube-dns Service (10.96.0.10)"))
        #expect(Self.count(finding, "servfail_answers") == 2)
        // 4 upstream queries, none answered: re-asked ones are unanswered, the rest waiting.
        let unanswered = Self.count(finding, "unanswered_upstream_queries") ?? 0
        let waiting = Self.count(finding, "upstream_queries_waiting_at_end") ?? 0
        #expect(unanswered + waiting == 4 && waiting >= 1, "unanswered \(unanswered), waiting \(waiting)")
    }

    /// hostNetwork CoreDNS: the DNAT to the node's address is local (never on the wire);
    /// the upstream queries leave from 172.18.0.10 asking what the clients asked.
    @Test func hostNetworkCoreDNS() throws {
        let report = try Self.analysed("upstream-hostnetwork.pcap", pods: "coredns-hostnetwork-cluster.json").report
        #expect(report.findings.map(\.kind) == [.upstreamTimeout])
        let finding = try #require(report.findings.first)
        #expect(finding.sources.map(\.ip.description) == ["172.18.0.10"])
        #expect(finding.title.hasPrefix("DNS server kube-system/coredns-"))
        #expect(finding.title.contains("(172.18.0.10, host network on node-a) behind kube-system/kube-dns Service (10.96.0.10)"))
        #expect(finding.servers.map(\.ip.description) == ["192.0.2.53"])
        #expect(Self.count(finding, "servfail_answers") == 4)
        #expect(Self.count(finding, "unanswered_upstream_queries") == 6)
        // Without --pods the link still holds, by the forwarded names.
        let bare = try Self.analysed("upstream-hostnetwork.pcap").report
        #expect(bare.findings.first?.title == "DNS server 172.18.0.10 behind 10.96.0.10 (probably the kube-dns Service) gets "
                + "no answer from its upstream 192.0.2.53")
    }

    /// NodeLocal DNSCache (169.254.20.10) forwards to kube-dns over TCP from the node's
    /// address; the DNAT happens in OUTPUT, so the ClusterIP only comes from --pods.
    @Test func nodeLocalCacheOverTCP() throws {
        let report = try Self.analysed("upstream-nodelocal-tcp.pcap", pods: "nodelocal-cluster.json").report
        #expect(report.findings.map(\.kind) == [.upstreamTimeout])
        let finding = try #require(report.findings.first)
        #expect(finding.title == "DNS server kube-system/coredns-5d78c9869d-4qv8n (10.244.0.53, node-a) behind "
                + "kube-system/kube-dns Service (10.96.0.10) gets no answer from its upstream 192.0.2.53")
        #expect(finding.explanation.contains("NodeLocal DNSCache (169.254.20.10) passed the same failures on to its own clients"))
        #expect(Self.count(finding, "unanswered_upstream_queries") == 4)
    }

    /// 1360 queries from 172.18.0.10 to 169.254.169.253 limited to 100/s by nftables:
    /// 20/s all answered, 400/s mostly dropped (896 = the nft drop counter).
    @Test func throttledResolver() throws {
        let report = try Self.analysed("resolver-throttled.pcap").report
        #expect(report.findings.map(\.kind) == [.resolverThrottled])
        let finding = try #require(report.findings.first)
        #expect(finding.sources.map(\.ip.description) == ["172.18.0.10"])
        #expect(finding.servers.map(\.ip.description) == ["169.254.169.253"])
        #expect(Self.count(finding, "lost_attempts_at_high_rate") == 896)
        #expect(Self.count(finding, "lost_attempts_at_low_rate") == 0)
        #expect(Self.count(finding, "peak_rate_per_second") == 400)
        #expect(finding.confidence == .high)
        #expect(finding.explanation.contains("Query rate in the seconds with losses: "))
    }

    /// unbound's access-control refuses 10.244.1.11 (7 REFUSED, without a question
    /// section) and answers 10.244.1.10.
    @Test func refusedByTheServersACL() throws {
        let report = try Self.analysed("refused.pcap", pods: "coredns-pod-cluster.json").report
        #expect(report.findings.map(\.kind) == [.serverRefused])
        let finding = try #require(report.findings.first)
        #expect(finding.sources.map(\.ip.description) == ["10.244.1.11"])
        #expect(Self.count(finding, "refused_answers") == 7)
        #expect(Self.count(finding, "answered_otherwise") == 3)
        #expect(finding.confidence == .high)
    }

    /// dnsdist delays three answers by 6 s, after dig gave up at 5 s: linked as late, with
    /// their latency, and the server named.
    @Test func lateAnswersAreLinkedAndTheServerNamed() throws {
        let analysed = try Self.analysed("late-answers.pcap")
        let late = analysed.transactions.filter { $0.outcome == .late }
        #expect(late.compactMap(\.response?.frame).sorted() == [7, 9, 10])
        #expect(late.allSatisfy { ($0.latency?.nanoseconds ?? 0) > 6_000_000_000 && ($0.latency?.nanoseconds ?? 0) < 6_004_000_000 })
        #expect(analysed.report.findings.map(\.kind) == [.lateAnswers])
        let finding = try #require(analysed.report.findings.first)
        #expect(finding.servers.map(\.ip.description) == ["10.96.0.10"])
        #expect(Self.count(finding, "late_answers") == 3)
        #expect(Self.count(finding, "slowest_latency_ms") == 6003)
    }

    /// On captures nobody here recorded: late answers found where tshark pairs answers
    /// 6.7-11.4 s after their query; REFUSED to an UPDATE, a NOTIFY or a single query is
    /// no finding.
    @Test(.enabled(if: PublicCaptures.shouldRun, PublicCaptures.skipReason))
    func publicCapturesFindLateAnswersAndNoRefusalAlarms() throws {
        let expected: [String: [FindingKind]] = [
            "zeek_erspan.pcap": [.lateAnswers], "ndpi_bad-dns-traffic.pcap": [.lateAnswers],
            "zeek_dynamic-update.pcap": [], "zeek_dns_notify2.pcap": [], "zeek_Teredo.pcap": [],
        ]
        for (name, kinds) in expected.sorted(by: { $0.key < $1.key }) {
            let analysed = try AnalysedCapture(Paths.publicCaptures.appendingPathComponent(name))
            #expect(analysed.report.findings.map(\.kind) == kinds, "\(name): \(analysed.report.findings.map(\.title))")
        }
    }
}
