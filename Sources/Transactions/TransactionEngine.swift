import DNSWire
import DequeModule
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
/// Late answers: a query whose deadline passes is not handed over at once but held, for
/// `lateWindow` of capture time, in a table of expired queries (at most `maximumExpired`).
/// A response that finds no outstanding query looks there with the same keys; if it
/// matches, the transaction closes as `late`, with its response and latency. Otherwise
/// it is handed over as `unanswered` (expiry `timeout`) when its late window ends, when the
/// table is full and it is the oldest, or at capture end. `onExpiry` sees each query the
/// moment its deadline passes (a live display's "unanswered at its deadline").
///
/// Memory: the engine holds outstanding transactions, at most `maximumPending`, and
/// expired ones, at most `maximumExpired`; a transaction leaves as soon as it is answered
/// or its late window ends, and is handed to the caller. `emit` takes each one `consuming`:
/// the caller owns it from then on (a parallel run's shard moves it into the chunk it sends,
/// with no copy and no reference counting), and the engine keeps nothing of it.
/// All time is capture time: expiry advances as frames arrive, never by the wall clock.
public struct TransactionEngine {
    public static let defaultTimeout = Duration(nanoseconds: 5_000_000_000)
    /// Outstanding queries kept; beyond, the oldest is evicted (counted). About 430 bytes
    /// each with their index slots and a short name, 630 with a 250-byte name (bench/memory.md).
    public static let defaultMaximumPending = 1_000_000
    /// Attempts kept per transaction; a resolver stuck in a retry loop cannot grow one without bound.
    public static let maximumAttempts = 32
    /// How long after its deadline an expired query still takes a late answer. Linux
    /// conntrack forgets an unreplied UDP flow after 30 s (`nf_conntrack_udp_timeout`):
    /// past that, an answer through kube-proxy's or any NAT no longer reaches the client,
    /// and every stub resolver has long given up (glibc: 5 s × 2 attempts per server). The
    /// late answers seen in public captures come 6.7 to 11.4 s after their query
    /// (ndpi_bad-dns-traffic.pcap, zeek_erspan.pcap). Beyond, a response with the same
    /// 5-tuple and id is more likely an id reused than an answer.
    public static let lateWindow = Duration(nanoseconds: 30_000_000_000)
    /// Expired queries held for a late answer; beyond, the oldest is handed over as
    /// unanswered at once (counted in `EngineStatistics.expiredReleasedEarly`). About 390 bytes
    /// each (slot, index entries, attempts) plus the name, measured: 45 MB full with 34-byte
    /// names, 65 MB with 250-byte ones (bench/memory.md). Full, it takes over 3,300
    /// unanswered queries a second for the whole late window.
    public static let defaultMaximumExpired = 100_000

    public let timeout: Duration
    /// How long a query waits after its last attempt: `timeout` plus a grace of a tenth of
    /// it (at most 1 s). Resolvers retry at exactly their timeout (glibc: 5 s), so with
    /// the same timeout here a retry would land a few milliseconds after the deadline and
    /// be taken for a new query; the grace recognises it as the retry it is.
    public let window: Duration
    public let maximumPending: Int
    public let maximumExpired: Int
    /// Called with each query the moment its deadline passes unanswered (outcome
    /// `unanswered` or `rejected`, expiry `timeout`), before it is held for a late answer:
    /// the hook for a live display. The transaction is handed to `emit` later, as
    /// `unanswered`, `rejected` or `late`. Not called for queries closed at capture end or evicted.
    public var onExpiry: ((Transaction) -> Void)?
    /// Set in a parallel run: the engine keeps in it where each hand-over happens (see
    /// `EmissionOrder`), and numbers serials by its operation instead of its own count.
    public var emissionClock: EmissionClock?

    /// Identity of one attempt's exchange: 5-tuple plus DNS id.
    struct ExchangeKey: FlatKey {
        var client: Endpoint
        var server: Endpoint
        var transport: Transport
        var id: UInt16

        var folded: UInt64 {
            client.mixed ^ KeyFolds.serverWord(server) ^ KeyFolds.idWord(id) ^ KeyFolds.transportWord(transport)
        }
    }

    /// Identity of a logical query across retries: everything but the client port.
    struct RetryKey: FlatKey {
        var client: IPAddress
        var server: Endpoint
        var transport: Transport
        var id: UInt16
        var question: QuestionKey?

        var folded: UInt64 {
            client.mixed ^ KeyFolds.serverWord(server) ^ KeyFolds.idWord(id) ^ KeyFolds.transportWord(transport)
                ^ KeyFolds.questionWord(question)
        }
    }

    /// The folded words of one exchange's keys (`ExchangeKey`, `ClientKey`, `SocketKey`,
    /// `RetryKey`), equal to theirs, made from its endpoints' mixed words once: each key's
    /// `folded` mixes the endpoints again (a multiplication per address and per port), and
    /// a query looked its keys up or indexed them eight times, an answer four.
    struct KeyFolds {
        var exchange: UInt64
        var client: UInt64
        var socket: UInt64
        var retry: UInt64

        init(client: Endpoint, server: Endpoint, transport: Transport, id: UInt16, question: QuestionKey?) {
            let clientWord = client.mixed
            let serverWord = KeyFolds.serverWord(server)
            let transportWord = KeyFolds.transportWord(transport)
            let idWord = KeyFolds.idWord(id)
            socket = clientWord ^ serverWord ^ transportWord
            exchange = socket ^ idWord
            self.client = clientWord ^ idWord ^ transportWord
            retry = client.ip.mixed ^ serverWord ^ idWord ^ transportWord ^ KeyFolds.questionWord(question)
        }

        @inline(__always)
        static func serverWord(_ server: Endpoint) -> UInt64 { server.mixed &* 0x94d0_49bb_1331_11eb }

        @inline(__always)
        static func idWord(_ id: UInt16) -> UInt64 { UInt64(id) << 32 }

        @inline(__always)
        static func transportWord(_ transport: Transport) -> UInt64 { UInt64(transport.rawValue) << 48 }

        @inline(__always)
        static func questionWord(_ question: QuestionKey?) -> UInt64 {
            guard let question else { return 0 }
            return question.nameHash &* 0xff51_afd7_ed55_8ccd ^ UInt64(question.type.rawValue) << 16
                ^ UInt64(question.qclass.rawValue)
        }
    }

    /// Identity of a multicast query as seen by responders: the group, transport and id.
    struct GroupKey: Hashable {
        var group: Endpoint
        var transport: Transport
        var id: UInt16

