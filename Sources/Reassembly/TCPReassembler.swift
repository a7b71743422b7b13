import PacketDecoding
import WireCore

/// Reassembles DNS-over-TCP streams into messages, bounded per direction, in total and in
/// connections.
///
/// Each direction tracks the next expected sequence number: from the SYN (ISN + 1, RFC 9293
/// §3.4: SYN and FIN each occupy one sequence number) or, when the capture began
/// mid-connection, from the first segment seen, assumed to start at a message boundary (as
/// dnscap and dnsjit assume). Data in sequence is framed at once (RFC 7766 §8: a 2-byte
/// length, then the message): several messages in one segment and one message over many
/// segments both work, and a whole message inside one segment is copied only once, into the
/// event. Data ahead of the expected number is held (copied) until the hole fills; data
/// already seen is ignored, and a partial repeat is trimmed. Sequence numbers are compared
/// with RFC 1982 serial arithmetic, so wrap-around at 2^32 is ordinary.
///
/// A direction whose stream can no longer be framed with certainty is *damaged*: a hole
/// that cannot be filled (the connection ended, or holding data would exceed the
/// per-direction cap), a zero length prefix, or the total memory cap. It emits nothing more;
/// framing is never guessed after a gap.
///
/// Ended connections (RST, FIN both ways) stay in the table without data until the idle
/// timeout, so that their stragglers (final ACKs, retransmitted FINs) do not start phantom
/// connections; a new client SYN on them starts a new connection at once.
public struct TCPReassembler: Sendable {
    /// Bytes charged for each segment held out of order on top of its data, so that many
    /// tiny segments cannot hold much more memory than the caps suggest.
    public static let bookkeepingBytesPerSegment = 64

    public let maximumConnections: Int
    public let maximumBufferedBytesPerDirection: Int
    public let maximumBufferedBytes: Int
    public let idleTimeout: Duration
    public private(set) var statistics = TCPStatistics()

    private var table = RecencyTable<TCPConnectionKey, Connection>()

    /// Limits below their minimum (one connection, zero bytes) are raised to it. A direction
    /// cap below 65,537 bytes damages streams that carry the largest DNS messages.
    public init(
        maximumConnections: Int = 65_536, maximumBufferedBytesPerDirection: Int = 128 << 10,
        maximumBufferedBytes: Int = 64 << 20, idleTimeout: Duration = .seconds(60)
    ) {
        self.maximumConnections = max(1, maximumConnections)
        self.maximumBufferedBytesPerDirection = max(0, maximumBufferedBytesPerDirection)
        self.maximumBufferedBytes = max(0, maximumBufferedBytes)
        self.idleTimeout = idleTimeout
    }

    /// Adds one segment; `emit` receives, in order, any connection that ended because of it
    /// (superseded, evicted, idle) and every message it completed.
    public mutating func add(_ segment: TCPSegment, emit: (TCPEvent) -> Void) {
        statistics.segments &+= 1
        let slot: Int
        var connection: Connection
        if let existing = table.slot(for: segment.key) {
            guard let current = table.take(existing) else { return }
            slot = existing
            connection = current
            table.moveToNewest(slot)
            if segment.time - connection.lastTime > idleTimeout {
                // Silent for longer than the idle timeout: what comes now starts afresh, as
                // if `expire` had run in between.
                if connection.endReason == nil { end(&connection, .idle, emit: emit) }
                connection = open(segment)
            } else if connection.endReason != nil {
                guard segment.isNewHandshake else {
                    statistics.segmentsAfterEnd &+= 1
                    connection.lastTime = max(connection.lastTime, segment.time)
                    table.put(slot, connection)
                    return
                }
                connection = open(segment)
            } else if segment.isNewHandshake, connection.clientInitialSequence != segment.sequence {
                // Not a retransmitted SYN (that would repeat the ISN): the client reused
                // the port for a new connection.
                end(&connection, .superseded, emit: emit)
                connection = open(segment)
            }
        } else {
            while table.count >= maximumConnections, let oldest = table.oldestSlot {
                evict(oldest, forMemory: false, emit: emit)
            }
            connection = open(segment)
            slot = table.insertNewest(segment.key, connection)
            _ = table.take(slot)
            noteTableSize()
        }
        process(segment, &connection, slot: slot, emit: emit)
        table.put(slot, connection)
    }

