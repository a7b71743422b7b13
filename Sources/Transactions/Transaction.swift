import DNSWire
import PacketDecoding
import WireCore

/// One side of a DNS exchange.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
    public var ip: IPAddress
    public var port: UInt16

    public init(ip: IPAddress, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    public var description: String { ip.isIPv6 ? "[\(ip)]:\(port)" : "\(ip):\(port)" }

    /// Address and port folded into one word for hashing.
    @inlinable
    public var mixed: UInt64 { ip.mixed ^ (UInt64(port) &* 0xbf58_476d_1ce4_e5b9) }

    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(mixed) }
}

/// One DNS message as the engine needs it: where it was seen and the fields that pair it.
/// Built by the pipeline per message; holds no pointers into packet memory.
public struct MessageObservation: Sendable {
    public var frame: Int
    public var time: Timestamp
    public var source: Endpoint
    public var destination: Endpoint
    public var transport: Transport
    public var vlanIDs: VLANIDs
    public var interfaceIndex: Int32
    public var underlay: Underlay?
    /// IPv4 identification of the packet (nil for IPv6 and reassembled TCP): forwarded and
    /// NAT'ed copies of one packet keep it, retransmissions change it.
    public var ipIdentification: UInt32?
    /// A hash of the DNS message bytes, for recognising copies of one packet seen on
    /// several interfaces (0 when not computed: captures without interface indexes).
    public var messageHash: UInt64
    public var id: UInt16
    public var isResponse: Bool
    public var opcode: DNSOpcode
    public var rcode: DNSRCode
    public var isTruncated: Bool
    /// Question of the message, if it has one (FORMERR answers often have none).
    public var question: QuestionKey?

    /// Inlinable: called once per message from the pipeline's module, where its 16 arguments
    /// went through the stack into a copy (66 instructions per frame).
    @inlinable
    public init(
        frame: Int, time: Timestamp, source: Endpoint, destination: Endpoint, transport: Transport,
        vlanIDs: VLANIDs = VLANIDs(), interfaceIndex: Int32 = -1, underlay: Underlay? = nil,
        ipIdentification: UInt32? = nil, messageHash: UInt64 = 0, id: UInt16, isResponse: Bool,
        opcode: DNSOpcode = .query, rcode: DNSRCode = .noError, isTruncated: Bool = false, question: QuestionKey?
    ) {
        self.frame = frame
        self.time = time
        self.source = source
        self.destination = destination
        self.transport = transport
        self.vlanIDs = vlanIDs
        self.interfaceIndex = interfaceIndex
        self.underlay = underlay
        self.ipIdentification = ipIdentification
        self.messageHash = messageHash
        self.id = id
        self.isResponse = isResponse
        self.opcode = opcode
        self.rcode = rcode
        self.isTruncated = isTruncated
        self.question = question
    }
}

/// A question reduced to what pairing compares: the case-insensitive name hash, type, class.
public struct QuestionKey: Hashable, Sendable {
    public var nameHash: UInt64
    public var type: DNSType
    public var qclass: DNSClass

    public init(nameHash: UInt64, type: DNSType, qclass: DNSClass) {
        self.nameHash = nameHash
        self.type = type
        self.qclass = qclass
    }
}

/// One transmission of a query: resolvers resend with the same id and question, often from
/// a new source port.
public struct Attempt: Hashable, Sendable {
    public var frame: Int
    public var time: Timestamp
    public var clientPort: UInt16
    /// Where kube-proxy's DNAT sent this attempt, when a copy after DNAT was seen.
    public var backend: Endpoint? = nil
}

/// A transaction's attempts: the first inline, later ones in an array allocated only when
/// the query was re-sent. Most queries are sent once: closing one into a `Transaction`
/// allocates nothing for its attempts (an array of one took an allocation and its release
/// per transaction; bench/profile.md). Read them by index on hot paths: iterating copies
/// the collection (a retain and release of `later`).
public struct Attempts: RandomAccessCollection, MutableCollection, Sendable {
    // Inlinable: diagnosis and reports read attempts in other modules; as calls, reading
    // them cost more than the allocation saved (measured: +64 M instructions on the 1 M
    // capture instead of -38 M).
    @usableFromInline private(set) var head: Attempt
    /// Nil, not empty, for a query sent once: making and destroying its transaction then
    /// calls nothing for it (an empty array is still retained and released).
    @usableFromInline var later: [Attempt]? = nil