        func hash(into hasher: inout Hasher) {
            hasher.combine(group.mixed ^ UInt64(id) << 32 ^ UInt64(transport.rawValue) << 48)
        }
    }

    /// A question as one client asked it, whatever the id, port or server (at capture end).
    struct QuestionAsked: FlatKey {
        var client: IPAddress
        var question: QuestionKey

        var folded: UInt64 {
            client.mixed ^ question.nameHash &* 0xff51_afd7_ed55_8ccd ^ UInt64(question.type.rawValue) << 16
                ^ UInt64(question.qclass.rawValue)
        }
    }

    /// Queries from one socket closer than this were sent in parallel (A and AAAA).
    public static let parallelWindow = Duration(nanoseconds: 50_000_000)

    struct SocketKey: FlatKey {
        var client: Endpoint
        var server: Endpoint
        var transport: Transport

        var folded: UInt64 { client.mixed ^ KeyFolds.serverWord(server) ^ KeyFolds.transportWord(transport) }
    }

    /// The latest outstanding query per socket, to pair parallel queries. Entries leave when
    /// their transaction closes or, through `socketOrder`, once older than `parallelWindow`
    /// (they can pair with nothing then): the table holds the last 50 ms of queries, not
    /// every outstanding one (120 bytes each at 1 M outstanding).
    private var lastOnSocket = FlatTable<SocketKey, Int>()
    private var socketOrder = Deque<(time: Timestamp, socket: SocketKey, folded: UInt64, serial: Int)>()

    /// Outstanding transactions kept per exchange or group key (several queries may share
    /// a 5-tuple and id: A and AAAA from one socket with id 0, mDNS); the oldest leaves first.
    public static let maximumSharingKey = 64

    typealias Deadline = DeadlineQueue.Deadline

    private var pending = PendingTable()
    /// Queries past their deadline, waiting `lateWindow` for a late answer.
    private var expired = ExpiredQueries()
    // The index tables keep folded keys and serials; a candidate is confirmed against the
    // transaction it names (`holds`), which has every field of the key.
    private var byExchange = SerialIndex<Int>()
    private var byRetry = SerialIndex<Int>()
    private var byGroup: [GroupKey: SerialList] = [:]
    /// Outstanding queries by client endpoint and id, whatever the server address.
    private var byClient = SerialIndex<Int>()

    struct ClientKey: FlatKey {
        var client: Endpoint
        var transport: Transport
        var id: UInt16

        var folded: UInt64 { client.mixed ^ KeyFolds.idWord(id) ^ KeyFolds.transportWord(transport) }
    }
    private var deadlines = DeadlineQueue()

    /// Copies of one packet seen on several interfaces (`-i any`: the pod's veth, the
    /// bridge, the uplink; before and after kube-proxy's DNAT) arrive within microseconds
    /// with the same DNS bytes, the same client side and the same IPv4 identification, on
    /// different interfaces. They are one message: counted once, their interfaces and the
    /// DNAT'ed destination recorded on the transaction.
    public static let copyWindow = Duration(nanoseconds: 200_000_000)

    struct CopyKey: Hashable {
        var client: Endpoint
        var transport: Transport
        var id: UInt16
        var isResponse: Bool
        var messageHash: UInt64
    }

    struct CopyRecord {
        var serial: Int?
        var interfaceIndex: Int32
        var time: Timestamp
        var ipIdentification: UInt32?
    }

    private var copies: [CopyKey: CopyRecord] = [:]
    private var copyOrder = Deque<(time: Timestamp, key: CopyKey)>()

    /// A truncated UDP answer waits here for the client's TCP retry (RFC 7766 §5), at most
    /// `timeout`: the retry asks the same question of the same server, usually at once.
    struct FallbackKey: Hashable {
        var client: IPAddress
        var server: IPAddress
        var serverPort: UInt16
        var question: QuestionKey?
    }

    struct ServerPair: Hashable {
        var client: IPAddress
        var server: Endpoint
    }

    private var parked: [Int: Transaction] = [:]
    private var parkedByQuestion: [FallbackKey: Int] = [:]
    private var parkedByPair: [ServerPair: SerialList] = [:]
    private var parkDeadlines = DeadlineQueue()
    /// TCP transaction serial → the parked UDP transaction it is the fallback of.
    private var fallbackParents: [Int: Int] = [:]
    /// Parked transactions whose TCP retry is under way (their deadline no longer applies).
    private var fallbackInProgress: Set<Int> = []
    private var clock = Timestamp(nanoseconds: Int64.min)

    public private(set) var statistics = EngineStatistics()

    public init(
        timeout: Duration = TransactionEngine.defaultTimeout, maximumPending: Int = TransactionEngine.defaultMaximumPending,
        maximumExpired: Int = TransactionEngine.defaultMaximumExpired
    ) {
        self.timeout = timeout
        window = timeout + Duration(nanoseconds: min(1_000_000_000, timeout.nanoseconds / 10))
        self.maximumPending = max(1, maximumPending)
        self.maximumExpired = max(0, maximumExpired)
    }

    /// Outstanding transactions right now.
    public var pendingCount: Int { pending.count }

    /// Queries past their deadline held for a late answer right now: unanswered so far,
    /// handed over when their late window ends.
    public var expiredCount: Int { expired.count }

    /// Feeds one DNS message. `qname` is called only when a new transaction starts, so the
    /// name is rendered once per query, never per response. Closed transactions go to `emit`.
    public mutating func observe(
        _ message: MessageObservation, qname: () -> String?, emit: (consuming Transaction) -> Void
    ) {
        advance(to: message.time, emit: emit)
        var copyKey: CopyKey?
        if message.interfaceIndex >= 0 {
            guard let original = registerUnlessCopy(message) else { return }
            copyKey = original
        }
        if message.isResponse {
            observeResponse(message, emit: emit)
        } else {
            observeQuery(message, copyKey: copyKey, qname: qname, emit: emit)
        }
    }