    /// Ends every connection silent for longer than `idleTimeout` before `now` (reason
    /// `.idle`) and forgets ended ones kept for stragglers. Call it as capture time advances.
    ///
    /// Connections are examined least recently active first and the walk stops at the first
    /// one still active, so with capture timestamps out of order one may linger a little.
    public mutating func expire(now: Timestamp, emit: (TCPEvent) -> Void) {
        while let slot = table.oldestSlot, let oldest = table.value(at: slot), now - oldest.lastTime > idleTimeout {
            guard var connection = table.remove(slot) else { break }
            if connection.endReason == nil { end(&connection, .idle, emit: emit) }
        }
        noteTableSize()
    }

    /// End of capture: every live connection ends (reason `.captureEnd`), least recently
    /// active first; the table is empty afterwards.
    public mutating func finish(emit: (TCPEvent) -> Void) {
        for slot in table.slotsOldestFirst {
            guard var connection = table.remove(slot) else { continue }
            if connection.endReason == nil { end(&connection, .captureEnd, emit: emit) }
        }
        noteTableSize()
    }

    // MARK: - Connections

    private mutating func open(_ segment: TCPSegment) -> Connection {
        statistics.connectionsOpened &+= 1
        return Connection(key: segment.key, frame: segment.frame, time: segment.time)
    }

    /// Handshake bookkeeping, then the segment's sequence space into its direction.
    private mutating func process(_ segment: TCPSegment, _ connection: inout Connection, slot: Int, emit: (TCPEvent) -> Void) {
        connection.lastFrame = segment.frame
        connection.lastTime = max(connection.lastTime, segment.time)
        let flags = segment.flags
        if flags.contains(.syn) {
            if segment.fromClient && !flags.contains(.ack) {
                if connection.synFrame == nil {
                    connection.synFrame = segment.frame
                    connection.synTime = segment.time
                    connection.clientInitialSequence = segment.sequence
                }
                connection.synCount &+= 1
            } else if !segment.fromClient && flags.contains(.ack) && connection.synAckFrame == nil {
                connection.synAckFrame = segment.frame
                connection.synAckTime = segment.time
            }
        }
        if flags.contains(.rst) {
            // RFC 9293 §3.5.3: a reset aborts the connection; data it may carry is a
            // diagnostic, not stream data.
            connection.resetBy = segment.fromClient ? .client : .server
            connection.resetFrame = segment.frame
            end(&connection, .reset, emit: emit)
            return
        }
        let context = Context(key: segment.key, fromClient: segment.fromClient, slot: slot, frame: segment.frame, time: segment.time)
        if segment.fromClient {
            feed(segment, into: &connection.client, context, emit: emit)
        } else {
            feed(segment, into: &connection.server, context, emit: emit)
        }
        if connection.client.finReached && connection.server.finReached {
            end(&connection, .closed, emit: emit)
        }
    }

    /// Ends a live connection: a hole or a partial message left in a direction damages it,
    /// its buffers are released, and the summary is emitted. Eviction counters are kept by
    /// `evict`.
    private mutating func end(_ connection: inout Connection, _ reason: ConnectionEndReason, emit: (TCPEvent) -> Void) {
        guard connection.endReason == nil else { return }
        settle(&connection.client)
        settle(&connection.server)
        connection.endReason = reason
        switch reason {
        case .reset: statistics.endedByReset &+= 1
        case .closed: statistics.endedByClose &+= 1
        case .idle: statistics.endedByIdle &+= 1
        case .captureEnd: statistics.endedAtCaptureEnd &+= 1
        case .superseded: statistics.superseded &+= 1
        case .evicted: break
        }
        emit(.connectionEnded(connection.summary(reason)))
    }

    /// A direction at the end of its connection: anything still waiting can never be framed.
    private mutating func settle(_ direction: inout StreamDirection) {
        guard direction.damage == nil else { return }
        if !direction.held.isEmpty {
            damage(&direction, .unfilledGap)
        } else if direction.prefixCount > 0 {
            damage(&direction, .truncatedMessage)
        }
    }

    private mutating func evict(_ slot: Int, forMemory: Bool, emit: (TCPEvent) -> Void) {
        guard var connection = table.remove(slot) else { return }
        noteTableSize()
        guard connection.endReason == nil else { return }
        if forMemory { statistics.evictedForMemory &+= 1 } else { statistics.evicted &+= 1 }
        end(&connection, .evicted, emit: emit)
    }

