#if canImport(Glibc)
import Glibc
#endif
import Capture
import Transactions
import WireCore

/// The parallel pipeline of a live run (`live --threads N`, N ≥ 2), driven by the capture
/// thread, which never waits on a shard while capturing.
///
/// Threads: the capture thread (the caller) decodes and reassembles (`FrameStage`), routes
/// the operations to the shards (`ShardRouter`) and merges what they hand back
/// (`deliver`), so every hook of the live loop runs on that one thread, in `EmissionOrder`;
/// `shards` threads parse and pair (`EngineShard.live`). A round goes out when full or
/// when the caller ends it (`endRound`: at every read timeout, or when it has waited long
/// enough), with `tryReserve` on every shard's ring: when any ring is full the whole round
/// is dropped and counted (`drops`), never waited for, so the shards' rounds stay aligned
/// and the merger never waits for a round that will not come.
///
/// The capture thread waits for the shards only after the stop: `catchUp` (the rounds sent
/// so far, to know what is still pending before a drain) and `finish`, which every run must
/// end with (the shards' threads end there).
public final class LivePipeline {
    /// Rounds a shard may be behind the capture thread before rounds are dropped (and
    /// chunks the merger may be behind a shard); up to 4 × 2,048 operations, or 400 ms of
    /// a quiet capture's 100 ms rounds.
    public static let defaultChannelCapacity = 4
    /// A round still open this long after the last went out is sent (wall clock): event
    /// lines then come within the timeout plus this, also when reads never time out.
    public static let roundInterval = Duration(nanoseconds: 50_000_000)

    public let shards: Int
    private var frames: FrameStage
    private var router: ShardRouter
    private var merger: LiveMerger
    private let inputs: [BoundedChannel<OperationBatch>]
    private let outputs: [BoundedChannel<ShardOutput>]
    /// The last batches, kept by the router's `send` for `finish` to hand over without blocking.
    private let finals: UncheckedBox<[OperationBatch?]>
    private let startShard: [() -> Void]
    private var workers: [WorkerThread] = []
    private var lastRoundEnd = Timestamp(nanoseconds: .min)
    private let ignore: (consuming Transaction) -> Void = { _ in }

    /// A pipeline of `shards` pairing threads (at least 2), started at once.
    public convenience init(options: AnalysisOptions, shards: Int) {
        self.init(options: options, shards: shards, channelCapacity: LivePipeline.defaultChannelCapacity)
    }

    /// `channelCapacity`: rounds each shard's ring holds. `startsShards` false leaves the
    /// shards unstarted until `startShards()` (tests: rings that fill up).
    init(options: AnalysisOptions, shards: Int, channelCapacity: Int, startsShards: Bool = true) {
        let shards = max(2, shards)
        self.shards = shards
        let shardOptions = ParallelAnalysis.shardOptions(options, shards: shards)
        let inputs = (0..<shards).map { _ in BoundedChannel<OperationBatch>(capacity: channelCapacity) }
        let outputs = (0..<shards).map { _ in BoundedChannel<ShardOutput>(capacity: LivePipeline.defaultChannelCapacity) }
        let spareInputs = (0..<shards).map { _ in BoundedChannel<OperationBatch>(capacity: ParallelAnalysis.spareCapacity) }
        let finals = UncheckedBox<[OperationBatch?]>(Array(repeating: nil, count: shards))
        self.inputs = inputs
        self.outputs = outputs
        self.finals = finals
        frames = FrameStage(options: options)
        router = ShardRouter(
            shardCount: shards,
            send: { shard, batch in
                if batch.isLast { finals.value[shard] = batch } else { inputs[shard].sendReserved(batch) }
            },
            recycled: { spareInputs[$0].tryReceive() },
            admit: {
                var reserved = 0
                while reserved < inputs.count, inputs[reserved].tryReserve() { reserved += 1 }
                guard reserved < inputs.count else { return true }
                for shard in 0..<reserved { inputs[shard].cancelReservation() }
                return false
            })
        merger = LiveMerger(outputs: outputs)
        startShard = (0..<shards).map { index in
            let input = inputs[index]
            let output = outputs[index]
            let spareInput = spareInputs[index]
            return {
                // The live loop's signals (stop, SIGHUP, SIGUSR1) go to the capture thread,
                // whose wait for packets they then interrupt.
                var signals = sigset_t()
                sigemptyset(&signals)
                for number in [SIGINT, SIGTERM, SIGHUP, SIGUSR1] { sigaddset(&signals, number) }
                pthread_sigmask(SIG_BLOCK, &signals, nil)
                var shard = EngineShard.live(options: shardOptions)
                while true {
                    var batch = input.receive()
                    shard.replayLive(batch) { output.send($0) }
                    if batch.isLast { return }
                    batch.clear()
                    _ = spareInput.trySend(batch)
                }
            }
        }
        if startsShards { startShards() }
    }

