import DequeModule
import HeapModule
import WireCore

/// The engine's outstanding transactions, kept in a slab: an array of slots reused through
/// a free list, so a transaction is stored once and mutated where it lies. A dictionary
/// keyed by serial hashed the serial on every access and copied the whole `Transaction`
/// out and back for each change (bench/profile.md, S5).
///
/// A serial is `creation number << 32 | slot`. The slot finds the entry with no hashing;
/// the creation number tells a live serial from a stale one whose slot was reused (an old
/// deadline, a partner that closed), and makes serials increase in creation order, which
/// the engine relies on for "oldest first".
struct PendingTable {
    private struct Entry {
        var serial: Int
        var transaction: PendingQuery?
    }

    private static let slotMask = 0xFFFF_FFFF
    /// Slots in fixed chunks of `chunkSize`: the table grows a chunk at a time, never by
    /// copying everything into an array twice as large (which held up to three times the
    /// outstanding transactions' memory at the moment of growing).
    private static let chunkShift = 12
    private static let chunkSize = 1 << chunkShift
    private var chunks: [ContiguousArray<Entry>] = []
    private var slotCount = 0
    private var freeSlots: [Int] = []
    private var created = 0
    private(set) var count = 0

    /// The chunk and the position in it of a slot.
    @inline(__always)
    private static func place(_ slot: Int) -> (chunk: Int, index: Int) {
        (slot >> PendingTable.chunkShift, slot & (PendingTable.chunkSize - 1))
    }

    /// `body` applied to an entry where it lies. Reading through the subscript copies the
    /// whole entry first (`ContiguousArray`'s element getter: a 216-byte copy, a retain and
    /// release per reference), on every index lookup.
    /// (`body` gets a pointer: a closure taking the entry itself is passed a copy of it.)
    @inline(__always)
    private func withEntry<Result>(_ slot: Int, _ body: (UnsafePointer<Entry>) -> Result) -> Result {
        chunks.withUnsafeBufferPointer { chunks in
            chunks[slot >> PendingTable.chunkShift].withUnsafeBufferPointer { entries in
                // In bounds: `slot < slotCount` (checked by `slot(of:)`, or the slot was just
                // allocated), and every chunk before the last is full.
                body(entries.baseAddress.unsafelyUnwrapped + (slot & (PendingTable.chunkSize - 1)))
            }
        }
    }

    /// Stores `transaction` and returns its serial. `creation`, when given, is the creation
    /// number in the serial instead of this table's count (a parallel run numbers serials by
    /// global operation, so that serials of several engines order as one engine's would);
    /// it must increase from one insert to the next.
    @inline(__always)
    mutating func insert(_ transaction: consuming PendingQuery, creation: Int? = nil) -> Int {
        let slot: Int
        if let reused = freeSlots.popLast() {
            slot = reused
        } else {
            slot = slotCount
            if slot >> PendingTable.chunkShift == chunks.count {
                var chunk = ContiguousArray<Entry>()
                chunk.reserveCapacity(PendingTable.chunkSize)
                chunks.append(chunk)
            }
            chunks[slot >> PendingTable.chunkShift].append(Entry(serial: -1, transaction: nil))
            slotCount += 1
        }
        // 31 bits of creation number: beyond 2^31 transactions (or operations) the order of
        // serials wraps (deadline ties, capture-end order), it never traps.
        let serial = ((creation ?? created) & 0x7FFF_FFFF) << 32 | slot
        created += 1
        let (chunk, index) = PendingTable.place(slot)
        chunks[chunk].withUnsafeMutableBufferPointer { entries in
            let entry = entries.baseAddress.unsafelyUnwrapped + index
            entry.pointee.serial = serial
            // Initialized over the slot's nil (a new slot, or one `close` emptied): nothing
            // to release. Assigning through the subscript destroyed that nil through the
            // runtime's generic witness (~60 instructions per query) and checked the chunk's
            // uniqueness once more.
            (UnsafeMutableRawPointer(entry) + PendingTable.transactionOffset)
                .assumingMemoryBound(to: PendingQuery?.self).initialize(to: transaction)
        }
        count += 1
        return serial
    }

    @inline(__always)
    private func slot(of serial: Int) -> Int? {
        let slot = serial & PendingTable.slotMask
        guard serial >= 0, slot < slotCount, withEntry(slot, { $0.pointee.serial }) == serial else { return nil }
        return slot
    }

    func contains(_ serial: Int) -> Bool { slot(of: serial) != nil }