    /// Evicts the least recently active connections other than `keeping` until `bytes` more
    /// fit under `maximumBufferedBytes`.
    ///
    /// Connections go in recency order whether or not they hold bytes: picking only those
    /// that do would need a scan per segment under pressure. One without buffered bytes
    /// loses only its record; its next segment starts a new one, at a message boundary.
    private mutating func evictForMemory(_ bytes: Int, keeping: Int, emit: (TCPEvent) -> Void) {
        var candidate = table.oldestSlot
        while statistics.bufferedBytes + bytes > maximumBufferedBytes, let slot = candidate {
            candidate = table.slot(newerThan: slot)
            if slot != keeping { evict(slot, forMemory: true, emit: emit) }
        }
    }

    private mutating func noteTableSize() {
        statistics.connections = table.count
        statistics.peakConnections = max(statistics.peakConnections, table.count)
    }

    // MARK: - One direction's stream

    /// The segment being processed: where messages go and what they are stamped with.
    private struct Context {
        var key: TCPConnectionKey
        var fromClient: Bool
        /// The connection's slot, checked out while the segment is processed.
        var slot: Int
        var frame: Int
        var time: Timestamp
    }

    private mutating func feed(_ segment: TCPSegment, into direction: inout StreamDirection, _ context: Context, emit: (TCPEvent) -> Void) {
        let fin = segment.flags.contains(.fin)
        if fin && direction.finFrame == nil { direction.finFrame = segment.frame }
        var start = segment.sequence
        if segment.flags.contains(.syn) {
            start = segment.sequence &+ 1
            if direction.nextSequence == nil { direction.nextSequence = start }
        }
        if direction.damage != nil {
            // Nothing to check the FIN against any more: take it at its word.
            if fin { direction.finReached = true }
            return
        }
        // Nothing is valid after a FIN; anything before it is a retransmission.
        guard !direction.finReached else {
            if fin || !segment.payload.isEmpty { statistics.retransmittedSegments &+= 1 }
            return
        }
        if direction.nextSequence == nil {
            // Capture began mid-connection: assume this segment starts a message.
            direction.nextSequence = start
        }
        accept(start: start, payload: segment.payload, fin: fin, sourceFrame: segment.frame, drained: false,
               into: &direction, context, emit: emit)
        // Fill in from held segments while the hole before them is closed.
        while direction.damage == nil, !direction.finReached, let first = direction.held.first,
              let next = direction.nextSequence, sequenceDistance(from: next, to: first.start) <= 0 {
            direction.held.removeFirst()
            release(first.payload.count + Self.bookkeepingBytesPerSegment, from: &direction)
            first.payload.withUnsafeBytes { bytes in
                accept(start: first.start, payload: bytes, fin: first.fin, sourceFrame: first.frame, drained: true,
                       into: &direction, context, emit: emit)
            }
        }
        if direction.finReached && !direction.held.isEmpty {
            // Held beyond the FIN: not part of the stream.
            for segment in direction.held { release(segment.payload.count + Self.bookkeepingBytesPerSegment, from: &direction) }
            direction.held = []
        }
    }

    /// Places one piece of sequence space (`payload`, then a FIN if `fin`) starting at
    /// `start`: frames the part that is new and in sequence, holds it if ahead, ignores it if
    /// already seen. `drained` marks a held segment coming back (already counted).
    private mutating func accept(
        start: UInt32, payload: UnsafeRawBufferPointer, fin: Bool, sourceFrame: Int, drained: Bool,
        into direction: inout StreamDirection, _ context: Context, emit: (TCPEvent) -> Void
    ) {
        guard let next = direction.nextSequence else { return }
        let length = payload.count + (fin ? 1 : 0)
        guard length > 0 else { return }
        let offset = sequenceDistance(from: next, to: start)
        if offset > 0 {
            hold(start: start, payload: payload, fin: fin, frame: sourceFrame, offset: offset, into: &direction, context, emit: emit)
            return
        }
        if offset + length <= 0 {
            if !drained { statistics.retransmittedSegments &+= 1 }
            return
        }
        if offset < 0 && !drained { statistics.overlappingSegments &+= 1 }
        var reader = ByteReader(payload)
        try? reader.skip(min(-offset, payload.count))
        let fresh = reader.rest
        deliver(fresh, sourceFrame: sourceFrame, into: &direction, context, emit: emit)
        guard direction.damage == nil else { return }
        direction.nextSequence = next &+ UInt32(truncatingIfNeeded: fresh.count)
        if fin {
            direction.nextSequence = next &+ UInt32(truncatingIfNeeded: fresh.count) &+ 1
            direction.finReached = true
        }
    }

