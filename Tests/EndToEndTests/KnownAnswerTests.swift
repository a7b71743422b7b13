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
        // The healthy pod's UDP queries are all answered (its TCP one is not paired yet).
        let healthy = capture.transactions.filter { $0.client.ip.description == "10.244.1.10" }
        #expect(healthy.count == 3)
        #expect(healthy.allSatisfy { $0.outcome == .answered })
        #expect(figures.rcodes[.noError] == 2)
        #expect(figures.rcodes[.nxDomain] == 1)
        #expect(capture.report.run.engine.unsolicitedTotal == 0)
    }

    @Test func healthyCaptureHasNothingUnanswered() throws {
        let capture = try analyse("healthy.pcap")
        let figures = capture.report.figures
        #expect(figures.unanswered == 0)
        #expect(figures.answered == 20)  // 22 queries, 2 of them over TCP (not paired yet)
        #expect(figures.rcodes[.noError] == 16)
        #expect(figures.rcodes[.nxDomain] == 4)
        #expect(figures.retried == 0)
        #expect(capture.report.run.engine.unsolicitedTotal == 0)
        #expect(Set(capture.transactions.map(\.client.ip.description)) == ["10.244.1.10", "10.244.1.11"])
    }

    /// br_netfilter on: queries seen after DNAT, answers before un-DNAT. Until ClusterIP
    /// linking lands, the honest report is: queries to the pod IP unanswered, answers from
    /// the ClusterIP unsolicited — the same as tshark's pairing.
    @Test func bridgeNetfilterDNATShowsTheMismatch() throws {
        let capture = try analyse("bridge-nf-dnat.pcap")
        #expect(capture.report.figures.unanswered == 3)
        #expect(capture.report.run.engine.unsolicited[.noMatchingQuery] == 3)
        #expect(capture.transactions.allSatisfy { $0.server.ip.description == "10.244.0.53" })
    }
}