    /// The transaction of a live serial, nil for a stale or unknown one. Assigning through
    /// it (`table[serial]?.field = …`) changes the stored transaction in place; assigning
    /// nil is not allowed (use `close`), nor is storing under a serial not live.
    subscript(serial: Int) -> PendingQuery? {
        _read {
            if let slot = slot(of: serial) {
                let (chunk, index) = PendingTable.place(slot)
                yield chunks[chunk][index].transaction
            } else {
                yield nil
            }
        }
        _modify {
            if let slot = slot(of: serial) {
                // The standard library's own accessors, no coroutine of ours in between: a
                // `_modify` yielding through another of ours read freed storage under
                // AddressSanitizer (PendingTable.swift, heap-use-after-free in the debug build).
                let (chunk, index) = PendingTable.place(slot)
                yield &chunks[chunk][index].transaction
                precondition(chunks[chunk][index].transaction != nil, "PendingTable: use close(_:) to drop a transaction")
            } else {
                var absent: PendingQuery?
                yield &absent
                precondition(absent == nil, "PendingTable: no live transaction under serial \(serial)")
            }
        }
    }

    // Single fields, read in place: going through the subscript copies the whole
    // `PendingQuery` (retains and releases) to read one of them.

    func lastTime(_ serial: Int) -> Timestamp? {
        guard let slot = slot(of: serial) else { return nil }
        return withEntry(slot) { $0.pointee.transaction?.lastTime }
    }

    /// The question of a live transaction; nil when it has none or the serial is not live.
    func question(_ serial: Int) -> QuestionKey? {
        guard let slot = slot(of: serial) else { return nil }
        return withEntry(slot) { $0.pointee.transaction?.question }
    }

    /// `test` applied to a live transaction; nil for a stale or unknown serial. Copies the
    /// query (a retain and release per reference): for the hot path, the readers below.
    func inspect<Result>(_ serial: Int, _ test: (PendingQuery) -> Result) -> Result? {
        guard let slot = slot(of: serial) else { return nil }
        let (chunk, index) = PendingTable.place(slot)
        return chunks[chunk][index].transaction.map(test)
    }

    /// `body` applied to the live query of a slot where it lies, for slots `slot(of:)` found
    /// (a live entry always holds a query). Optional chaining through the entry
    /// (`$0.pointee.transaction?.isIndexed(...)`) copied the whole query whenever the call
    /// read one of its arrays: a retain and release per reference and a 200-byte copy, per
    /// answer (bench/profile.md). An optional's payload lies at its start (Swift's layout of
    /// a single-payload enum), so the entry's optional is read as the query itself.
    @inline(__always)
    private func withLiveQuery<Result>(_ slot: Int, _ body: (UnsafePointer<PendingQuery>) -> Result) -> Result {
        withEntry(slot) { entry in
            let optional = UnsafeRawPointer(entry) + PendingTable.transactionOffset
            return body(optional.assumingMemoryBound(to: PendingQuery.self))
        }
    }

    /// Computed, not a stored static: the compiler folds it to a constant, where a `static
    /// let` went through its one-time initialization check on every read.
    @inline(__always)
    private static var transactionOffset: Int { MemoryLayout<Entry>.offset(of: \Entry.transaction).unsafelyUnwrapped }

    /// `body` applied in place to the query of a live serial; false (and `body` not called)
    /// for a stale or unknown serial. For the hot path: changing a field through the
    /// subscript (`table[serial]?.field = …`) runs its `_modify` coroutine, whose frame is
    /// allocated and freed on every call (~320 instructions: a retry, each query of a
    /// parallel A/AAAA pair; bench/profile.md). The payload is written where `withLiveQuery`
    /// reads it; a query stays a query, so the optional stays `.some`.
    @inline(__always)
    @discardableResult
    mutating func modify(_ serial: Int, _ body: (inout PendingQuery) -> Void) -> Bool {
        guard let slot = slot(of: serial) else { return false }
        let (chunk, index) = PendingTable.place(slot)
        chunks[chunk].withUnsafeMutableBufferPointer { entries in
            let optional = UnsafeMutableRawPointer(entries.baseAddress.unsafelyUnwrapped + index) + PendingTable.transactionOffset
            body(&optional.assumingMemoryBound(to: PendingQuery.self).pointee)
        }
        return true
    }

    /// Whether a live transaction was indexed under `key`; nil for a stale or unknown serial.
    func isIndexed(_ serial: Int, under key: TransactionEngine.ExchangeKey) -> Bool? {
        guard let slot = slot(of: serial) else { return nil }
        return withLiveQuery(slot) { $0.isIndexed(under: key) }
    }

    func isIndexed(_ serial: Int, under key: TransactionEngine.ClientKey) -> Bool? {
        guard let slot = slot(of: serial) else { return nil }
        return withLiveQuery(slot) { $0.isIndexed(under: key) }
    }