    /// Keeps a copy of data that arrived ahead of a hole, sorted by sequence.
    private mutating func hold(
        start: UInt32, payload: UnsafeRawBufferPointer, fin: Bool, frame: Int, offset: Int,
        into direction: inout StreamDirection, _ context: Context, emit: (TCPEvent) -> Void
    ) {
        guard let next = direction.nextSequence else { return }
        if direction.held.contains(where: { $0.start == start && $0.payload.count == payload.count && $0.fin == fin }) {
            statistics.retransmittedSegments &+= 1
            return
        }
        guard reserve(payload.count + Self.bookkeepingBytesPerSegment, for: &direction, context, emit: emit) else { return }
        statistics.outOfOrderSegments &+= 1
        let position = direction.held.firstIndex { sequenceDistance(from: next, to: $0.start) > offset } ?? direction.held.count
        direction.held.insert(HeldSegment(start: start, payload: [UInt8](payload), fin: fin, frame: frame), at: position)
    }

    /// Frames in-sequence bytes: every complete message is emitted, the rest waits. A
    /// message wholly inside `bytes` is copied once, straight into its event; a message
    /// spread over segments is gathered in `waitingBody` and handed over without a copy.
    private mutating func deliver(
        _ bytes: UnsafeRawBufferPointer, sourceFrame: Int, into direction: inout StreamDirection, _ context: Context,
        emit: (TCPEvent) -> Void
    ) {
        var reader = ByteReader(bytes)
        while !reader.isAtEnd && direction.damage == nil {
            switch direction.prefixCount {
            case 0:
                if let length = try? reader.peekUInt16() {
                    guard length > 0 else {
                        damage(&direction, .zeroLengthMessage)
                        return
                    }
                    if reader.remaining - 2 >= Int(length) {
                        try? reader.skip(2)
                        guard let body = try? reader.readBytes(Int(length)) else { return }
                        send([UInt8](body), firstFrame: sourceFrame, from: &direction, context, emit: emit)
                        continue
                    }
                }
                // The rest is the start of a message that continues in later segments.
                guard reserve(reader.remaining, for: &direction, context, emit: emit) else { return }
                direction.waitingFirstFrame = sourceFrame
                if let length = try? reader.readUInt16() {
                    direction.prefixCount = 2
                    direction.declaredLength = Int(length)
                    direction.waitingBody.append(contentsOf: reader.rest)
                } else if let high = try? reader.readUInt8() {
                    direction.prefixCount = 1
                    direction.declaredLength = Int(high) << 8
                }
                return
            case 1:
                guard reserve(1, for: &direction, context, emit: emit), let low = try? reader.readUInt8() else { return }
                direction.prefixCount = 2
                direction.declaredLength |= Int(low)
                guard direction.declaredLength > 0 else {
                    damage(&direction, .zeroLengthMessage)
                    return
                }
            default:
                let count = min(direction.declaredLength - direction.waitingBody.count, reader.remaining)
                guard reserve(count, for: &direction, context, emit: emit), let chunk = try? reader.readBytes(count) else {
                    return
                }
                direction.waitingBody.append(contentsOf: chunk)
                guard direction.waitingBody.count == direction.declaredLength else { continue }
                let message = direction.waitingBody
                release(2 + message.count, from: &direction)
                direction.waitingBody = []
                direction.prefixCount = 0
                direction.declaredLength = 0
                send(message, firstFrame: direction.waitingFirstFrame, from: &direction, context, emit: emit)
            }
        }
    }

    private mutating func send(
        _ message: [UInt8], firstFrame: Int, from direction: inout StreamDirection, _ context: Context, emit: (TCPEvent) -> Void
    ) {
        direction.messages &+= 1
        statistics.messages &+= 1
        emit(.message(key: context.key, fromClient: context.fromClient, bytes: message, frame: context.frame,
                      firstFrame: firstFrame, time: context.time))
    }

    /// Charges `bytes` to `direction` and the total, evicting other connections if the
    /// total needs it. On failure the direction is damaged and false returned.
    private mutating func reserve(_ bytes: Int, for direction: inout StreamDirection, _ context: Context, emit: (TCPEvent) -> Void) -> Bool {
        guard bytes > 0 else { return true }
        if direction.chargedBytes + bytes > maximumBufferedBytesPerDirection {
            damage(&direction, .bufferLimit)
            return false
        }
        if statistics.bufferedBytes + bytes > maximumBufferedBytes {
            evictForMemory(bytes, keeping: context.slot, emit: emit)
            if statistics.bufferedBytes + bytes > maximumBufferedBytes {
                damage(&direction, .memoryLimit)
                return false
            }
        }
        direction.chargedBytes += bytes
        statistics.bufferedBytes += bytes
        statistics.peakBufferedBytes = max(statistics.peakBufferedBytes, statistics.bufferedBytes)
        return true
    }

