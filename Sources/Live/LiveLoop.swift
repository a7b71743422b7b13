#if canImport(Glibc)
import Glibc
#endif
import Capture
import Pipeline
import Synchronization
import Transactions
import WireCore

/// SIGINT/SIGTERM received during a live run (the first stops, the second skips the
/// drain); checked between reads.
private let stopSignals = Atomic<Int>(0)
/// SIGHUP received during a live run and not yet handled (re-read the `--pods` files).
private let hangupSignals = Atomic<Int>(0)
/// SIGUSR1 received during a live run and not yet handled (write the whole packet ring).
private let ringSignals = Atomic<Int>(0)
/// SIGINT/SIGTERM received after the capture ended, while the report is being written.
private let finishingSignals = Atomic<Int>(0)

/// Once the capture has ended: a SIGINT or SIGTERM (an impatient second Ctrl-C) no longer
/// kills the process before the report is out; a second one after the capture ended does
/// (`_exit`, 128 + the signal), for a report that cannot be written (stdout blocked).
/// SIGHUP is ignored from then on.
private func installFinishingHandlers() {
    finishingSignals.store(0, ordering: .relaxed)
    let finishing: @convention(c) (Int32) -> Void = { number in
        if finishingSignals.add(1, ordering: .relaxed).newValue >= 2 { _exit(128 + number) }
    }
    signal(SIGINT, finishing)
    signal(SIGTERM, finishing)
    signal(SIGHUP, SIG_IGN)
    signal(SIGUSR1, SIG_IGN)
}

/// Signals received since the capture ended (for tests).
var signalsWhileFinishing: Int { finishingSignals.load(ordering: .relaxed) }

/// Counters of a running live capture, for the status line and for observers.
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
    /// Queries outstanding: sent, not yet answered, not yet timed out (in flight).
    public var waiting: Int
    /// Queries past their deadline held for a late answer (`TransactionEngine.lateWindow`).
    public var heldForLateAnswer: Int
    /// The kernel's counters (received, dropped for a full buffer, dropped by the interface).
    public var kernel: CaptureStatistics?
    /// Frames by what became of them, malformed DNS by reason (`packets.malformedDNS`).
    public var packets: PacketStatistics
    /// The pairing engine's counters: queries, responses, answered, late, unanswered, ...
    public var engine: EngineStatistics
    /// The last status, after the stop and the closing of every outstanding query.
    public var isFinal = false
    /// With `--threads` above 1: what the pipeline dropped because its pairing threads fell
    /// behind (nil with one thread).
    public var pipelineDrops: PipelineDrops? = nil

    /// The one-line display: `12 s  frames 345  transactions 67  answered 60  unanswered 7  waiting 0  drops 0`,
    /// then `  pipeline-dropped 1024` (DNS messages) once the parallel pipeline dropped a round:
    /// until then the line is the same with any number of threads, under 100 columns.
    public var line: String {
        var line = "\(Int(elapsed)) s  frames \(frames)  transactions \(transactions)"
            + "  answered \(answered)  unanswered \(unanswered)  waiting \(waiting)"
        if let kernel { line += "  drops \(kernel.dropped)" }
        if let pipelineDrops, !pipelineDrops.isEmpty { line += "  pipeline-dropped \(pipelineDrops.messages)" }
        return line
    }
}

/// Unblocks SIGINT, SIGTERM and SIGHUP on the calling thread. A blocked signal mask is
/// inherited across exec: a `dnstrail live` started by a parent that blocks SIGINT (a test
/// runner's thread, some supervisors) could otherwise never be stopped. For the process's
/// main thread at start; in-process callers (tests) leave their threads as they are.
public func unblockLiveSignals() {
    var handled = sigset_t()
    sigemptyset(&handled)
    for number in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&handled, number) }
    pthread_sigmask(SIG_UNBLOCK, &handled, nil)
}

/// How long a stop may spend reading what the kernel captured before it (see `captureLoop`):
/// several read timeouts, for a busy link whose buffer is never empty.
let liveStopCatchUpLimit = Duration(nanoseconds: 500_000_000)

/// How long a live capture goes on after a stop while queries are in flight: the slowest
/// answer seen in this run plus 20 % and 50 ms, at least 100 ms, at most 2 s.
public func liveDrainLimit(slowestAnswer: Duration?) -> Duration {
    let slowest = slowestAnswer?.nanoseconds ?? 0
    let wanted = slowest / 5 * 6 + 50_000_000
    return Duration(nanoseconds: min(2_000_000_000, max(100_000_000, wanted)))
}