    /// Nil when `message` is a copy of one already seen on another interface: records the
    /// copy's interface (and, for a query sent on to another server, that server as the
    /// attempt's backend, so the backend's answer pairs). Otherwise remembers the message
    /// as an original and returns its key, to be linked to the transaction it joins.
    private mutating func registerUnlessCopy(_ message: MessageObservation) -> CopyKey? {
        while let oldest = copyOrder.first, message.time - oldest.time > TransactionEngine.copyWindow {
            copyOrder.removeFirst()
            if let record = copies[oldest.key], record.time == oldest.time { copies[oldest.key] = nil }
        }
        let client = message.isResponse ? message.destination : message.source
        let key = CopyKey(client: client, transport: message.transport, id: message.id,
                          isResponse: message.isResponse, messageHash: message.messageHash)
        // Within `copyWindow` either way: the FIFO drops records in capture order, so after
        // the capture's clock went back one older than the window can still be there, kept
        // by a newer one ahead of it — of any client, which made the answer depend on what
        // else shared the engine (1 and 2 threads differed: FuzzPipeline, issue 13).
        if let record = copies[key], record.interfaceIndex != message.interfaceIndex,
           (message.time - record.time).magnitude <= Self.copyWindow,
           record.ipIdentification == nil || message.ipIdentification == nil
            || record.ipIdentification == message.ipIdentification {
            statistics.copies += 1
            if !message.isResponse, let serial = record.serial, var transaction = pending[serial] {
                if !transaction.seenOn.contains(message.interfaceIndex) && transaction.seenOn.count < 16 {
                    transaction.seenOn.append(message.interfaceIndex)
                }
                let server = message.destination
                // The DNAT'ed copy of one attempt: record where that attempt went (each
                // retry may be balanced to another backend), so the backend's answer pairs.
                if server != transaction.server,
                   let index = transaction.attempts.lastIndex(where: { $0.clientPort == message.source.port }),
                   transaction.attempts[index].backend == nil {
                    transaction.attempts[index].backend = server
                    pending[serial] = transaction
                    self.index(serial, under: ExchangeKey(client: message.source, server: server,
                                                          transport: message.transport, id: message.id),
                               folds: KeyFolds(client: message.source, server: server, transport: message.transport,
                                               id: message.id, question: message.question), emit: { _ in })
                } else {
                    pending[serial] = transaction
                }
            }
            return nil
        }
        copies[key] = CopyRecord(serial: nil, interfaceIndex: message.interfaceIndex, time: message.time,
                                 ipIdentification: message.ipIdentification)
        copyOrder.append((message.time, key))
        return key
    }

    /// Feeds an ICMP Destination Unreachable that quotes a DNS message (`quoted` describes
    /// the quoted message). A quoted query closes its transaction as rejected; a quoted
    /// response means the client had already given up (its port was closed) and is counted.
    public mutating func observeICMPError(
        _ quoted: MessageObservation, error: ICMPError, frame: Int, time: Timestamp, emit: (consuming Transaction) -> Void
    ) {
        advance(to: time, emit: emit)
        guard !quoted.isResponse else {
            statistics.responsesRejectedByClient += 1
            return
        }
        let key = ExchangeKey(client: quoted.source, server: quoted.destination, transport: quoted.transport, id: quoted.id)
        guard let serial = serials(under: key)?.first(where: { serial in
            guard let asked = pending[serial]?.question, let quotedQuestion = quoted.question else { return true }
            return asked == quotedQuestion
        }), var transaction = pending[serial] else {
            statistics.unmatchedICMPErrors += 1
            return
        }
        // The query stays outstanding: a resolver retries after an ICMP error too, and the
        // retry belongs to the same transaction. It closes as rejected at its deadline
        // unless an answer comes after all.
        if transaction.rejection == nil { transaction.rejection = Rejection(frame: frame, time: time, error: error) }
        transaction.rejections += 1
        pending[serial] = transaction
    }

    /// Whether advancing to `time` would hand nothing over: no deadline, end of a late
    /// window or wait for a TCP retry is before the clock then. Most frames are such: a parallel
    /// run's shard checks it at the clock steps of the other shards' frames and only raises
    /// its clock (`raiseClock`), as `advance` would.
    @inline(__always)
    public func isQuiet(at time: Timestamp) -> Bool {
        let now = Swift.max(clock, time)
        return deadlines.earliestTime >= now && expired.earliestRelease >= now && parkDeadlines.earliestTime >= now
    }

    /// Moves the clock to `time` if that is later: `advance` where `isQuiet(at: time)`.
    @inline(__always)
    public mutating func raiseClock(to time: Timestamp) {
        if time > clock { clock = time }
    }

    /// Expires every transaction whose deadline is before `time`, and hands over what else
    /// falls due then: from the three queues `isQuiet` checks.
    public mutating func advance(to time: Timestamp, emit: (consuming Transaction) -> Void) {
        raiseClock(to: time)
        while deadlines.earliestTime < clock, let earliest = deadlines.popMin() {
            guard let lastTime = pending.lastTime(earliest.serial), lastTime + window == earliest.time else { continue }
            emissionClock?.enter(.deadline, key: (earliest.time.nanoseconds, Int64(earliest.serial), 0, 0, 0, 0))
            close(serial: earliest.serial, outcome: .unanswered, expiry: .timeout, emit: emit)
        }
        while let done = expired.releaseDue(before: clock) {
            emissionClock?.enter(.lateWindowEnd, key: (done.release.nanoseconds, done.order.0, done.order.1,
                                                       done.order.2, done.order.3, done.order.4))
            deliver(done.transaction, emit: emit)
        }
        while parkDeadlines.earliestTime < clock, let earliest = parkDeadlines.popMin() {
            guard !fallbackInProgress.contains(earliest.serial) else { continue }
            // No TCP retry came: the truncated answer stands alone.
            emissionClock?.enter(.fallbackWait, key: (earliest.time.nanoseconds, Int64(earliest.serial), 0, 0, 0, 0))
            unpark(earliest.serial, emit: emit)
        }
        emissionClock?.enter(.operation, key: (0, 0, 0, 0, 0, 0))
    }

