import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Transactions

/// The engine fed message sequences as the pipeline would build them from real traffic
/// (addresses, ports and timings as in the bundled captures).
struct TransactionEngineTests {
    static let client = IPAddress("10.244.1.10")!
    static let server = Endpoint(ip: IPAddress("10.96.0.10")!, port: 53)
    static let question = QuestionKey(nameHash: 0xfeed, type: .a, qclass: .in)

    struct Run {
        var engine = TransactionEngine()
        var closed: [Transaction] = []

        mutating func query(frame: Int, at milliseconds: Int64, port: UInt16 = 40000, id: UInt16 = 0x1234,
                            question: QuestionKey? = TransactionEngineTests.question,
                            server: Endpoint = TransactionEngineTests.server, client: IPAddress = TransactionEngineTests.client) {
            let message = MessageObservation(
                frame: frame, time: Timestamp(nanoseconds: milliseconds * 1_000_000),
                source: Endpoint(ip: client, port: port), destination: server, transport: .udp,
                id: id, isResponse: false, question: question)
            engine.observe(message, qname: { "api.example.com." }) { closed.append($0) }
        }

        mutating func response(frame: Int, at milliseconds: Int64, port: UInt16 = 40000, id: UInt16 = 0x1234,
                               question: QuestionKey? = TransactionEngineTests.question, rcode: DNSRCode = .noError,
                               truncated: Bool = false, server: Endpoint = TransactionEngineTests.server) {
            let message = MessageObservation(
                frame: frame, time: Timestamp(nanoseconds: milliseconds * 1_000_000),
                source: server, destination: Endpoint(ip: TransactionEngineTests.client, port: port), transport: .udp,
                id: id, isResponse: true, rcode: rcode, isTruncated: truncated, question: question)
            engine.observe(message, qname: { nil }) { closed.append($0) }
        }

        mutating func finish() { engine.finish { closed.append($0) } }
    }

    @Test func answeredQueryIsPairedWithLatency() throws {
        var run = Run()
        run.query(frame: 1, at: 1000)
        run.response(frame: 2, at: 1002, rcode: .nxDomain)
        run.finish()
        let transaction = try #require(run.closed.first)
        #expect(run.closed.count == 1)
        #expect(transaction.outcome == .answered)
        #expect(transaction.response?.frame == 2)
        #expect(transaction.response?.rcode == .nxDomain)
        #expect(transaction.latency == .milliseconds(2))
        #expect(transaction.qname == "api.example.com.")
        #expect(run.engine.pendingCount == 0)
    }

    /// dig resends with the same id from a new source port; the response to the second
    /// port answers the second attempt, as tshark pairs it.
    @Test func retryFromNewPortJoinsTheTransaction() throws {
        var run = Run()
        run.query(frame: 1, at: 0, port: 40000)
        run.query(frame: 3, at: 1000, port: 40001)
        run.response(frame: 4, at: 1001, port: 40001)
        run.finish()
        let transaction = try #require(run.closed.first)
        #expect(run.closed.count == 1)
        #expect(transaction.attempts.map(\.frame) == [1, 3])
        #expect(transaction.response?.attemptIndex == 1)
        #expect(transaction.latency == .milliseconds(1001))
        #expect(run.engine.statistics.retries == 1)
    }

    @Test func noResponseWithinTimeoutIsUnanswered() throws {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.query(frame: 2, at: 1000, port: 40001)
        // Another client's traffic 6 s after the last attempt moves the clock past the
        // deadline (5 s timeout plus its 0.5 s grace): the query waits for a late answer.
        run.query(frame: 3, at: 7000, port: 50000, client: IPAddress("10.244.1.11")!)
        #expect(run.closed.isEmpty)
        #expect(run.engine.expiredCount == 1)
        // Its late window (30 s after the deadline at 6.5 s) ends: unanswered.
        run.query(frame: 4, at: 36_600, port: 50001, client: IPAddress("10.244.1.12")!)
        let transaction = try #require(run.closed.first)
        #expect(transaction.outcome == .unanswered)
        #expect(transaction.expiry == .timeout)
        #expect(transaction.attemptCount == 2)
        // A response after the late window is not paired: the transaction is gone.
        run.response(frame: 5, at: 36_700, port: 40001)
        #expect(run.engine.statistics.unsolicited[.noMatchingQuery] == 1)
        run.finish()
        #expect(run.closed.count == 3)
        #expect(run.closed[1].expiry == .timeout)
        #expect(run.closed[2].expiry == .captureEnd)
    }

    /// glibc retries at exactly its 5 s timeout: that retry joins the transaction.
    @Test func retryAtExactlyTheTimeoutJoins() {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.query(frame: 2, at: 5003)
        run.response(frame: 3, at: 5004)
        run.finish()
        #expect(run.closed.count == 1)
        #expect(run.closed.first?.attempts.map(\.frame) == [1, 2])
    }

    @Test func deadlineCountsFromTheLastAttempt() {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.query(frame: 2, at: 4000, port: 40001)
        run.response(frame: 3, at: 8000, port: 40001)
        run.finish()
        #expect(run.closed.map(\.outcome) == [.answered])
    }

