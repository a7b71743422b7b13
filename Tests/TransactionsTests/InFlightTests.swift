import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Transactions

/// Issue 15.1: a query still waiting when the capture ends is in flight unless the client
/// already re-sent it or it has waited the whole timeout; only then is it unanswered.
struct InFlightTests {
    typealias Run = TransactionEngineTests.Run

    @Test func singleAttemptWaitingLessThanTheTimeoutIsInFlight() throws {
        var run = Run()
        run.query(frame: 1, at: 0)
        // The last frame of the capture, 4.9 s later: less than the 5 s timeout.
        run.query(frame: 2, at: 4900, id: 0x9999, client: IPAddress("10.244.1.11")!)
        run.finish()
        #expect(run.closed.count == 2)
        #expect(run.closed.allSatisfy { $0.outcome == .inFlight && $0.expiry == .captureEnd })
        #expect(run.engine.statistics.inFlight == 2)
        #expect(run.engine.statistics.unanswered == 0)
    }

    @Test func retriedQueryAtCaptureEndStaysUnanswered() throws {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.query(frame: 2, at: 1000, port: 40001)
        run.finish()
        let transaction = try #require(run.closed.first)
        #expect(transaction.outcome == .unanswered)
        #expect(transaction.expiry == .captureEnd)
        #expect(run.engine.statistics.inFlight == 0)
    }

    /// A query that waited the whole timeout but is still within the grace (timeout plus a
    /// tenth) at the end has had its chance: unanswered.
    @Test func singleAttemptWaitingTheTimeoutIsUnanswered() throws {
        var run = Run()
        run.query(frame: 1, at: 0)
        run.query(frame: 2, at: 5200, id: 0x9999, client: IPAddress("10.244.1.11")!)
        run.finish()
        let first = try #require(run.closed.first { $0.attempts.first?.frame == 1 })
        #expect(first.outcome == .unanswered)
        #expect(first.expiry == .captureEnd)
        #expect(run.closed.first { $0.attempts.first?.frame == 2 }?.outcome == .inFlight)
    }

    /// An ICMP error already refused it: rejected, whatever the clock says.
    @Test func rejectedQueryAtCaptureEndStaysRejected() throws {
        var run = Run()
        run.query(frame: 1, at: 0)
        let quoted = MessageObservation(
            frame: 2, time: Timestamp(nanoseconds: 1_000_000), source: Endpoint(ip: TransactionEngineTests.client, port: 40000),
            destination: TransactionEngineTests.server, transport: .udp, id: 0x1234, isResponse: false,
            question: TransactionEngineTests.question)
        let error = ICMPError(isIPv6: false, type: 3, code: 3, sender: IPAddress("10.96.0.10")!)
        run.engine.observeICMPError(quoted, error: error, frame: 2, time: quoted.time) { run.closed.append($0) }
        run.finish()
        #expect(run.closed.map(\.outcome) == [.rejected])
    }
}

extension InFlightTests {
    /// unbound and CoreDNS re-ask an upstream under a new id: the earlier query was given
    /// up (unanswered); the last one, sent moments before the end, is in flight.
    @Test func questionAskedAgainUnderANewIdIsNoLongerInFlight() throws {
        var run = Run()
        run.query(frame: 1, at: 0, port: 40000, id: 0x1111)
        run.query(frame: 2, at: 400, port: 40001, id: 0x2222)
        run.finish()
        #expect(run.closed.first { $0.id == 0x1111 }?.outcome == .unanswered)
        #expect(run.closed.first { $0.id == 0x2222 }?.outcome == .inFlight)
    }
}
