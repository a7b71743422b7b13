import PacketDecoding
import Transactions
import WireCore

/// One call the frame stage made, numbered in capture order, as a shard replays it. Flat
/// (no enum payload), so the shard reads its fields in place in the batch instead of copying
/// each operation out; the message's context is inline but for its rare parts (an overlay's
/// underlay, an ICMP error), which are in the batch's `rareContexts`: 112 bytes written and
/// read per message instead of 208.
struct ShardOperation: Sendable {
    enum Kind: UInt8, Sendable {
        /// A DNS message (or the message an ICMP error quotes); its bytes are in the batch.
        case message
        /// A TCP connection ended: `connections[Int(offset)]` of the batch.
        case connectionEnded
        /// The end of the input: outstanding queries close.
        case finish
    }

    /// The global index of the operation: the same in every shard.
    var index: Int64
    var time: Timestamp
    var kind: Kind
    var isCut = false
    var transport: Transport = .udp
    var hasIPIdentification = false
    /// Where the message's bytes are in the batch's `bytes` (or which connection it is).
    var offset: Int32 = 0
    var count: Int32 = 0
    var frame: Int = 0
    var source = Endpoint(ip: IPAddress(ipv4: 0), port: 0)
    var destination = Endpoint(ip: IPAddress(ipv4: 0), port: 0)
    var vlanIDs = VLANIDs()
    var interfaceIndex: Int32 = -1
    var ipIdentification: UInt32 = 0
    /// The message's underlay and ICMP error: `rareContexts[Int(rare)]` of the batch, or
    /// neither (-1).
    var rare: Int32 = -1

    init(index: Int64, time: Timestamp, kind: Kind, offset: Int32 = 0) {
        self.index = index
        self.time = time
        self.kind = kind
        self.offset = offset
    }

    init(index: Int64, time: Timestamp, message offset: Int32, count: Int32, isCut: Bool, transport: Transport,
         frame: Int, source: Endpoint, destination: Endpoint, context: MessageContext, rare: Int32) {
        self.index = index
        self.time = time
        kind = .message
        self.isCut = isCut
        self.transport = transport
        self.offset = offset
        self.count = count
        self.frame = frame
        self.source = source
        self.destination = destination
        vlanIDs = context.vlanIDs
        interfaceIndex = context.interfaceIndex
        hasIPIdentification = context.ipIdentification != nil
        ipIdentification = context.ipIdentification ?? 0
        self.rare = rare
    }

    /// The message's context, as the frame stage gave it.
    func context(rare contexts: UnsafeBufferPointer<RareContext>) -> MessageContext {
        let rareContext = rare >= 0 ? contexts[Int(rare)] : nil
        return MessageContext(vlanIDs: vlanIDs, interfaceIndex: interfaceIndex, underlay: rareContext?.underlay,
                              ipIdentification: hasIPIdentification ? ipIdentification : nil,
                              icmpError: rareContext?.icmpError)
    }
}

/// The parts of a message's context few messages have.
struct RareContext: Sendable {
    var underlay: Underlay?
    var icmpError: ICMPError?
}

/// The capture clock moved forward at an operation of another shard (or at a frame without
/// DNS): deadlines fire there as they would in one engine.
struct ClockStep: Sendable {
    var index: Int64
    var time: Timestamp
}

/// The operations of one shard for one round, with the bytes of their messages, and the
/// steps of the clock at the other shards' operations (16 bytes each: there is one per
/// frame, in every shard).
struct OperationBatch: Sendable {
    var operations: [ShardOperation] = []
    var connections: [TCPConnectionReport] = []
    var rareContexts: [RareContext] = []
    var clockSteps: [ClockStep] = []
    /// The messages' bytes are `bytes[0..<byteCount]`: the array is sized ahead (zeros), so
    /// a message goes in with one `memcpy` (`Array.append(contentsOf:)` cost 70 instructions
    /// more per message, most of a parallel run's reading thread overhead after the copy).
    private(set) var bytes: [UInt8] = []
    private(set) var byteCount = 0
    /// Every operation up to this index has been routed: the shard has all of its own.
    var throughOperation: Int64 = -1
    /// The last batch: the shard ends after it.
    var isLast = false

    init(reserving operations: Int) {
        self.operations.reserveCapacity(operations)
        clockSteps.reserveCapacity(operations)
        bytes = Array(repeating: 0, count: operations * 128)
    }

    /// Appends a message's bytes; returns where they start.
    mutating func append(bytes payload: UnsafeRawBufferPointer) -> Int {
        let offset = byteCount
        if offset + payload.count > bytes.count { growBytes(toHold: offset + payload.count) }
        if let source = payload.baseAddress {
            bytes.withUnsafeMutableBytes { $0.baseAddress.unsafelyUnwrapped.advanced(by: offset).copyMemory(from: source, byteCount: payload.count) }
        }
        byteCount = offset + payload.count
        return offset
    }

