import DequeModule
import WireCore

/// Queries whose deadline passed with no answer, held for `TransactionEngine.lateWindow` so
/// that a late answer still finds its query (outcome `late`) instead of counting as
/// unsolicited while its query counts as unanswered.
///
/// Invariant: held transactions lie in `slots` in the order they were held (their
/// deadlines' order), each numbered by a sequence number (`firstSequence` is the first
/// slot's); a slot a late answer emptied (or released) keeps a nil transaction until it
/// reaches the front. Each is released when its own late window ends, earliest first (ties in
/// the order held): not behind one held earlier with a later end, which a frame out of time
/// order makes possible, so that a release never depends on another client's query. Every
/// held transaction is indexed under each exchange key its attempts were sent with (to the
/// server, and to the backend an attempt was DNAT'ed to). The caller bounds `slotCount`.
///
/// Memory: one slot (a `Transaction` inline with its first attempt, 288 bytes) and 16-byte
/// index entries per held query, plus its name and any later attempts: a `Dictionary` of
/// transactions cost twice that (its buckets hold the value, a quarter or more of them empty).
struct ExpiredQueries {
    /// A held transaction and when it is released; nil once a late answer took it.
    struct Slot {
        var transaction: Transaction?
        var release: Timestamp
    }

    /// Where a hold happened (`EmissionOrder.asKey`).
    typealias HoldOrder = (Int64, Int64, Int64, Int64, Int64)

    private var slots = Deque<Slot>()
    /// The hold order of each slot, in a parallel run only (empty otherwise: the slot stays
    /// at 256 bytes, MemoryFootprintTests).
    private var holdOrders = Deque<HoldOrder>()
    private var firstSequence = 0
    /// (release, sequence) of every slot still to be released; entries of slots a late
    /// answer emptied are skipped when they come up.
    private var releases = DeadlineQueue()
    /// Folded exchange keys → sequence numbers, confirmed against the held transaction.
    private var byExchange = SerialIndex<Int>()

    /// Transactions held right now.
    private(set) var count = 0
    /// Slots in use, emptied ones between held ones included: what the cap bounds.
    var slotCount: Int { slots.count }

    /// Holds `transaction` (closed unanswered at its deadline) until capture time `release`.
    /// `order`: given for every hold of a parallel run, for none otherwise.
    mutating func hold(_ transaction: Transaction, until release: Timestamp, order: HoldOrder? = nil) {
        let sequence = firstSequence + slots.count
        for key in ExpiredQueries.keys(of: transaction) { byExchange.insertNew(key, sequence) }
        slots.append(Slot(transaction: transaction, release: release))
        if let order { holdOrders.append(order) }
        releases.insert(DeadlineQueue.Deadline(time: release, serial: sequence))
        count += 1
        // Entries of emptied slots wait for their time in `releases`: rebuilt when they are
        // most of it, so it stays within twice the slots held.
        if releases.count > 2 * max(slots.count, 1024) { rebuildReleases() }
    }

    /// Takes the oldest held transaction a response with `key` and `question` answers (any
    /// question matches a response that carries none, as for outstanding queries).
    mutating func take(answering key: TransactionEngine.ExchangeKey, question: QuestionKey?) -> Transaction? {
        var found: Int?
        byExchange.forEach(forFolded: key.folded) { sequence in
            guard sequence < found ?? .max, let transaction = transaction(at: sequence),
                  ExpiredQueries.keys(of: transaction).contains(key) else { return }
            if let asked = transaction.question, let question, asked != question { return }
            found = sequence
        }
        return found.flatMap { remove($0) }
    }

    /// The earliest end of a late window still to come (`Timestamp(nanoseconds: .max)` if none).
    var earliestRelease: Timestamp { releases.earliestTime }

    /// The next transaction whose late window ended before `time`, in the order they were held.
    mutating func releaseDue(before time: Timestamp) -> (transaction: Transaction, release: Timestamp, order: HoldOrder)? {
        while earliestRelease < time, let earliest = releases.popMin() {
            let order = holdOrder(at: earliest.serial)
            if let transaction = remove(earliest.serial) { return (transaction, earliest.time, order) }
        }
        return nil
    }

    private func holdOrder(at sequence: Int) -> HoldOrder {
        let index = sequence - firstSequence
        guard index >= 0, index < holdOrders.count else { return (0, 0, 0, 0, 0) }
        return holdOrders[index]
    }

    private mutating func rebuildReleases() {
        releases.removeAll()
        for (index, slot) in slots.enumerated() where slot.transaction != nil {
            releases.insert(DeadlineQueue.Deadline(time: slot.release, serial: firstSequence + index))
        }
    }

    /// The transaction held longest, whatever its release time (the table is full, or the
    /// capture ended).
    mutating func releaseOldest() -> (transaction: Transaction, order: HoldOrder)? {
        trimFront()
        guard !slots.isEmpty else { return nil }
        let order = holdOrder(at: firstSequence)
        return remove(firstSequence).map { ($0, order) }
    }

    private func transaction(at sequence: Int) -> Transaction? {
        let index = sequence - firstSequence
        guard index >= 0, index < slots.count else { return nil }
        return slots[index].transaction
    }

    private mutating func remove(_ sequence: Int) -> Transaction? {
        let index = sequence - firstSequence
        guard index >= 0, index < slots.count, let transaction = slots[index].transaction.take() else { return nil }
        count -= 1
        for key in ExpiredQueries.keys(of: transaction) {
            if let position = byExchange.index(forKey: key, where: { $0 == sequence }) { byExchange.remove(at: position) }
        }
        trimFront()
        return transaction
    }

    /// Drops the emptied slots at the front.
    private mutating func trimFront() {
        while let head = slots.first, head.transaction == nil {
            slots.removeFirst()
            if !holdOrders.isEmpty { holdOrders.removeFirst() }
            firstSequence += 1
        }
    }

    /// The distinct exchange keys (5-tuple and id) a response to one of its attempts carries.
    private static func keys(of transaction: Transaction) -> [TransactionEngine.ExchangeKey] {
        var keys: [TransactionEngine.ExchangeKey] = []
        for attempt in transaction.attempts {
            let client = Endpoint(ip: transaction.client.ip, port: attempt.clientPort)
            for server in [transaction.server, attempt.backend].compactMap({ $0 }) {
                let key = TransactionEngine.ExchangeKey(client: client, server: server, transport: transaction.transport,
                                                        id: transaction.id)
                if !keys.contains(key) { keys.append(key) }
            }
        }
        return keys
    }
}
