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

    /// Identity of a multicast query as seen by responders: the group, transport and id.
    struct GroupKey: Hashable {
        var group: Endpoint
        var transport: Transport
        var id: UInt16
    }

    /// Outstanding transactions kept per exchange or group key (several queries may share
    /// a 5-tuple and id: A and AAAA from one socket with id 0, mDNS); the oldest leaves first.
    public static let maximumSharingKey = 64

    struct Deadline: Comparable {
        var time: Timestamp
        var serial: Int
        static func < (lhs: Deadline, rhs: Deadline) -> Bool {
            (lhs.time, lhs.serial) < (rhs.time, rhs.serial)
        }
    }

    private var pending: [Int: Transaction] = [:]
    private var byExchange: [ExchangeKey: SerialList] = [:]
    private var byRetry: [RetryKey: Int] = [:]
    private var byGroup: [GroupKey: SerialList] = [:]
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

    /// Feeds an ICMP Destination Unreachable that quotes a DNS message (`quoted` describes
    /// the quoted message). A quoted query closes its transaction as rejected; a quoted
    /// response means the client had already given up (its port was closed) and is counted.
    public mutating func observeICMPError(
        _ quoted: MessageObservation, error: ICMPError, frame: Int, time: Timestamp, emit: (Transaction) -> Void
    ) {
        advance(to: time, emit: emit)
        guard !quoted.isResponse else {
            statistics.responsesRejectedByClient += 1
            return
        }
        let key = ExchangeKey(client: quoted.source, server: quoted.destination, transport: quoted.transport, id: quoted.id)
        guard let serial = byExchange[key]?.first(where: { serial in
            guard let asked = pending[serial]?.question, let quotedQuestion = quoted.question else { return true }
            return asked == quotedQuestion
        }), var transaction = pending[serial] else {
            statistics.unmatchedICMPErrors += 1
            return
        }
        transaction.rejection = Rejection(frame: frame, time: time, error: error)
        pending[serial] = transaction
        close(serial: serial, outcome: .rejected, expiry: nil, emit: emit)
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
            index(serial, under: exchangeKey, emit: emit)
            deadlines.insert(Deadline(time: message.time + timeout, serial: serial))
            return
        }
        if let previous = byRetry[retryKey] {
            // Same question and id outside the retry window: the old one timed out.
            close(serial: previous, outcome: .unanswered, expiry: .timeout, emit: emit)
        }
        let transaction = Transaction(
            client: client, server: server, transport: message.transport, id: message.id,
            opcode: message.opcode, qname: qname(), question: message.question,
            vlanIDs: message.vlanIDs, interfaceIndex: message.interfaceIndex,
            attempts: [Attempt(frame: message.frame, time: message.time, clientPort: client.port)],
            droppedAttempts: 0, response: nil, rejection: nil, outcome: .unanswered, expiry: nil,
            lastTime: message.time)
        if pending.count >= maximumPending { evictOldest(emit: emit) }
        let serial = nextSerial
        nextSerial += 1
        pending[serial] = transaction
        byRetry[retryKey] = serial
        index(serial, under: exchangeKey, emit: emit)
        if server.ip.isMulticast {
            let groupKey = GroupKey(group: server, transport: message.transport, id: message.id)
            if byGroup[groupKey]?.append(serial) == nil { byGroup[groupKey] = SerialList(serial) }
            if let members = byGroup[groupKey], members.count > TransactionEngine.maximumSharingKey {
                close(serial: members.first, outcome: .unanswered, expiry: .evicted, emit: emit)
            }
        }
        deadlines.insert(Deadline(time: message.time + timeout, serial: serial))
        statistics.peakPending = max(statistics.peakPending, pending.count)
    }

    private mutating func observeResponse(_ message: MessageObservation, emit: (Transaction) -> Void) {
        statistics.responses += 1
        let key = ExchangeKey(client: message.destination, server: message.source,
                              transport: message.transport, id: message.id)
        // Several outstanding queries may share the 5-tuple and id; the response belongs to
        // the oldest whose question it repeats (any, if it carries none).
        var candidates = byExchange[key]
        if candidates == nil, message.destination.ip.isMulticast {
            // mDNS (RFC 6762 §6): the owner of the name multicasts its answer to the group
            // the query went to, from its own address.
            candidates = byGroup[GroupKey(group: message.destination, transport: message.transport, id: message.id)]
        }
        guard let candidates else {
            statistics.unsolicited[.noMatchingQuery, default: 0] += 1
            return
        }
        guard let serial = candidates.first(where: { serial in
            guard let asked = pending[serial]?.question, let answered = message.question else { return true }
            return asked == answered
        }), var transaction = pending[serial] else {
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

    /// Adds `serial` to the transactions sharing an exchange key, evicting the oldest
    /// beyond `maximumSharingKey`.
    private mutating func index(_ serial: Int, under key: ExchangeKey, emit: (Transaction) -> Void) {
        guard var list = byExchange[key] else {
            byExchange[key] = SerialList(serial)
            return
        }
        guard !list.contains(serial) else { return }
        list.append(serial)
        byExchange[key] = list
        if list.count > TransactionEngine.maximumSharingKey {
            close(serial: list.first, outcome: .unanswered, expiry: .evicted, emit: emit)
        }
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
            if byExchange[key]?.remove(serial) == true { byExchange[key] = nil }
        }
        let retryKey = RetryKey(client: transaction.client.ip, server: transaction.server,
                                transport: transaction.transport, id: transaction.id, question: transaction.question)
        if byRetry[retryKey] == serial { byRetry[retryKey] = nil }
        if transaction.server.ip.isMulticast {
            let groupKey = GroupKey(group: transaction.server, transport: transaction.transport, id: transaction.id)
            if byGroup[groupKey]?.remove(serial) == true { byGroup[groupKey] = nil }
        }
        // A query to a multicast group (mDNS, LLMNR) is answered by whoever owns the name,
        // usually to the group: silence from the group proves nothing, so it is not
        // "unanswered". A reply addressed back from the group address still pairs normally.
        transaction.outcome = outcome == .unanswered && transaction.server.ip.isMulticast ? .multicast : outcome
        transaction.expiry = expiry
        switch transaction.outcome {
        case .answered: statistics.answered += 1
        case .unanswered: statistics.unanswered += 1
        case .rejected: statistics.rejected += 1
        case .multicast: statistics.multicastQueries += 1
        }
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
    public var rejected = 0
    /// ICMP errors quoting a response: the client's port was closed (it had given up).
    public var responsesRejectedByClient = 0
    /// ICMP errors quoting a query the engine does not hold (already closed, or unseen).
    public var unmatchedICMPErrors = 0
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

/// Serials sharing one key, oldest first. The common case of one serial is held inline,
/// so indexing a query allocates nothing beyond the dictionary entry.
struct SerialList: Sequence {
    private(set) var first: Int
    private var more: [Int] = []

    init(_ serial: Int) { first = serial }

    var count: Int { 1 + more.count }

    /// Returns self so `list?.append(x)` is nil only when there was no list.
    @discardableResult
    mutating func append(_ serial: Int) -> Bool {
        more.append(serial)
        return true
    }

    func contains(_ serial: Int) -> Bool { first == serial || more.contains(serial) }

    /// Removes `serial`; returns true when the list is now empty.
    mutating func remove(_ serial: Int) -> Bool {
        if first == serial {
            guard !more.isEmpty else { return true }
            first = more.removeFirst()
            return false
        }
        more.removeAll { $0 == serial }
        return false
    }

    func makeIterator() -> IndexingIterator<[Int]> { ([first] + more).makeIterator() }
}
