#if canImport(Glibc)
import Glibc
#endif
import Capture
import Reassembly
import Synchronization
import Transactions
import WireCore

/// One input file of an offline run, as the report describes it.
public struct InputSummary: Sendable, Equatable {
    public var path: String
    public var linkType: String
    public var frames: Int
    public var firstFrame: Int
    /// Set when the file ended in damage (cut mid-record): frames before it were analysed.
    public var damage: String?
}

/// Everything an offline or live run produced besides the transactions themselves.
public struct RunResult: Sendable {
    public var inputs: [InputSummary] = []
    public var packets = PacketStatistics()
    public var engine = EngineStatistics()
    public var reassembly = ReassemblySummary()
    public var live: LiveSummary?
    /// Names of the interfaces behind Linux cooked v2 interface indexes (`seen_on`,
    /// `interface`), where known: live capture, or a map given with the capture. Empty
    /// when unknown; reports then show the index.
    public var interfaceNames: [Int32: String] = [:]

    public init() {}
}

/// What the fragment and TCP stream reassemblers did, for the report.
public struct ReassemblySummary: Sendable, Equatable {
    public var fragments = 0
    public var datagramsCompleted = 0
    public var incompleteFragmentSets = 0
    public var overlappingFragmentSets = 0
    public var tcpConnections = 0
    public var tcpMessages = 0
    public var damagedTCPDirections = 0
    public var evictedTCPConnections = 0

    public init() {}

    init(fragments: FragmentStatistics, tcp: TCPStatistics) {
        self.fragments = fragments.fragments
        datagramsCompleted = fragments.completed
        incompleteFragmentSets = fragments.incompleteExpired + fragments.incompleteAtEnd
        overlappingFragmentSets = fragments.overlapping
        tcpConnections = tcp.connectionsOpened
        tcpMessages = tcp.messages
        damagedTCPDirections = tcp.damagedDirections
        evictedTCPConnections = tcp.evicted
    }
}

/// Live capture facts for the report.
public struct LiveSummary: Sendable, Equatable {
    public var interface: String
    public var filter: String
    public var linkType: String
    public var kernel: CaptureStatistics?
    /// Why the capture stopped: "duration", "signal", "interface-gone", "error".
    public var stoppedBy: String
    /// Set when the capture failed mid-run (the interface went away): the one-line error.
    /// The report still covers what was captured; the run should exit non-zero.
    public var failure: String?
    /// How long the capture went on after the stop for queries still in flight, if it did.
    public var drain: LiveDrain?
}

/// The drain after a live stop: the capture goes on briefly so that answers to the queries
/// in flight arrive, instead of turning them into false "unanswered" ones.
public struct LiveDrain: Sendable, Equatable {
    /// Queries outstanding when the stop came.
    public var pendingAtStop: Int
    /// The longest the drain could last (from the slowest answer seen, bounded).
    public var limit: Duration
    /// How long it lasted (less than `limit` when nothing was pending any more, or when
    /// a second signal cut it short).
    public var lasted: Duration
    /// True when a second SIGINT/SIGTERM ended it.
    public var skipped: Bool
}

/// Analyses capture files in the order of their first packet, so a rotated capture given
/// as `dump dump1 dump10 dump2` (shell order) is still read in time order. Frame numbers
/// continue across files. Every input is opened before analysis starts, so an unreadable
/// one fails the run at once with its one-line error.
public func analyzeFiles(
    _ paths: [String], options: AnalysisOptions, interfaceNames: [Int32: String] = [:],
    emit: (Transaction) -> Void
) throws(CaptureError) -> RunResult {
    try analyzeFiles(paths.map(CapturePath.init), options: options, interfaceNames: interfaceNames, emit: emit)
}

