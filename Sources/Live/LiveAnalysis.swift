import Capture
import Pipeline
import Transactions
import WireCore

/// What the live loop analyses its frames with: one `Analyzer` on the capture thread, or
/// the parallel pipeline (`LivePipeline`). Either way every call, and every hook it calls,
/// runs on the capture thread; `emit` and `expired` get the transactions in the order one
/// engine hands them over.
protocol LiveAnalysis {
    /// Analyses one captured frame (its bytes are valid only during the call).
    mutating func process(
        _ frame: CapturedFrame, number: Int, now: Timestamp, emit: (consuming Transaction) -> Void, expired: (Transaction) -> Void)
    /// A read timed out: the capture was idle until `now`.
    mutating func idle(now: Timestamp, emit: (consuming Transaction) -> Void, expired: (Transaction) -> Void)
    /// After a stop, and at every pass of the drain: everything captured so far is analysed,
    /// so `counts.pending` is exact.
    mutating func settle(emit: (consuming Transaction) -> Void, expired: (Transaction) -> Void)
    /// Closes everything outstanding; the run's counts.
    mutating func finish(emit: (consuming Transaction) -> Void, expired: (Transaction) -> Void) -> RunResult
    /// The counters the status line shows.
    var counts: LiveCounts { get }
    /// What the report says of the pipeline (nil with one thread).
    var pipelineSummary: LivePipelineSummary? { get }
}

/// The analysis counters behind a status line.
struct LiveCounts {
    var packets: PacketStatistics
    var engine: EngineStatistics
    var pending: Int
    var heldForLateAnswer: Int
    var pipelineDrops: PipelineDrops?
}

/// `--threads 1`: one `Analyzer` on the capture thread, as before the parallel pipeline.
struct SingleThreadLiveAnalysis: LiveAnalysis {
    private var analyzer: Analyzer

    init(options: AnalysisOptions, expired: @escaping (Transaction) -> Void) {
        analyzer = Analyzer(options: options)
        analyzer.onExpiry = expired
    }

    mutating func process(
        _ frame: CapturedFrame, number: Int, now: Timestamp, emit: (consuming Transaction) -> Void, expired: (Transaction) -> Void
    ) {
        analyzer.process(frame: number, time: frame.timestamp, bytes: frame.bytes, originalLength: frame.originalLength,
                         linkType: frame.linkType, emit: emit)
    }

    mutating func idle(now: Timestamp, emit: (consuming Transaction) -> Void, expired: (Transaction) -> Void) {
        analyzer.advanceIdle(to: now, emit: emit)
    }

    mutating func settle(emit: (consuming Transaction) -> Void, expired: (Transaction) -> Void) {}

    mutating func finish(emit: (consuming Transaction) -> Void, expired: (Transaction) -> Void) -> RunResult {
        analyzer.finish(emit: emit)
        var result = RunResult()
        result.takeCounts(of: analyzer)
        return result
    }

    var counts: LiveCounts {
        LiveCounts(packets: analyzer.packets, engine: analyzer.engine.statistics, pending: analyzer.engine.pendingCount,
                   heldForLateAnswer: analyzer.engine.expiredCount, pipelineDrops: nil)
    }

    var pipelineSummary: LivePipelineSummary? { nil }
}

/// `--threads N` (N ≥ 2): the capture thread decodes, routes and merges; N threads pair.
///
/// Rounds go out when full, at every read timeout (after the idle clock step, so deadlines
/// fire without traffic), and whenever one has been open `LivePipeline.roundInterval`: an
/// event line comes at most about 150 ms later than with one thread. What the shards hand
/// back is merged after every read, without waiting.
///
/// Every hook stays on the capture thread: `frame` (the packet ring of
/// `--export-on-finding`, evidence bundles) shares the ring with what `closed`, `expired`
/// and the findings do in `FindingExporter`, unlocked; on one thread it needs no lock, and
/// the capture thread never waits on a lock a slower thread holds.
struct PipelinedLiveAnalysis: LiveAnalysis {
    let pipeline: LivePipeline

    mutating func process(
        _ frame: CapturedFrame, number: Int, now: Timestamp, emit: (consuming Transaction) -> Void, expired: (Transaction) -> Void
    ) {
        pipeline.process(frame, number: number)
        if pipeline.roundIsDue(now: now) { pipeline.endRound(now: now) }
        pipeline.deliver(closed: emit, expired: expired)
    }

    mutating func idle(now: Timestamp, emit: (consuming Transaction) -> Void, expired: (Transaction) -> Void) {
        pipeline.advanceIdle(to: now)
        pipeline.endRound(now: now)
        pipeline.deliver(closed: emit, expired: expired)
    }

    mutating func settle(emit: (consuming Transaction) -> Void, expired: (Transaction) -> Void) {
        pipeline.catchUp(closed: emit, expired: expired)
    }

    mutating func finish(emit: (consuming Transaction) -> Void, expired: (Transaction) -> Void) -> RunResult {
        pipeline.finish(closed: emit, expired: expired)
    }

    var counts: LiveCounts {
        LiveCounts(packets: pipeline.packets, engine: pipeline.engine, pending: pipeline.pending,
                   heldForLateAnswer: pipeline.heldForLateAnswer, pipelineDrops: pipeline.drops)
    }

    var pipelineSummary: LivePipelineSummary? { LivePipelineSummary(threads: pipeline.shards, drops: pipeline.drops) }
}
