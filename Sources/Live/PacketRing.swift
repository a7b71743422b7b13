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

    /// Copies `frame` in (its bytes are libpcap's, valid only during the call), then evicts,
    /// handing each evicted frame to `evicted`.
    public mutating func append(_ frame: CapturedFrame, number: Int, evicted: (RingFrame) -> Void = { _ in }) {
        let copy = RingFrame(number: number, timestamp: frame.timestamp, originalLength: frame.originalLength,
                             linkType: frame.linkType, bytes: Array(frame.bytes))
        append(copy, evicted: evicted)
    }

    public mutating func append(_ frame: RingFrame, evicted: (RingFrame) -> Void = { _ in }) {
        appended += 1
        entries.append(frame)
        bytesHeld += frame.memoryCost
        let oldestKept = frame.timestamp + Duration(nanoseconds: -Int64((seconds * 1e9).rounded()))
        while let first = entries.first, first.timestamp < oldestKept {
            bytesHeld -= first.memoryCost
            entries.removeFirst()
            evicted(first)
        }
        while bytesHeld > maximumBytes, entries.count > 1, let first = entries.first {
            bytesHeld -= first.memoryCost
            entries.removeFirst()
            evictedForMemory += 1
            evicted(first)
        }
    }

    /// The number of the oldest frame held.
    public var oldestNumber: Int? { entries.first?.number }

    /// The frame numbered `number`, if still held (frames are held in number order).
    public func frame(numbered number: Int) -> RingFrame? {
        var low = entries.startIndex, high = entries.endIndex
        while low < high {
            let middle = low + (high - low) / 2
            if entries[middle].number < number { low = middle + 1 } else { high = middle }
        }
        guard low < entries.endIndex, entries[low].number == number else { return nil }
        return entries[low]
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

/// Frames the ring let go of before their transaction was known to be answered: queries
/// still waiting, failed ones, ICMP errors, fragments. On a busy node the ring may cover
/// only seconds, while a finding is established seconds after the first failures (their
/// deadline, then the next evaluation); these frames stay `seconds` longer, so a finding's
/// bundle still holds the subject's failures from before the trigger. A frame whose
/// transaction turns out answered is dropped (`remove`). Bounded like the ring: `seconds`
/// of capture time before the newest frame kept, at most `maximumBytes` (oldest first,
/// counted).
public struct UnresolvedFrames {
    public let seconds: Double
    public let maximumBytes: Int
    private var byNumber: [Int: RingFrame] = [:]
    /// Numbers in the order kept; a number removed since is skipped when it comes up.
    private var order: Deque<Int> = []
    public private(set) var bytesHeld = 0
    public private(set) var evictedForMemory = 0

    public init(seconds: Double, maximumBytes: Int) {
        self.seconds = seconds
        self.maximumBytes = maximumBytes
    }

    public var count: Int { byNumber.count }

    /// Keeps `frame` (once per number), then evicts what is too old or over the cap.
    public mutating func keep(_ frame: RingFrame) {
        guard byNumber[frame.number] == nil else { return }
        byNumber[frame.number] = frame
        order.append(frame.number)
        bytesHeld += frame.memoryCost
        let oldestKept = frame.timestamp + Duration(nanoseconds: -Int64((seconds * 1e9).rounded()))
        while let first = order.first {
            guard let oldest = byNumber[first] else {
                order.removeFirst()
                continue
            }
            let tooOld = oldest.timestamp < oldestKept
            guard tooOld || (bytesHeld > maximumBytes && byNumber.count > 1) else { break }
            if !tooOld { evictedForMemory += 1 }
            order.removeFirst()
            byNumber[first] = nil
            bytesHeld -= oldest.memoryCost
        }
        if order.count > 2 * byNumber.count + 1_024 { order = Deque(order.filter { byNumber[$0] != nil }) }
    }

    /// Forgets frame `number` (its transaction was answered).
    public mutating func remove(_ number: Int) {
        guard let frame = byNumber.removeValue(forKey: number) else { return }
        bytesHeld -= frame.memoryCost
    }

    /// The frames kept that `matches` accepts, in number order.
    public func frames(where matches: (RingFrame) -> Bool) -> [RingFrame] {
        byNumber.values.filter(matches).sorted { $0.number < $1.number }
    }
}

/// Which of the frames the ring holds belong to answered transactions: one bit per frame
/// number from the ring's oldest, so the ring can let those go and keep the rest
/// (`UnresolvedFrames`). At most `maximumWords` × 64 numbers ahead of the oldest.
struct AnsweredFrameBits {
    static let maximumWords = 1 << 20
    private var base = 0
    private var words: Deque<UInt64> = []

    mutating func insert(_ number: Int) {
        guard number >= base else { return }
        let word = (number - base) / 64
        guard word < Self.maximumWords else { return }
        while words.count <= word { words.append(0) }
        words[word] |= 1 << UInt64((number - base) % 64)
    }

    func contains(_ number: Int) -> Bool {
        guard number >= base else { return false }
        let word = (number - base) / 64
        guard word < words.count else { return false }
        return words[word] & (1 << UInt64((number - base) % 64)) != 0
    }

    /// Drops the bits of numbers below `number` (whole words only).
    mutating func forget(below number: Int) {
        while base + 64 <= number {
            if words.isEmpty {
                base = number - number % 64
                return
            }
            words.removeFirst()
            base += 64
        }
    }
}

/// `a` and `b` (each in number order) merged in number order, each number once.
func mergedByNumber(_ a: [RingFrame], _ b: [RingFrame]) -> [RingFrame] {
    var result: [RingFrame] = []
    result.reserveCapacity(a.count + b.count)
    var i = 0, j = 0
    while i < a.count || j < b.count {
        let next: RingFrame
        if j >= b.count || (i < a.count && a[i].number <= b[j].number) {
            next = a[i]
            i += 1
        } else {
            next = b[j]
            j += 1
        }
        if result.last?.number != next.number { result.append(next) }
    }
    return result
}
