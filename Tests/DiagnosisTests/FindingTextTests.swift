import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// Issue 15.8: a finding's words, confidence and counts say what its examples show.
struct FindingTextTests {
    typealias Shapes = DiagnoserTests

    func findings(_ transactions: [Transaction]) -> [Finding] {
        DiagnoserTests().findings(transactions)
    }

    /// Many parallel pairs whose lost query is re-sent after 1.1 s (a resolver with a short
    /// timeout, or plain loss): not "about 5 s", so medium confidence, and the text says 1.1 s.
    @Test func parallelLossRetriedAfterOneSecondIsNotClaimedAsTheFiveSecondRace() throws {
        var transactions: [Transaction] = []
        for pair in 0..<20 {
            let port = UInt16(51000 + pair)
            transactions.append(Shapes.transaction(client: "10.244.1.10", port: port, server: "10.96.0.10", at: Int64(pair * 100),
                                                   id: UInt16(pair * 2), type: .a, outcome: .answered))
            var lost = Shapes.transaction(client: "10.244.1.10", port: port, server: "10.96.0.10", at: Int64(pair * 100),
                                          id: UInt16(pair * 2 + 1), type: .aaaa, outcome: .answered, retryAfter: 1100, frame: 10)
            lost.sentWith = ParallelQuery(frame: 1, type: .a, answeredFirstTry: true)
            transactions.append(lost)
        }
        let finding = try #require(findings(transactions).first { $0.kind == .parallelQueryLoss })
        #expect(finding.confidence == .medium)
        #expect(finding.counts.first { $0.0 == "retries_after_about_5_s" }?.1 == 0)
        #expect(finding.explanation.contains("re-sent after 1.1 s (median), not the 5 s of glibc's default timeout"))
        #expect(!finding.explanation.contains("only after the resolver's timeout"))
        #expect(finding.examples.allSatisfy { $0.note?.contains("re-sent after 1.1 s") == true })
    }

    /// Most lost queries re-sent at glibc's 5 s: the race's signature, high confidence.
    @Test func parallelLossRetriedAfterFiveSecondsIsHighConfidence() throws {
        var transactions: [Transaction] = []
        for pair in 0..<3 {
            let port = UInt16(52000 + pair)
            transactions.append(Shapes.transaction(client: "10.244.1.10", port: port, server: "10.96.0.10", at: Int64(pair * 100),
                                                   id: UInt16(pair * 2), type: .a, outcome: .answered))
            var lost = Shapes.transaction(client: "10.244.1.10", port: port, server: "10.96.0.10", at: Int64(pair * 100),
                                          id: UInt16(pair * 2 + 1), type: .aaaa, outcome: .answered,
                                          retryAfter: pair == 0 ? 2000 : 5003, frame: 10)
            lost.sentWith = ParallelQuery(frame: 1, type: .a, answeredFirstTry: true)
            transactions.append(lost)
        }
        let finding = try #require(findings(transactions).first { $0.kind == .parallelQueryLoss })
        #expect(finding.confidence == .high)
        #expect(finding.counts.first { $0.0 == "retries_after_about_5_s" }?.1 == 2)
        #expect(finding.explanation.contains("only after the resolver's timeout (glibc: 5 s)"))
    }

    /// A REJECT rule refuses every query with ICMP: the finding says rejected, not unanswered.
    @Test func rejectedQueriesAreCalledRejected() throws {
        var transactions: [Transaction] = []
        for index in 0..<3 {
            var refused = Shapes.transaction(client: "10.244.1.11", port: UInt16(40000 + index), server: "10.96.0.10",
                                             at: Int64(index * 10), id: UInt16(index), outcome: .rejected)
            refused.rejection = Rejection(frame: 2, time: Timestamp(nanoseconds: 1_000_000),
                                          error: ICMPError(isIPv6: false, type: 3, code: 13, sender: Shapes.ip("10.244.1.1")))
            transactions.append(refused)
        }
        transactions.append(Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 50, outcome: .answered))
        let finding = try #require(findings(transactions).first { $0.kind == .egressBlocked })
        #expect(finding.explanation.hasPrefix("Every DNS query from 10.244.1.11 was rejected (3 queries), while 1 other source"))
        #expect(!finding.explanation.contains("went unanswered"))
    }

    /// One answered query elsewhere: "1 query", never "1 queries".
    @Test func singularCountsReadSingular() throws {
        let result = findings([
            Shapes.transaction(client: "10.244.1.11", server: "169.254.20.10", at: 0, outcome: .unanswered),
            Shapes.transaction(client: "10.244.1.11", server: "169.254.20.10", at: 10, outcome: .unanswered),
            Shapes.transaction(client: "10.244.1.11", server: "10.96.0.10", at: 20, outcome: .answered),
        ])
        let finding = try #require(result.first { $0.kind == .nodeLocalBlocked })
        #expect(finding.explanation.contains("while 1 query from the same source to another server"), "\(finding.explanation)")
        #expect(!finding.explanation.contains("1 queries"))
    }

    /// A query in flight at the capture's end is neither a failure nor an answer to diagnose.
    @Test func inFlightQueriesAreNoFailures() {
        var transactions: [Transaction] = []
        for index in 0..<4 {
            var waiting = Shapes.transaction(client: "10.244.1.11", port: UInt16(40000 + index), server: "10.96.0.10",
                                             at: Int64(index * 10), id: UInt16(index), outcome: .inFlight)
            waiting.expiry = .captureEnd
            transactions.append(waiting)
        }
        transactions.append(Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 50, outcome: .answered))
        #expect(findings(transactions).isEmpty)
    }
}