    @inlinable
    public init(_ first: Attempt) { head = first }

    /// `attempts` in order; at least one.
    init(_ attempts: [Attempt]) {
        head = attempts[0]
        later = attempts.count > 1 ? Array(attempts.dropFirst()) : nil
    }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { 1 + (later?.count ?? 0) }
    @inlinable public var count: Int { 1 + (later?.count ?? 0) }
    @inlinable public var first: Attempt? { head }

    @inlinable
    public subscript(position: Int) -> Attempt {
        get { position == 0 ? head : later![position - 1] }
        set {
            if position == 0 { head = newValue } else { later![position - 1] = newValue }
        }
    }

    mutating func append(_ attempt: Attempt) {
        if later == nil { later = [attempt] } else { later!.append(attempt) }
    }

    /// Whether one was sent from `port` (to the server, or to `backend` when given).
    /// Inlined: the engine asks it of queries read in place (`PendingTable.withLiveQuery`).
    @inline(__always)
    func contains(port: UInt16, backend: Endpoint? = nil) -> Bool {
        if head.clientPort == port && (backend == nil || head.backend == backend) { return true }
        guard let later else { return false }
        for attempt in later where attempt.clientPort == port && (backend == nil || attempt.backend == backend) {
            return true
        }
        return false
    }
}

/// The response that closed a transaction.
public struct ResponseRecord: Hashable, Sendable {
    public var frame: Int
    public var time: Timestamp
    public var rcode: DNSRCode
    public var isTruncated: Bool
    /// Index into `attempts` of the attempt it answered (same 5-tuple).
    public var attemptIndex: Int
    /// Set when the response came from another address than the query went to: the
    /// capture saw the query after DNAT and the answer before un-DNAT (a bridge with
    /// br_netfilter), or a server answers from the wrong address (clients drop those).
    public var source: Endpoint? = nil
}

/// How a transaction ended.
public enum Outcome: String, Sendable, CaseIterable {
    /// A response arrived within the timeout.
    case answered
    /// A response arrived after the query's deadline (last attempt + timeout and its grace),
    /// within `TransactionEngine.lateWindow` of it: the client had given up, the server
    /// answered anyway. Has its `response` and `latency` like an answered one.
    case late
    /// No response within the timeout of the last attempt; or, when the capture ended first,
    /// a query already re-sent (the client itself timed out) or waiting at least the timeout.
    case unanswered
    /// Still waiting when the capture ended: one attempt, sent less than the timeout before
    /// the end. Not a failure; its answer was probably on its way (expiry `capture-end`).
    case inFlight = "in_flight"
    /// An ICMP Destination Unreachable quoting the query came back: a REJECT rule
    /// (administratively prohibited, port unreachable from a firewall) or no listener.
    case rejected
    /// A TCP connection to a DNS port whose SYN was never answered, with no DNS message
    /// sent (recorded without a question).
    case handshakeFailed = "handshake_failed"
    /// A TCP connection to a DNS port refused with RST before any DNS message.
    case reset
    /// A query sent to a multicast group (mDNS, LLMNR) with no reply from the group
    /// address: answers come from whichever host owns the name, so silence proves nothing.
    case multicast
}

/// Why an unanswered transaction was closed.
public enum ExpiryReason: String, Sendable {
    /// `--timeout` elapsed after the last attempt.
    case timeout
    /// The capture ended before the timeout elapsed.
    case captureEnd = "capture-end"
    /// The pending table was full and this was the oldest entry.
    case evicted
}

/// The other query of a parallel pair (same socket, microseconds apart).
public struct ParallelQuery: Hashable, Sendable {
    public var frame: Int
    public var type: DNSType?
    /// Whether it was answered on its first attempt (known once it closes; false until then).
    public var answeredFirstTry: Bool
    /// The engine's handle on the partner while both are outstanding.
    var serial: Int = -1
}

