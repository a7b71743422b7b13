import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Transactions

/// Issue 12.2: an answer that comes after its query's deadline (last attempt + 5 s timeout
/// + 0.5 s grace) links to the query as `late`, within `TransactionEngine.lateWindow` (30 s)
/// of that deadline, instead of an unanswered query and an unsolicited response.
struct LateAnswerTests {
    typealias Run = TransactionEngineTests.Run
    static let otherClient = IPAddress("10.244.1.11")!

    /// zeek_erspan.pcap's shape: a SERVFAIL 11 s after the query.
    @Test func answerAfterTheDeadlineWithinTheWindowIsLateWithItsLatency() throws {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.query(frame: 2, at: 7000, port: 50000, client: LateAnswerTests.otherClient)
        #expect(run.closed.isEmpty, "past its deadline, the query is held, not handed over")
        run.response(frame: 3, at: 11_378, rcode: .servFail)
        let transaction = try #require(run.closed.first)
        #expect(run.closed.count == 1)
        #expect(transaction.outcome == .late)
        #expect(transaction.expiry == nil)
        #expect(transaction.response?.frame == 3)
        #expect(transaction.response?.rcode == .servFail)
        #expect(transaction.response?.attemptIndex == 0)
        #expect(transaction.latency == .milliseconds(11_378))
        #expect(run.engine.statistics.late == 1)
        #expect(run.engine.statistics.unanswered == 0)
        #expect(run.engine.statistics.unsolicitedTotal == 0)
        #expect(run.engine.expiredCount == 0)
    }

    /// An answer inside the grace after the timeout is still an ordinary answer.
    @Test func answerBeforeTheDeadlineIsAnswered() {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.response(frame: 2, at: 5400)
        run.finish()
        #expect(run.closed.map(\.outcome) == [.answered])
    }

    @Test func answerAfterTheLateWindowIsUnsolicitedAndTheQueryUnanswered() throws {
        var run = Run()
        run.query(frame: 1, at: 0)
        // Deadline 5.5 s, late window until 35.5 s.
        run.response(frame: 2, at: 35_600)
        let transaction = try #require(run.closed.first)
        #expect(transaction.outcome == .unanswered)
        #expect(transaction.expiry == .timeout)
        #expect(transaction.response == nil)
        #expect(run.engine.statistics.unsolicited[.noMatchingQuery] == 1)
        #expect(run.engine.statistics.late == 0)
    }

    @Test func answerJustInsideTheLateWindowIsLate() {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.response(frame: 2, at: 35_400)
        #expect(run.closed.map(\.outcome) == [.late])
    }

    /// The capture ends during the late window: unanswered, with the expiry it had (timeout),
    /// handed over before the queries still outstanding.
    @Test func heldQueriesAtCaptureEndAreUnansweredByTimeout() throws {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.query(frame: 2, at: 9000, port: 50000, client: LateAnswerTests.otherClient)
        run.finish()
        #expect(run.closed.map(\.outcome) == [.unanswered, .inFlight])
        #expect(run.closed.map(\.expiry) == [.timeout, .captureEnd])
        #expect(run.closed.first?.attempts.map(\.frame) == [1])
        #expect(run.engine.statistics.unanswered == 1)
        #expect(run.engine.expiredCount == 0)
    }

    /// Retries join the transaction as before; a late answer to the first attempt's port
    /// names that attempt, and latency counts from the first attempt.
    @Test func lateAnswerToARetriedQueryNamesTheAttemptItAnswers() throws {
        var run = Run()
        run.query(frame: 1, at: 0, port: 40000)
        run.query(frame: 2, at: 5000, port: 40001)
        // Deadline 10.5 s after the first attempt; the answer to the first port at 12 s.
        run.response(frame: 3, at: 12_000, port: 40000)
        let transaction = try #require(run.closed.first)
        #expect(transaction.outcome == .late)
        #expect(transaction.attempts.map(\.frame) == [1, 2])
        #expect(transaction.response?.attemptIndex == 0)
        #expect(transaction.latency == .milliseconds(12_000))
        #expect(run.engine.statistics.retries == 1)
    }