    /// Twice the room (at least `count` bytes), the bytes so far kept.
    @inline(never)
    private mutating func growBytes(toHold count: Int) {
        var grown = Array(repeating: UInt8(0), count: Swift.max(count, 2 * bytes.count, 4096))
        let kept = byteCount
        bytes.withUnsafeBytes { old in
            grown.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: old[0..<kept])) }
        }
        bytes = grown
    }

    /// Empties the batch for another round, keeping its memory (a fresh batch costs page
    /// faults on a few hundred kilobytes).
    mutating func clear() {
        operations.removeAll(keepingCapacity: true)
        connections.removeAll(keepingCapacity: true)
        rareContexts.removeAll(keepingCapacity: true)
        clockSteps.removeAll(keepingCapacity: true)
        // A batch a few large messages grew (one over the round's budget) gives its memory back.
        if bytes.count > 2 * ShardRouter.maximumRoundBytes { bytes = [] }
        byteCount = 0
        throughOperation = -1
        isLast = false
    }
}

/// The frame stage's sink in a parallel run: hands each operation to the shard that owns it,
/// and every move of the capture clock to all shards, in rounds of `roundSize` operations.
///
/// Ownership keeps together everything one engine looks up together: all messages of one
/// client address (retries from new ports, the TCP retry of a truncated answer, parallel
/// A/AAAA, DNAT'ed copies, the answer from another address, the ICMP error quoting a query,
/// the client's failed TCP connections) go to the shard of that address. Multicast DNS and
/// LLMNR go to shard 0 whatever the addresses: an answer multicast to the group, or sent
/// back from port 5353/5355, pairs with queries of any client.
///
/// What this cannot keep together (counted in `multicastOperations`; the fuzz target's
/// comparison of 1 and 2 threads leaves such inputs out): a client whose unicast DNS and
/// mDNS/LLMNR share a socket and a DNS id, or that asks one question both ways with the
/// capture ending within the timeout (unanswered or in flight is decided over all its
/// queries), or an answer to a unicast query sent from port 5353/5355.
struct ShardRouter: MessageSink {
    /// Operations per round (see `ParallelAnalysis.channelCapacity`).
    static let roundSize = 2048
    /// Message bytes a shard's batch may hold before the round ends early (DNS over TCP
    /// carries messages of up to 64 KiB: 2,048 of them would be 128 MiB per batch).
    static let maximumRoundBytes = 1 << 20

    let shardCount: Int
    private var batches: [OperationBatch]
    private var nextOperation: Int64 = 0
    private var roundStart: Int64 = 0
    private var clock = Timestamp(nanoseconds: .min)
    /// Operations numbered so far.
    var operations: Int { Int(nextOperation) }
    /// Operations given to shard 0 as multicast name resolution.
    private(set) var multicastOperations = 0
    private let send: (Int, OperationBatch) -> Void
    private let recycled: (Int) -> OperationBatch?
    /// Asked before each round but the last is sent (live runs): false drops the round.
    private let admit: (() -> Bool)?
    /// Rounds `admit` refused, and what they held (live runs).
    private(set) var drops = PipelineDrops()
    /// Rounds sent (the last one included).
    private(set) var roundsSent = 0

    /// `send` hands shard `n` its batch for a round (it may wait while the shard is behind);
    /// `recycled` gives back an emptied batch shard `n` is done with, if there is one.
    /// `admit`, when given, is asked before every round but the last: false (a shard is too
    /// far behind to take it) drops the round for every shard, counted in `drops`, so the
    /// shards' rounds stay aligned for the merger.
    init(shardCount: Int, send: @escaping (Int, OperationBatch) -> Void,
         recycled: @escaping (Int) -> OperationBatch?, admit: (() -> Bool)? = nil) {
        self.shardCount = max(1, shardCount)
        self.send = send
        self.recycled = recycled
        self.admit = admit
        batches = (0..<self.shardCount).map { _ in OperationBatch(reserving: ShardRouter.roundSize) }
    }

    /// The shard that owns a message, of `shardCount`. Static: as a method it was given a copy
    /// of the router (128 bytes) at every message.
    @inline(__always)
    static func owner(of payload: UnsafeRawBufferPointer, source: Endpoint, destination: Endpoint,
                      shardCount: Int) -> Int? {
        // RFC 1035 §4.1.1: QR is the top bit of the third byte.
        let isResponse = payload.count > 2 && payload[2] & 0x80 != 0
        let client = isResponse ? destination : source
        // The group a query went to, or an answer was multicast to; ports of multicast name
        // resolution: mDNS 5353, LLMNR 5355. (The source of an answer is only ever looked up
        // with its client: an answer from a multicast address to a unicast query stays with it.)
        if destination.ip.isMulticast || client.ip.isMulticast || source.port == 5353 || source.port == 5355
            || destination.port == 5353 || destination.port == 5355 {
            return nil
        }
        return shard(of: client.ip, shardCount: shardCount)
    }

    @inline(__always)
    static func shard(of client: IPAddress, shardCount: Int) -> Int {
        Int(((client.mixed &* 0x9e37_79b9_7f4a_7c15) >> 33) % UInt64(shardCount))
    }