    /// End of input: everything still outstanding closes with expiry `capture-end`. A query
    /// sent once, less than `timeout` before the last frame, is in flight (its answer was
    /// probably on its way); one the client already re-sent (the client timed out at least
    /// once: another attempt, or the same question asked again later under a new id, as
    /// unbound and CoreDNS do) or waiting `timeout` or more is unanswered.
    public mutating func finish(emit: (consuming Transaction) -> Void) {
        advance(to: clock, emit: emit)
        // Expired queries first (their deadlines passed before anything still outstanding's):
        // no late answer can come any more.
        while let done = expired.releaseOldest() {
            emissionClock?.enter(.endReleasesHeld, key: (done.order.0, done.order.1, done.order.2, done.order.3,
                                                         done.order.4, 0))
            deliver(done.transaction, emit: emit)
        }
        // Nothing is looked up from here on: the index tables go first (100 MB at 1 M
        // outstanding), before the table of questions below; retiring finds nothing to unindex.
        byExchange = SerialIndex()
        byRetry = SerialIndex()
        byClient = SerialIndex()
        lastOnSocket = FlatTable()
        socketOrder = Deque()
        let serials = pending.serials
        // The serial that asked each (client, question) last: folded keys and serials, sized
        // once (16 bytes a slot, no doubling), confirmed against the pending transactions.
        var lastAsked = SerialIndex<Int>(minimumCapacity: serials.count)
        func askedLast(_ key: QuestionAsked) -> Int? {
            lastAsked.index(forKey: key, where: { serial in
                pending.inspect(serial) { $0.client.ip == key.client && $0.question == key.question } ?? false
            })
        }
        for serial in serials {
            guard let first = pending.firstAttempt(serial), let question = first.question,
                  let client = pending.inspect(serial, { $0.client.ip }) else { continue }
            let key = QuestionAsked(client: client, question: question)
            if let slot = askedLast(key) {
                if let last = pending.firstAttempt(lastAsked[slot: slot]), last.time < first.time {
                    lastAsked[slot: slot] = serial
                }
            } else {
                lastAsked.insertNew(key, serial)
            }
        }
        // Decided for all before any closes (the latest asker of a question must still be pending).
        let inFlight = serials.map { serial in
            pending.inspect(serial) { transaction in
                let askedAgain = transaction.question
                    .flatMap { askedLast(QuestionAsked(client: transaction.client.ip, question: $0)) }
                    .flatMap { pending.firstAttempt(lastAsked[slot: $0])?.time }
                    .map { $0 > transaction.firstTime } ?? false
                return transaction.attemptCount == 1 && !askedAgain && clock - transaction.lastTime < timeout
            } ?? false
        }
        lastAsked = SerialIndex()
        for (serial, inFlight) in zip(serials, inFlight) {
            emissionClock?.enter(.endClosesPending, key: (Int64(serial), 0, 0, 0, 0, 0))
            close(serial: serial, outcome: inFlight ? .inFlight : .unanswered, expiry: .captureEnd, emit: emit)
        }
        for serial in parked.keys.sorted() {
            emissionClock?.enter(.endReleasesParked, key: (Int64(serial), 0, 0, 0, 0, 0))
            unpark(serial, emit: emit)
        }
        deadlines.removeAll()
        parkDeadlines.removeAll()
    }

    /// A TCP connection to a DNS port ended. One that carried no DNS message from the
    /// client and whose SYN went unanswered, or was refused with RST, is a failed TCP
    /// attempt: it completes the oldest truncated answer from that client to that server
    /// still waiting for its fallback, or is reported on its own (client IP, server, SYN).
    public mutating func observeConnectionEnd(_ connection: TCPConnectionReport, emit: (consuming Transaction) -> Void) {
        advance(to: connection.lastTime, emit: emit)
        guard connection.clientMessages == 0, let synFrame = connection.synFrame,
              connection.resetByServer || !connection.synAcknowledged else { return }
        let outcome: Fallback.Outcome = connection.resetByServer ? .reset : .handshakeFailed
        statistics.failedConnections += 1
        let pair = ServerPair(client: connection.client.ip, server: connection.server)
        if let waiting = parkedByPair[pair]?.first(where: { !fallbackInProgress.contains($0) }),
           var transaction = parked[waiting] {
            transaction.fallback = Fallback(
                outcome: outcome, clientPort: connection.client.port, id: nil, frames: [synFrame],
                attempts: connection.synCount, responseFrame: nil, rcode: nil, resetFrame: connection.resetFrame,
                startTime: connection.synTime, responseTime: nil)
            parked[waiting] = transaction
            unpark(waiting, emit: emit)
            return
        }
        let failure = Transaction(
            client: connection.client, server: connection.server, transport: .tcp, id: 0, opcode: .query,
            qname: nil, question: nil, vlanIDs: connection.vlanIDs, interfaceIndex: connection.interfaceIndex,
            underlay: nil, attempts: Attempts(Attempt(frame: synFrame, time: connection.synTime, clientPort: connection.client.port)),
            droppedAttempts: max(0, connection.synCount - 1), response: nil, rejection: nil, fallback: nil,
            outcome: connection.resetByServer ? .reset : .handshakeFailed, expiry: nil, lastTime: connection.lastTime)
        deliver(failure, emit: emit)
    }