    /// Starts the shards' threads (once).
    func startShards() {
        guard workers.isEmpty else { return }
        workers = startShard.map { WorkerThread($0) }
    }

    /// Decodes one captured frame and routes what it carries (its bytes are copied into
    /// the round: they are libpcap's, valid only during the call).
    public func process(_ frame: CapturedFrame, number: Int) {
        frames.process(frame: number, time: frame.timestamp, bytes: frame.bytes, originalLength: frame.originalLength,
                       linkType: frame.linkType, into: &router, emit: ignore)
    }

    /// The capture is idle until `time` (the wall clock): a clock step for every shard, so
    /// deadlines fire without traffic.
    public func advanceIdle(to time: Timestamp) {
        router.advance(to: time, emit: ignore)
    }

    /// Sends the round under way if it holds anything (or drops it if a shard is full).
    public func endRound(now: Timestamp) {
        lastRoundEnd = now
        router.endRound()
    }

    /// Whether the open round should go out now: `roundInterval` passed since the last.
    public func roundIsDue(now: Timestamp) -> Bool {
        now >= lastRoundEnd + LivePipeline.roundInterval || now < lastRoundEnd
    }

    /// Hands over, in `EmissionOrder`, what the shards have finished, without waiting:
    /// expiries to `expired`, closed transactions to `closed`.
    public func deliver(closed: (Transaction) -> Void, expired: (Transaction) -> Void) {
        merger.merge(through: router.roundsSent, waiting: false, closed: closed, expired: expired)
    }

    /// Sends the open round and waits until it and every round before it are merged (after a
    /// stop: `pending` is then exact). Drops nothing.
    public func catchUp(closed: (Transaction) -> Void, expired: (Transaction) -> Void) {
        startShards()
        // Once every round sent is merged the shards' rings are empty: the open round fits.
        merger.merge(through: router.roundsSent, waiting: true, closed: closed, expired: expired)
        router.endRound()
        merger.merge(through: router.roundsSent, waiting: true, closed: closed, expired: expired)
    }

    /// Every round sent is merged: the counts below describe every operation sent.
    public var isCaughtUp: Bool { merger.roundsMerged == router.roundsSent }

    /// Queries outstanding over all shards, as of the last merged round.
    public var pending: Int { merger.snapshots.reduce(0) { $0 + ($1?.pending ?? 0) } }
    /// Queries held for a late answer over all shards, as of the last merged round.
    public var heldForLateAnswer: Int { merger.snapshots.reduce(0) { $0 + ($1?.heldForLateAnswer ?? 0) } }

    public var engine: EngineStatistics {
        var engine = EngineStatistics()
        for snapshot in merger.snapshots { if let snapshot { engine.add(snapshot.engine) } }
        return engine
    }

    /// The frame stage's counts (every frame captured) plus the shards' (DNS messages,
    /// malformed ones) as of the last merged round.
    public var packets: PacketStatistics {
        var packets = frames.packets
        for snapshot in merger.snapshots { if let snapshot { packets.add(snapshot.packets) } }
        return packets
    }

    public var drops: PipelineDrops { router.drops }

    /// Ends the run: open TCP connections end, outstanding queries close (capture end), and
    /// everything is handed over; then the shards' threads end. Returns the counts.
    public func finish(closed: (Transaction) -> Void, expired: (Transaction) -> Void) -> RunResult {
        catchUp(closed: closed, expired: expired)
        frames.finish(into: &router, emit: ignore)
        router.finish()
        for shard in 0..<shards {
            guard let last = finals.value[shard] else { continue }
            // A shard may be waiting for the merger to take its chunks: merge while waiting.
            while !inputs[shard].trySend(last) {
                deliver(closed: closed, expired: expired)
                sched_yield()
            }
        }
        finals.value = []
        merger.merge(through: router.roundsSent, waiting: true, closed: closed, expired: expired)
        for worker in workers { worker.join() }
        var result = RunResult()
        result.takeCounts(of: frames, routedBy: router)
        result.add(merger.totals)
        return result
    }
}