    @Test func responseWithDifferentQuestionIsUnsolicited() {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.response(frame: 2, at: 1, question: QuestionKey(nameHash: 0xbad, type: .a, qclass: .in))
        run.finish()
        #expect(run.engine.statistics.unsolicited[.questionMismatch] == 1)
        // Still waiting (1 ms, one attempt) when the input ends: in flight, not unanswered.
        #expect(run.closed.map(\.outcome) == [.inFlight])
    }

    /// FORMERR answers often carry no question: they pair by 5-tuple and id alone.
    @Test func responseWithoutQuestionPairs() {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.response(frame: 2, at: 1, question: nil, rcode: .formErr)
        #expect(run.closed.map(\.outcome) == [.answered])
    }

    @Test func responseFromWrongPortOrIdIsUnsolicited() {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.response(frame: 2, at: 1, port: 40009)
        run.response(frame: 3, at: 2, id: 0x9999)
        #expect(run.engine.statistics.unsolicited[.noMatchingQuery] == 2)
        #expect(run.closed.isEmpty)
    }

    /// Parallel A and AAAA from one socket are two transactions (different questions).
    @Test func parallelQueriesFromOneSocketStaySeparate() {
        var run = Run()
        let aaaa = QuestionKey(nameHash: 0xfeed, type: .aaaa, qclass: .in)
        run.query(frame: 1, at: 0, id: 1)
        run.query(frame: 2, at: 0, id: 2, question: aaaa)
        run.response(frame: 3, at: 1, id: 2, question: aaaa)
        run.finish()
        #expect(run.closed.count == 2)
        #expect(run.closed.first { $0.question?.type == .aaaa }?.outcome == .answered)
        #expect(run.closed.first { $0.question?.type == .a }?.outcome == .inFlight)
    }

    /// A REJECT rule answers the query with ICMP administratively prohibited; the resolver
    /// retries, is refused again, and the transaction closes as rejected at its deadline.
    @Test func icmpErrorQuotingTheQueryRejectsIt() throws {
        var run = Run()
        run.query(frame: 1, at: 0)
        let error = ICMPError(isIPv6: false, type: 3, code: 13, sender: IPAddress("10.244.1.1")!)
        func quoted(frame: Int, at milliseconds: Int64, port: UInt16) -> MessageObservation {
            MessageObservation(
                frame: frame, time: Timestamp(nanoseconds: milliseconds * 1_000_000), source: Endpoint(ip: Self.client, port: port),
                destination: Self.server, transport: .udp, id: 0x1234, isResponse: false, question: Self.question)
        }
        let first = quoted(frame: 2, at: 1, port: 40000)
        run.engine.observeICMPError(first, error: error, frame: 2, time: first.time) { run.closed.append($0) }
        run.query(frame: 3, at: 1000, port: 40001)
        let second = quoted(frame: 4, at: 1001, port: 40001)
        run.engine.observeICMPError(second, error: error, frame: 4, time: second.time) { run.closed.append($0) }
        #expect(run.closed.isEmpty)
        run.finish()
        let transaction = try #require(run.closed.first)
        #expect(run.closed.count == 1)
        #expect(transaction.outcome == .rejected)
        #expect(transaction.attempts.map(\.frame) == [1, 3])
        #expect(transaction.rejections == 2)
        #expect(transaction.rejection?.error.reason == "administratively-prohibited")
        #expect(transaction.rejection?.frame == 2)
        // An error about a query nobody holds is counted, not invented.
        run.engine.observeICMPError(first, error: error, frame: 5, time: Timestamp(nanoseconds: 9_000_000_000)) { run.closed.append($0) }
        #expect(run.engine.statistics.unmatchedICMPErrors == 1)
        #expect(run.closed.count == 1)
    }

    @Test func multicastQueriesAreNotUnanswered() {
        var run = Run()
        run.query(frame: 1, at: 0, server: Endpoint(ip: IPAddress("224.0.0.251")!, port: 5353))
        run.query(frame: 2, at: 0, server: Endpoint(ip: IPAddress("ff02::1:3")!, port: 5355))
        run.finish()
        #expect(run.closed.map(\.outcome) == [.multicast, .multicast])
        #expect(run.engine.statistics.unanswered == 0)
    }

    /// The pending table is capped: the oldest outstanding query makes room.
    @Test func pendingTableIsBounded() {
        var run = Run()
        run.engine = TransactionEngine(maximumPending: 3)
        for index in 0..<10 { run.query(frame: index + 1, at: Int64(index), id: UInt16(index)) }
        #expect(run.engine.pendingCount == 3)
        #expect(run.engine.statistics.evicted == 7)
        #expect(run.closed.map(\.attempts.first?.frame) == (1...7).map { Optional($0) })
        #expect(run.closed.allSatisfy { $0.expiry == .evicted })
    }

    /// A retry loop cannot grow one transaction without bound.
    @Test func attemptsAreCapped() throws {
        var run = Run()
        for index in 0..<100 { run.query(frame: index + 1, at: Int64(index * 100)) }
        run.finish()
        let transaction = try #require(run.closed.first)
        #expect(run.closed.count == 1)
        #expect(transaction.attempts.count == TransactionEngine.maximumAttempts)
        #expect(transaction.attemptCount == 100)
    }
}