    private mutating func observeQuery(
        _ message: MessageObservation, copyKey: CopyKey?, qname: () -> String?, emit: (consuming Transaction) -> Void
    ) {
        statistics.queries += 1
        let client = message.source
        let server = message.destination
        let retryKey = RetryKey(client: client.ip, server: server, transport: message.transport,
                                id: message.id, question: message.question)
        let exchangeKey = ExchangeKey(client: client, server: server, transport: message.transport, id: message.id)
        let folds = KeyFolds(client: client, server: server, transport: message.transport, id: message.id,
                             question: message.question)
        // One lookup of the retry key; the serial found serves both cases below.
        let previous = byRetry.index(forFolded: folds.retry, where: { holds($0, retryKey) }).map { byRetry[slot: $0] }
        if let serial = previous, let lastTime = pending.lastTime(serial), message.time - lastTime <= window {
            // A resend of an outstanding query: same id and question, any source port.
            pending.modify(serial) {
                $0.addAttempt(Attempt(frame: message.frame, time: message.time, clientPort: client.port),
                              seenOn: copyKey == nil ? nil : message.interfaceIndex)
            }
            statistics.retries += 1
            if let copyKey { copies[copyKey]?.serial = serial }
            index(serial, under: exchangeKey, folds: folds, emit: emit)
            deadlines.insert(Deadline(time: message.time + window, serial: serial))
            return
        }
        if let previous {
            // Same question and id outside the retry window: the old one timed out.
            close(serial: previous, outcome: .unanswered, expiry: .timeout, emit: emit)
        }
        let name = qname()
        if pending.count >= maximumPending { evictOldest(emit: emit) }
        let serial = pending.insert(PendingQuery(
            client: client, server: server, transport: message.transport, id: message.id,
            opcode: message.opcode, qname: name, question: message.question,
            vlanIDs: message.vlanIDs, interfaceIndex: message.interfaceIndex, underlay: message.underlay,
            seenOn: copyKey != nil ? [message.interfaceIndex] : [],
            first: Attempt(frame: message.frame, time: message.time, clientPort: client.port)),
            creation: emissionClock.map { Int(truncatingIfNeeded: $0.current.operation) })
        // `previous`, if any, closed above and left the table. Without one, the lookup above
        // found no entry under the key, and closing or evicting since only removed some.
        if previous != nil, let retry = byRetry.index(forFolded: folds.retry, where: { holds($0, retryKey) }) {
            byRetry[slot: retry] = serial
        } else {
            byRetry.insertNew(folded: folds.retry, serial)
        }
        index(serial, under: exchangeKey, folds: folds, emit: emit)
        let socket = SocketKey(client: client, server: server, transport: message.transport)
        while let oldest = socketOrder.first, message.time - oldest.time > TransactionEngine.parallelWindow {
            socketOrder.removeFirst()
            if let index = lastOnSocket.index(forKey: oldest.socket, folded: oldest.folded),
               lastOnSocket[slot: index] == oldest.serial {
                lastOnSocket.remove(at: index)
            }
        }
        socketOrder.append((message.time, socket, folds.socket, serial))
        if let socketIndex = lastOnSocket.index(forKey: socket, folded: folds.socket) {
            let other = lastOnSocket[slot: socketIndex]
            lastOnSocket[slot: socketIndex] = serial
            if let sibling = pending.firstAttempt(other), sibling.question != message.question,
               message.time - sibling.time <= TransactionEngine.parallelWindow {
                pending.modify(other) {
                    $0.sentWith = ParallelQuery(frame: message.frame, type: message.question?.type,
                                                answeredFirstTry: false, serial: serial)
                }
                pending.modify(serial) {
                    $0.sentWith = ParallelQuery(frame: sibling.frame, type: sibling.question?.type,
                                                answeredFirstTry: false, serial: other)
                }
            }
        } else {
            lastOnSocket.insertNew(socket, serial, folded: folds.socket)
        }
        if let copyKey { copies[copyKey]?.serial = serial }
        if message.transport == .tcp {
            let fallbackKey = FallbackKey(client: client.ip, server: server.ip, serverPort: server.port,
                                          question: message.question)
            if let parent = parkedByQuestion[fallbackKey], !fallbackInProgress.contains(parent) {
                fallbackParents[serial] = parent
                fallbackInProgress.insert(parent)
            }
        }
        if server.ip.isMulticast {
            let groupKey = GroupKey(group: server, transport: message.transport, id: message.id)
            if byGroup[groupKey]?.append(serial) == nil { byGroup[groupKey] = SerialList(serial) }
            if let members = byGroup[groupKey], members.count > TransactionEngine.maximumSharingKey {
                close(serial: members.first, outcome: .unanswered, expiry: .evicted, emit: emit)
            }
        }
        deadlines.insert(Deadline(time: message.time + window, serial: serial))
        statistics.peakPending = max(statistics.peakPending, pending.count)
    }

    private mutating func observeResponse(_ message: MessageObservation, emit: (consuming Transaction) -> Void) {
        statistics.responses += 1
        let key = ExchangeKey(client: message.destination, server: message.source,
                              transport: message.transport, id: message.id)
        // Several outstanding queries may share the 5-tuple and id; the response belongs to
        // the oldest whose question it repeats (any, if it carries none). The candidates are
        // walked in place (no list of them made per answer).
        var candidates = answering(message, in: byExchange, folded: key.folded) { $0.isIndexed($1, under: key) }
        if !candidates.any, message.destination.ip.isMulticast,
           let group = byGroup[GroupKey(group: message.destination, transport: message.transport, id: message.id)] {
            // mDNS (RFC 6762 §6): the owner of the name multicasts its answer to the group
            // the query went to, from its own address.
            candidates = (true, group.first(where: { answers(message, serial: $0) }))
        }
        if !candidates.any, answerLate(message, key: key, emit: emit) { return }
        var answeredFrom: Endpoint?
        if !candidates.any, message.question != nil {
            // No query to this address, but one from the same client port with the same id
            // and question to another: the address changed between query and answer.
            let clientKey = ClientKey(client: message.destination, transport: message.transport, id: message.id)
            candidates = answering(message, in: byClient, folded: clientKey.folded) { $0.isIndexed($1, under: clientKey) }
            if candidates.any { answeredFrom = message.source }
        }
        guard candidates.any else {
            statistics.unsolicited[.noMatchingQuery, default: 0] += 1
            return
        }
        guard let serial = candidates.first, var transaction = pending.close(serial) else {
            if answeredFrom == nil, answerLate(message, key: key, emit: emit) { return }
            statistics.unsolicited[.questionMismatch, default: 0] += 1
            return
        }
        record(message, answering: &transaction, from: key.client.port, answeredFrom: answeredFrom)
        if answeredFrom != nil { statistics.answeredFromAnotherAddress += 1 }
        retire(consume transaction, serial: serial, outcome: .answered, expiry: nil, emit: emit)
    }

    /// Whether `message` may answer the transaction `serial`: it repeats its question, or one
    /// of them has none (a serial no longer live has none).
    @inline(__always)
    private func answers(_ message: MessageObservation, serial: Int) -> Bool {
        guard let asked = pending.question(serial), let answered = message.question else { return true }
        return asked == answered
    }

    /// The serials `index` holds under `folded` that `isIndexed` confirms (nil from it: a
    /// serial no longer live, which confirms), in their order: whether there is any, and the
    /// first that `message` answers, as `serials(under:)` and then `first(where:)` found them.
    @inline(__always)
    private func answering(
        _ message: MessageObservation, in index: SerialIndex<Int>, folded: UInt64, _ isIndexed: (PendingTable, Int) -> Bool?
    ) -> (any: Bool, first: Int?) {
        var any = false
        var first: Int?
        index.forEach(forFolded: folded) { serial in
            guard first == nil, isIndexed(pending, serial) ?? true else { return }
            any = true
            if answers(message, serial: serial) { first = serial }
        }
        return (any, first)
    }

