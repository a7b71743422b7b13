import Foundation
import Testing
import Reports
import Transactions

/// The facts `captures/README.md` states for each bundled capture (verified there with
/// tshark), asserted directly: the golden files pin every figure, these pin what matters.
struct KnownAnswerTests {
    func analyse(_ name: String) throws -> AnalysedCapture {
        try AnalysedCapture(Paths.captures.appendingPathComponent(name))
    }

    /// Incident 1: pod 10.244.1.11's DNS dropped by an egress policy; 10.244.1.10 fine.
    @Test func egressDenyNamesExactlyTheBlindedPod() throws {
        let capture = try analyse("egress-deny.pcap")
        let figures = capture.report.figures
        let bySource = figures.unansweredBySource
        #expect(bySource.map(\.client.description) == ["10.244.1.11"])
        let source = try #require(bySource.first)
        #expect(source.queries == 4)
        #expect(source.attempts == 8)
        #expect(source.servers.map { "\($0.0.server)/\($0.0.transport)" } == ["10.96.0.10:53/udp"])
        let names = Set(ReportBuilder.sortedNames(source.servers[0].1).map { "\($0.0.qname) \($0.0.qtype)" })
        #expect(names == ["kubernetes.default.svc.cluster.local. A", "redis.sales.svc.cluster.local. A",
                          "api.payments.svc.cluster.local. AAAA",
                          "_dns._udp.kube-dns.kube-system.svc.cluster.local. SRV"])
        // dig +tries=2: every unanswered query sent twice, same id, new source port.
        for transaction in capture.transactions where transaction.outcome == .unanswered {
            #expect(transaction.attempts.count == 2)
            #expect(Set(transaction.attempts.map(\.clientPort)).count == 2)
        }
        // The healthy pod's queries are all answered, over UDP and TCP.
        let healthy = capture.transactions.filter { $0.client.ip.description == "10.244.1.10" }
        #expect(healthy.count == 4)
        #expect(healthy.allSatisfy { $0.outcome == .answered })
        #expect(healthy.filter { $0.transport == .tcp }.count == 1)
        #expect(figures.rcodes[.noError] == 3)
        #expect(figures.rcodes[.nxDomain] == 1)
        #expect(capture.report.run.engine.unsolicitedTotal == 0)
    }

    @Test func healthyCaptureHasNothingUnanswered() throws {
        let capture = try analyse("healthy.pcap")
        let figures = capture.report.figures
        #expect(figures.unanswered == 0)
        #expect(figures.answered == 22)
        #expect(capture.transactions.filter { $0.transport == .tcp }.count == 2)
        #expect(figures.rcodes[.noError] == 18)
        #expect(figures.rcodes[.nxDomain] == 4)
        #expect(figures.retried == 0)
        #expect(capture.report.run.engine.unsolicitedTotal == 0)
        #expect(Set(capture.transactions.map(\.client.ip.description)) == ["10.244.1.10", "10.244.1.11"])
    }

    /// br_netfilter on: queries seen after DNAT (to the CoreDNS pod IP), answers before
    /// un-DNAT (from the ClusterIP). Each pairs by client port, id and question, with the
    /// changed address recorded — tshark pairs none of them.
    @Test func bridgeNetfilterDNATPairsAcrossTheAddressChange() throws {
        let capture = try analyse("bridge-nf-dnat.pcap")
        #expect(capture.report.figures.answered == 4)
        #expect(capture.report.figures.unanswered == 0)
        #expect(capture.report.run.engine.unsolicitedTotal == 0)
        #expect(capture.report.run.engine.answeredFromAnotherAddress == 4)
        #expect(capture.transactions.allSatisfy { $0.server.ip.description == "10.244.0.53" })
        #expect(capture.transactions.allSatisfy { $0.response?.source?.ip.description == "10.96.0.10" })
    }

    /// TCP 53 dropped: each truncated answer's TCP retry sends 2 SYNs, never answered.
    @Test func tcpBlockedShowsFailedFallbacks() throws {
        let capture = try analyse("tcp-blocked.pcap")
        let truncated = capture.transactions.filter(\.isTruncated)
        #expect(truncated.count == 3)
        let failed = truncated.filter { $0.fallback?.outcome == .handshakeFailed }
        #expect(failed.map(\.client.ip.description) == ["10.244.1.10", "10.244.1.10"])
        #expect(failed.allSatisfy { $0.fallback?.attempts == 2 && $0.fallback?.id == nil })
        let worked = truncated.filter { $0.fallback?.outcome == .answered }
        #expect(worked.map(\.client.ip.description) == ["10.244.1.11"])
        #expect(capture.transactions.count == 6)  // 7 queries: one TCP retry merged into its UDP query
        #expect(capture.report.figures.unanswered == 0)
    }

    /// TCP 53 refused: every SYN answered by RST from the ClusterIP.
    @Test func tcpResetShowsRefusedFallbacks() throws {
        let capture = try analyse("tcp-reset.pcap")
        let truncated = capture.transactions.filter(\.isTruncated)
        #expect(truncated.count == 2)
        #expect(truncated.allSatisfy { $0.fallback?.outcome == .reset && $0.fallback?.resetFrame != nil })
        #expect(capture.transactions.count == 5)
    }

    /// Truncated answers retried over TCP successfully (dig: new id; glibc: same id), and
    /// connections carrying several queries.
    @Test func tcFallbackSucceeds() throws {
        let capture = try analyse("tc-fallback.pcap")
        #expect(capture.report.figures.answered == 11)  // 14 queries, 3 of them TCP retries
        let truncated = capture.transactions.filter(\.isTruncated)
        #expect(truncated.count == 3)
        #expect(truncated.allSatisfy { $0.fallback?.outcome == .answered && $0.fallback?.rcode != nil })
        #expect(truncated.contains { $0.fallback?.id == $0.id })   // glibc keeps the id
        #expect(truncated.contains { $0.fallback?.id != $0.id })   // dig takes a new one
        let tcp = capture.transactions.filter { $0.transport == .tcp }
        let perConnection = Dictionary(grouping: tcp, by: \.client.port).values.map(\.count).sorted()
        #expect(perConnection.suffix(2) == [3, 3])
        #expect(capture.report.figures.rcodes[.nxDomain] == 2)
    }

    /// Large answers in 3 IP fragments each, IPv4 and IPv6, reassembled and paired.
    @Test func fragmentedAnswersAreReassembled() throws {
        let capture = try analyse("fragmented.pcap")
        #expect(capture.report.figures.answered == 4)
        #expect(capture.report.figures.unanswered == 0)
        #expect(capture.report.run.packets.reassembledDatagrams == 2)
        #expect(Set(capture.transactions.map { $0.server.ip.isIPv6 }) == [false, true])
    }

    @Test func ipv6PodDropped() throws {
        let capture = try analyse("ipv6-pod-dropped.pcap")
        let bySource = capture.report.figures.unansweredBySource
        #expect(bySource.map(\.client.description) == ["fd00:10:244:1::11"])
        #expect(bySource.first?.servers.map { "\($0.0.server)" } == ["[fd00:10:96::a]:53"])
        #expect(bySource.first?.queries == 3)
        #expect(bySource.first?.attempts == 6)
        #expect(capture.report.figures.answered == 8)
    }

    /// Branch ENIs on a trunk: each pod on its own VLAN; VLAN 102's DNS is dropped.
    @Test func vlanTrunkKeepsTags() throws {
        let capture = try analyse("vlan-trunk.pcap")
        let unanswered = capture.transactions.filter { $0.outcome == .unanswered }
        #expect(unanswered.count == 3)
        #expect(unanswered.allSatisfy { $0.vlanIDs.array == [102] && $0.client.ip.description == "10.244.1.11" })
        let answered = capture.transactions.filter { $0.outcome == .answered }
        #expect(answered.count == 4)
        #expect(answered.allSatisfy { $0.vlanIDs.array == [101] })
    }

    /// Pod-to-pod DNS between nodes inside VXLAN (4789 and Flannel's 8472): attributed to
    /// the inner pod IPs, node IPs kept as the underlay.
    @Test(arguments: ["vxlan-nodes.pcap", "vxlan-flannel.pcap"])
    func vxlanIsDecapsulated(name: String) throws {
        let capture = try analyse(name)
        #expect(capture.report.figures.answered == 4)
        let unanswered = capture.transactions.filter { $0.outcome == .unanswered }
        #expect(unanswered.count == 3)
        #expect(unanswered.allSatisfy { $0.client.ip.description == "10.244.1.11" && $0.attemptCount == 2 })
        #expect(capture.transactions.allSatisfy {
            $0.underlay?.encapsulation == .vxlan && $0.underlay?.networkIdentifier == 1
                && Set([$0.underlay?.source.description, $0.underlay?.destination.description]) == ["192.168.50.1", "192.168.50.2"]
        })
    }

    /// `-i any`: every packet seen on 2-3 interfaces, before and after DNAT. Each query
    /// once, server the ClusterIP, backend the CoreDNS pod; the dropped pod's queries last
    /// seen on br0 (ifindex 2), never on veth-coredns (5).
    @Test func anyInterfaceDNATIsOneTransactionPerQuery() throws {
        let capture = try analyse("any-dnat.pcap")
        #expect(capture.transactions.count == 6)
        #expect(capture.transactions.allSatisfy { $0.server.ip.description == "10.96.0.10" })
        let answered = capture.transactions.filter { $0.outcome == .answered }
        #expect(answered.count == 4)
        #expect(answered.allSatisfy { $0.backend?.ip.description == "10.244.0.53" && $0.seenOn.contains(5) })
        let unanswered = capture.transactions.filter { $0.outcome == .unanswered }
        #expect(unanswered.map(\.client.ip.description) == ["10.244.1.11", "10.244.1.11"])
        #expect(unanswered.allSatisfy { $0.attemptCount == 2 && $0.seenOn == [4, 2] && $0.backend == nil })
        #expect(capture.report.run.engine.unsolicitedTotal == 0)
    }

    /// Issue 15.8: the TCP query of any-dnat.pcap (frames 28, 29, 30) crosses the pod's veth
    /// (3), br0 (2) and, DNAT'ed, veth-coredns (5). The br0 copy has the veth copy's 5-tuple,
    /// so the stream reassembler took it for a retransmission and `seen_on` lost br0.
    @Test func tcpQuerySeenOnThreeInterfacesKeepsAllThree() throws {
        let capture = try analyse("any-dnat.pcap")
        let tcp = try #require(capture.transactions.first { $0.transport == .tcp })
        #expect(tcp.seenOn == [3, 2, 5])
        #expect(tcp.attemptCount == 1)
        #expect(tcp.outcome == .answered)
        #expect(tcp.backend?.ip.description == "10.244.0.53")
    }

    /// Incident 1 enforced with REJECT: each of the blinded pod's 6 queries is sent twice and
    /// each of the 12 attempts refused by ICMP (administratively prohibited, then port
    /// unreachable after the rule was swapped): 6 transactions closed as rejected.
    @Test func udpRejectClosesQueriesAsRejected() throws {
        let capture = try analyse("udp-reject.pcap")
        #expect(capture.transactions.count == 10)
        let rejected = capture.transactions.filter { $0.outcome == .rejected }
        #expect(rejected.count == 6)
        #expect(rejected.allSatisfy { $0.client.ip.description == "10.244.1.11" && $0.attemptCount == 2 && $0.rejections == 2 })
        let reasons = Dictionary(grouping: rejected, by: { $0.rejection?.error.reason ?? "" }).mapValues(\.count)
        #expect(reasons == ["administratively-prohibited": 3, "port-unreachable": 3])
        #expect(capture.report.figures.unanswered == 0)
        #expect(capture.report.findings.first?.explanation.contains("REJECT rule") == true)
    }
}
