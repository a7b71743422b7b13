import Capture
import DequeModule
import PacketDecoding
import WireCore

/// One captured frame kept in memory: a copy of its bytes and its place in the live capture.
public struct RingFrame: Sendable {
    /// The frame's number in the live capture (1-based, as reports and findings cite it).
    public var number: Int
    public var timestamp: Timestamp
    public var originalLength: Int
    public var linkType: LinkType
    public var bytes: [UInt8]

    public init(number: Int, timestamp: Timestamp, originalLength: Int, linkType: LinkType, bytes: [UInt8]) {
        self.number = number
        self.timestamp = timestamp
        self.originalLength = originalLength
        self.linkType = linkType
        self.bytes = bytes
    }

    /// What the ring counts for this frame: its bytes plus the bookkeeping of one entry
    /// (the array's header and the entry itself), so a flood of tiny frames is capped too.
    var memoryCost: Int { bytes.count + RingFrame.overhead }
    static let overhead = 80
}

/// The captured frames of the last `seconds` (by capture time), at most `maximumBytes` of
/// memory: the evidence `--export-on-finding` draws on. Appending evicts from the old end
/// whatever is older than `seconds` before the newest frame, then whatever exceeds the
/// memory cap; frames evicted for memory are counted (`evictedForMemory`), so a ring that
/// covers less than `seconds` on a busy node says so (`coveredSeconds`).
///
/// Frames share their byte arrays with whoever took them (`frames(...)`): a bundle being
/// written keeps its frames alive after the ring evicted them, without a copy.
public struct PacketRing {
    public let seconds: Double
    public let maximumBytes: Int
    private var entries: Deque<RingFrame> = []
    public private(set) var bytesHeld = 0
    public private(set) var evictedForMemory = 0
    public private(set) var appended = 0

    public init(seconds: Double, maximumBytes: Int) {
        self.seconds = seconds
        self.maximumBytes = maximumBytes
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var newestNumber: Int? { entries.last?.number }

    /// Seconds between the oldest and the newest frame held.
    public var coveredSeconds: Double {
        guard let first = entries.first, let last = entries.last else { return 0 }
        return (last.timestamp - first.timestamp).seconds
    }

    /// Copies `frame` in (its bytes are libpcap's, valid only during the call), then evicts.
    public mutating func append(_ frame: CapturedFrame, number: Int) {
        let copy = RingFrame(number: number, timestamp: frame.timestamp, originalLength: frame.originalLength,
                             linkType: frame.linkType, bytes: Array(frame.bytes))
        append(copy)
    }

    public mutating func append(_ frame: RingFrame) {
        appended += 1
        entries.append(frame)
        bytesHeld += frame.memoryCost
        let oldestKept = frame.timestamp + Duration(nanoseconds: -Int64((seconds * 1e9).rounded()))
        while let first = entries.first, first.timestamp < oldestKept {
            bytesHeld -= first.memoryCost
            entries.removeFirst()
        }
        while bytesHeld > maximumBytes, entries.count > 1, let first = entries.first {
            bytesHeld -= first.memoryCost
            entries.removeFirst()
            evictedForMemory += 1
        }
    }

    /// Every frame held, oldest first.
    public var all: [RingFrame] { Array(entries) }

    /// The frames held numbered above `number` (all for nil) that `matches` accepts, oldest first.
    public func frames(after number: Int? = nil, where matches: (RingFrame) -> Bool) -> [RingFrame] {
        var result: [RingFrame] = []
        for frame in entries where frame.number > (number ?? .min) && matches(frame) { result.append(frame) }
        return result
    }
}

/// Tells whether a frame carries traffic of some addresses: its IP source or destination,
/// the addresses inside an overlay (the decoder reports the inner packet), or the packet an
/// ICMP error quotes. Frames the decoder cannot read any address from never match.
public struct AddressMatcher {
    private let decoder: PacketDecoder
    public let addresses: Set<IPAddress>

    public init(addresses: Set<IPAddress>, ports: [UInt16]) {
        self.addresses = addresses
        decoder = PacketDecoder(ports: ports)
    }

    public func matches(_ frame: RingFrame) -> Bool {
        guard !addresses.isEmpty else { return false }
        var packet = DecodedPacket()
        let unset = packet.source
        frame.bytes.withUnsafeBytes { bytes in
            _ = decoder.decode(bytes, linkType: frame.linkType, isCut: frame.originalLength > frame.bytes.count,
                               into: &packet)
        }
        if packet.source != unset, addresses.contains(packet.source) { return true }
        if packet.destination != unset, addresses.contains(packet.destination) { return true }
        return false
    }
}
