import Capture
import Reassembly
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
    /// The vantage points of a `--vantage` run, in the order given, with their clocks;
    /// empty for a run of one capture.
    public var vantages: [VantageClock] = []
    /// Transactions of a `--vantage` run beyond `VantageRun.maximumHeldTransactions`,
    /// reported as their vantage saw them, not merged with the other vantages' sightings.
    public var unmergedBeyondCap = 0
    /// Set by a parallel run (`--threads` above 1): how it split the work. Not in reports.
    public var parallel: ParallelRunSummary?

    public init() {}
}

/// How a parallel run split the work among its shards.
public struct ParallelRunSummary: Sendable, Equatable {
    public var shards: Int
    /// Operations (DNS messages, ended TCP connections, clock steps) the reader numbered.
    public var operations: Int
    /// Messages of multicast name resolution, all given to shard 0 (see `ShardRouter`).
    public var multicastOperations: Int
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

    public init(fragments: FragmentStatistics, tcp: TCPStatistics) {
        self.fragments = fragments.fragments
        datagramsCompleted = fragments.completed
        incompleteFragmentSets = fragments.incompleteExpired + fragments.incompleteAtEnd
        overlappingFragmentSets = fragments.overlapping
        tcpConnections = tcp.connectionsOpened
        tcpMessages = tcp.messages
        damagedTCPDirections = tcp.damagedDirections
        evictedTCPConnections = tcp.evicted
    }

    /// Adds another part of the run's counts (another vantage, another shard).
    public mutating func add(_ other: ReassemblySummary) {
        fragments += other.fragments
        datagramsCompleted += other.datagramsCompleted
        incompleteFragmentSets += other.incompleteFragmentSets
        overlappingFragmentSets += other.overlappingFragmentSets
        tcpConnections += other.tcpConnections
        tcpMessages += other.tcpMessages
        damagedTCPDirections += other.damagedTCPDirections
        evictedTCPConnections += other.evictedTCPConnections
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
    /// Set for a run with `--threads` above 1: the pipeline's threads and what it dropped.
    public var pipeline: LivePipelineSummary?
    /// Frames skipped at the start, captured while libpcap set the capture up (before its
    /// filter was in force: `LiveCapture.framesBeforeFilter`).
    public var framesBeforeFilter: Int

    public init(interface: String, filter: String, linkType: String, kernel: CaptureStatistics?, stoppedBy: String,
                failure: String?, drain: LiveDrain?, pipeline: LivePipelineSummary? = nil, framesBeforeFilter: Int = 0) {
        self.interface = interface
        self.filter = filter
        self.linkType = linkType
        self.kernel = kernel
        self.stoppedBy = stoppedBy
        self.failure = failure
        self.drain = drain
        self.pipeline = pipeline
        self.framesBeforeFilter = framesBeforeFilter
    }
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

    public init(pendingAtStop: Int, limit: Duration, lasted: Duration, skipped: Bool) {
        self.pendingAtStop = pendingAtStop
        self.limit = limit
        self.lasted = lasted
        self.skipped = skipped
    }
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
/// `threads` above 1 runs the parallel pipeline (`ParallelAnalysis`): one thread reads and
/// decodes, `threads` shards pair, and `emit` is still called on the calling thread, with
/// the same transactions in the same order as with one thread.
///
/// `progress`, when given, is called about four times a second (wall clock) with how far
/// the run has got, and once more at the end (from the reading thread).
///
/// `firstFrame` numbers the first frame (1 unless several captures are numbered on as one,
/// as `--vantage` does).
public func analyzeFiles(
    _ inputs: [CapturePath], options: AnalysisOptions, interfaceNames: [Int32: String] = [:], firstFrame: Int = 1,
    threads: Int = 1, progress: ((OfflineProgress) -> Void)? = nil, emit: (Transaction) -> Void
) throws(CaptureError) -> RunResult {
    // The reading thread (this one, or the parallel run's reader) owns the inputs until the run returns.
    let reading = UncheckedBox(try orderByFirstPacket(inputs))
    var result = try analyze(options: options, threads: threads, read: { body throws(CaptureError) in
        try readInputs(&reading.value, firstFrame: firstFrame, progress: progress, body: body)
    }, emit: emit)
    result.interfaceNames.merge(interfaceNames) { _, given in given }
    return result
}

/// The frames `read` hands its body, analysed with `threads` pairing threads: 1 runs
/// `Analyzer` on this thread, more the parallel pipeline (`ParallelAnalysis`, whose reading
/// thread calls `read`). `read` returns the inputs' summaries; the counts are filled in here.
/// `emit` is called on this thread, in the same order either way.
func analyze(
    options: AnalysisOptions, threads: Int,
    read: @escaping (_ body: (CapturedFrame) -> Void) throws(CaptureError) -> RunResult, emit: (Transaction) -> Void
) throws(CaptureError) -> RunResult {
    if threads > 1 { return try ParallelAnalysis(options: options, shards: threads).run(read: read, emit: emit) }
    var analyzer = Analyzer(options: options)
    var result = try read { frame in
        analyzer.process(frame: frame.number, time: frame.timestamp, bytes: frame.bytes,
                         originalLength: frame.originalLength, linkType: frame.linkType, emit: emit)
    }
    analyzer.finish(emit: emit)
    result.takeCounts(of: analyzer)
    return result
}

/// Reads the inputs in `order`, numbering frames from `firstFrame` across them, and hands
/// each frame to `body`. Returns the inputs' summaries and the interface names they carry.
func readInputs(
    _ order: inout [OrderedInput], firstFrame: Int, progress: ((OfflineProgress) -> Void)?,
    body: (CapturedFrame) -> Void
) throws(CaptureError) -> RunResult {
    var result = RunResult()
    var nextFrame = firstFrame
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
                body(frame)
                summary.frames += 1
                if tracker != nil, summary.frames & ProgressTracker.frameMask == 0 {
                    tracker?.tick(frames: nextFrame - firstFrame + summary.frames, current: capture)
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
    tracker?.end(frames: nextFrame - firstFrame)
    return result
}

extension RunResult {
    /// The counts of a finished analyzer: packets, the engine's statistics, reassembly.
    public mutating func takeCounts(of analyzer: Analyzer) {
        packets = analyzer.packets
        engine = analyzer.engine.statistics
        reassembly = ReassemblySummary(fragments: analyzer.fragments.statistics, tcp: analyzer.streams.statistics)
    }
}

/// A value handed to another thread and back at points that order the accesses (a thread's
/// start and join), which the compiler cannot see.
final class UncheckedBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
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
