import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// LateAnswersRule: answers that arrive after the client's deadline.
struct LateAnswersRuleTests {
    typealias Shapes = DiagnoserTests

    func findings(_ transactions: [Transaction]) -> [Finding] { Shapes().findings(transactions) }

    /// A transaction the engine closed as late: answered `after` milliseconds after its query.
    static func late(client: String, port: UInt16, at: Int64, after: Int64, id: UInt16) -> Transaction {
        var transaction = Shapes.transaction(client: client, port: port, server: "10.96.0.10", at: at, id: id,
                                             outcome: .answered, answerAfter: after)
        transaction.outcome = .late
        return transaction
    }

    @Test func serverAnsweringAfterTheTimeoutIsNamed() throws {
        let result = findings([
            Self.late(client: "10.244.1.10", port: 40001, at: 0, after: 6_000, id: 1),
            Self.late(client: "10.244.1.11", port: 40002, at: 10, after: 11_000, id: 2),
            Self.late(client: "10.244.1.11", port: 40003, at: 20, after: 7_000, id: 3),
            Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 30, id: 4, outcome: .answered),
        ])
        #expect(result.map(\.kind) == [.lateAnswers])
        let finding = try #require(result.first)
        #expect(finding.confidence == .high)
        #expect(finding.title == "DNS server 10.96.0.10 (probably the kube-dns Service) answers after its clients gave up: "
                + "3 late answers (median 7.0 s, timeout 5.0 s)")
        #expect(finding.explanation.contains("(6.0 to 11.0 s after the query; NOERROR 3), out of 4 answers from it"))
        #expect(finding.sources.map(\.ip.description) == ["10.244.1.10", "10.244.1.11"])
        #expect(finding.counts.first { $0.0 == "slowest_latency_ms" }?.1 == 11_000)
    }

    /// A late answer proves the path works: its source is not blinded, its server answered.
    @Test func aLateAnswerIsNoBlindedSource() {
        var transactions = (0..<3).map { index in
            Self.late(client: "10.244.1.11", port: UInt16(40000 + index), at: Int64(index * 10), after: 6_000, id: UInt16(index))
        }
        transactions.append(Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 50, id: 9, outcome: .answered))
        let kinds = findings(transactions).map(\.kind)
        #expect(kinds == [.lateAnswers])
    }

    /// Slow but within the timeout is answered, not late: no finding.
    @Test func slowWithinTheTimeoutIsNotLate() {
        let result = findings([Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, outcome: .answered,
                                                  answerAfter: 4_000)])
        #expect(result.isEmpty)
    }
}
