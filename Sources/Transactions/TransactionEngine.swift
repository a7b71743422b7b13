import DNSWire
import HeapModule
import PacketDecoding
import WireCore

/// Pairs queries with responses and groups retries into transactions.
///
/// Pairing (what tshark calls `dns.response_in`): a response belongs to the outstanding
/// query with the same 5-tuple (client ip/port, server ip/port, transport) and DNS id, and
/// the same question when the response carries one. Retries: resolvers resend with the
/// same id and question, and dig and many stub resolvers from a new source port, so a
/// query joins an outstanding transaction with the same client IP, server, transport, id
/// and question if it arrives within `timeout` of that transaction's last attempt.
///
/// Memory: the engine holds only outstanding transactions, at most `maximumPending`; a
/// transaction leaves as soon as it is answered or expires, and is handed to the caller.
/// All time is capture time: expiry advances as frames arrive, never by the wall clock.
public struct TransactionEngine {
    public static let defaultTimeout = Duration(nanoseconds: 5_000_000_000)
    public static let defaultMaximumPending = 1_000_000
    /// Attempts kept per transaction; a resolver stuck in a retry loop cannot grow one without bound.
    public static let maximumAttempts = 32

    public let timeout: Duration
    public let maximumPending: Int

    /// Identity of one attempt's exchange: 5-tuple plus DNS id.
    struct ExchangeKey: Hashable {
        var client: Endpoint
        var server: Endpoint
        var transport: Transport
        var id: UInt16
    }

    /// Identity of a logical query across retries: everything but the client port.
    struct RetryKey: Hashable {
        var client: IPAddress
        var server: Endpoint
        var transport: Transport
        var id: UInt16
        var question: QuestionKey?
    }

    struct Deadline: Comparable {
        var time: Timestamp
        var serial: Int
        static func < (lhs: Deadline, rhs: Deadline) -> Bool {
            (lhs.time, lhs.serial) < (rhs.time, rhs.serial)
        }
    }

    private var pending: [Int: Transaction] = [:]
    private var byExchange: [ExchangeKey: Int] = [:]
    private var byRetry: [RetryKey: Int] = [:]
    private var deadlines = Heap<Deadline>()
    private var nextSerial = 0
    private var clock = Timestamp(nanoseconds: Int64.min)

    public private(set) var statistics = EngineStatistics()

    public init(timeout: Duration = TransactionEngine.defaultTimeout, maximumPending: Int = TransactionEngine.defaultMaximumPending) {
        self.timeout = timeout
        self.maximumPending = max(1, maximumPending)
    }

    /// Outstanding transactions right now.
    public var pendingCount: Int { pending.count }

    /// Feeds one DNS message. `qname` is called only when a new transaction starts, so the
    /// name is rendered once per query, never per response. Closed transactions go to `emit`.
    public mutating func observe(
        _ message: MessageObservation, qname: () -> String?, emit: (Transaction) -> Void
    ) {
        advance(to: message.time, emit: emit)
        if message.isResponse {
            observeResponse(message, emit: emit)
        } else {
            observeQuery(message, qname: qname, emit: emit)
        }
    }

    /// Expires every transaction whose deadline is before `time`.
    public mutating func advance(to time: Timestamp, emit: (Transaction) -> Void) {
        if time > clock { clock = time }
        while let earliest = deadlines.min, earliest.time < clock {
            deadlines.removeMin()
            guard let transaction = pending[earliest.serial],
                  transaction.lastTime + timeout == earliest.time else { continue }
            close(serial: earliest.serial, outcome: .unanswered, expiry: .timeout, emit: emit)
        }
    }

    /// End of input: everything still outstanding is unanswered because the capture ended.
    public mutating func finish(emit: (Transaction) -> Void) {
        advance(to: clock, emit: emit)
        for serial in pending.keys.sorted() {
            close(serial: serial, outcome: .unanswered, expiry: .captureEnd, emit: emit)
        }
        deadlines = Heap()
    }