/// Analyses capture inputs in the order of their first packet (see `orderByFirstPacket`).
/// Each input is read exactly once, so standard input ("-"), pipes, FIFOs and process
/// substitutions (`/dev/fd/N`), plain or gzip-compressed, give the same report as the file
/// they carry. `interfaceNames` (from `--interface-names`) names Linux cooked v2 interface
/// indexes and wins over names the inputs carry themselves (pcapng comments, see
/// `InterfaceNameMap`); the first input in reading order to name an index names it.
///
/// `progress`, when given, is called about four times a second (wall clock) with how far
/// the run has got, and once more at the end.
public func analyzeFiles(
    _ inputs: [CapturePath], options: AnalysisOptions, interfaceNames: [Int32: String] = [:],
    progress: ((OfflineProgress) -> Void)? = nil, emit: (Transaction) -> Void
) throws(CaptureError) -> RunResult {
    var order = try orderByFirstPacket(inputs)
    var analyzer = Analyzer(options: options)
    var result = RunResult()
    var nextFrame = 1
    var tracker = progress.map { ProgressTracker(total: OfflineProgress.total(of: order), report: $0) }
    for position in order.indices {
        let capture: OfflineCapture
        if let opened = order[position].capture {
            capture = opened
            order[position].capture = nil  // Closed once read, not at the end of the run.
        } else {
            capture = try OfflineCapture(input: order[position].path)
        }
        capture.firstFrameNumber = nextFrame
        result.interfaceNames.merge(capture.interfaceNames) { first, _ in first }
        var summary = InputSummary(path: capture.path, linkType: capture.linkType.description, frames: 0,
                                   firstFrame: nextFrame, damage: nil)
        reading: while true {
            switch capture.next() {
            case .frame(let frame):
                analyzer.process(frame: frame.number, time: frame.timestamp, bytes: frame.bytes,
                                 originalLength: frame.originalLength, linkType: frame.linkType, emit: emit)
                summary.frames += 1
                if tracker != nil, summary.frames & ProgressTracker.frameMask == 0 {
                    tracker?.tick(frames: nextFrame + summary.frames - 1, current: capture)
                }
            case .damaged(let reason):
                summary.damage = reason
                break reading
            case .end, .timeout:
                break reading
            }
        }
        nextFrame += summary.frames
        result.inputs.append(summary)
        tracker?.finishInput(order[position].storedSize ?? capture.storedBytesRead ?? 0)
    }
    tracker?.end(frames: nextFrame - 1)
    result.interfaceNames.merge(interfaceNames) { _, given in given }
    analyzer.finish(emit: emit)
    result.packets = analyzer.packets
    result.engine = analyzer.engine.statistics
    result.reassembly = ReassemblySummary(fragments: analyzer.fragments.statistics, tcp: analyzer.streams.statistics)
    return result
}

/// An input of an offline run, opened once to find its first packet.
public struct OrderedInput {
    public var path: CapturePath
    /// The time of its first record; nil when it has none.
    public var firstPacket: Timestamp?
    /// A stream (read once) stays open here with its first record peeked and kept; nil
    /// for a regular file, which is reopened at its turn.
    public var capture: OfflineCapture?
    /// Its size as stored (compressed for gzip); nil for a stream.
    public var storedSize: Int64?
}

/// The inputs in the order an offline run reads them: by first packet time (inputs without
/// packets last), keeping the given order on ties. Opens each input, so an unreadable one
/// fails here with its one-line error.
///
/// Streams and files are ordered alike, so mixing them changes nothing in the report: a
/// stream (standard input, pipe, FIFO, `/dev/fd/N`, anything but a regular file opened by
/// name) is never opened twice: its first record is peeked and kept and it stays open
/// until its turn; its writer waits meanwhile. A regular file is closed again after the
/// peek and reopened at its turn, so thousands of rotated files hold one descriptor at a
/// time. Standard input may be given once.
public func orderByFirstPacket(_ inputs: [CapturePath]) throws(CaptureError) -> [OrderedInput] {
    if inputs.filter(\.isStandardInput).count > 1 {
        throw .cannotOpen(path: "-", reason: "standard input can be read only once; give '-' once")
    }
    var ordered: [OrderedInput] = []
    for input in inputs {
        let capture = try OfflineCapture(input: input)
        let first = capture.peekFirstTimestamp()
        ordered.append(OrderedInput(path: input, firstPacket: first, capture: capture.isReopenable ? nil : capture,
                                    storedSize: capture.storedSize))
    }
    let order = ordered.indices.sorted {
        let left = ordered[$0].firstPacket ?? Timestamp(nanoseconds: .max)
        let right = ordered[$1].firstPacket ?? Timestamp(nanoseconds: .max)
        return left == right ? $0 < $1 : left < right
    }
    return order.map { ordered[$0] }
}