    func isIndexed(_ serial: Int, under key: TransactionEngine.RetryKey) -> Bool? {
        guard let slot = slot(of: serial) else { return nil }
        return withLiveQuery(slot) { $0.isIndexed(under: key) }
    }

    /// The serial of the parallel partner a live transaction points to.
    @inline(__always)
    func partnerSerial(_ serial: Int) -> Int? {
        guard let slot = slot(of: serial) else { return nil }
        return withEntry(slot) { $0.pointee.transaction?.sentWith?.serial }
    }

    /// What parallel pairing needs of a live transaction.
    @inline(__always)
    func firstAttempt(_ serial: Int) -> (question: QuestionKey?, time: Timestamp, frame: Int)? {
        guard let slot = slot(of: serial) else { return nil }
        return withEntry(slot) { entry in
            guard let head = entry.pointee.transaction?.attempts.head else { return nil }
            return (entry.pointee.transaction?.question, head.time, head.frame)
        }
    }

    /// Takes the query of a live serial out of the table as the transaction it becomes
    /// (`Transaction(closing:)`), its references moved out of the slot: no retain or release
    /// for them, and no emptied query left to destroy (taking the query out and then
    /// `Transaction(closing:)` cost ~280 instructions more per answer; bench/profile.md).
    @inline(__always)
    mutating func close(_ serial: Int) -> Transaction? {
        guard let slot = slot(of: serial) else { return nil }
        let (chunk, index) = PendingTable.place(slot)
        freeSlots.append(slot)
        count -= 1
        return chunks[chunk].withUnsafeMutableBufferPointer { entries in
            let entry = entries.baseAddress.unsafelyUnwrapped + index
            entry.pointee.serial = -1
            let optional = (UnsafeMutableRawPointer(entry) + PendingTable.transactionOffset)
                .assumingMemoryBound(to: PendingQuery?.self)
            // A live slot holds a query, the payload at the optional's start (`withLiveQuery`).
            let transaction = Transaction(movingOutOf: UnsafeMutableRawPointer(optional).assumingMemoryBound(to: PendingQuery.self))
            // Its references moved out, what is left holds none: overwritten, not destroyed.
            optional.initialize(to: nil)
            return transaction
        }
    }

    /// Live serials, oldest first.
    var serials: [Int] {
        var live: [Int] = []
        live.reserveCapacity(count)
        for chunk in chunks {
            for index in chunk.indices where chunk[index].transaction != nil { live.append(chunk[index].serial) }
        }
        live.sort()
        return live
    }
}

/// When each outstanding query expires, earliest first. Capture time moves forward and
/// every deadline is "time of the attempt + window", so deadlines nearly always arrive in
/// order: those go to a FIFO (O(1) both ends); one earlier than the last queued (a frame
/// out of order in the capture) goes to a heap. The earliest is the smaller of both heads.
struct DeadlineQueue {
    struct Deadline: Comparable {
        var time: Timestamp
        var serial: Int
        static func < (lhs: Deadline, rhs: Deadline) -> Bool {
            (lhs.time, lhs.serial) < (rhs.time, rhs.serial)
        }
    }

    private var inOrder = Deque<Deadline>()
    private var outOfOrder = Heap<Deadline>()
    /// The time of `min` (`Int64.max` when empty): the engine asks on every frame whether
    /// anything is due, one comparison instead of reading both heads (~60 instructions per
    /// frame over its three queues; bench/profile.md).
    private(set) var earliestTime = Timestamp(nanoseconds: .max)

    var isEmpty: Bool { inOrder.isEmpty && outOfOrder.isEmpty }
    var count: Int { inOrder.count + outOfOrder.count }

    mutating func insert(_ deadline: Deadline) {
        if let last = inOrder.last, deadline < last {
            outOfOrder.insert(deadline)
        } else {
            inOrder.append(deadline)
        }
        if deadline.time < earliestTime { earliestTime = deadline.time }
    }

    var min: Deadline? {
        switch (inOrder.first, outOfOrder.min) {
        case let (first?, heap?): Swift.min(first, heap)
        case let (first?, nil): first
        case let (nil, heap?): heap
        case (nil, nil): nil
        }
    }

    @discardableResult
    mutating func popMin() -> Deadline? {
        let earliest: Deadline? = switch (inOrder.first, outOfOrder.min) {
        case let (first?, heap?): heap < first ? outOfOrder.popMin() : inOrder.popFirst()
        case (_?, nil): inOrder.popFirst()
        case (nil, _?): outOfOrder.popMin()
        case (nil, nil): nil
        }
        earliestTime = min?.time ?? Timestamp(nanoseconds: .max)
        return earliest
    }

    mutating func removeAll() {
        inOrder.removeAll()
        outOfOrder = Heap()
        earliestTime = Timestamp(nanoseconds: .max)
    }
}