/// The ICMP error that closed a transaction as rejected.
public struct Rejection: Hashable, Sendable {
    public var frame: Int
    public var time: Timestamp
    public var error: ICMPError
}

/// What became of the TCP retry after a truncated (TC=1) UDP answer (RFC 7766 §5).
public struct Fallback: Sendable {
    public enum Outcome: String, Sendable {
        case answered
        case unanswered
        case rejected
        /// The SYN was never answered: TCP 53 dropped on the way.
        case handshakeFailed = "handshake_failed"
        /// The server side answered the SYN with RST: TCP 53 refused.
        case reset
    }

    public var outcome: Outcome
    public var clientPort: UInt16
    /// The DNS id of the TCP query (dig uses a new one, glibc keeps the UDP one); nil
    /// when no query was sent.
    public var id: UInt16?
    /// Frames of the TCP queries, or of the first SYN when no query was sent.
    public var frames: [Int]
    public var attempts: Int
    public var responseFrame: Int?
    public var rcode: DNSRCode?
    public var resetFrame: Int?
    /// When the TCP retry started and, if answered, when its answer came.
    public var startTime: Timestamp
    public var responseTime: Timestamp?
}

/// A query, its retries, and its response if one came.
public struct Transaction: Sendable {
    public var client: Endpoint
    public var server: Endpoint
    public var transport: Transport
    public var id: UInt16
    public var opcode: DNSOpcode
    public var qname: String?
    public var question: QuestionKey?
    public var vlanIDs: VLANIDs
    public var interfaceIndex: Int32
    /// The overlay the query crossed nodes in, with the node addresses, if any.
    public var underlay: Underlay? {
        @inlinable get { rare?.first?.underlay }
        set { updateRare { $0.underlay = newValue } }
    }
    /// Where a ClusterIP query was DNAT'ed to: the backend of the answered attempt, or of
    /// the last attempt whose DNAT'ed copy was seen.
    @inlinable
    public var backend: Endpoint? {
        @inline(__always) get {
            if let response, attempts.indices.contains(response.attemptIndex), let backend = attempts[response.attemptIndex].backend {
                return backend
            }
            // Sent once (most queries): no search.
            if attempts.count == 1 { return attempts[0].backend }
            return attempts.last { $0.backend != nil }?.backend
        }
    }
    /// Another query sent from the same socket (client address and port, same server)
    /// within `TransactionEngine.parallelWindow` of this one — glibc's and musl's
    /// parallel A and AAAA — and what became of it.
    public var sentWith: ParallelQuery?
    /// Interfaces the query was seen on, in order (Linux cooked v2 captures: `-i any`).
    /// For an unanswered query the last one is where it was last seen.
    public var seenOn: [Int32] = []
    /// Every transmission, in capture order (at most `TransactionEngine.maximumAttempts`).
    public var attempts: Attempts
    /// Attempts beyond `maximumAttempts`, counted but not kept.
    public var droppedAttempts: Int
    public var response: ResponseRecord?
    /// The first ICMP error quoting one of its attempts, and how many came in all.
    public var rejection: Rejection? {
        @inlinable get { rare?.first?.rejection }
        set { updateRare { $0.rejection = newValue } }
    }
    public var rejections = 0
    /// For a truncated UDP answer: what became of the TCP retry, if the client made one.
    public var fallback: Fallback? {
        @inlinable get { rare?.first?.fallback }
        set { updateRare { $0.fallback = newValue } }
    }
    public var outcome: Outcome
    public var expiry: ExpiryReason?

    /// Time of the most recent attempt, counted or kept.
    public var lastTime: Timestamp

    /// Fields few transactions set (an overlay, an ICMP error, a TCP fallback: 220 bytes
    /// inline), kept out of line: nil is one word and allocates nothing, so an outstanding
    /// query costs a third less (issue 14.3: 1 M outstanding in the default cap). Nil, not
    /// an empty array, when none is set: making and destroying a transaction then calls
    /// nothing for it (an empty array is still retained and released). One element when set.
    /// Handed over whole from the pending query.
    @usableFromInline var rare: [RareFields]? = nil