    mutating func message(
        _ payload: UnsafeRawBufferPointer, isCut: Bool, frame: Int, time: Timestamp, source: Endpoint,
        destination: Endpoint, transport: Transport, context: MessageContext, emit: (consuming Transaction) -> Void
    ) {
        let owner: Int
        if let unicast = ShardRouter.owner(of: payload, source: source, destination: destination,
                                           shardCount: shardCount) {
            owner = unicast
        } else {
            owner = 0
            multicastOperations += 1
        }
        if batches[owner].byteCount + payload.count > ShardRouter.maximumRoundBytes, nextOperation > roundStart {
            flush(isLast: false)
        }
        let offset = batches[owner].append(bytes: payload)
        var rare: Int32 = -1
        if context.underlay != nil || context.icmpError != nil {
            rare = Int32(truncatingIfNeeded: batches[owner].rareContexts.count)
            batches[owner].rareContexts.append(RareContext(underlay: context.underlay, icmpError: context.icmpError))
        }
        batches[owner].operations.append(ShardOperation(
            index: number(at: time, ownedBy: owner), time: time, message: Int32(truncatingIfNeeded: offset),
            count: Int32(truncatingIfNeeded: payload.count), isCut: isCut, transport: transport, frame: frame,
            source: source, destination: destination, context: context, rare: rare))
        endRoundIfFull()
    }

    mutating func connectionEnded(_ connection: TCPConnectionReport, emit: (consuming Transaction) -> Void) {
        let owner = ShardRouter.shard(of: connection.client.ip, shardCount: shardCount)
        batches[owner].connections.append(connection)
        batches[owner].operations.append(ShardOperation(
            index: number(at: connection.lastTime, ownedBy: owner), time: connection.lastTime, kind: .connectionEnded,
            offset: Int32(truncatingIfNeeded: batches[owner].connections.count - 1)))
        endRoundIfFull()
    }

    /// A step of the clock only: no shard gets an operation.
    mutating func advance(to time: Timestamp, emit: (consuming Transaction) -> Void) {
        _ = number(at: time, ownedBy: nil)
        endRoundIfFull()
    }

    /// Numbers the next operation, at `time`; if it moves the clock, every shard but `owner`
    /// (which gets the operation itself) gets a clock step.
    private mutating func number(at time: Timestamp, ownedBy owner: Int?) -> Int64 {
        let index = nextOperation
        nextOperation += 1
        if time > clock {
            clock = time
            for shard in 0..<shardCount where shard != owner {
                batches[shard].clockSteps.append(ClockStep(index: index, time: time))
            }
        }
        return index
    }

    private mutating func endRoundIfFull() {
        if nextOperation - roundStart >= ShardRouter.roundSize { flush(isLast: false) }
    }

    /// Ends the input: every shard finishes its engine, then gets its last batch.
    mutating func finish() {
        let index = nextOperation
        nextOperation += 1
        for shard in 0..<shardCount {
            batches[shard].operations.append(ShardOperation(index: index, time: clock, kind: .finish))
        }
        flush(isLast: true)
    }

    /// Ends the input without finishing the engines (the input failed): the shards stop.
    mutating func abandon() { flush(isLast: true) }

    /// Sends the round under way, if it holds anything (live runs: a round goes out at
    /// every read timeout, not only when full).
    mutating func endRound() {
        if nextOperation > roundStart { flush(isLast: false) }
    }

    private mutating func flush(isLast: Bool) {
        if !isLast, let admit, !admit() {
            drop()
            return
        }
        roundsSent += 1
        for shard in 0..<shardCount {
            var batch = isLast ? OperationBatch(reserving: 0)
                : recycled(shard) ?? OperationBatch(reserving: ShardRouter.roundSize)
            swap(&batch, &batches[shard])
            batch.throughOperation = nextOperation - 1
            batch.isLast = isLast
            send(shard, batch)
        }
        roundStart = nextOperation
    }

    /// Drops the round under way (no shard had room for it): its messages and ended
    /// connections are counted, never analysed. Its clock is carried over: the latest time
    /// reaches every shard as the first clock step of the next round, so deadlines that
    /// passed during the lost round still fire (a later step would fire them anyway).
    private mutating func drop() {
        drops.rounds += 1
        for shard in 0..<shardCount {
            for operation in batches[shard].operations {
                switch operation.kind {
                case .message: drops.messages += 1
                case .connectionEnded: drops.connectionEnds += 1
                case .finish: break
                }
            }
            batches[shard].clear()
        }
        roundStart = nextOperation
        guard clock > Timestamp(nanoseconds: .min) else { return }
        let index = nextOperation
        nextOperation += 1
        for shard in 0..<shardCount { batches[shard].clockSteps.append(ClockStep(index: index, time: clock)) }
    }
}

/// What a live run's pipeline dropped because its pairing threads fell behind: whole
/// rounds (the capture thread never waits for a shard), and what they held.
public struct PipelineDrops: Sendable, Equatable {
    public var rounds = 0
    /// DNS messages (and ICMP errors quoting one) never analysed.
    public var messages = 0
    /// Ended TCP connections never looked at (a failed TCP attempt among them goes unseen).
    public var connectionEnds = 0

    public init() {}

    public var isEmpty: Bool { rounds == 0 }
}