    private mutating func release(_ bytes: Int, from direction: inout StreamDirection) {
        direction.chargedBytes -= bytes
        statistics.bufferedBytes -= bytes
    }

    /// Stops a direction for good: its buffers are freed and nothing more is framed.
    private mutating func damage(_ direction: inout StreamDirection, _ reason: StreamDamage) {
        guard direction.damage == nil else { return }
        direction.damage = reason
        // A FIN waiting behind the hole still tells that this side has finished.
        if direction.held.contains(where: \.fin) { direction.finReached = true }
        statistics.bufferedBytes -= direction.chargedBytes
        direction.chargedBytes = 0
        direction.prefixCount = 0
        direction.declaredLength = 0
        direction.waitingBody = []
        direction.held = []
        switch reason {
        case .unfilledGap: statistics.damagedByGap &+= 1
        case .bufferLimit: statistics.damagedByBufferLimit &+= 1
        case .memoryLimit: statistics.damagedByMemoryLimit &+= 1
        case .zeroLengthMessage: statistics.damagedByZeroLength &+= 1
        case .truncatedMessage: statistics.damagedByTruncation &+= 1
        }
    }
}

extension TCPSegment {
    /// A client's SYN without ACK: the first step of a handshake (RFC 9293 §3.5).
    var isNewHandshake: Bool {
        fromClient && flags.contains(.syn) && !flags.contains(.ack) && !flags.contains(.rst)
    }
}

/// Data that arrived ahead of a hole.
private struct HeldSegment: Sendable {
    var start: UInt32
    var payload: [UInt8]
    var fin: Bool
    var frame: Int
}

/// One direction of a connection.
///
/// Invariant: `chargedBytes` = `prefixCount` + `waitingBody.count` + Σ(held payload +
/// bookkeeping); a message is waiting exactly when `prefixCount > 0`, and its body is
/// shorter than `declaredLength`; once `damage` is set nothing is waiting or held.
private struct StreamDirection: Sendable {
    var nextSequence: UInt32?
    /// Bytes of the waiting message's length prefix seen so far: 0 (none waiting), 1 or 2.
    var prefixCount = 0
    /// The prefix's value (only its high byte while `prefixCount == 1`).
    var declaredLength = 0
    /// The waiting message's body so far.
    var waitingBody: [UInt8] = []
    /// Frame that carried the first byte of the waiting message.
    var waitingFirstFrame = 0
    var held: [HeldSegment] = []
    var chargedBytes = 0
    /// The FIN has been reached in sequence.
    var finReached = false
    var finFrame: Int?
    var damage: StreamDamage?
    var messages = 0
}

private struct Connection: Sendable {
    var key: TCPConnectionKey
    var firstFrame: Int
    var firstTime: Timestamp
    var lastFrame: Int
    var lastTime: Timestamp
    var synFrame: Int?
    var synTime: Timestamp?
    var synCount = 0
    var synAckFrame: Int?
    var synAckTime: Timestamp?
    var clientInitialSequence: UInt32?
    var resetBy: ConnectionSide?
    var resetFrame: Int?
    var client = StreamDirection()
    var server = StreamDirection()
    var endReason: ConnectionEndReason?

    init(key: TCPConnectionKey, frame: Int, time: Timestamp) {
        self.key = key
        firstFrame = frame
        firstTime = time
        lastFrame = frame
        lastTime = time
    }

    func summary(_ reason: ConnectionEndReason) -> ConnectionSummary {
        ConnectionSummary(
            key: key, firstFrame: firstFrame, firstTime: firstTime, synFrame: synFrame, synTime: synTime,
            synCount: synCount, synAckFrame: synAckFrame, synAckTime: synAckTime, resetBy: resetBy,
            resetFrame: resetFrame, clientFINFrame: client.finFrame, serverFINFrame: server.finFrame,
            clientMessages: client.messages, serverMessages: server.messages, clientDamage: client.damage,
            serverDamage: server.damage, endReason: reason, lastFrame: lastFrame, lastTime: lastTime)
    }
}
