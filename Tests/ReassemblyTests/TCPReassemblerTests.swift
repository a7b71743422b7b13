import PacketDecoding
import Testing
import WireCore
@testable import Reassembly

/// 43982 0/0/0 (29): the NOERROR/NODATA answer to `queryAAAA`.
let responseAAAA: [UInt8] = [
    0xab, 0xce, 0x81, 0x80, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00,
    0x00, 0x1c, 0x00, 0x01,
]

/// Conversations between 10.244.1.10.40000 (client) and 10.96.0.10.53 (server). Frame n is
/// captured at `at(n)` unless a test says otherwise. Client ISN 1000, server ISN 5000 where
/// a handshake is shown:
///
///     1  10.244.1.10.40000 > 10.96.0.10.53: Flags [S], seq 1000
///     2  10.96.0.10.53 > 10.244.1.10.40000: Flags [S.], seq 5000, ack 1001
///     3  10.244.1.10.40000 > 10.96.0.10.53: Flags [.], ack 5001
struct TCPReassemblerTests {
    static let key = connectionKey()
    static let clientData: UInt32 = 1001
    static let serverData: UInt32 = 5001
    static let overhead = TCPReassembler.bookkeepingBytesPerSegment

    /// Frames 1–3: the three-way handshake. No events.
    func handshake(_ harness: inout TCPHarness, key: TCPConnectionKey = Self.key, firstFrame: Int = 1,
                   clientISN: UInt32 = 1000, serverISN: UInt32 = 5000) {
        var produced = harness.send(key, fromClient: true, sequence: clientISN, flags: .syn, frame: firstFrame)
        produced += harness.send(key, fromClient: false, sequence: serverISN, acknowledgement: clientISN &+ 1,
                                 flags: .synAck, frame: firstFrame + 1)
        produced += harness.send(key, fromClient: true, sequence: clientISN &+ 1, acknowledgement: serverISN &+ 1,
                                 flags: .ack, frame: firstFrame + 2)
        #expect(produced == [])
    }

    /// The summary of a connection that went through `handshake` at frames 1–3.
    func summary(
        endReason: ConnectionEndReason, lastFrame: Int, clientMessages: Int = 0, serverMessages: Int = 0
    ) -> ConnectionSummary {
        ConnectionSummary(
            key: Self.key, firstFrame: 1, firstTime: at(1), synFrame: 1, synTime: at(1), synCount: 1, synAckFrame: 2,
            synAckTime: at(2), clientMessages: clientMessages, serverMessages: serverMessages, endReason: endReason,
            lastFrame: lastFrame, lastTime: at(Int64(lastFrame)))
    }

    // MARK: - Framing