/// SIGINT/SIGTERM received during a live run (the first stops, the second skips the
/// drain); checked between reads.
private let stopSignals = Atomic<Int>(0)

/// Status of a running live capture, for the one-line display.
public struct LiveStatus: Sendable {
    public var elapsed: Double
    public var frames: Int
    /// Transactions so far, counted as the report counts them: closed ones plus the
    /// queries still waiting for an answer.
    public var transactions: Int
    public var answered: Int
    /// Closed as unanswered or rejected (a query becomes unanswered only `--timeout`
    /// after its last attempt: until then it is `waiting`), counting those past their
    /// deadline still held for a late answer.
    public var unanswered: Int
    /// Queries outstanding: sent, not yet answered, not yet timed out.
    public var waiting: Int
    public var kernel: CaptureStatistics?
}

/// How long a live capture goes on after a stop while queries are in flight: the slowest
/// answer seen in this run plus 20 % and 50 ms, at least 100 ms, at most 2 s.
public func liveDrainLimit(slowestAnswer: Duration?) -> Duration {
    let slowest = slowestAnswer?.nanoseconds ?? 0
    let wanted = slowest / 5 * 6 + 50_000_000
    return Duration(nanoseconds: min(2_000_000_000, max(100_000_000, wanted)))
}

/// Remembers the names of the Linux cooked v2 interface indexes seen in a live capture,
/// looked up once per index when it first appears (a name seen once is kept even if the
/// interface is deleted later). At most `maximumIndexes` indexes are looked up; the rest
/// are counted in `notLookedUp`.
struct InterfaceNamer {
    static let maximumIndexes = 65_536
    private(set) var names: [Int32: String] = [:]
    private var looked: Set<Int32> = []
    private(set) var notLookedUp = 0

    /// Looks up the interface of a Linux cooked v2 frame (LINKTYPE_LINUX_SLL2: the index is
    /// bytes 4–7 of its header, big-endian) the first time its index appears.
    mutating func observe(_ bytes: UnsafeRawBufferPointer, linkType: LinkType) {
        guard linkType == .linuxSLL2, bytes.count >= 8 else { return }
        var index: Int32 = 0
        for offset in 4..<8 { index = index << 8 | Int32(bytes[offset]) }
        guard !looked.contains(index) else { return }
        guard looked.count < InterfaceNamer.maximumIndexes else {
            notLookedUp += 1
            return
        }
        looked.insert(index)
        if let name = interfaceName(index: index) { names[index] = name }
    }
}

/// The name of interface `index` in this network namespace, or nil if there is none.
func interfaceName(index: Int32) -> String? {
    guard index > 0 else { return nil }
    return withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(IF_NAMESIZE) + 1) { buffer in
        buffer.initialize(repeating: 0)
        guard let base = buffer.baseAddress, if_indextoname(UInt32(index), base) != nil else { return nil }
        return String(cString: base)
    }
}

