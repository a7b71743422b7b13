import DequeModule
import WireCore

/// Queries whose deadline passed with no answer, held for `TransactionEngine.lateWindow` so
/// that a late answer still finds its query (outcome `late`) instead of counting as
/// unsolicited while its query counts as unanswered.
///
/// Invariant: held transactions lie in `slots` in the order they were held (their
/// deadlines' order), each numbered by a sequence number (`firstSequence` is the first
/// slot's); a slot a late answer emptied keeps a nil transaction until it reaches the front. Every
/// held transaction is indexed under each exchange key its attempts were sent with (to the
/// server, and to the backend an attempt was DNAT'ed to). The caller bounds `slotCount`.
///
/// Memory: one slot (a `Transaction` inline, 256 bytes) and 16-byte index entries per held
/// query, plus its name and attempts: a `Dictionary` of transactions cost twice that (its
/// buckets hold the 240-byte value, a quarter or more of them empty).
struct ExpiredQueries {
    /// A held transaction and when it is released; nil once a late answer took it.
    struct Slot {
        var transaction: Transaction?
        var release: Timestamp
    }

    private var slots = Deque<Slot>()
    private var firstSequence = 0
    /// Folded exchange keys → sequence numbers, confirmed against the held transaction.
    private var byExchange = SerialIndex<Int>()

    /// Transactions held right now.
    private(set) var count = 0
    /// Slots in use, emptied ones between held ones included: what the cap bounds.
    var slotCount: Int { slots.count }

    /// Holds `transaction` (closed unanswered at its deadline) until capture time `release`.
    mutating func hold(_ transaction: Transaction, until release: Timestamp) {
        let sequence = firstSequence + slots.count
        for key in ExpiredQueries.keys(of: transaction) { byExchange.insertNew(key, sequence) }
        slots.append(Slot(transaction: transaction, release: release))
        count += 1
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

    /// The next transaction whose late window ended before `time`, in the order they were held.
    mutating func releaseDue(before time: Timestamp) -> Transaction? {
        trimFront()
        guard let head = slots.first, head.transaction != nil, head.release < time else { return nil }
        return remove(firstSequence)
    }

    /// The transaction held longest, whatever its release time (the table is full, or the
    /// capture ended).
    mutating func releaseOldest() -> Transaction? {
        trimFront()
        return slots.isEmpty ? nil : remove(firstSequence)
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
