import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// ParallelQueryLossRule: the conntrack race, and the shapes that are not it.
struct ParallelQueryLossRuleTests {
    typealias Shapes = DiagnoserTests

    func findings(_ transactions: [Transaction], directory: ClusterDirectory = ClusterDirectory()) -> [Finding] {
        Shapes().findings(transactions, directory: directory)
    }

    /// A and AAAA from one socket within microseconds (paired by the engine as
    /// `sentWith`); AAAA lost and re-sent 5 s later.
    @Test func parallelQueryLossIsTheConntrackRace() throws {
        var lost = Shapes.transaction(client: "10.244.1.10", port: 51000, server: "10.96.0.10", at: 0, id: 8, type: .aaaa,
                                    outcome: .answered, retryAfter: 5000, frame: 10)
        lost.sentWith = ParallelQuery(frame: 1, type: .a, answeredFirstTry: true)
        let result = findings([
            Shapes.transaction(client: "10.244.1.10", port: 51000, server: "10.96.0.10", at: 0, id: 7, type: .a, outcome: .answered),
            lost,
        ])
        #expect(result.map(\.kind) == [.parallelQueryLoss])
        #expect(result.first?.confidence == .high)
        #expect(result.first?.examples.first?.note?.contains("re-sent after 5.0 s") == true)
    }

    /// A pair where both were lost (the server is down) is not the race, nor is a plain
    /// retry with no partner.
    @Test func bothLostIsNotTheRace() {
        var lost = Shapes.transaction(client: "10.244.1.10", port: 51000, server: "10.96.0.10", at: 0, id: 8, type: .aaaa,
                                    outcome: .answered, retryAfter: 5000, frame: 10)
        lost.sentWith = ParallelQuery(frame: 1, type: .a, answeredFirstTry: false)
        #expect(findings([lost]).isEmpty)
    }

    /// A plain retry after a timeout, with no sibling query, is not the race.
    @Test func lonelyRetryIsNotTheRace() {
        let result = findings([
            Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, outcome: .answered, retryAfter: 5000),
            Shapes.transaction(client: "10.244.1.12", server: "10.96.0.10", at: 0, outcome: .answered),
        ])
        #expect(result.isEmpty)
    }
}
