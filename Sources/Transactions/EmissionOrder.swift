/// Where in a run a transaction left the engine, as a key that orders the hand-overs of
/// several engines exactly as one engine fed everything would have made them.
///
/// A parallel run splits the messages among engines (shards) by client address. Each input
/// operation (a message, an ended TCP connection, a step of the capture clock) has a global
/// index, `operation`; an engine hands transactions over while it advances its clock at the
/// start of an operation, then while it does the operation's own work. One engine does the
/// clock's work in a fixed order: deadlines by (time, serial), then late windows ending by
/// (end, order of the hold), then truncated answers whose TCP retry never came by
/// (time, serial). With serials numbered by the global operation that created them, these
/// keys compare alike in every shard, so sorting the hand-overs of all shards by this key
/// gives the single engine's order, whatever the number of shards.
public struct EmissionOrder: Comparable, Sendable {
    /// The stage of an operation (or of the end of the run) a hand-over belongs to.
    public enum Phase: UInt8, Sendable {
        case deadline = 0, lateWindowEnd = 1, fallbackWait = 2, operation = 3
        case endReleasesHeld = 4, endClosesPending = 5, endReleasesParked = 6
    }

    public var operation: Int64 = 0
    public var phase: UInt8 = Phase.operation.rawValue
    /// The key within the phase: a deadline's time and serial, or a late window's end and
    /// the order of the hold it belongs to (six words).
    public var key: Key = (0, 0, 0, 0, 0, 0)

    public typealias Key = (Int64, Int64, Int64, Int64, Int64, Int64)
    /// Hand-overs and holds under one key, in the order they happened.
    public var step: Int64 = 0

    public init() {}

    public static func == (lhs: EmissionOrder, rhs: EmissionOrder) -> Bool {
        lhs.operation == rhs.operation && lhs.phase == rhs.phase && lhs.key == rhs.key && lhs.step == rhs.step
    }

    /// Inlined: the merger compares two shards' next hand-overs for every transaction, and
    /// they almost always differ in `operation` (the call, with both 72-byte orders copied
    /// for it, cost more than the comparison).
    @inlinable @inline(__always)
    public static func < (lhs: EmissionOrder, rhs: EmissionOrder) -> Bool {
        if lhs.operation != rhs.operation { return lhs.operation < rhs.operation }
        return laterFieldsAscend(lhs, rhs)
    }

    @usableFromInline
    static func laterFieldsAscend(_ lhs: EmissionOrder, _ rhs: EmissionOrder) -> Bool {
        if lhs.phase != rhs.phase { return lhs.phase < rhs.phase }
        if lhs.key != rhs.key { return lhs.key < rhs.key }
        return lhs.step < rhs.step
    }

    /// The order of a hold, as the key of the late window's end it leads to.
    var asKey: (Int64, Int64, Int64, Int64, Int64) { (operation, Int64(phase), key.0, key.1, step) }
}

/// The current `EmissionOrder` of one engine, kept in a reference so that the engine's
/// caller can read it from inside `emit` while the engine is being mutated. Set only in
/// parallel runs: without it the engine numbers nothing.
///
/// The order lives in memory of its own, not in a stored property: a class property is
/// checked for exclusive access at run time on every read and write (4 % of a parallel run's
/// time, measured), and this one is only ever touched by the thread of its engine.
public final class EmissionClock {
    @usableFromInline let storage: UnsafeMutablePointer<EmissionOrder>

    public init() {
        storage = .allocate(capacity: 1)
        storage.initialize(to: EmissionOrder())
    }

    deinit {
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    public var current: EmissionOrder { storage.pointee }

    /// Starts input operation `operation` (its clock step first).
    @inlinable
    public func begin(operation: Int64) {
        storage.pointee.operation = operation
        enter(.deadline, key: (0, 0, 0, 0, 0, 0))
    }

    @inlinable @usableFromInline
    func enter(_ phase: EmissionOrder.Phase, key: EmissionOrder.Key) {
        storage.pointee.phase = phase.rawValue
        storage.pointee.key = key
        storage.pointee.step = 0
    }

    /// The order of one hand-over (or hold) now; the next one under the same key comes after it.
    @inlinable
    public func next() -> EmissionOrder {
        let order = storage.pointee
        storage.pointee.step += 1
        return order
    }
}
