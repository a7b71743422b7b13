import PacketDecoding
import WireCore

/// One DNS-over-TCP connection, oriented: `server` is the side on the DNS port. The caller
/// decides which side that is and says so with `TCPSegment.fromClient`.
public struct TCPConnectionKey: Hashable, Sendable, CustomStringConvertible {
    public var client: IPAddress
    public var clientPort: UInt16
    public var server: IPAddress
    public var serverPort: UInt16

    public init(client: IPAddress, clientPort: UInt16, server: IPAddress, serverPort: UInt16) {
        self.client = client
        self.clientPort = clientPort
        self.server = server
        self.serverPort = serverPort
    }

    public var description: String {
        "\(client)#\(clientPort) > \(server)#\(serverPort)"
    }
}

/// One TCP segment as the decoder saw it. `payload` is borrowed: bytes the reassembler must
/// keep (a partial message, data held out of order) are copied.
public struct TCPSegment {
    public var key: TCPConnectionKey
    /// True when the segment travels from `key.client` to `key.server`.
    public var fromClient: Bool
    public var sequence: UInt32
    public var acknowledgement: UInt32
    public var flags: TCPFlags
    public var payload: UnsafeRawBufferPointer
    public var frame: Int
    public var time: Timestamp

    public init(
        key: TCPConnectionKey, fromClient: Bool, sequence: UInt32, acknowledgement: UInt32, flags: TCPFlags,
        payload: UnsafeRawBufferPointer, frame: Int, time: Timestamp
    ) {
        self.key = key
        self.fromClient = fromClient
        self.sequence = sequence
        self.acknowledgement = acknowledgement
        self.flags = flags
        self.payload = payload
        self.frame = frame
        self.time = time
    }
}

/// Which end of a connection.
public enum ConnectionSide: Hashable, Sendable, CustomStringConvertible {
    case client
    case server

    public var description: String { self == .client ? "client" : "server" }
}

/// Why a connection's record ended.
public enum ConnectionEndReason: Hashable, Sendable, CustomStringConvertible {
    /// A RST from either side (RFC 9293 §3.5.3).
    case reset
    /// Both sides' FINs were reached in sequence (RFC 9293 §3.6).
    case closed
    /// Nothing seen for the idle timeout.
    case idle
    /// Pushed out of the connection table, or out of memory, to make room.
    case evicted
    /// The capture ended (`finish`).
    case captureEnd
    /// A new SYN with another initial sequence number arrived on the same addresses and
    /// ports: a new connection replaced this one (the client reused its port).
    case superseded

    public var description: String {
        switch self {
        case .reset: "reset"
        case .closed: "closed"
        case .idle: "idle"
        case .evicted: "evicted"
        case .captureEnd: "capture-end"
        case .superseded: "superseded"
        }
    }
}

/// Why one direction of a connection stopped yielding messages. After damage the
/// direction emits nothing more: framing is never guessed across a hole.
public enum StreamDamage: Hashable, Sendable, CustomStringConvertible {
    /// The connection ended with data missing before data that had arrived (a hole).
    case unfilledGap
    /// Data waiting in this direction (a partial message plus data held out of order)
    /// would have exceeded `maximumBufferedBytesPerDirection`.
    case bufferLimit
    /// `maximumBufferedBytes` could not be met even after evicting every other connection.
    case memoryLimit
    /// A length prefix of zero (RFC 7766 §8 frames each message with its non-zero length).
    case zeroLengthMessage
    /// The connection ended in the middle of a message, with no hole before it.
    case truncatedMessage

    public var description: String {
        switch self {
        case .unfilledGap: "unfilled-gap"
        case .bufferLimit: "buffer-limit"
        case .memoryLimit: "memory-limit"
        case .zeroLengthMessage: "zero-length-message"
        case .truncatedMessage: "truncated-message"
        }
    }
}

/// What is known about a connection when it ends: handshake, resets, FINs, message counts
/// and damage. The transaction engine reads "SYN never answered" as `synFrame != nil`,
/// `synAckFrame == nil`, `resetBy == nil`; "refused" as `resetBy == .server` without
/// `synAckFrame`.
public struct ConnectionSummary: Hashable, Sendable {
    public var key: TCPConnectionKey
    /// First frame of this connection (of either direction).
    public var firstFrame: Int
    public var firstTime: Timestamp
    /// The client's first SYN (no ACK), if seen.
    public var synFrame: Int?
    public var synTime: Timestamp?
    /// SYNs from the client with the same initial sequence number: 1 plus retransmissions.
    public var synCount: Int
    /// The server's first SYN-ACK, if seen.
    public var synAckFrame: Int?
    public var synAckTime: Timestamp?
    /// Who sent the RST that ended the connection, and in which frame.
    public var resetBy: ConnectionSide?
    public var resetFrame: Int?
    /// Frames carrying each side's FIN, if seen (in or out of sequence).
    public var clientFINFrame: Int?
    public var serverFINFrame: Int?
    public var clientMessages: Int
    public var serverMessages: Int
    /// Why the client→server / server→client direction stopped yielding messages, if it did.
    public var clientDamage: StreamDamage?
    public var serverDamage: StreamDamage?
    public var endReason: ConnectionEndReason
    public var lastFrame: Int
    public var lastTime: Timestamp