    @usableFromInline
    struct RareFields: Sendable {
        @usableFromInline var underlay: Underlay?
        @usableFromInline var rejection: Rejection?
        @usableFromInline var fallback: Fallback?
        @usableFromInline var vantagePath: VantagePath?

        var isEmpty: Bool { underlay == nil && rejection == nil && fallback == nil && vantagePath == nil }
    }

    private mutating func updateRare(_ change: (inout RareFields) -> Void) {
        rare.update(change)
    }

    @inlinable public var firstTime: Timestamp { attempts.first?.time ?? lastTime }
    @inlinable public var attemptCount: Int { attempts.count + droppedAttempts }
    @inlinable public var isTruncated: Bool { response?.isTruncated ?? false }

    /// Answered before the client had to send it again.
    public var answeredFirstTry: Bool {
        guard let response else { return false }
        return attempts.count < 2 || response.time < attempts[1].time
    }

    /// Client-perceived resolution time: from the first attempt to the response (to the
    /// TCP answer when a truncated answer was retried over TCP successfully); for a late
    /// answer, how long after the first attempt it came. Never negative: nil when unanswered, and when the answer's capture time is before the
    /// query's (`isAnsweredBeforeQuery`: packets out of time order, a clock stepped back).
    @inlinable public var latency: Duration? {
        @inline(__always) get {
            guard let answeredAt, answeredAt >= firstTime else { return nil }
            return answeredAt - firstTime
        }
    }

    /// When the answer the client used came: the TCP answer after a truncated one, else the response.
    @inlinable public var answeredAt: Timestamp? { fallback?.responseTime ?? response?.time }

    /// An answer timed before its query: the capture's clock went backwards between them.
    /// Such a transaction is answered but has no latency.
    @inlinable public var isAnsweredBeforeQuery: Bool {
        guard let answeredAt else { return false }
        return answeredAt < firstTime
    }
}

extension Transaction {
    // In an extension, so that the struct keeps its memberwise initializer: building a
    // value through it is one move, where an initializer declared in the struct assigning
    // field by field made the compiler build a temporary and copy it once more (a retain
    // and release per reference, ~290 instructions per transaction; bench/profile.md).
    init(
        client: Endpoint, server: Endpoint, transport: Transport, id: UInt16, opcode: DNSOpcode, qname: String?,
        question: QuestionKey?, vlanIDs: VLANIDs, interfaceIndex: Int32, underlay: Underlay?,
        sentWith: ParallelQuery? = nil, seenOn: [Int32] = [], attempts: Attempts, droppedAttempts: Int,
        response: ResponseRecord?, rejection: Rejection?, rejections: Int = 0, fallback: Fallback?, outcome: Outcome,
        expiry: ExpiryReason?, lastTime: Timestamp
    ) {
        let hasRare = underlay != nil || rejection != nil || fallback != nil
        self.init(
            client: client, server: server, transport: transport, id: id, opcode: opcode, qname: qname,
            question: question, vlanIDs: vlanIDs, interfaceIndex: interfaceIndex, sentWith: sentWith, seenOn: seenOn,
            attempts: attempts, droppedAttempts: droppedAttempts, response: response, rejections: rejections,
            outcome: outcome, expiry: expiry, lastTime: lastTime,
            rare: hasRare ? [RareFields(underlay: underlay, rejection: rejection, fallback: fallback)] : nil)
    }
}

/// A response the engine could not pair with any query it saw.
public enum UnsolicitedReason: String, Sendable, CaseIterable {
    /// No outstanding query with that 5-tuple and id (the query preceded the capture, was
    /// already answered, or timed out more than `TransactionEngine.lateWindow` before).
    case noMatchingQuery = "no-matching-query"
    /// A query with that 5-tuple and id exists but asked a different question.
    case questionMismatch = "question-mismatch"
}

extension Optional where Wrapped == [Transaction.RareFields] {
    /// Changes the one element, creating it only when the change sets a field.
    mutating func update(_ change: (inout Transaction.RareFields) -> Void) {
        if self == nil {
            var fields = Transaction.RareFields()
            change(&fields)
            if !fields.isEmpty { self = [fields] }
        } else {
            change(&self![0])
        }
    }
}
