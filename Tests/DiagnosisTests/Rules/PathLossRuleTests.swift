import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// PathLossRule: a source's queries left the node after its DNAT and died beyond it.
struct PathLossRuleTests {
    typealias Shapes = DiagnoserTests

    /// Pod 10.244.1.11's three queries to the ClusterIP, each seen after the DNAT going to
    /// the CoreDNS pod on another node (`backend`), last seen on interface 6; another pod answered.
    static func lostBeyond(backend: String? = "10.244.0.53") -> [Transaction] {
        var transactions = (0..<3).map { index in
            var lost = Shapes.transaction(client: "10.244.1.11", port: UInt16(41000 + index), server: "10.96.0.10",
                                          at: Int64(index * 10), id: UInt16(index), outcome: .unanswered, retryAfter: 1000,
                                          backend: backend)
            lost.seenOn = backend == nil ? [4, 2] : [4, 2, 6]
            return lost
        }
        transactions.append(Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 50, id: 9, outcome: .answered,
                                               backend: "10.244.0.53"))
        return transactions
    }

    @Test func queriesSeenAfterTheDNATAreLostBeyondTheNode() throws {
        var diagnoser = Diagnoser()
        for transaction in Self.lostBeyond() { diagnoser.add(transaction) }
        var context = DiagnosisContext(timeout: .seconds(5))
        context.interfaceNames = [6: "eth0"]
        let result = diagnoser.findings(context: context)
        #expect(result.map(\.kind) == [.pathLoss])
        let finding = try #require(result.first)
        #expect(finding.sources.map(\.ip.description) == ["10.244.1.11"])
        #expect(finding.servers.map(\.ip.description) == ["10.96.0.10", "10.244.0.53"])
        #expect(finding.counts.first { $0.0 == "attempts_seen_after_dnat" }?.1 == 6)
        #expect(finding.explanation.contains("sent on to 10.244.0.53 and left through eth0 (6 attempts)"))
        #expect(finding.remediation.contains("security group"))
        #expect(!finding.remediation.contains("NetworkPolicy with"))
        #expect(finding.confidence == .high)
    }

    /// Never seen past the DNAT: stopped on this node, the egress policy's signature.
    @Test func queriesNeverSeenAfterTheDNATAreEgressBlocked() {
        #expect(Shapes().findings(Self.lostBeyond(backend: nil)).map(\.kind) == [.egressBlocked])
    }

    /// Rejected by ICMP: a REJECT rule answered, not a silent loss beyond the node.
    @Test func rejectedQueriesStayEgressBlocked() {
        var transactions = Self.lostBeyond()
        for index in transactions.indices where transactions[index].client.ip.description == "10.244.1.11" {
            transactions[index].outcome = .rejected
            transactions[index].rejection = Rejection(frame: 90, time: Timestamp(nanoseconds: 1_000_000),
                                                      error: ICMPError(isIPv6: false, type: 3, code: 13,
                                                                       sender: Shapes.ip("10.244.1.1")))
        }
        #expect(Shapes().findings(transactions).map(\.kind) == [.egressBlocked])
    }
}