    /// One query, one response, orderly close, then the client's last ACK.
    ///
    ///     4  Flags [P.], seq 1001:1032, ack 5001, length 31  43981+ A? example.com. (29)
    ///     5  Flags [P.], seq 5001:5048, ack 1032, length 47  43981 1/0/0 A 93.184.216.34 (45)
    ///     6  Flags [F.], seq 1032, ack 5048
    ///     7  Flags [F.], seq 5048, ack 1033
    ///     8  Flags [.], ack 5049
    @Test func oneMessageEachWayThenClose() {
        var harness = TCPHarness()
        handshake(&harness)
        #expect(harness.send(fromClient: true, sequence: 1001, framed(queryA), frame: 4)
            == [message(queryA, fromClient: true, frame: 4)])
        #expect(harness.send(fromClient: false, sequence: 5001, framed(responseA), frame: 5)
            == [message(responseA, fromClient: false, frame: 5)])
        #expect(harness.send(fromClient: true, sequence: 1032, flags: .finAck, frame: 6) == [])
        var expected = summary(endReason: .closed, lastFrame: 7, clientMessages: 1, serverMessages: 1)
        expected.clientFINFrame = 6
        expected.serverFINFrame = 7
        #expect(harness.send(fromClient: false, sequence: 5048, flags: .finAck, frame: 7) == [.connectionEnded(expected)])
        #expect(expected.finSeen && !expected.damaged)
        // The final ACK is a straggler of the closed connection, not a new one.
        #expect(harness.send(fromClient: true, sequence: 1033, flags: .ack, frame: 8) == [])
        // The record of the closed connection goes quietly after the idle timeout.
        #expect(harness.reassembler.statistics.connections == 1)
        #expect(harness.expire(now: at(8) + .seconds(61)) == [])
        #expect(harness.reassembler.statistics.connections == 0)
        #expect(harness.finish() == [])
        var statistics = TCPStatistics()
        statistics.segments = 8
        statistics.connectionsOpened = 1
        statistics.messages = 2
        statistics.segmentsAfterEnd = 1
        statistics.endedByClose = 1
        statistics.peakConnections = 1
        #expect(harness.reassembler.statistics == statistics)
    }

    @Test func twoMessagesInOneSegment() {
        var harness = TCPHarness()
        handshake(&harness)
        #expect(harness.send(fromClient: true, sequence: 1001, framed(queryA) + framed(queryAAAA), frame: 4) == [
            message(queryA, fromClient: true, frame: 4),
            message(queryAAAA, fromClient: true, frame: 4),
        ])
        #expect(harness.reassembler.statistics.bufferedBytes == 0)
    }

    @Test func threeMessagesInOneSegment() {
        var harness = TCPHarness()
        handshake(&harness)
        let stream = framed(responseA) + framed(responseAAAA) + framed(responseA)
        #expect(harness.send(fromClient: false, sequence: 5001, stream, frame: 4) == [
            message(responseA, fromClient: false, frame: 4),
            message(responseAAAA, fromClient: false, frame: 4),
            message(responseA, fromClient: false, frame: 4),
        ])
    }

    /// One message over three segments, the length prefix itself split 1 + 1:
    ///
    ///     4  seq 1001:1002, length 1    (0x00)
    ///     5  seq 1002:1013, length 11   (0x1d, then 10 bytes of the message)
    ///     6  seq 1013:1032, length 19
    @Test func oneMessageAcrossThreeSegmentsWithTheLengthSplit() {
        var harness = TCPHarness()
        handshake(&harness)
        let stream = framed(queryA)
        #expect(harness.send(fromClient: true, sequence: 1001, Array(stream[0..<1]), frame: 4) == [])
        #expect(harness.reassembler.statistics.bufferedBytes == 1)
        #expect(harness.send(fromClient: true, sequence: 1002, Array(stream[1..<12]), frame: 5) == [])
        #expect(harness.reassembler.statistics.bufferedBytes == 12)
        #expect(harness.send(fromClient: true, sequence: 1013, Array(stream[12...]), frame: 6)
            == [message(queryA, fromClient: true, frame: 6, firstFrame: 4)])
        #expect(harness.reassembler.statistics.bufferedBytes == 0)
    }

    /// Segments arrive 2, 3, 1: the first two are held until the hole fills. The completing
    /// frame is the one that filled the hole; `firstFrame` is where each message began.
    ///
    ///     4  seq 1021:1041, length 20   (held)
    ///     5  seq 1041:1063, length 22   (held)
    ///     6  seq 1001:1021, length 20   (fills the hole: both messages complete)
    @Test func outOfOrderSegmentsAreHeldUntilTheHoleFills() {
        var harness = TCPHarness()
        handshake(&harness)
        let stream = framed(queryA) + framed(queryAAAA)  // 31 + 31 bytes
        #expect(harness.send(fromClient: true, sequence: 1021, Array(stream[20..<40]), frame: 4) == [])
        #expect(harness.send(fromClient: true, sequence: 1041, Array(stream[40...]), frame: 5) == [])
        #expect(harness.reassembler.statistics.bufferedBytes == 20 + 22 + 2 * Self.overhead)
        #expect(harness.send(fromClient: true, sequence: 1001, Array(stream[0..<20]), frame: 6) == [
            message(queryA, fromClient: true, frame: 6, firstFrame: 6),
            message(queryAAAA, fromClient: true, frame: 6, firstFrame: 4),
        ])
        #expect(harness.reassembler.statistics.bufferedBytes == 0)
        #expect(harness.reassembler.statistics.outOfOrderSegments == 2)
    }

    /// The same segment twice (in sequence, and held out of order): each message once.
    @Test func retransmissionEmitsNothingTwice() {
        var harness = TCPHarness()
        handshake(&harness)
        #expect(harness.send(fromClient: true, sequence: 1001, framed(queryA), frame: 4)
            == [message(queryA, fromClient: true, frame: 4)])
        #expect(harness.send(fromClient: true, sequence: 1001, framed(queryA), frame: 5) == [])
        // Out of order: 1063:1094 arrives twice before 1032:1063.
        #expect(harness.send(fromClient: true, sequence: 1063, framed(queryA), frame: 6) == [])
        #expect(harness.send(fromClient: true, sequence: 1063, framed(queryA), frame: 7) == [])
        #expect(harness.send(fromClient: true, sequence: 1032, framed(queryAAAA), frame: 8) == [
            message(queryAAAA, fromClient: true, frame: 8),
            message(queryA, fromClient: true, frame: 8, firstFrame: 6),
        ])
        #expect(harness.send(fromClient: true, sequence: 1032, framed(queryAAAA), frame: 9) == [])
        #expect(harness.reassembler.statistics.retransmittedSegments == 3)
        #expect(harness.reassembler.statistics.messages == 3)
    }

    /// A retransmission that repeats 20 bytes already seen and adds new ones: the repeat is
    /// trimmed, the rest framed.
    ///
    ///     4  seq 1001:1041, length 40   (queryA and 9 bytes of queryAAAA)
    ///     5  seq 1021:1063, length 42   (20 bytes again, then the last 22)
    @Test func partialOverlapIsTrimmed() {
        var harness = TCPHarness()
        handshake(&harness)
        let stream = framed(queryA) + framed(queryAAAA)
        #expect(harness.send(fromClient: true, sequence: 1001, Array(stream[0..<40]), frame: 4)
            == [message(queryA, fromClient: true, frame: 4)])
        #expect(harness.send(fromClient: true, sequence: 1021, Array(stream[20...]), frame: 5)
            == [message(queryAAAA, fromClient: true, frame: 5, firstFrame: 4)])
        #expect(harness.reassembler.statistics.overlappingSegments == 1)
    }

    /// A held segment overlapping the one that fills the hole is trimmed when drained.
    @Test func heldSegmentOverlappingTheFillIsTrimmed() {
        var harness = TCPHarness()
        handshake(&harness)
        let stream = framed(queryA) + framed(queryAAAA)
        #expect(harness.send(fromClient: true, sequence: 1011, Array(stream[10...]), frame: 4) == [])
        #expect(harness.send(fromClient: true, sequence: 1001, Array(stream[0..<40]), frame: 5) == [
            message(queryA, fromClient: true, frame: 5),
            message(queryAAAA, fromClient: true, frame: 5, firstFrame: 5),
        ])
    }

    // MARK: - Damage

    /// Bytes 1001:1021 never arrive; the connection ends with data held behind the hole:
    /// the client direction is damaged and no message is made up from what follows.
    @Test func gapThenEndIsDamagedWithoutBogusMessages() {
        var harness = TCPHarness()
        handshake(&harness)
        let stream = framed(queryA) + framed(queryAAAA)
        #expect(harness.send(fromClient: true, sequence: 1021, Array(stream[20...]), frame: 4) == [])
        #expect(harness.send(fromClient: true, sequence: 1063, flags: .finAck, frame: 5) == [])
        #expect(harness.send(fromClient: false, sequence: 5001, flags: .finAck, frame: 6) == [])
        var expected = summary(endReason: .captureEnd, lastFrame: 6)
        expected.clientFINFrame = 5
        expected.serverFINFrame = 6
        expected.clientDamage = .unfilledGap
        #expect(harness.finish() == [.connectionEnded(expected)])
        #expect(expected.damaged)
        #expect(harness.reassembler.statistics.damagedByGap == 1)
        #expect(harness.reassembler.statistics.bufferedBytes == 0)
        #expect(harness.reassembler.statistics.messages == 0)
    }

    /// The FIN arrives before the data in front of it: the connection closes only when the
    /// hole is filled, and nothing is lost.
    ///
    ///     4  Flags [F.], seq 1032          (held behind 1001:1032)
    ///     5  Flags [F.], seq 5001
    ///     6  seq 1001:1032, length 31      (fills the hole, reaches the FIN: closed)
    @Test func finBehindAHoleClosesOnceTheHoleFills() {
        var harness = TCPHarness()
        handshake(&harness)
        #expect(harness.send(fromClient: true, sequence: 1032, flags: .finAck, frame: 4) == [])
        #expect(harness.send(fromClient: false, sequence: 5001, flags: .finAck, frame: 5) == [])
        var closed = summary(endReason: .closed, lastFrame: 6, clientMessages: 1)
        closed.clientFINFrame = 4
        closed.serverFINFrame = 5
        #expect(harness.send(fromClient: true, sequence: 1001, framed(queryA), frame: 6) == [
            message(queryA, fromClient: true, frame: 6),
            .connectionEnded(closed),
        ])
    }

    /// A damaged direction still closes: its FIN is taken at its word.
    @Test func damagedDirectionStillCloses() {
        var harness = TCPHarness()
        handshake(&harness)
        #expect(harness.send(fromClient: true, sequence: 1001, [0x00, 0x00], frame: 4) == [])
        #expect(harness.send(fromClient: true, sequence: 1003, flags: .finAck, frame: 5) == [])
        var closed = summary(endReason: .closed, lastFrame: 6)
        closed.clientFINFrame = 5
        closed.serverFINFrame = 6
        closed.clientDamage = .zeroLengthMessage
        #expect(harness.send(fromClient: false, sequence: 5001, flags: .finAck, frame: 6) == [.connectionEnded(closed)])
    }

    /// The connection ends inside a message (no hole): the direction is damaged as truncated.
    @Test func endInsideAMessageIsTruncated() {
        var harness = TCPHarness()
        handshake(&harness)
        #expect(harness.send(fromClient: false, sequence: 5001, Array(framed(responseA)[0..<30]), frame: 4) == [])
        var expected = summary(endReason: .reset, lastFrame: 5)
        expected.resetBy = .client
        expected.resetFrame = 5
        expected.serverDamage = .truncatedMessage
        #expect(harness.send(fromClient: true, sequence: 1001, flags: .rst, frame: 5) == [.connectionEnded(expected)])
        #expect(harness.reassembler.statistics.damagedByTruncation == 1)
        #expect(harness.reassembler.statistics.bufferedBytes == 0)
    }

    /// `00 00` cannot frame a DNS message (RFC 7766 §8): the direction stops there.
    @Test func zeroLengthMessageIsAFramingError() {
        var harness = TCPHarness()
        handshake(&harness)
        let stream = framed(queryA) + [0x00, 0x00] + framed(queryAAAA)
        #expect(harness.send(fromClient: true, sequence: 1001, stream, frame: 4)
            == [message(queryA, fromClient: true, frame: 4)])
        // Later data in that direction is not framed any more; the other direction still is.
        #expect(harness.send(fromClient: true, sequence: 1066, framed(queryA), frame: 5) == [])
        #expect(harness.send(fromClient: false, sequence: 5001, framed(responseA), frame: 6)
            == [message(responseA, fromClient: false, frame: 6)])
        var expected = summary(endReason: .captureEnd, lastFrame: 6, clientMessages: 1, serverMessages: 1)
        expected.clientDamage = .zeroLengthMessage
        #expect(harness.finish() == [.connectionEnded(expected)])
        #expect(harness.reassembler.statistics.damagedByZeroLength == 1)
    }

    /// A zero length split across segments is caught too.
    @Test func zeroLengthSplitAcrossSegments() {
        var harness = TCPHarness()
        handshake(&harness)
        #expect(harness.send(fromClient: true, sequence: 1001, [0x00], frame: 4) == [])
        #expect(harness.send(fromClient: true, sequence: 1002, [0x00] + framed(queryA), frame: 5) == [])
        #expect(harness.reassembler.statistics.damagedByZeroLength == 1)
        #expect(harness.reassembler.statistics.bufferedBytes == 0)
    }

    /// A message declared longer than the per-direction cap can never complete.
    @Test func perDirectionCapExceededDamagesTheDirection() {
        var harness = TCPHarness(TCPReassembler(maximumBufferedBytesPerDirection: 100))
        handshake(&harness)
        // Length 0x0100 = 256: 2 + 58 bytes buffered, then 60 more would make 120 > 100.
        #expect(harness.send(fromClient: true, sequence: 1001, [0x01, 0x00] + pattern(58), frame: 4) == [])
        #expect(harness.reassembler.statistics.bufferedBytes == 60)
        #expect(harness.send(fromClient: true, sequence: 1061, pattern(60), frame: 5) == [])
        #expect(harness.reassembler.statistics.bufferedBytes == 0)
        #expect(harness.send(fromClient: true, sequence: 1121, framed(queryA), frame: 6) == [])
        var expected = summary(endReason: .captureEnd, lastFrame: 6)
        expected.clientDamage = .bufferLimit
        #expect(harness.finish() == [.connectionEnded(expected)])
        #expect(harness.reassembler.statistics.damagedByBufferLimit == 1)
    }

    /// Data held behind a hole counts against the per-direction cap as well.
    @Test func heldDataBeyondTheCapDamagesTheDirection() {
        var harness = TCPHarness(TCPReassembler(maximumBufferedBytesPerDirection: 300))
        handshake(&harness)
        #expect(harness.send(fromClient: true, sequence: 1101, pattern(100), frame: 4) == [])
        #expect(harness.reassembler.statistics.bufferedBytes == 100 + Self.overhead)
        #expect(harness.send(fromClient: true, sequence: 1201, pattern(100), frame: 5) == [])
        #expect(harness.reassembler.statistics.damagedByBufferLimit == 1)
        #expect(harness.reassembler.statistics.bufferedBytes == 0)
        // The hole filling later does not revive the direction.
        #expect(harness.send(fromClient: true, sequence: 1001, framed(queryA), frame: 6) == [])
    }

    // MARK: - Sequence numbers

    /// The capture starts after the handshake: each direction starts at its first segment,
    /// taken to start a message.
    @Test func midStreamStartWithoutSYN() {
        var harness = TCPHarness()
        #expect(harness.send(fromClient: true, sequence: 77_777, framed(queryA), frame: 1)
            == [message(queryA, fromClient: true, frame: 1)])
        #expect(harness.send(fromClient: false, sequence: 900_000, framed(responseA), frame: 2)
            == [message(responseA, fromClient: false, frame: 2)])
        #expect(harness.send(fromClient: true, sequence: 77_777, framed(queryA), frame: 3) == [])  // retransmission
        #expect(harness.send(fromClient: true, sequence: 77_808, framed(queryAAAA), frame: 4)
            == [message(queryAAAA, fromClient: true, frame: 4)])
        let expected = ConnectionSummary(
            key: Self.key, firstFrame: 1, firstTime: at(1), clientMessages: 2, serverMessages: 1,
            endReason: .captureEnd, lastFrame: 4, lastTime: at(4))
        #expect(harness.finish() == [.connectionEnded(expected)])
    }

    /// Client ISN 2^32 − 16: the stream crosses zero after 15 bytes, out of order, and the
    /// FIN sits past the wrap.
    ///
    ///     1  Flags [S], seq 4294967280
    ///     4  seq 5:47, length 42        (held: beyond the wrap)
    ///     5  seq 4294967281:5, length 20 (wraps; fills the hole)
    ///     6  Flags [F.], seq 47
    @Test func sequenceNumbersWrapAround() {
        var harness = TCPHarness()
        let isn: UInt32 = 0xFFFF_FFF0
        handshake(&harness, clientISN: isn)
        let stream = framed(queryA) + framed(queryAAAA)
        let first = isn &+ 1
        #expect(harness.send(fromClient: true, sequence: first &+ 20, Array(stream[20...]), frame: 4) == [])
        #expect(first &+ 20 == 5)
        #expect(harness.send(fromClient: true, sequence: first, Array(stream[0..<20]), frame: 5) == [
            message(queryA, fromClient: true, frame: 5),
            message(queryAAAA, fromClient: true, frame: 5, firstFrame: 4),
        ])
        // Old data from before the wrap is recognised as old, not as far ahead.
        #expect(harness.send(fromClient: true, sequence: first, Array(stream[0..<20]), frame: 6) == [])
        #expect(harness.send(fromClient: true, sequence: 47, flags: .finAck, frame: 7) == [])
        var expected = ConnectionSummary(
            key: Self.key, firstFrame: 1, firstTime: at(1), synFrame: 1, synTime: at(1), synCount: 1, synAckFrame: 2,
            synAckTime: at(2), clientFINFrame: 7, serverFINFrame: 8, clientMessages: 2, endReason: .closed,
            lastFrame: 8, lastTime: at(8))
        expected.clientFINFrame = 7
        #expect(harness.send(fromClient: false, sequence: 5001, flags: .finAck, frame: 8) == [.connectionEnded(expected)])
        #expect(harness.reassembler.statistics.retransmittedSegments == 1)
    }

    /// The server's ISN near the top as well: its SYN-ACK at 2^32 − 1 puts data at 0.
    @Test func serverDataStartsAtZeroAfterWrappedSYN() {
        var harness = TCPHarness()
        handshake(&harness, serverISN: 0xFFFF_FFFF)
        #expect(harness.send(fromClient: false, sequence: 0, framed(responseA), frame: 4)
            == [message(responseA, fromClient: false, frame: 4)])
    }

    /// TCP Fast Open (RFC 7413): the query rides in the SYN, after the SYN's sequence number.
    @Test func dataInTheSYN() {
        var harness = TCPHarness()
        #expect(harness.send(fromClient: true, sequence: 1000, flags: .syn, framed(queryA), frame: 1)
            == [message(queryA, fromClient: true, frame: 1)])
        #expect(harness.send(fromClient: true, sequence: 1032, framed(queryAAAA), frame: 2)
            == [message(queryAAAA, fromClient: true, frame: 2)])
    }

    // MARK: - Handshake and connection life

    /// The server answers the query with a reset.
    ///
    ///     5  10.96.0.10.53 > 10.244.1.10.40000: Flags [R.], seq 5001, ack 1032
    @Test func resetFromServer() {
        var harness = TCPHarness()
        handshake(&harness)
        #expect(harness.send(fromClient: true, sequence: 1001, framed(queryA), frame: 4)
            == [message(queryA, fromClient: true, frame: 4)])
        var expected = summary(endReason: .reset, lastFrame: 5, clientMessages: 1)
        expected.resetBy = .server
        expected.resetFrame = 5
        #expect(harness.send(fromClient: false, sequence: 5001, flags: .rstAck, frame: 5) == [.connectionEnded(expected)])
        // A late response after the reset is not taken as stream data.
        #expect(harness.send(fromClient: false, sequence: 5001, framed(responseA), frame: 6) == [])
        #expect(harness.reassembler.statistics.endedByReset == 1)
        #expect(harness.reassembler.statistics.segmentsAfterEnd == 1)
    }

    /// Port 53/tcp closed: the SYN is answered with RST-ACK, never with SYN-ACK.
    @Test func synRefusedWithReset() {
        var harness = TCPHarness()
        #expect(harness.send(fromClient: true, sequence: 1000, flags: .syn, frame: 1) == [])
        let expected = ConnectionSummary(
            key: Self.key, firstFrame: 1, firstTime: at(1), synFrame: 1, synTime: at(1), synCount: 1, resetBy: .server,
            resetFrame: 2, endReason: .reset, lastFrame: 2, lastTime: at(2))
        #expect(harness.send(fromClient: false, sequence: 0, acknowledgement: 1001, flags: .rstAck, frame: 2)
            == [.connectionEnded(expected)])
    }

    /// TCP 53 silently dropped: the SYN is retransmitted at 1 s and 3 s and never answered.
    /// Once idle for 60 s, the summary shows it: SYN seen three times, no SYN-ACK, no data.
    @Test func synNeverAnswered() {
        var harness = TCPHarness()
        #expect(harness.send(fromClient: true, sequence: 1000, flags: .syn, frame: 1, time: at(0)) == [])
        #expect(harness.send(fromClient: true, sequence: 1000, flags: .syn, frame: 2, time: at(1_000)) == [])
        #expect(harness.send(fromClient: true, sequence: 1000, flags: .syn, frame: 3, time: at(3_000)) == [])
        #expect(harness.expire(now: at(3_000) + .seconds(60)) == [])
        let expected = ConnectionSummary(
            key: Self.key, firstFrame: 1, firstTime: at(0), synFrame: 1, synTime: at(0), synCount: 3,
            endReason: .idle, lastFrame: 3, lastTime: at(3_000))
        #expect(harness.expire(now: at(3_000) + .seconds(60) + Duration(nanoseconds: 1)) == [.connectionEnded(expected)])
        #expect(expected.synAckFrame == nil && expected.resetBy == nil && !expected.finSeen)
        #expect(harness.reassembler.statistics.endedByIdle == 1)
        #expect(harness.reassembler.statistics.connections == 0)
    }

    /// The same SYN never answered, reported at the end of the capture instead.
    @Test func synNeverAnsweredAtCaptureEnd() {
        var harness = TCPHarness()
        harness.send(fromClient: true, sequence: 1000, flags: .syn, frame: 1)
        let expected = ConnectionSummary(
            key: Self.key, firstFrame: 1, firstTime: at(1), synFrame: 1, synTime: at(1), synCount: 1,
            endReason: .captureEnd, lastFrame: 1, lastTime: at(1))
        #expect(harness.finish() == [.connectionEnded(expected)])
    }

    /// After a close, a new SYN on the same ports starts a new connection.
    @Test func newSYNAfterCloseStartsANewConnection() {
        var harness = TCPHarness()
        handshake(&harness)
        harness.send(fromClient: true, sequence: 1001, flags: .finAck, frame: 4)
        var closed = summary(endReason: .closed, lastFrame: 5)
        closed.clientFINFrame = 4
        closed.serverFINFrame = 5
        #expect(harness.send(fromClient: false, sequence: 5001, flags: .finAck, frame: 5) == [.connectionEnded(closed)])
        #expect(harness.send(fromClient: true, sequence: 9000, flags: .syn, frame: 6) == [])
        #expect(harness.send(fromClient: true, sequence: 9001, framed(queryA), frame: 7)
            == [message(queryA, fromClient: true, frame: 7)])
        let second = ConnectionSummary(
            key: Self.key, firstFrame: 6, firstTime: at(6), synFrame: 6, synTime: at(6), synCount: 1, clientMessages: 1,
            endReason: .captureEnd, lastFrame: 7, lastTime: at(7))
        #expect(harness.finish() == [.connectionEnded(second)])
        #expect(harness.reassembler.statistics.connectionsOpened == 2)
    }

    /// A SYN with a new ISN while the old connection is still open (its FIN or RST was not
    /// captured): the old one is reported as superseded, the new one starts.
    @Test func newSYNOnAnOpenConnectionSupersedesIt() {
        var harness = TCPHarness()
        #expect(harness.send(fromClient: true, sequence: 1000, flags: .syn, frame: 1) == [])
        let old = ConnectionSummary(
            key: Self.key, firstFrame: 1, firstTime: at(1), synFrame: 1, synTime: at(1), synCount: 1,
            endReason: .superseded, lastFrame: 1, lastTime: at(1))
        #expect(harness.send(fromClient: true, sequence: 2000, flags: .syn, frame: 2) == [.connectionEnded(old)])
        let new = ConnectionSummary(
            key: Self.key, firstFrame: 2, firstTime: at(2), synFrame: 2, synTime: at(2), synCount: 1,
            endReason: .captureEnd, lastFrame: 2, lastTime: at(2))
        #expect(harness.finish() == [.connectionEnded(new)])
        #expect(harness.reassembler.statistics.superseded == 1)
    }

    /// A segment after more than the idle timeout of silence starts a new record, as if
    /// `expire` had run in between; the waiting partial message is lost (truncated).
    @Test func segmentAfterIdleTimeoutStartsAfresh() {
        var harness = TCPHarness()
        #expect(harness.send(fromClient: true, sequence: 500, Array(framed(queryA)[0..<10]), frame: 1, time: at(0)) == [])
        let idle = ConnectionSummary(
            key: Self.key, firstFrame: 1, firstTime: at(0), clientDamage: .truncatedMessage, endReason: .idle,
            lastFrame: 1, lastTime: at(0))
        #expect(harness.send(fromClient: true, sequence: 510, framed(queryA), frame: 2, time: at(61_000)) == [
            .connectionEnded(idle),
            message(queryA, fromClient: true, frame: 2, time: at(61_000)),
        ])
    }

    // MARK: - Limits

    /// Two connections fit; a third evicts the least recently active one.
    @Test func connectionTableCapEvictsLeastRecentlyActive() {
        var harness = TCPHarness(TCPReassembler(maximumConnections: 2))
        let a = connectionKey(clientPort: 40001)
        let b = connectionKey(clientPort: 40002)
        let c = connectionKey(clientPort: 40003)
        #expect(harness.send(a, fromClient: true, sequence: 100, framed(queryA), frame: 1)
            == [message(queryA, fromClient: true, frame: 1, key: a)])
        #expect(harness.send(b, fromClient: true, sequence: 200, framed(queryA), frame: 2)
            == [message(queryA, fromClient: true, frame: 2, key: b)])
        #expect(harness.send(a, fromClient: false, sequence: 300, framed(responseA), frame: 3)
            == [message(responseA, fromClient: false, frame: 3, key: a)])
        let evicted = ConnectionSummary(
            key: b, firstFrame: 2, firstTime: at(2), clientMessages: 1, endReason: .evicted, lastFrame: 2, lastTime: at(2))
        #expect(harness.send(c, fromClient: true, sequence: 400, framed(queryA), frame: 4) == [
            .connectionEnded(evicted),
            message(queryA, fromClient: true, frame: 4, key: c),
        ])
        #expect(harness.reassembler.statistics.evicted == 1)
        #expect(harness.reassembler.statistics.connections == 2)
        #expect(harness.reassembler.statistics.peakConnections == 2)
        // B comes back as a new, mid-stream record.
        #expect(harness.send(b, fromClient: true, sequence: 231, framed(queryAAAA), frame: 5) == [
            .connectionEnded(ConnectionSummary(
                key: a, firstFrame: 1, firstTime: at(1), clientMessages: 1, serverMessages: 1, endReason: .evicted,
                lastFrame: 3, lastTime: at(3))),
            message(queryAAAA, fromClient: true, frame: 5, key: b),
        ])
    }

    /// The total cap: to make room, the least recently active connection is evicted (its
    /// partial message is lost and reported as truncated).
    @Test func totalCapEvictsTheLeastRecentlyActiveConnection() {
        var harness = TCPHarness(TCPReassembler(maximumBufferedBytesPerDirection: 200, maximumBufferedBytes: 300))
        let a = connectionKey(clientPort: 40001)
        let b = connectionKey(clientPort: 40002)
        let c = connectionKey(clientPort: 40003)
        let partial = [0x00, 0xc8] + pattern(148)  // 150 of a 202-byte frame
        #expect(harness.send(a, fromClient: true, sequence: 1, partial, frame: 1) == [])
        #expect(harness.send(b, fromClient: true, sequence: 1, partial, frame: 2) == [])
        #expect(harness.reassembler.statistics.bufferedBytes == 300)
        let evicted = ConnectionSummary(
            key: a, firstFrame: 1, firstTime: at(1), clientDamage: .truncatedMessage, endReason: .evicted, lastFrame: 1,
            lastTime: at(1))
        #expect(harness.send(c, fromClient: true, sequence: 1, Array(partial[0..<100]), frame: 3)
            == [.connectionEnded(evicted)])
        #expect(harness.reassembler.statistics.bufferedBytes == 250)
        #expect(harness.reassembler.statistics.evictedForMemory == 1)
        #expect(harness.reassembler.statistics.peakBufferedBytes == 300)
    }

    /// Random traffic under small caps: buffered bytes never exceed the total cap, no
    /// direction exceeds its own, and the table never exceeds its size.
    @Test func capsHoldUnderRandomTraffic() {
        var harness = TCPHarness(TCPReassembler(
            maximumConnections: 8, maximumBufferedBytesPerDirection: 2_000, maximumBufferedBytes: 6_000))
        var random = SplitMix64(state: 0x7C9_0053)
        for frame in 1...4_000 {
            let key = connectionKey(clientPort: UInt16(40000 + random.below(12)))
            let flags: TCPFlags = random.below(50) == 0 ? .rstAck : (random.below(40) == 0 ? .syn : .pshAck)
            let payload = pattern(random.below(300), seed: UInt8(truncatingIfNeeded: frame))
            harness.send(key, fromClient: random.below(2) == 0, sequence: UInt32(random.below(3_000)), flags: flags,
                         payload, frame: frame)
            #expect(harness.reassembler.statistics.bufferedBytes <= 6_000)
            #expect(harness.reassembler.statistics.connections <= 8)
        }
        #expect(harness.reassembler.statistics.peakBufferedBytes <= 6_000)
        harness.finish()
        #expect(harness.reassembler.statistics.bufferedBytes == 0)
        #expect(harness.reassembler.statistics.connections == 0)
    }

    // MARK: - Drip feeding and random segmentation

    /// Two server messages, one byte per segment (frames 10…87): each message is emitted by
    /// the segment carrying its last byte, and begins at the segment with its first.
    @Test func dripFedOneBytePerSegment() {
        var harness = TCPHarness()
        handshake(&harness)
        let stream = framed(responseA) + framed(responseAAAA)  // 47 + 31 bytes
        var emitted: [TCPEvent] = []
        for (index, byte) in stream.enumerated() {
            let produced = harness.send(fromClient: false, sequence: 5001 + UInt32(index), [byte], frame: 10 + index)
            if index != 46 && index != 77 { #expect(produced == [], "byte \(index)") }
            emitted += produced
        }
        #expect(emitted == [
            message(responseA, fromClient: false, frame: 56, firstFrame: 10),
            message(responseAAAA, fromClient: false, frame: 87, firstFrame: 57),
        ])
        #expect(harness.reassembler.statistics.bufferedBytes == 0)
    }

    /// The same bytes, last byte first: everything is held until byte 0 arrives (frame 87),
    /// which completes both messages; the second began at the frame that carried byte 47.
    @Test func dripFedInReverse() {
        var harness = TCPHarness()
        handshake(&harness)
        let stream = framed(responseA) + framed(responseAAAA)
        var emitted: [TCPEvent] = []
        for (arrival, index) in stream.indices.reversed().enumerated() {
            emitted += harness.send(fromClient: false, sequence: 5001 + UInt32(index), [stream[index]], frame: 10 + arrival)
        }
        #expect(emitted == [
            message(responseA, fromClient: false, frame: 87, firstFrame: 87),
            message(responseAAAA, fromClient: false, frame: 87, firstFrame: 10 + 77 - 47),
        ])
        #expect(harness.reassembler.statistics.outOfOrderSegments == 77)
        #expect(harness.reassembler.statistics.bufferedBytes == 0)
    }

    /// Random DNS-sized messages, cut at random points, delivered with local reordering,
    /// duplicates and resegmented retransmissions, from random ISNs (some near the wrap):
    /// exactly the original messages come out, in order, undamaged.
    @Test func randomSegmentationReorderingAndDuplicates() {
        var random = SplitMix64(state: 0x0DD5_7C9A)
        for round in 0..<150 {
            var messages: [[UInt8]] = []
            for index in 0..<(1 + random.below(6)) {
                messages.append(pattern(12 + random.below(700), seed: UInt8(truncatingIfNeeded: round &* 7 &+ index)))
            }
            let stream = messages.flatMap(framed)
            let isn: UInt32 = random.below(3) == 0 ? UInt32.max &- UInt32(random.below(2_000)) : UInt32(truncatingIfNeeded: random.next())
            // Cut into segments, then resend a few (whole or re-cut across boundaries).
            var pieces: [(start: Int, end: Int)] = []
            var position = 0
            while position < stream.count {
                let end = min(stream.count, position + 1 + random.below(120))
                pieces.append((position, end))
                position = end
            }
            for _ in 0..<random.below(4) {
                let start = random.below(stream.count)
                pieces.append((start, min(stream.count, start + 1 + random.below(200))))
            }
            // Local reordering: swap neighbours within a window of four.
            for index in pieces.indices where random.below(3) == 0 {
                pieces.swapAt(index, min(pieces.count - 1, index + random.below(4)))
            }
            var harness = TCPHarness()
            harness.send(fromClient: true, sequence: isn, flags: .syn, frame: 0)
            for (frame, piece) in pieces.enumerated() {
                harness.send(fromClient: true, sequence: isn &+ 1 &+ UInt32(piece.start),
                             Array(stream[piece.start..<piece.end]), frame: frame + 1)
            }
            harness.finish()
            #expect(harness.messages.map(\.bytes) == messages, "round \(round)")
            guard case .connectionEnded(let summary)? = harness.events.last else {
                Issue.record("no summary in round \(round)")
                continue
            }
            #expect(summary.clientDamage == nil, "round \(round)")
            #expect(summary.clientMessages == messages.count)
            #expect(harness.reassembler.statistics.bufferedBytes == 0)
        }
    }
}