/// What the capture loop calls as it runs, all on the capture thread, in capture order.
public struct LiveHooks {
    /// Every captured frame, before analysis (its bytes are valid only during the call).
    public var frame: ((CapturedFrame, LinkType, Int) -> Void)?
    /// Every transaction once, with its final outcome, in the order they close.
    public var closed: (Transaction) -> Void
    /// A query whose deadline just passed unanswered or rejected (`TransactionEngine.onExpiry`);
    /// an unanswered one is handed to `closed` later, as `unanswered` or `late`.
    public var expired: (Transaction) -> Void
    /// About once a second (wall clock), and once after the stop (`isFinal`).
    public var status: (LiveStatus) -> Void
    /// After every read (a frame, or 100 ms of silence): for flushing and periodic work.
    public var pass: (Timestamp) -> Void
    /// SIGHUP arrived.
    public var hangup: () -> Void
    /// SIGUSR1 arrived.
    public var ringRequested: () -> Void
    /// One-line messages (the drain, the interface gone).
    public var notice: (String) -> Void

    public init(
        frame: ((CapturedFrame, LinkType, Int) -> Void)? = nil, closed: @escaping (Transaction) -> Void,
        expired: @escaping (Transaction) -> Void = { _ in }, status: @escaping (LiveStatus) -> Void = { _ in },
        pass: @escaping (Timestamp) -> Void = { _ in }, hangup: @escaping () -> Void = {},
        ringRequested: @escaping () -> Void = {}, notice: @escaping (String) -> Void = { _ in }
    ) {
        self.frame = frame
        self.closed = closed
        self.expired = expired
        self.status = status
        self.pass = pass
        self.hangup = hangup
        self.ringRequested = ringRequested
        self.notice = notice
    }
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
/// Without `duration` it runs until a signal: days, unattended.
///
/// On a stop by duration or signal with queries still pending, the capture goes on for a
/// drain (`liveDrainLimit`, ended as soon as nothing is pending, or by a second signal),
/// so answers in flight are not reported as unanswered. Without `filter`, the default
/// filter is built for the interface's link type. `hooks` sees frames, closed and expired
/// transactions, a status about once a second, every pass of the loop and SIGHUP.
///
/// `threads` above 1 pairs on that many threads (`LivePipeline`): the calling thread still
/// captures and runs every hook, in the same order as with one thread; a round of
/// operations a pairing thread is too far behind to take is dropped and counted
/// (`LiveSummary.pipeline`), never waited for.
public func runLive(
    interface: String, filter: String?, duration: Double?, options: AnalysisOptions, threads: Int = 1,
    hooks: LiveHooks
) throws(CaptureError) -> RunResult {
    let capture = if let filter {
        try LiveCapture(interface: interface, filter: filter)
    } else {
        try LiveCapture(interface: interface, dnsPorts: options.ports)
    }
    // As tcpdump's "listening on": from here on what arrives is analysed (frames before the
    // filter was in force are skipped, `framesBeforeFilter`), so scripts wait for this line
    // before they send traffic.
    hooks.notice("capturing on \(interface) (link type \(capture.linkType), filter in \(capture.filterInKernel ? "the kernel" : "user space"))"
        + (capture.activationWarning.map { "; libpcap: \($0)" } ?? ""))
    stopSignals.store(0, ordering: .relaxed)
    hangupSignals.store(0, ordering: .relaxed)
    ringSignals.store(0, ordering: .relaxed)
    let stop: @convention(c) (Int32) -> Void = { _ in stopSignals.add(1, ordering: .relaxed) }
    signal(SIGINT, stop)
    signal(SIGTERM, stop)
    signal(SIGHUP) { _ in hangupSignals.add(1, ordering: .relaxed) }
    signal(SIGUSR1) { _ in ringSignals.add(1, ordering: .relaxed) }
    // The report comes after the capture: a signal then must not lose it.
    defer { installFinishingHandlers() }
    if threads > 1 {
        var analysis = PipelinedLiveAnalysis(pipeline: LivePipeline(options: options, shards: threads))
        return captureLoop(capture, interface: interface, duration: duration, analysis: &analysis, hooks: hooks)
    }
    var analysis = SingleThreadLiveAnalysis(options: options, expired: hooks.expired)
    return captureLoop(capture, interface: interface, duration: duration, analysis: &analysis, hooks: hooks)
}

/// The loop of `runLive` on one capture, whichever analysis runs behind it.
private func captureLoop<Analysis: LiveAnalysis>(
    _ capture: LiveCapture, interface: String, duration: Double?, analysis: inout Analysis, hooks: LiveHooks
) -> RunResult {
    var namer = InterfaceNamer()
    let start = wallClock()
    var lastStatus = start
    var frameNumber = 0
    var stoppedBy: String?
    var failure: CaptureError?
    var closed = 0
    var slowestAnswer: Duration?
    // At a stop, what the kernel already holds is taken in first: reads go on until one
    // finds nothing for a whole read timeout, at most `liveStopCatchUpLimit`. A query sent
    // just before the signal sits in a block the kernel hands over up to a read timeout
    // later (TPACKET_V3): without this it was neither counted nor waited for.
    var catchUpEnd: Timestamp?
    var caughtUp = false
    // Set once a stop came with queries pending: when it came, how long it may last.
    var drainStart: Timestamp?
    var drainLimit = Duration(nanoseconds: 0)
    var drain: LiveDrain?
    let emit = hooks.closed
    let expired = hooks.expired
    func observe(_ transaction: Transaction) {
        closed += 1
        if transaction.outcome == .answered, let latency = transaction.latency,
           latency > (slowestAnswer ?? Duration(nanoseconds: .min)) {
            slowestAnswer = latency
        }
        emit(transaction)
    }
    func currentStatus(_ now: Timestamp) -> LiveStatus {
        let counts = analysis.counts
        let engine = counts.engine
        let waiting = counts.pending
        let expired = counts.heldForLateAnswer
        return LiveStatus(elapsed: (now - start).seconds, frames: counts.packets.frames,
                          transactions: closed + waiting + expired, answered: engine.answered,
                          unanswered: engine.unanswered + engine.rejected + expired, waiting: waiting,
                          heldForLateAnswer: expired, kernel: capture.statistics(), packets: counts.packets,
                          engine: engine, pipelineDrops: counts.pipelineDrops)
    }
    capturing: while true {
        let now = wallClock()
        let signals = stopSignals.load(ordering: .relaxed)
        if let started = drainStart {
            analysis.settle(emit: observe, expired: expired)
            let pending = analysis.counts.pending
            if pending == 0 || signals >= 2 || now - started >= drainLimit {
                drain = LiveDrain(pendingAtStop: drain?.pendingAtStop ?? 0, limit: drainLimit,
                                  lasted: now - started, skipped: pending > 0 && signals >= 2)
                if pending > 0 && signals >= 2 {
                    hooks.notice("second signal: stopping now, \(pending) \(pending == 1 ? "query" : "queries") still in flight")
                }
                break capturing
            }
        } else {
            if signals >= 1 {
                stoppedBy = "signal"
            } else if let duration, (now - start).seconds >= duration {
                stoppedBy = "duration"
            }
            if stoppedBy != nil, catchUpEnd == nil { catchUpEnd = now + liveStopCatchUpLimit }
            if stoppedBy != nil, caughtUp || signals >= 2 || now >= catchUpEnd ?? now {
                analysis.settle(emit: observe, expired: expired)
                let pending = analysis.counts.pending
                guard pending > 0, signals < 2 else { break capturing }
                drainStart = now
                drainLimit = liveDrainLimit(slowestAnswer: slowestAnswer)
                drain = LiveDrain(pendingAtStop: pending, limit: drainLimit, lasted: Duration(nanoseconds: 0), skipped: false)
                hooks.notice("stopping: waiting up to \(Int(drainLimit.milliseconds.rounded())) ms for \(pending) "
                             + "\(pending == 1 ? "query" : "queries") in flight (interrupt again to stop now)")
            }
        }
        if hangupSignals.exchange(0, ordering: .relaxed) > 0 { hooks.hangup() }
        if ringSignals.exchange(0, ordering: .relaxed) > 0 { hooks.ringRequested() }
        switch capture.next() {
        case .frame(let frame):
            frameNumber += 1
            hooks.frame?(frame, capture.linkType, capture.snapshotLength)
            namer.observe(frame.bytes, linkType: frame.linkType)
            analysis.process(frame, number: frameNumber, now: now, emit: observe, expired: expired)
        case .timeout:
            analysis.idle(now: now, emit: observe, expired: expired)
            // The wait the signal interrupted ended before the stop was seen: only a
            // timeout after it means the kernel had nothing more.
            if catchUpEnd != nil { caughtUp = true }
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
            hooks.status(currentStatus(now))
        }
        hooks.pass(now)
    }
    let kernel = capture.statistics()
    var result = analysis.finish(emit: observe, expired: expired)
    var final = currentStatus(wallClock())
    final.isFinal = true
    hooks.status(final)
    result.interfaceNames = namer.names
    result.live = LiveSummary(interface: interface, filter: capture.filter, linkType: capture.linkType.description,
                              kernel: kernel, stoppedBy: stoppedBy ?? "signal", failure: failure?.description, drain: drain,
                              pipeline: analysis.pipelineSummary, framesBeforeFilter: capture.framesBeforeFilter)
    return result
}