/// A live run's parallel pipeline as the report states it.
public struct LivePipelineSummary: Sendable, Equatable {
    /// Pairing threads (`--threads`).
    public var threads: Int
    public var drops: PipelineDrops

    public init(threads: Int, drops: PipelineDrops) {
        self.threads = threads
        self.drops = drops
    }
}

/// Merges a live run's shard outputs round by round, in `EmissionOrder` (an expiry before
/// a transaction of equal order: it came just before it in its engine), as far as the
/// shards have got. Without `waiting` it never blocks: it stops at the first shard whose
/// next chunk is not there yet and goes on from there at the next call.
struct LiveMerger {
    private let outputs: [BoundedChannel<ShardOutput>]
    /// Each shard's chunk being merged; nil before the round's first one arrives.
    private var chunks: [ShardOutput?]
    private var nextClosed: [Int]
    private var nextExpiry: [Int]
    /// Each shard's state after the last round merged.
    private(set) var snapshots: [ShardSnapshot?]
    /// The shards' counts, once their last round is merged.
    private(set) var totals: [ShardTotals] = []
    private(set) var roundsMerged = 0

    init(outputs: [BoundedChannel<ShardOutput>]) {
        self.outputs = outputs
        chunks = Array(repeating: nil, count: outputs.count)
        nextClosed = Array(repeating: 0, count: outputs.count)
        nextExpiry = Array(repeating: 0, count: outputs.count)
        snapshots = Array(repeating: nil, count: outputs.count)
    }

    /// Merges up to round `rounds` (the rounds sent so far).
    mutating func merge(
        through rounds: Int, waiting: Bool, closed: (Transaction) -> Void, expired: (Transaction) -> Void
    ) {
        while roundsMerged < rounds {
            // Every shard needs a chunk with something left, or the last chunk of its round.
            for shard in chunks.indices {
                while needsChunk(shard) {
                    guard let chunk = waiting ? outputs[shard].receive() : outputs[shard].tryReceive() else { return }
                    chunks[shard] = chunk
                    nextClosed[shard] = 0
                    nextExpiry[shard] = 0
                }
            }
            var earliest = -1
            var earliestOrder = EmissionOrder()
            var earliestIsExpiry = false
            for shard in chunks.indices {
                guard let (order, isExpiry) = head(of: shard) else { continue }
                if earliest < 0 || order < earliestOrder || (order == earliestOrder && isExpiry && !earliestIsExpiry) {
                    earliest = shard
                    earliestOrder = order
                    earliestIsExpiry = isExpiry
                }
            }
            if earliest >= 0, let chunk = chunks[earliest] {
                // Handed over where they lie, not copied (as `ParallelAnalysis` does).
                if earliestIsExpiry {
                    let position = nextExpiry[earliest]
                    chunk.expiries.withUnsafeBufferPointer { expired($0[position]) }
                    nextExpiry[earliest] += 1
                } else {
                    let position = nextClosed[earliest]
                    chunk.transactions.withUnsafeBufferPointer { closed($0[position]) }
                    nextClosed[earliest] += 1
                }
                continue
            }
            // Every shard's round is over.
            for shard in chunks.indices {
                if let snapshot = chunks[shard]?.snapshot { snapshots[shard] = snapshot }
                if let final = chunks[shard]?.final { totals.append(final) }
                chunks[shard] = nil
            }
            roundsMerged += 1
        }
    }

    /// No chunk yet this round, or the current one used up with more of the round to come.
    private func needsChunk(_ shard: Int) -> Bool {
        guard let chunk = chunks[shard] else { return true }
        return !chunk.endsRound && nextClosed[shard] == chunk.orders.count && nextExpiry[shard] == chunk.expiryOrders.count
    }

    /// The order of the shard's next hand-over, and whether it is an expiry.
    private func head(of shard: Int) -> (EmissionOrder, Bool)? {
        guard let chunk = chunks[shard] else { return nil }
        let expiry = nextExpiry[shard] < chunk.expiryOrders.count ? chunk.expiryOrders[nextExpiry[shard]] : nil
        let closed = nextClosed[shard] < chunk.orders.count ? chunk.orders[nextClosed[shard]] : nil
        switch (expiry, closed) {
        case let (expiry?, closed?): return expiry <= closed ? (expiry, true) : (closed, false)
        case let (expiry?, nil): return (expiry, true)
        case let (nil, closed?): return (closed, false)
        case (nil, nil): return nil
        }
    }
}
