import DequeModule
import WireCore

/// Queries whose deadline passed with no answer, held for `TransactionEngine.lateWindow` so
/// that a late answer still finds its query (outcome `late`) instead of counting as
/// unsolicited while its query counts as unanswered.
///
/// Invariant: every held transaction is indexed under each exchange key its attempts were
/// sent with (to the server, and to the backend an attempt was DNAT'ed to), and appears once
/// in `order`, in the order it was held (its deadline's order), with the capture time it is
/// released at. `order` may also hold entries already taken by a late answer; they are
/// skipped, and compacted away once they outnumber the held ones.
struct ExpiredQueries {
    private var held: [Int: Transaction] = [:]
    private var byExchange: [TransactionEngine.ExchangeKey: SerialList] = [:]
    private var order = Deque<(release: Timestamp, serial: Int)>()

    /// Transactions held right now.
    var count: Int { held.count }

    /// Holds `transaction` (closed unanswered at its deadline) until capture time `release`.
    mutating func hold(_ transaction: Transaction, serial: Int, until release: Timestamp) {
        held[serial] = transaction
        for key in ExpiredQueries.keys(of: transaction) {
            if byExchange[key]?.append(serial) == nil { byExchange[key] = SerialList(serial) }
        }
        order.append((release, serial))
        if order.count > 2 * max(held.count, 1024) { order.removeAll { held[$0.serial] == nil } }
    }

    /// Takes the oldest held transaction a response with `key` and `question` answers (any
    /// question matches a response that carries none, as for outstanding queries).
    mutating func take(answering key: TransactionEngine.ExchangeKey, question: QuestionKey?) -> Transaction? {
        guard let list = byExchange[key] else { return nil }
        guard let serial = list.first(where: { serial in
            guard let asked = held[serial]?.question, let question else { return true }
            return asked == question
        }) else { return nil }
        return remove(serial)
    }

    /// The next transaction whose late window ended before `time`, in the order they were held.
    mutating func releaseDue(before time: Timestamp) -> Transaction? {
        while let first = order.first {
            guard held[first.serial] != nil else {
                order.removeFirst()
                continue
            }
            guard first.release < time else { return nil }
            order.removeFirst()
            return remove(first.serial)
        }
        return nil
    }

    /// The transaction held longest, whatever its release time (the table is full, or the
    /// capture ended).
    mutating func releaseOldest() -> Transaction? {
        while let first = order.popFirst() {
            if let transaction = remove(first.serial) { return transaction }
        }
        return nil
    }

    private mutating func remove(_ serial: Int) -> Transaction? {
        guard let transaction = held.removeValue(forKey: serial) else { return nil }
        for key in ExpiredQueries.keys(of: transaction) { removeSerial(serial, under: key, from: &byExchange) }
        return transaction
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

extension TransactionEngine.ExchangeKey: Hashable {
    func hash(into hasher: inout Hasher) { hasher.combine(folded) }
}