    /// Sets `message` as the response of `transaction`. Inlined: as a call, the transaction
    /// was copied to it and back (two 280-byte copies per answer).
    @inline(__always)
    private func record(_ message: MessageObservation, answering transaction: inout Transaction, from clientPort: UInt16,
                        answeredFrom: Endpoint?) {
        // The attempt it answers: the first one sent from this client port, unless the
        // resolver re-sent on the same socket a whole timeout later — that resend is a new
        // attempt in its own right (tshark calls resends within 5 s retransmissions and
        // pairs the answer with the original, later ones with themselves).
        // By index: iterating would copy the attempts (a retain and release per answer).
        var attemptIndex = 0
        if transaction.attempts.count > 1 {
            attemptIndex = transaction.attempts.firstIndex { $0.clientPort == clientPort } ?? 0
            for index in transaction.attempts.indices where index > attemptIndex {
                let attempt = transaction.attempts[index]
                if attempt.clientPort == clientPort && attempt.time <= message.time
                    && attempt.time - transaction.attempts[attemptIndex].time >= timeout {
                    attemptIndex = index
                }
            }
        }
        transaction.response = ResponseRecord(frame: message.frame, time: message.time, rcode: message.rcode,
                                              isTruncated: message.isTruncated, attemptIndex: attemptIndex,
                                              source: answeredFrom)
    }

    /// A response no outstanding query takes may answer a query past its deadline, still
    /// held (same 5-tuple and id, same question if it carries one): that one closes as
    /// `late`. An outstanding query with the same key was looked up first and wins.
    private mutating func answerLate(_ message: MessageObservation, key: ExchangeKey, emit: (consuming Transaction) -> Void) -> Bool {
        guard expired.count > 0, var transaction = expired.take(answering: key, question: message.question) else {
            return false
        }
        record(message, answering: &transaction, from: key.client.port, answeredFrom: nil)
        transaction.outcome = .late
        transaction.expiry = nil
        deliver(consume transaction, emit: emit)
        return true
    }

    /// Adds `serial` to the transactions sharing an exchange key, evicting the oldest
    /// beyond `maximumSharingKey`. Each table is hashed once and its list changed in place.
    /// `folds`: the key's, as `KeyFolds` makes them (its exchange and client words are used).
    private mutating func index(_ serial: Int, under key: ExchangeKey, folds: KeyFolds, emit: (consuming Transaction) -> Void) {
        let clientKey = ClientKey(client: key.client, transport: key.transport, id: key.id)
        if let clients = serials(under: clientKey, folded: folds.client) {
            if !clients.contains(serial) && clients.count < TransactionEngine.maximumSharingKey {
                byClient.insertNew(folded: folds.client, serial)
            }
        } else {
            byClient.insertNew(folded: folds.client, serial)
        }
        guard var exchange = serials(under: key, folded: folds.exchange) else {
            byExchange.insertNew(folded: folds.exchange, serial)
            return
        }
        guard !exchange.contains(serial) else { return }
        byExchange.insertNew(folded: folds.exchange, serial)
        exchange.append(serial)
        if exchange.count > TransactionEngine.maximumSharingKey {
            close(serial: exchange.first, outcome: .unanswered, expiry: .evicted, emit: emit)
        }
    }

    // Index lookups: the tables keep folded keys, so a candidate is confirmed against its
    // transaction; a serial no longer live confirms (as a stored key did).

    /// The outstanding transactions indexed under `key`, oldest indexed first.
    ///
    /// Inlined: a call of a method of the engine from one of its mutating methods copied the
    /// whole engine (576 bytes) first, on every lookup.
    @inline(__always)
    private func serials(under key: ExchangeKey, folded: UInt64? = nil) -> SerialList? {
        Self.serials(in: byExchange, confirmedBy: pending, folded: folded ?? key.folded) { $0.isIndexed($1, under: key) }
    }

    @inline(__always)
    private func serials(under key: ClientKey, folded: UInt64? = nil) -> SerialList? {
        Self.serials(in: byClient, confirmedBy: pending, folded: folded ?? key.folded) { $0.isIndexed($1, under: key) }
    }

    /// The serials of `index` under the key `isIndexed` confirms (nil from it: a serial no
    /// longer live, which confirms).
    @inline(__always)
    private static func serials(
        in index: SerialIndex<Int>, confirmedBy pending: PendingTable, folded: UInt64,
        _ isIndexed: (PendingTable, Int) -> Bool?
    ) -> SerialList? {
        var list: SerialList?
        index.forEach(forFolded: folded) { serial in
            guard isIndexed(pending, serial) ?? true else { return }
            if list?.append(serial) == nil { list = SerialList(serial) }
        }
        return list
    }

    private func holds(_ serial: Int, _ key: RetryKey) -> Bool {
        pending.isIndexed(serial, under: key) ?? true
    }

    private mutating func evictOldest(emit: (consuming Transaction) -> Void) {
        while let earliest = deadlines.popMin() {
            guard pending.contains(earliest.serial) else { continue }
            statistics.evicted += 1
            close(serial: earliest.serial, outcome: .unanswered, expiry: .evicted, emit: emit)
            return
        }
    }

    /// Not inlined: inlined into `observeQuery` (for the rare same-question query after a
    /// timeout), its optional transaction was destroyed on every query, nil or not.
    @inline(never)
    private mutating func close(serial: Int, outcome: Outcome, expiry: ExpiryReason?, emit: (consuming Transaction) -> Void) {
        guard let transaction = pending.close(serial) else { return }
        retire(consume transaction, serial: serial, outcome: outcome, expiry: expiry, emit: emit)
    }

