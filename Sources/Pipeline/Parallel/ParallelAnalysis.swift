import CHotPath
import Capture
import Transactions
import WireCore

/// An offline run on several cores, with the output of a run on one.
///
/// Three stages on their own threads: one reader (libpcap, link and IP decoding, fragment and
/// TCP stream reassembly: `FrameStage`) routes every operation to one of `shards` message
/// stages (DNS parsing and pairing, sharded by client address, see `ShardRouter`) over
/// bounded channels, in rounds; the calling thread merges what the shards closed, round by
/// round, in `EmissionOrder` (the order one engine would have closed them in) and hands
/// each transaction to `emit`, so the report, the diagnosis and the NDJSON lines are built
/// from the same sequence as with one thread.
///
/// The engine's memory bounds (`maximumPending`, `maximumExpired`) are divided among the
/// shards: a run that reaches them (a warning in the report says so) evicts per shard,
/// so only such a run can differ from one thread.
struct ParallelAnalysis {
    /// Rounds a shard may be behind the reader, and chunks the merger behind a shard: with
    /// rounds of 2,048 operations, as many operations in flight as 4 rounds of 1,024 were
    /// (and the same peak memory), with half the hand-overs (5 M capture, 2 threads, 9 runs
    /// each, interleaved: 3 % faster on average, in 8 of the 9 pairs; 33,702 -> 27,346
    /// context switches).
    static let channelCapacity = 2
    /// Emptied batches and chunks kept per shard for reuse: what one round in flight needs
    /// (more sat idle when a stage ran ahead, a few hundred KB each: 2.6 MB at the peak).
    static let spareCapacity = 2

    let options: AnalysisOptions
    let shards: Int

    init(options: AnalysisOptions, shards: Int) {
        self.options = options
        self.shards = max(2, shards)
    }

    /// Runs the pipeline on the frames `read` hands its body (on the reading thread, which
    /// owns whatever `read` captures until this returns); `read` returns the inputs' summaries.
    /// Packet, engine and reassembly counts are filled in here.
    func run(
        read: @escaping (_ body: (CapturedFrame) -> Void) throws(CaptureError) -> RunResult,
        emit: (Transaction) -> Void
    ) throws(CaptureError) -> RunResult {
        let shardOptions = ParallelAnalysis.shardOptions(options, shards: shards)
        let inputs = (0..<shards).map { _ in BoundedChannel<OperationBatch>(capacity: ParallelAnalysis.channelCapacity) }
        let outputs = (0..<shards).map { _ in BoundedChannel<ShardOutput>(capacity: ParallelAnalysis.channelCapacity) }
        // Batches and outputs go back, emptied, to be filled again: fresh ones cost page
        // faults on every round. A full return channel drops the memory instead.
        let spareInputs = (0..<shards).map { _ in BoundedChannel<OperationBatch>(capacity: ParallelAnalysis.spareCapacity) }
        let spareOutputs = (0..<shards).map { _ in BoundedChannel<ShardOutput>(capacity: ParallelAnalysis.spareCapacity) }

        let workers = (0..<shards).map { index in
            let input = inputs[index]
            let output = outputs[index]
            let spareInput = spareInputs[index]
            let spareOutput = spareOutputs[index]
            return WorkerThread {
                var shard = EngineShard(options: shardOptions)
                while true {
                    var batch = input.receive()
                    if let spare = spareOutput.tryReceive() { shard.reuse(spare) }
                    shard.replay(batch) { chunk in output.send(consume chunk) }
                    if batch.isLast { return }
                    batch.clear()
                    _ = spareInput.trySend(batch)
                }
            }
        }

        // The reading thread's outcome, handed over at its join.
        let reading = UncheckedBox<Result<RunResult, CaptureError>>(.success(RunResult()))
        let options = options
        let shards = shards
        let reader = WorkerThread {
            var frames = FrameStage(options: options)
            var router = ShardRouter(shardCount: shards, send: { inputs[$0].send($1) },
                                     recycled: { spareInputs[$0].tryReceive() })
            let ignore: (consuming Transaction) -> Void = { _ in }
            do throws(CaptureError) {
                var result = try read { frame in
                    frames.process(frame: frame.number, time: frame.timestamp, bytes: frame.bytes,
                                   originalLength: frame.originalLength, linkType: frame.linkType,
                                   into: &router, emit: ignore)
                }
                frames.finish(into: &router, emit: ignore)
                router.finish()
                result.takeCounts(of: frames, routedBy: router)
                reading.value = .success(result)
            } catch {
                reading.value = .failure(error)
                router.abandon()
            }
        }

        var totals: [ShardTotals] = []
        mergeRounds(from: outputs, returningTo: spareOutputs, emit: emit) { totals.append($0) }
        reader.join()
        for worker in workers { worker.join() }

        var result = try reading.value.get()
        result.add(totals)
        return result
    }