/// Captures live until `duration` (wall clock) elapses, SIGINT/SIGTERM arrives or the
/// capture fails (the interface went away), then closes outstanding queries and returns.
///
/// On a stop by duration or signal with queries still pending, the capture goes on for a
/// drain (`liveDrainLimit`, ended as soon as nothing is pending, or by a second signal),
/// so answers in flight are not reported as unanswered. `status` is called about once a
/// second; `notice` gets one-line messages about the drain. Without `filter`, the default
/// filter is built for the interface's link type. `record`, when given, sees every
/// captured frame first (to keep the capture for an evidence bundle).
public func runLive(
    interface: String, filter: String?, duration: Double?, options: AnalysisOptions,
    record: ((CapturedFrame, LinkType, Int) -> Void)? = nil,
    status: (LiveStatus) -> Void, notice: (String) -> Void = { _ in }, emit: (Transaction) -> Void
) throws(CaptureError) -> RunResult {
    let capture = if let filter {
        try LiveCapture(interface: interface, filter: filter)
    } else {
        try LiveCapture(interface: interface, dnsPorts: options.ports)
    }
    stopSignals.store(0, ordering: .relaxed)
    signal(SIGINT) { _ in stopSignals.add(1, ordering: .relaxed) }
    signal(SIGTERM) { _ in stopSignals.add(1, ordering: .relaxed) }
    defer {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
    var analyzer = Analyzer(options: options)
    var namer = InterfaceNamer()
    let start = wallClock()
    var lastStatus = start
    var frameNumber = 0
    var stoppedBy: String?
    var failure: CaptureError?
    var closed = 0
    var slowestAnswer: Duration?
    // Set once a stop came with queries pending: when it came, how long it may last.
    var drainStart: Timestamp?
    var drainLimit = Duration(nanoseconds: 0)
    var drain: LiveDrain?
    func observe(_ transaction: Transaction) {
        closed += 1
        if transaction.outcome == .answered, let latency = transaction.latency,
           latency > (slowestAnswer ?? Duration(nanoseconds: .min)) {
            slowestAnswer = latency
        }
        emit(transaction)
    }
    func currentStatus(_ now: Timestamp) -> LiveStatus {
        let engine = analyzer.engine.statistics
        let waiting = analyzer.engine.pendingCount
        let expired = analyzer.engine.expiredCount
        return LiveStatus(elapsed: (now - start).seconds, frames: analyzer.packets.frames,
                          transactions: closed + waiting + expired, answered: engine.answered,
                          unanswered: engine.unanswered + engine.rejected + expired, waiting: waiting,
                          kernel: capture.statistics())
    }
    capturing: while true {
        let now = wallClock()
        let signals = stopSignals.load(ordering: .relaxed)
        if let started = drainStart {
            let pending = analyzer.engine.pendingCount
            if pending == 0 || signals >= 2 || now - started >= drainLimit {
                drain = LiveDrain(pendingAtStop: drain?.pendingAtStop ?? 0, limit: drainLimit,
                                  lasted: now - started, skipped: pending > 0 && signals >= 2)
                if pending > 0 && signals >= 2 {
                    notice("second signal: stopping now, \(pending) \(pending == 1 ? "query" : "queries") still in flight")
                }
                break capturing
            }
        } else {
            if signals >= 1 {
                stoppedBy = "signal"
            } else if let duration, (now - start).seconds >= duration {
                stoppedBy = "duration"
            }
            if stoppedBy != nil {
                let pending = analyzer.engine.pendingCount
                guard pending > 0, signals < 2 else { break capturing }
                drainStart = now
                drainLimit = liveDrainLimit(slowestAnswer: slowestAnswer)
                drain = LiveDrain(pendingAtStop: pending, limit: drainLimit, lasted: Duration(nanoseconds: 0), skipped: false)
                notice("stopping: waiting up to \(Int(drainLimit.milliseconds.rounded())) ms for \(pending) "
                       + "\(pending == 1 ? "query" : "queries") in flight (interrupt again to stop now)")
            }
        }
        switch capture.next() {
        case .frame(let frame):
            frameNumber += 1
            record?(frame, capture.linkType, capture.snapshotLength)
            namer.observe(frame.bytes, linkType: frame.linkType)
            analyzer.process(frame: frameNumber, time: frame.timestamp, bytes: frame.bytes,
                             originalLength: frame.originalLength, linkType: frame.linkType, emit: observe)
        case .timeout:
            analyzer.advanceIdle(to: now, emit: observe)
        case .end, .damaged:
            failure = capture.failure
            if case .interfaceWentAway? = failure {
                stoppedBy = "interface-gone"
            } else {
                stoppedBy = failure == nil ? "end" : "error"
            }
            break capturing
        }
        if (now - lastStatus).seconds >= 1 {
            lastStatus = now
            status(currentStatus(now))
        }
    }
    let kernel = capture.statistics()
    analyzer.finish(emit: observe)
    var result = RunResult()
    result.packets = analyzer.packets
    result.engine = analyzer.engine.statistics
    result.reassembly = ReassemblySummary(fragments: analyzer.fragments.statistics, tcp: analyzer.streams.statistics)
    result.interfaceNames = namer.names
    result.live = LiveSummary(interface: interface, filter: capture.filter, linkType: capture.linkType.description,
                              kernel: kernel, stoppedBy: stoppedBy ?? "signal", failure: failure?.description, drain: drain)
    return result
}

/// The system clock, used only to pace a live capture and its status line.
func wallClock() -> Timestamp {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Timestamp(seconds: Int64(spec.tv_sec), nanoseconds: Int64(spec.tv_nsec))
}