    /// Unindexes a transaction just taken out of `pending` and hands it on: to its parent
    /// (a TCP retry), to the parking (a truncated answer), or to `emit`.
    private mutating func retire(
        _ transaction: consuming Transaction, serial: Int, outcome requested: Outcome, expiry: ExpiryReason?,
        emit: (consuming Transaction) -> Void
    ) {
        let waiting = requested == .unanswered || requested == .inFlight
        let outcome = waiting && transaction.rejection != nil ? .rejected : requested
        // The first attempt's folds serve the retry key (no port in it) and the socket key.
        var firstFolds: KeyFolds?
        for index in transaction.attempts.indices {
            let attempt = transaction.attempts[index]
            let client = Endpoint(ip: transaction.client.ip, port: attempt.clientPort)
            let folds = KeyFolds(client: client, server: transaction.server, transport: transaction.transport,
                                 id: transaction.id, question: transaction.question)
            if index == transaction.attempts.startIndex { firstFolds = folds }
            removeSerial(serial, folded: folds.exchange, from: &byExchange)
            removeSerial(serial, folded: folds.client, from: &byClient)
            if let backend = attempt.backend {
                removeSerial(serial, under: ExchangeKey(client: client, server: backend, transport: transaction.transport,
                                                        id: transaction.id), from: &byExchange)
            }
        }
        let retryFold = firstFolds?.retry
            ?? RetryKey(client: transaction.client.ip, server: transaction.server, transport: transaction.transport,
                        id: transaction.id, question: transaction.question).folded
        if let retry = byRetry.index(forFolded: retryFold, where: { $0 == serial }) { byRetry.remove(at: retry) }
        if let first = transaction.attempts.first, let firstFolds {
            let socket = SocketKey(client: Endpoint(ip: transaction.client.ip, port: first.clientPort),
                                   server: transaction.server, transport: transaction.transport)
            if let index = lastOnSocket.index(forKey: socket, folded: firstFolds.socket), lastOnSocket[slot: index] == serial {
                lastOnSocket.remove(at: index)
            }
        }
        if let partner = transaction.sentWith, pending.partnerSerial(partner.serial) == serial {
            // Tell the partner still outstanding how this one fared.
            let answeredFirstTry = outcome == .answered && transaction.answeredFirstTry
            pending.modify(partner.serial) { $0.sentWith?.answeredFirstTry = answeredFirstTry }
        }
        if transaction.server.ip.isMulticast {
            let groupKey = GroupKey(group: transaction.server, transport: transaction.transport, id: transaction.id)
            removeSerial(serial, under: groupKey, from: &byGroup)
        }
        // A query to a multicast group (mDNS, LLMNR) is answered by whoever owns the name,
        // usually to the group: silence from the group proves nothing, so it is not
        // "unanswered". A reply addressed back from the group address still pairs normally.
        transaction.outcome = (outcome == .unanswered || outcome == .inFlight) && transaction.server.ip.isMulticast
            ? .multicast : outcome
        transaction.expiry = expiry
        if !fallbackParents.isEmpty, let parent = fallbackParents.removeValue(forKey: serial) {
            // The TCP retry of a truncated answer: it completes that transaction.
            attachFallback(consume transaction, to: parent, emit: emit)
            return
        }
        if transaction.transport == .udp, outcome == .answered, transaction.isTruncated {
            park(consume transaction, serial: serial)
            return
        }
        if expiry == .timeout, transaction.outcome == .unanswered || transaction.outcome == .rejected {
            onExpiry?(transaction)
        }
        if expiry == .timeout, transaction.outcome == .unanswered, maximumExpired > 0 {
            hold(consume transaction, emit: emit)
            return
        }
        deliver(consume transaction, emit: emit)
    }

    /// Keeps a query whose deadline just passed for `lateWindow`, for a late answer; when
    /// the table is full, the one held longest is handed over as unanswered first.
    private mutating func hold(_ transaction: consuming Transaction, emit: (consuming Transaction) -> Void) {
        // The cap bounds the slots, those a late answer emptied included (the table's memory).
        while expired.slotCount >= maximumExpired, let oldest = expired.releaseOldest() {
            statistics.expiredReleasedEarly += 1
            deliver(oldest.transaction, emit: emit)
        }
        expired.hold(transaction, until: transaction.lastTime + window + TransactionEngine.lateWindow,
                     order: emissionClock?.next().asKey)
        statistics.peakExpired = max(statistics.peakExpired, expired.count)
    }

    /// Counts a finished transaction and hands it over.
    @inline(__always)
    private mutating func deliver(_ transaction: consuming Transaction, emit: (consuming Transaction) -> Void) {
        switch transaction.outcome {
        case .answered: statistics.answered += 1
        case .late: statistics.late += 1
        case .unanswered: statistics.unanswered += 1
        case .inFlight: statistics.inFlight += 1
        case .rejected: statistics.rejected += 1
        case .multicast: statistics.multicastQueries += 1
        case .handshakeFailed, .reset: break
        }
        emit(consume transaction)
    }

    /// Holds a truncated UDP answer until its TCP retry is known.
    private mutating func park(_ transaction: consuming Transaction, serial: Int) {
        parked[serial] = transaction
        let deadline = (transaction.response?.time ?? transaction.lastTime) + timeout
        parkDeadlines.insert(Deadline(time: deadline, serial: serial))
        let key = FallbackKey(client: transaction.client.ip, server: transaction.server.ip,
                              serverPort: transaction.server.port, question: transaction.question)
        parkedByQuestion[key] = serial
        let pair = ServerPair(client: transaction.client.ip, server: transaction.server)
        if parkedByPair[pair]?.append(serial) == nil { parkedByPair[pair] = SerialList(serial) }
    }

    /// Releases a parked transaction, with whatever fallback it has learned.
    private mutating func unpark(_ serial: Int, emit: (consuming Transaction) -> Void) {
        guard let transaction = parked.removeValue(forKey: serial) else { return }
        fallbackInProgress.remove(serial)
        let key = FallbackKey(client: transaction.client.ip, server: transaction.server.ip,
                              serverPort: transaction.server.port, question: transaction.question)
        if parkedByQuestion[key] == serial { parkedByQuestion[key] = nil }
        let pair = ServerPair(client: transaction.client.ip, server: transaction.server)
        removeSerial(serial, under: pair, from: &parkedByPair)
        if transaction.fallback != nil { statistics.fallbacks += 1 }
        deliver(consume transaction, emit: emit)
    }

    private mutating func attachFallback(_ tcp: consuming Transaction, to parent: Int, emit: (consuming Transaction) -> Void) {
        guard var transaction = parked[parent] else {
            deliver(tcp, emit: emit)
            return
        }
        let outcome: Fallback.Outcome = switch tcp.outcome {
        case .answered: .answered
        case .rejected: .rejected
        default: .unanswered
        }
        transaction.fallback = Fallback(
            outcome: outcome, clientPort: tcp.client.port, id: tcp.id, frames: tcp.attempts.map(\.frame),
            attempts: tcp.attemptCount, responseFrame: tcp.response?.frame, rcode: tcp.response?.rcode,
            resetFrame: nil, startTime: tcp.firstTime, responseTime: tcp.response?.time)
        parked[parent] = transaction
        unpark(parent, emit: emit)
    }
}

extension UnsafePointer<PendingQuery> {
    // Read field by field where the query lies (`PendingTable.withLiveQuery`): a method of
    // `PendingQuery` called through `pointee` made the compiler copy the whole query first.

    /// Whether one of its attempts was sent from `port` (any port once attempts were
    /// dropped: those were indexed, not kept).
    @inline(__always)
    private func sentFrom(port: UInt16) -> Bool {
        pointee.droppedAttempts > 0 || pointer(to: \.attempts).unsafelyUnwrapped.pointee.contains(port: port)
    }