    /// Starts loading every cache line of a transaction.
    @inline(__always)
    static func prefetch(_ transaction: UnsafeMutablePointer<Transaction>) {
        let raw = UnsafeRawPointer(transaction)
        for offset in stride(from: 0, to: MemoryLayout<Transaction>.size, by: 64) { dnstrail_prefetch(raw + offset) }
    }

    /// `options` for one of `shards` engines: the memory bounds divided among them.
    static func shardOptions(_ options: AnalysisOptions, shards: Int) -> AnalysisOptions {
        var shardOptions = options
        shardOptions.maximumPending = max(1, (options.maximumPending + shards - 1) / shards)
        shardOptions.maximumExpired = (options.maximumExpired + shards - 1) / shards
        return shardOptions
    }

    /// Merges the shards' chunks, round by round, handing their transactions to `emit` in
    /// `EmissionOrder`, until the shards' last chunks (whose counts go to `final`). A shard's
    /// next chunk is taken when its current one is used up and its round goes on: the
    /// merger holds one chunk per shard, whatever a round closes.
    private func mergeRounds(
        from outputs: [BoundedChannel<ShardOutput>], returningTo spares: [BoundedChannel<ShardOutput>],
        emit: (Transaction) -> Void, final: (ShardTotals) -> Void
    ) {
        var chunks = outputs.map { $0.receive() }
        var next = Array(repeating: 0, count: chunks.count)
        func advance(_ shard: Int) {
            var spent = outputs[shard].receive()
            swap(&spent, &chunks[shard])
            next[shard] = 0
            _ = spares[shard].trySend(spent)
        }
        while true {
            // A used-up chunk whose round goes on: its successor may hold the earliest.
            for shard in chunks.indices {
                while next[shard] == chunks[shard].orders.count && !chunks[shard].endsRound { advance(shard) }
            }
            var earliest = -1
            for shard in chunks.indices where next[shard] < chunks[shard].orders.count {
                if earliest < 0 || chunks[shard].orders[next[shard]] < chunks[earliest].orders[next[earliest]] {
                    earliest = shard
                }
            }
            if earliest >= 0 {
                // Lent where it lies: a copy (300 bytes and a retain per reference, the release
                // later on this thread of what a shard allocated) cost the merging thread a third
                // of its time. Passed straight from the buffer it was copied all the same (the
                // compiler cannot know that `emit` leaves the buffer alone): it is moved out for
                // the call and back after it, the chunk never seeing it missing.
                let position = next[earliest]
                chunks[earliest].transactions.withUnsafeMutableBufferPointer { transactions in
                    let slot = transactions.baseAddress.unsafelyUnwrapped + position
                    // The next one's lines, written by the shard on the other core, start
                    // coming while this one is reported.
                    if position + 1 < transactions.count { ParallelAnalysis.prefetch(slot + 1) }
                    let transaction = slot.move()
                    emit(transaction)
                    slot.initialize(to: consume transaction)
                }
                next[earliest] += 1
                continue
            }
            // Every shard's round is over.
            var finished = false
            for shard in chunks.indices {
                if let totals = chunks[shard].final {
                    final(totals)
                    finished = true
                }
            }
            if finished { return }
            for shard in chunks.indices { advance(shard) }
        }
    }
}

/// The parallel pipeline on frames from any source (`read` hands each to its body, in order,
/// on the reading thread): for captures held in memory, as the fuzz target does. `threads`
/// of 1 runs `Analyzer` on the calling thread. `emit` is called on the calling thread.
public func analyzeFrames(
    options: AnalysisOptions, threads: Int,
    read: @escaping (_ body: (CapturedFrame) -> Void) -> Void, emit: (Transaction) -> Void
) -> RunResult {
    let run = Result { () throws(CaptureError) -> RunResult in
        try analyze(options: options, threads: threads, read: { body in
            read(body)
            return RunResult()
        }, emit: emit)
    }
    // `read` cannot fail: neither can the run.
    return (try? run.get()) ?? RunResult()
}

extension RunResult {
    /// The counts of a parallel run's frame stage (every frame, reassembly) and router.
    mutating func takeCounts(of frames: FrameStage, routedBy router: ShardRouter) {
        packets = frames.packets
        reassembly = ReassemblySummary(fragments: frames.fragments.statistics, tcp: frames.streams.statistics)
        parallel = ParallelRunSummary(shards: router.shardCount, operations: router.operations,
                                      multicastOperations: router.multicastOperations)
    }

    /// Adds the shards' counts (DNS messages, pairing) to the frame stage's.
    mutating func add(_ totals: [ShardTotals]) {
        for shard in totals {
            packets.add(shard.packets)
            engine.add(shard.engine)
        }
    }
}