    private mutating func observeQuery(_ message: MessageObservation, qname: () -> String?, emit: (Transaction) -> Void) {
        statistics.queries += 1
        let client = message.source
        let server = message.destination
        let retryKey = RetryKey(client: client.ip, server: server, transport: message.transport,
                                id: message.id, question: message.question)
        let exchangeKey = ExchangeKey(client: client, server: server, transport: message.transport, id: message.id)
        if let serial = byRetry[retryKey], var transaction = pending[serial],
           message.time - transaction.lastTime <= timeout {
            // A resend of an outstanding query: same id and question, any source port.
            if transaction.attempts.count < TransactionEngine.maximumAttempts {
                transaction.attempts.append(Attempt(frame: message.frame, time: message.time, clientPort: client.port))
            } else {
                transaction.droppedAttempts += 1
            }
            transaction.lastTime = message.time
            statistics.retries += 1
            pending[serial] = transaction
            if let previous = byExchange[exchangeKey], previous != serial { orphan(previous, emit: emit) }
            byExchange[exchangeKey] = serial
            deadlines.insert(Deadline(time: message.time + timeout, serial: serial))
            return
        }
        // A different query reusing an outstanding 5-tuple and id: the older one can no
        // longer be told apart from this one, so it closes now as unanswered.
        if let previous = byExchange[exchangeKey] {
            close(serial: previous, outcome: .unanswered, expiry: .timeout, emit: emit)
        }
        if let previous = byRetry[retryKey] {
            // Same question and id outside the retry window: the old one timed out.
            close(serial: previous, outcome: .unanswered, expiry: .timeout, emit: emit)
        }
        let isMulticast = server.ip.isMulticast
        let transaction = Transaction(
            client: client, server: server, transport: message.transport, id: message.id,
            opcode: message.opcode, qname: qname(), question: message.question,
            vlanIDs: message.vlanIDs, interfaceIndex: message.interfaceIndex,
            attempts: [Attempt(frame: message.frame, time: message.time, clientPort: client.port)],
            droppedAttempts: 0, response: nil, outcome: isMulticast ? .multicast : .unanswered, expiry: nil,
            lastTime: message.time)
        if isMulticast {
            // Nobody in particular owes an answer: emit at once, keep no state.
            statistics.multicastQueries += 1
            emit(transaction)
            return
        }
        if pending.count >= maximumPending { evictOldest(emit: emit) }
        let serial = nextSerial
        nextSerial += 1
        pending[serial] = transaction
        byExchange[exchangeKey] = serial
        byRetry[retryKey] = serial
        deadlines.insert(Deadline(time: message.time + timeout, serial: serial))
        statistics.peakPending = max(statistics.peakPending, pending.count)
    }

    private mutating func observeResponse(_ message: MessageObservation, emit: (Transaction) -> Void) {
        statistics.responses += 1
        let key = ExchangeKey(client: message.destination, server: message.source,
                              transport: message.transport, id: message.id)
        guard let serial = byExchange[key], var transaction = pending[serial] else {
            statistics.unsolicited[.noMatchingQuery, default: 0] += 1
            return
        }
        if let asked = transaction.question, let answered = message.question, asked != answered {
            statistics.unsolicited[.questionMismatch, default: 0] += 1
            return
        }
        // The attempt it answers: the first one sent from this client port.
        let attemptIndex = transaction.attempts.firstIndex { $0.clientPort == key.client.port } ?? 0
        transaction.response = ResponseRecord(frame: message.frame, time: message.time, rcode: message.rcode,
                                              isTruncated: message.isTruncated, attemptIndex: attemptIndex)
        pending[serial] = transaction
        close(serial: serial, outcome: .answered, expiry: nil, emit: emit)
    }

    /// Drops the exchange index of a serial whose 5-tuple a newer attempt took over.
    private mutating func orphan(_ serial: Int, emit: (Transaction) -> Void) {
        close(serial: serial, outcome: .unanswered, expiry: .timeout, emit: emit)
    }

    private mutating func evictOldest(emit: (Transaction) -> Void) {
        while let earliest = deadlines.popMin() {
            guard pending[earliest.serial] != nil else { continue }
            statistics.evicted += 1
            close(serial: earliest.serial, outcome: .unanswered, expiry: .evicted, emit: emit)
            return
        }
    }

    private mutating func close(serial: Int, outcome: Outcome, expiry: ExpiryReason?, emit: (Transaction) -> Void) {
        guard var transaction = pending.removeValue(forKey: serial) else { return }
        for attempt in transaction.attempts {
            let key = ExchangeKey(client: Endpoint(ip: transaction.client.ip, port: attempt.clientPort),
                                  server: transaction.server, transport: transaction.transport, id: transaction.id)
            if byExchange[key] == serial { byExchange[key] = nil }
        }
        let retryKey = RetryKey(client: transaction.client.ip, server: transaction.server,
                                transport: transaction.transport, id: transaction.id, question: transaction.question)
        if byRetry[retryKey] == serial { byRetry[retryKey] = nil }
        transaction.outcome = outcome
        transaction.expiry = expiry
        if outcome == .answered { statistics.answered += 1 } else { statistics.unanswered += 1 }
        emit(transaction)
    }
}

/// Counters the engine keeps while it runs.
public struct EngineStatistics: Sendable, Equatable {
    public var queries = 0
    public var responses = 0
    public var retries = 0
    public var answered = 0
    public var unanswered = 0
    public var multicastQueries = 0
    public var unsolicited: [UnsolicitedReason: Int] = [:]
    public var evicted = 0
    public var peakPending = 0

    public init() {}

    public var unsolicitedTotal: Int { unsolicited.values.reduce(0, +) }
}

extension IPAddress {
    /// 224.0.0.0/4 or ff00::/8.
    public var isMulticast: Bool {
        isIPv6 ? high >> 56 == 0xff : (low >> 28) & 0xf == 0xe
    }
}