    /// Whether the engine indexed it under `key`: an attempt's 5-tuple and id, to the server
    /// or to the backend that attempt was DNAT'ed to.
    @inline(__always)
    func isIndexed(under key: TransactionEngine.ExchangeKey) -> Bool {
        guard key.client.ip == pointee.client.ip, key.transport == pointee.transport, key.id == pointee.id else {
            return false
        }
        if key.server == pointee.server { return sentFrom(port: key.client.port) }
        return pointer(to: \.attempts).unsafelyUnwrapped.pointee.contains(port: key.client.port, backend: key.server)
    }

    @inline(__always)
    func isIndexed(under key: TransactionEngine.ClientKey) -> Bool {
        key.client.ip == pointee.client.ip && key.transport == pointee.transport && key.id == pointee.id
            && sentFrom(port: key.client.port)
    }

    @inline(__always)
    func isIndexed(under key: TransactionEngine.RetryKey) -> Bool {
        key.client == pointee.client.ip && key.server == pointee.server && key.transport == pointee.transport
            && key.id == pointee.id && key.question == pointee.question
    }
}

/// Counters the engine keeps while it runs.
public struct EngineStatistics: Sendable, Equatable {
    public var queries = 0
    public var responses = 0
    public var retries = 0
    public var answered = 0
    /// Answers that came after their query's deadline, within `TransactionEngine.lateWindow`.
    public var late = 0
    public var unanswered = 0
    /// Queries still waiting (sent once, less than the timeout before) when the capture ended.
    public var inFlight = 0
    public var multicastQueries = 0
    public var rejected = 0
    /// TCP connections to a DNS port that failed before any DNS message (no SYN-ACK, or RST).
    public var failedConnections = 0
    /// Truncated UDP answers whose TCP retry was seen (answered or not).
    public var fallbacks = 0
    /// ICMP errors quoting a response: the client's port was closed (it had given up).
    public var responsesRejectedByClient = 0
    /// ICMP errors quoting a query the engine does not hold (already closed, or unseen).
    public var unmatchedICMPErrors = 0
    public var unsolicited: [UnsolicitedReason: Int] = [:]
    public var evicted = 0
    public var peakPending = 0
    /// Expired queries handed over as unanswered before their late window ended, the
    /// table of expired queries being full (a late answer for them counts as unsolicited).
    public var expiredReleasedEarly = 0
    public var peakExpired = 0
    /// Responses paired although they came from another address than the query went to.
    public var answeredFromAnotherAddress = 0
    /// Copies of a message seen again on another interface (counted once).
    public var copies = 0

    public init() {}

    public var unsolicitedTotal: Int { unsolicited.values.reduce(0, +) }

    /// Adds the counts of another engine of the run (another vantage, another shard):
    /// counts summed, peaks the larger. A field added here must be added there too.
    public mutating func add(_ other: EngineStatistics) {
        queries += other.queries
        responses += other.responses
        retries += other.retries
        answered += other.answered
        late += other.late
        unanswered += other.unanswered
        inFlight += other.inFlight
        multicastQueries += other.multicastQueries
        rejected += other.rejected
        failedConnections += other.failedConnections
        fallbacks += other.fallbacks
        responsesRejectedByClient += other.responsesRejectedByClient
        unmatchedICMPErrors += other.unmatchedICMPErrors
        unsolicited.merge(other.unsolicited, uniquingKeysWith: +)
        evicted += other.evicted
        peakPending = max(peakPending, other.peakPending)
        expiredReleasedEarly += other.expiredReleasedEarly
        peakExpired = max(peakExpired, other.peakExpired)
        answeredFromAnotherAddress += other.answeredFromAnotherAddress
        copies += other.copies
    }
}

extension IPAddress {
    /// 224.0.0.0/4 or ff00::/8.
    @inlinable
    public var isMulticast: Bool {
        isIPv6 ? high >> 56 == 0xff : (low >> 28) & 0xf == 0xe
    }
}

/// Removes `serial` from the list under `key`, and the entry when it empties. One hash
/// lookup, and the list is mutated in the table's own storage: `table[key]?.remove(…)`
/// copies the list out and back (three allocations per call, measured).
func removeSerial<Key: Hashable>(_ serial: Int, under key: Key, from table: inout [Key: SerialList]) {
    guard let index = table.index(forKey: key) else { return }
    if table.values[index].remove(serial) { table.remove(at: index) }
}

/// Removes the entry of `serial` under `key` (a retiring transaction has left the pending
/// table: its serial identifies the entry).
func removeSerial<Key: FlatKey>(_ serial: Int, under key: Key, from table: inout SerialIndex<Int>) {
    removeSerial(serial, folded: key.folded, from: &table)
}

/// As `removeSerial(_:under:from:)`, given the key's folded word.
func removeSerial(_ serial: Int, folded: UInt64, from table: inout SerialIndex<Int>) {
    guard let index = table.index(forFolded: folded, where: { $0 == serial }) else { return }
    table.remove(at: index)
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

    func makeIterator() -> Iterator { Iterator(list: self) }

    /// Walks `first`, then `more`, without building an array.
    struct Iterator: IteratorProtocol {
        let list: SerialList
        var position = -1

        mutating func next() -> Int? {
            defer { position += 1 }
            if position < 0 { return list.first }
            return position < list.more.count ? list.more[position] : nil
        }
    }
}

/// What the engine needs to know of an ended TCP connection (built by the pipeline from
/// the stream reassembler's summary).
public struct TCPConnectionReport: Sendable {
    public var client: Endpoint
    public var server: Endpoint
    public var vlanIDs: VLANIDs
    public var interfaceIndex: Int32
    public var synFrame: Int?
    public var synTime: Timestamp
    public var synCount: Int
    public var synAcknowledged: Bool
    public var resetByServer: Bool
    public var resetFrame: Int?
    public var clientMessages: Int
    public var lastTime: Timestamp

    public init(
        client: Endpoint, server: Endpoint, vlanIDs: VLANIDs = VLANIDs(), interfaceIndex: Int32 = -1,
        synFrame: Int?, synTime: Timestamp, synCount: Int, synAcknowledged: Bool, resetByServer: Bool,
        resetFrame: Int?, clientMessages: Int, lastTime: Timestamp
    ) {
        self.client = client
        self.server = server
        self.vlanIDs = vlanIDs
        self.interfaceIndex = interfaceIndex
        self.synFrame = synFrame
        self.synTime = synTime
        self.synCount = synCount
        self.synAcknowledged = synAcknowledged
        self.resetByServer = resetByServer
        self.resetFrame = resetFrame
        self.clientMessages = clientMessages
        self.lastTime = lastTime
    }
}