    /// The client asks again with the same id from the same port after the deadline: the
    /// new query is outstanding and takes the answer; the old one stays unanswered.
    @Test func newerQueryWithTheSameKeyTakesTheAnswer() throws {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.query(frame: 2, at: 8000)
        run.response(frame: 3, at: 8100)
        run.finish()
        #expect(run.closed.map(\.outcome) == [.answered, .unanswered])
        #expect(run.closed.first?.attempts.map(\.frame) == [2])
        #expect(run.closed.first?.response?.frame == 3)
        #expect(run.closed.last?.attempts.map(\.frame) == [1])
        #expect(run.closed.last?.expiry == .timeout)
    }

    @Test func lateAnswerWithAnotherQuestionIsUnsolicited() {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.response(frame: 2, at: 9000, question: QuestionKey(nameHash: 0xbeef, type: .aaaa, qclass: .in))
        #expect(run.closed.isEmpty)
        #expect(run.engine.statistics.unsolicited[.noMatchingQuery] == 1)
        run.finish()
        #expect(run.closed.map(\.outcome) == [.unanswered])
    }

    /// A late answer carrying no question (FORMERR) pairs by 5-tuple and id, as on time.
    @Test func lateAnswerWithoutQuestionPairs() {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.response(frame: 2, at: 9000, question: nil, rcode: .formErr)
        #expect(run.closed.map(\.outcome) == [.late])
    }

    /// The table of expired queries is capped: when full, the one held longest is handed
    /// over as unanswered at once (counted), and a late answer to it is unsolicited.
    @Test func heldQueriesAreCappedOldestFirst() throws {
        var run = Run()
        run.engine = TransactionEngine(maximumExpired: 2)
        for index in 0..<3 {
            run.query(frame: index + 1, at: Int64(index) * 100, port: 40000 + UInt16(index), id: UInt16(index))
        }
        // All three deadlines pass; the first held is pushed out by the third.
        run.query(frame: 10, at: 6000, port: 50000, client: LateAnswerTests.otherClient)
        #expect(run.engine.expiredCount == 2)
        #expect(run.engine.statistics.expiredReleasedEarly == 1)
        let first = try #require(run.closed.first)
        #expect(run.closed.count == 1)
        #expect(first.outcome == .unanswered && first.expiry == .timeout && first.id == 0)
        run.response(frame: 11, at: 7000, port: 40000, id: 0)
        run.response(frame: 12, at: 7000, port: 40002, id: 2)
        #expect(run.engine.statistics.unsolicited[.noMatchingQuery] == 1)
        #expect(run.closed.map(\.outcome) == [.unanswered, .late])
        #expect(run.engine.statistics.peakExpired == 2)
    }

    /// Released in the order their deadlines passed, whatever order they were created in.
    @Test func unansweredQueriesAreHandedOverInDeadlineOrder() {
        var run = Run()
        run.query(frame: 1, at: 0, port: 40000, id: 1)
        run.query(frame: 2, at: 1000, port: 40001, id: 2)
        run.query(frame: 3, at: 2000, port: 40000, id: 1)  // a retry of the first: deadline 7.5 s
        run.query(frame: 10, at: 40_000, port: 50000, client: LateAnswerTests.otherClient)
        #expect(run.closed.map(\.id) == [2, 1])
    }

    /// `onExpiry` sees the query the moment its deadline passes, before any late answer.
    @Test func expiryHookReportsTheQueryAtItsDeadline() {
        var run = Run()
        var expiredFrames: [[Int]] = []
        run.engine.onExpiry = { expiredFrames.append($0.attempts.map(\.frame)) }
        run.query(frame: 1, at: 0)
        run.query(frame: 2, at: 3000, port: 50000, client: LateAnswerTests.otherClient)
        #expect(expiredFrames.isEmpty)
        run.query(frame: 3, at: 6000, port: 50001, client: LateAnswerTests.otherClient)
        #expect(expiredFrames == [[1]])
        run.response(frame: 4, at: 6500)
        #expect(run.closed.map(\.outcome) == [.late])
        #expect(expiredFrames == [[1]])
    }

    /// A query re-asked past the retry window closes the old one as timed out: it too waits
    /// for a late answer to its own port.
    @Test func queryReaskedAfterTheWindowStillTakesItsLateAnswer() throws {
        var run = Run()
        run.query(frame: 1, at: 0, port: 40000)
        run.query(frame: 2, at: 6000, port: 40001)
        run.response(frame: 3, at: 6100, port: 40000)
        run.finish()
        let late = try #require(run.closed.first)
        #expect(late.outcome == .late)
        #expect(late.attempts.map(\.frame) == [1])
        #expect(run.closed.last?.attempts.map(\.frame) == [2])
    }
}