    public init(
        key: TCPConnectionKey, firstFrame: Int, firstTime: Timestamp, synFrame: Int? = nil, synTime: Timestamp? = nil,
        synCount: Int = 0, synAckFrame: Int? = nil, synAckTime: Timestamp? = nil, resetBy: ConnectionSide? = nil,
        resetFrame: Int? = nil, clientFINFrame: Int? = nil, serverFINFrame: Int? = nil, clientMessages: Int = 0,
        serverMessages: Int = 0, clientDamage: StreamDamage? = nil, serverDamage: StreamDamage? = nil,
        endReason: ConnectionEndReason, lastFrame: Int, lastTime: Timestamp
    ) {
        self.key = key
        self.firstFrame = firstFrame
        self.firstTime = firstTime
        self.synFrame = synFrame
        self.synTime = synTime
        self.synCount = synCount
        self.synAckFrame = synAckFrame
        self.synAckTime = synAckTime
        self.resetBy = resetBy
        self.resetFrame = resetFrame
        self.clientFINFrame = clientFINFrame
        self.serverFINFrame = serverFINFrame
        self.clientMessages = clientMessages
        self.serverMessages = serverMessages
        self.clientDamage = clientDamage
        self.serverDamage = serverDamage
        self.endReason = endReason
        self.lastFrame = lastFrame
        self.lastTime = lastTime
    }

    /// A FIN was seen from either side.
    public var finSeen: Bool { clientFINFrame != nil || serverFINFrame != nil }
    /// A hole or unparseable framing stopped at least one direction.
    public var damaged: Bool { clientDamage != nil || serverDamage != nil }
}

/// What the TCP reassembler reports, in the order it learns it.
public enum TCPEvent: Hashable, Sendable {
    /// One complete DNS message (RFC 7766 §8: the 2-byte length prefix removed). `frame` is
    /// the frame whose segment completed it (what tshark reports), `firstFrame` the frame
    /// that carried its first length byte, `time` the completing frame's time.
    case message(key: TCPConnectionKey, fromClient: Bool, bytes: [UInt8], frame: Int, firstFrame: Int, time: Timestamp)
    /// A connection is over: RST, FIN both ways, idle timeout, eviction, end of capture, or
    /// replaced by a new handshake.
    case connectionEnded(ConnectionSummary)
}

/// Counters of a `TCPReassembler`.
public struct TCPStatistics: Hashable, Sendable {
    /// Segments passed to `add`.
    public var segments = 0
    /// Connection records started (with or without a handshake seen).
    public var connectionsOpened = 0
    public var messages = 0
    /// Segments that arrived ahead of the next expected sequence number and were held.
    public var outOfOrderSegments = 0
    /// Segments whose data had all been seen already (retransmissions), ignored.
    public var retransmittedSegments = 0
    /// Segments that partly repeated data already seen; the repeated part was trimmed.
    public var overlappingSegments = 0
    /// Segments for a connection that had already ended (reset or closed), ignored.
    public var segmentsAfterEnd = 0

    public var endedByReset = 0
    public var endedByClose = 0
    public var endedByIdle = 0
    /// Live connections evicted because the table was full (least recently active first).
    public var evicted = 0
    /// Live connections evicted to bring buffered bytes under `maximumBufferedBytes`.
    public var evictedForMemory = 0
    public var endedAtCaptureEnd = 0
    public var superseded = 0

    /// Directions damaged, by reason.
    public var damagedByGap = 0
    public var damagedByBufferLimit = 0
    public var damagedByMemoryLimit = 0
    public var damagedByZeroLength = 0
    public var damagedByTruncation = 0

    /// Bytes held now: partial messages, plus data held out of order with
    /// `TCPReassembler.bookkeepingBytesPerSegment` per held segment. Never above
    /// `maximumBufferedBytes`.
    public var bufferedBytes = 0
    public var peakBufferedBytes = 0
    /// Connection records held now (live ones, and ended ones kept to absorb stragglers).
    public var connections = 0
    public var peakConnections = 0

    public init() {}

    /// Every direction damaged, whatever the reason.
    public var damagedDirections: Int {
        damagedByGap + damagedByBufferLimit + damagedByMemoryLimit + damagedByZeroLength + damagedByTruncation
    }
}
