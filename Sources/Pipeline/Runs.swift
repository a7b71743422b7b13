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
    /// Why the capture stopped: "duration", "signal".
    public var stoppedBy: String
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
public func analyzeFiles(
    _ inputs: [CapturePath], options: AnalysisOptions, interfaceNames: [Int32: String] = [:],
    emit: (Transaction) -> Void
) throws(CaptureError) -> RunResult {
    var order = try orderByFirstPacket(inputs)
    var analyzer = Analyzer(options: options)
    var result = RunResult()
    var nextFrame = 1
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
            case .damaged(let reason):
                summary.damage = reason
                break reading
            case .end, .timeout:
                break reading
            }
        }
        nextFrame += summary.frames
        result.inputs.append(summary)
    }
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
        ordered.append(OrderedInput(path: input, firstPacket: first, capture: capture.isReopenable ? nil : capture))
    }
    let order = ordered.indices.sorted {
        let left = ordered[$0].firstPacket ?? Timestamp(nanoseconds: .max)
        let right = ordered[$1].firstPacket ?? Timestamp(nanoseconds: .max)
        return left == right ? $0 < $1 : left < right
    }
    return order.map { ordered[$0] }
}

/// Set by SIGINT/SIGTERM during a live run; checked between reads.
private let stopRequested = Atomic<Bool>(false)

/// Status of a running live capture, for the one-line display.
public struct LiveStatus: Sendable {
    public var elapsed: Double
    public var frames: Int
    public var queries: Int
    public var answered: Int
    public var unanswered: Int
    public var kernel: CaptureStatistics?
}

/// Captures live until `duration` (wall clock) elapses or SIGINT/SIGTERM arrives, then
/// closes outstanding queries and returns. `status` is called about once a second.
/// Without `filter`, the default DNS filter is built for the interface's link type.
/// `record`, when given, sees every captured frame first (to keep the capture for an
/// evidence bundle).
public func runLive(
    interface: String, filter: String?, duration: Double?, options: AnalysisOptions,
    record: ((CapturedFrame, LinkType, Int) -> Void)? = nil,
    status: (LiveStatus) -> Void, emit: (Transaction) -> Void
) throws(CaptureError) -> RunResult {
    let capture = if let filter {
        try LiveCapture(interface: interface, filter: filter)
    } else {
        try LiveCapture(interface: interface, dnsPorts: options.ports)
    }
    stopRequested.store(false, ordering: .relaxed)
    signal(SIGINT) { _ in stopRequested.store(true, ordering: .relaxed) }
    signal(SIGTERM) { _ in stopRequested.store(true, ordering: .relaxed) }
    defer {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
    var analyzer = Analyzer(options: options)
    let start = wallClock()
    var lastStatus = start
    var frameNumber = 0
    var stoppedBy = "signal"
    func currentStatus(_ now: Timestamp) -> LiveStatus {
        let engine = analyzer.engine.statistics
        return LiveStatus(elapsed: (now - start).seconds, frames: analyzer.packets.frames, queries: engine.queries,
                          answered: engine.answered, unanswered: engine.unanswered, kernel: capture.statistics())
    }
    while !stopRequested.load(ordering: .relaxed) {
        let now = wallClock()
        if let duration, (now - start).seconds >= duration {
            stoppedBy = "duration"
            break
        }
        switch capture.next() {
        case .frame(let frame):
            frameNumber += 1
            record?(frame, capture.linkType, capture.snapshotLength)
            analyzer.process(frame: frameNumber, time: frame.timestamp, bytes: frame.bytes,
                             originalLength: frame.originalLength, linkType: frame.linkType, emit: emit)
        case .timeout:
            analyzer.advanceIdle(to: now, emit: emit)
        case .end, .damaged:
            stoppedBy = "end"
            stopRequested.store(true, ordering: .relaxed)
        }
        if (now - lastStatus).seconds >= 1 {
            lastStatus = now
            status(currentStatus(now))
        }
    }
    let kernel = capture.statistics()
    analyzer.finish(emit: emit)
    var result = RunResult()
    result.packets = analyzer.packets
    result.engine = analyzer.engine.statistics
    result.reassembly = ReassemblySummary(fragments: analyzer.fragments.statistics, tcp: analyzer.streams.statistics)
    result.live = LiveSummary(interface: interface, filter: capture.filter, linkType: capture.linkType.description,
                              kernel: kernel, stoppedBy: stoppedBy)
    return result
}

/// The system clock, used only to pace a live capture and its status line.
func wallClock() -> Timestamp {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Timestamp(seconds: Int64(spec.tv_sec), nanoseconds: Int64(spec.tv_nsec))
}
