import DNSWire
import PacketDecoding
import WireCore

/// An outstanding query as the pending table keeps it: a `Transaction` without what only a
/// closed one has (response, outcome, expiry), its first attempt inline (most queries are
/// sent once) and its fields ordered to leave no padding. 208 bytes and the name, where a
/// `Transaction` took 232 and its attempts array 96 more (issue 14.3: 1 M outstanding; a
/// `Transaction` now keeps its first attempt inline too, 280 bytes).
/// Becomes a `Transaction` when it closes (`Transaction(closing:)`).
struct PendingQuery {
    var client: Endpoint
    var transport: Transport
    var opcode: DNSOpcode
    var id: UInt16
    var server: Endpoint
    var interfaceIndex: Int32
    var qname: String?
    var question: QuestionKey?
    var vlanIDs: VLANIDs
    /// As `Transaction.sentWith`.
    var sentWith: ParallelQuery?
    var seenOn: [Int32]
    /// Every transmission kept, in capture order (at most `TransactionEngine.maximumAttempts`).
    var attempts: Attempts
    var droppedAttempts: Int
    var rejections: Int
    /// Time of the most recent attempt, counted or kept.
    var lastTime: Timestamp
    /// The overlay and the first ICMP error, out of line (`Transaction.rare`).
    fileprivate var rare: [Transaction.RareFields]?

    var underlay: Underlay? { rare?.first?.underlay }

    /// The first ICMP error quoting one of its attempts.
    var rejection: Rejection? {
        get { rare?.first?.rejection }
        set { rare.update { $0.rejection = newValue } }
    }

    var firstTime: Timestamp { attempts.head.time }
    var attemptCount: Int { attempts.count + droppedAttempts }

    /// Records one more transmission (kept up to `maximumAttempts`, counted beyond), and
    /// the interface it was seen on when the capture has interface indexes.
    mutating func addAttempt(_ attempt: Attempt, seenOn interface: Int32?) {
        if attempts.count < TransactionEngine.maximumAttempts {
            attempts.append(attempt)
        } else {
            droppedAttempts += 1
        }
        lastTime = attempt.time
        if let interface, !seenOn.contains(interface), seenOn.count < 16 { seenOn.append(interface) }
    }
}

extension PendingQuery {
    /// In an extension, through the memberwise initializer: see `Transaction`'s.
    init(
        client: Endpoint, server: Endpoint, transport: Transport, id: UInt16, opcode: DNSOpcode, qname: String?,
        question: QuestionKey?, vlanIDs: VLANIDs, interfaceIndex: Int32, underlay: Underlay?, seenOn: [Int32],
        first: Attempt
    ) {
        self.init(
            client: client, transport: transport, opcode: opcode, id: id, server: server, interfaceIndex: interfaceIndex,
            qname: qname, question: question, vlanIDs: vlanIDs, sentWith: nil, seenOn: seenOn, attempts: Attempts(first),
            droppedAttempts: 0, rejections: 0, lastTime: first.time,
            rare: underlay.map { [Transaction.RareFields(underlay: $0)] })
    }
}

extension Transaction {
    /// The transaction a pending query is, not closed yet (outcome `unanswered`, no response,
    /// no expiry). Its fields are moved, not copied (no retain and release per transaction).
    init(closing query: consuming PendingQuery) {
        self = withUnsafeMutablePointer(to: &query) { query in
            let transaction = Transaction(movingOutOf: query)
            // What was moved out is put back empty, so `query` can be destroyed as usual.
            query.pointer(to: \.qname).unsafelyUnwrapped.initialize(to: nil)
            query.pointer(to: \.seenOn).unsafelyUnwrapped.initialize(to: [])
            query.pointer(to: \.attempts).unsafelyUnwrapped.initialize(to: Attempts(transaction.attempts.head))
            query.pointer(to: \.rare).unsafelyUnwrapped.initialize(to: nil)
            return transaction
        }
    }

    /// The transaction the query at `query` is, its references (name, interfaces, attempts,
    /// rare fields) moved out: no retain for them here and no release of the query left
    /// behind, whose memory then holds no value: the caller overwrites it without destroying
    /// it (`PendingTable.close`), or puts values back (`init(closing:)`).
    @inline(__always)
    init(movingOutOf query: UnsafeMutablePointer<PendingQuery>) {
        self.init(
            client: query.pointee.client, server: query.pointee.server, transport: query.pointee.transport,
            id: query.pointee.id, opcode: query.pointee.opcode, qname: query.pointer(to: \.qname).unsafelyUnwrapped.move(),
            question: query.pointee.question, vlanIDs: query.pointee.vlanIDs, interfaceIndex: query.pointee.interfaceIndex,
            sentWith: query.pointee.sentWith, seenOn: query.pointer(to: \.seenOn).unsafelyUnwrapped.move(),
            attempts: query.pointer(to: \.attempts).unsafelyUnwrapped.move(), droppedAttempts: query.pointee.droppedAttempts,
            response: nil, rejections: query.pointee.rejections, outcome: .unanswered, expiry: nil,
            lastTime: query.pointee.lastTime, rare: query.pointer(to: \.rare).unsafelyUnwrapped.move())
    }
}
