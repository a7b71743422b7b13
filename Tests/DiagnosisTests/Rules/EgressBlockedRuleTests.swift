import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// EgressBlockedRule: every query of some sources fails while others reach the same server.
struct EgressBlockedRuleTests {
    typealias Shapes = DiagnoserTests

    func findings(_ transactions: [Transaction]) -> [Finding] { Shapes().findings(transactions) }

    @Test func blindedPodWhileAnotherIsAnswered() throws {
        var transactions = (0..<3).map { index in
            Shapes.transaction(client: "10.244.1.11", port: UInt16(41000 + index), server: "10.96.0.10", at: Int64(index * 10),
                               id: UInt16(index), outcome: .unanswered, retryAfter: 1000)
        }
        transactions.append(Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 50, outcome: .answered))
        let result = findings(transactions)
        #expect(result.map(\.kind) == [.egressBlocked])
        let finding = try #require(result.first)
        #expect(finding.sources.map(\.ip.description) == ["10.244.1.11"])
        #expect(finding.confidence == .high)
        #expect(finding.counts.first { $0.0 == "failed_queries" }?.1 == 3)
        #expect(finding.remediation.contains("{protocol: TCP, port: 53}"))
    }

    /// Nobody answered by that server: a dead server, not a policy on these pods.
    @Test func nobodyAnsweredIsNotEgressBlocked() {
        let transactions = (0..<3).map { index in
            Shapes.transaction(client: "10.244.1.11", port: UInt16(41000 + index), server: "10.96.0.10", at: Int64(index * 10),
                               id: UInt16(index), outcome: .unanswered)
        }
        #expect(findings(transactions).isEmpty)
    }

    /// The CoreDNS pod behind the ClusterIP (the DNAT backend that answered) sends its own
    /// queries upstream; when those fail it is upstream trouble, never a blinded pod, even
    /// when the upstream answers someone else.
    @Test func theBackendOfAServiceIsNoBlindedPod() {
        var transactions = [
            Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, outcome: .answered, backend: "10.244.0.53"),
            Shapes.transaction(client: "10.244.0.54", server: "192.0.2.53", at: 1, outcome: .answered),
        ]
        for index in 0..<3 {
            transactions.append(Shapes.transaction(client: "10.244.0.53", port: UInt16(42000 + index), server: "192.0.2.53",
                                                   at: Int64(10 + index), id: UInt16(index), outcome: .unanswered))
        }
        #expect(!findings(transactions).contains { $0.kind == .egressBlocked })
    }
}
