import Transactions
import WireCore

/// A piece of what one shard closed in one round, in `EmissionOrder`: a round's hand-overs
/// travel in chunks of at most `EngineShard.chunkSize`, so a round that closes a great deal at
/// once (a jump of the clock expiring every outstanding query, the end of the capture) never
/// sits whole in memory; the merger takes the chunks as it merges.
struct ShardOutput: Sendable {
    /// `orders[i]` is the order of `transactions[i]`; both sorted by it.
    var orders: [EmissionOrder] = []
    var transactions: [Transaction] = []
    /// The round's last chunk from this shard.
    var endsRound = false
    /// Set on the shard's last chunk of all: its counts.
    var final: ShardTotals?
    /// Live runs only: queries whose deadline just passed (`TransactionEngine.onExpiry`),
    /// `expiryOrders[i]` the order of `expiries[i]`, both sorted by it. An expiry takes the
    /// order of the hand-over that follows it in its engine (it comes just before that one,
    /// see `EngineShard.replayLive`), so the merger puts an expiry before a transaction of
    /// equal order.
    var expiryOrders: [EmissionOrder] = []
    var expiries: [Transaction] = []
    /// Live runs only, on the round's last chunk: the shard's state after the round.
    var snapshot: ShardSnapshot?
}

/// One shard's state at the end of a round of a live run: what the status line and the
/// drain after a stop need (summed over the shards).
struct ShardSnapshot: Sendable {
    /// Queries outstanding (not answered, deadline not passed).
    var pending: Int
    /// Queries past their deadline held for a late answer.
    var heldForLateAnswer: Int
    var packets: PacketStatistics
    var engine: EngineStatistics
}

/// The counts of one shard's message stage.
struct ShardTotals: Sendable {
    var packets: PacketStatistics
    var engine: EngineStatistics
}

/// One shard of a parallel run: a message stage (parser, engine, name cache) of its own,
/// replaying the operations the router gave it, on its own thread.
///
/// Its engine numbers every hand-over with an `EmissionOrder`, and hands them over in that
/// order. A transaction can leave at the start of an operation owned by another shard (its
/// deadline passed at that frame): the clock steps the router sends make that happen at the
/// same operation as in one engine. A deadline already past when it was set (a frame out of
/// order) fires at the very next operation, whichever shard owns it: at the shard's next
/// operation or clock step if that is the next one, else numbered as the next one just
/// before it (nothing of this shard happens in between, so the order holds).
struct EngineShard {
    /// Hand-overs per chunk sent to the merger.
    static let chunkSize = 1_024

    private var stage: MessageStage
    private let clock = EmissionClock()
    /// Arrays of a chunk the merger is done with, to fill again.
    private var spareOrders: [EmissionOrder] = []
    private var spareTransactions: [Transaction] = []
    /// The shard's last own operation, when it may have left a deadline overdue that has not
    /// fired yet (it fires at the operation after it).
    private var overdueAfter: Int64?
    /// Set for a live run's shard (`live(options:)`).
    private var liveHandOver: LiveHandOver?

    /// `options` with the engine's memory bounds already divided among the shards.
    init(options: AnalysisOptions) {
        stage = MessageStage(options: options)
        stage.engine.emissionClock = clock
    }

    /// Replays one batch (its operations and clock steps, in index order), handing what
    /// closes to `send` in chunks; the last chunk ends the round.
    mutating func replay(_ batch: OperationBatch, send: (consuming ShardOutput) -> Void) {
        var orders = spareOrders
        var transactions = spareTransactions
        spareOrders = []
        spareTransactions = []
        // No spare came back yet: room for a whole chunk at once (grown one append at a
        // time, the transactions were copied ten times over).
        orders.reserveCapacity(EngineShard.chunkSize)
        transactions.reserveCapacity(EngineShard.chunkSize)
        let clock = clock
        replay(batch) { transaction in
            orders.append(clock.next())
            transactions.append(transaction)
            if orders.count >= EngineShard.chunkSize {
                send(EngineShard.chunk(taking: &orders, &transactions))
                orders.reserveCapacity(EngineShard.chunkSize)
                transactions.reserveCapacity(EngineShard.chunkSize)
            }
        }
        send(EngineShard.chunk(taking: &orders, &transactions, endsRound: true,
                               final: batch.isLast ? ShardTotals(packets: stage.packets, engine: stage.engine.statistics) : nil))
    }

    /// A chunk holding the arrays, which are left empty: the shard keeps no reference to what
    /// it hands over, so the merger's use of the chunk never finds it shared (and copies it).
    private static func chunk(
        taking orders: inout [EmissionOrder], _ transactions: inout [Transaction], endsRound: Bool = false,
        final: ShardTotals? = nil
    ) -> ShardOutput {
        var chunk = ShardOutput(endsRound: endsRound, final: final)
        swap(&chunk.orders, &orders)
        swap(&chunk.transactions, &transactions)
        return chunk
    }

    private mutating func replay(_ batch: OperationBatch, emit: (consuming Transaction) -> Void) {
        batch.bytes.withUnsafeBytes { bytes in
            batch.operations.withUnsafeBufferPointer { operations in
                batch.clockSteps.withUnsafeBufferPointer { steps in
                    batch.rareContexts.withUnsafeBufferPointer { rareContexts in
                        replay(operations, steps: steps, bytes: bytes, rareContexts: rareContexts,
                               connections: batch.connections, emit: emit)
                    }
                }
            }
        }
        // The operation after the shard's last one is in this round (another shard's, or a
        // frame without DNS that did not move the clock): what is overdue fires there.
        if let last = overdueAfter, last < batch.throughOperation { fireOverdue(before: batch.throughOperation + 1, emit: emit) }
    }

    /// The operations and clock steps of one batch, in index order.
    @inline(__always)
    private mutating func replay(
        _ operations: UnsafeBufferPointer<ShardOperation>, steps: UnsafeBufferPointer<ClockStep>,
        bytes: UnsafeRawBufferPointer, rareContexts: UnsafeBufferPointer<RareContext>,
        connections: [TCPConnectionReport], emit: (consuming Transaction) -> Void
    ) {
        var step = 0
        for position in operations.indices {
            let index = operations[position].index
            while step < steps.count, steps[step].index < index {
                clockStep(steps[step], emit: emit)
                step += 1
            }
            fireOverdue(before: index, emit: emit)
            clock.begin(operation: index)
            switch operations[position].kind {
            case .message:
                let start = Int(operations[position].offset)
                let payload = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + Int(operations[position].count))])
                stage.message(payload, isCut: operations[position].isCut, frame: operations[position].frame,
                              time: operations[position].time, source: operations[position].source,
                              destination: operations[position].destination, transport: operations[position].transport,
                              context: operations[position].context(rare: rareContexts), emit: emit)
                overdueAfter = index
            case .connectionEnded:
                stage.connectionEnded(connections[Int(operations[position].offset)], emit: emit)
                overdueAfter = index
            case .finish:
                stage.engine.finish(emit: emit)
            }
        }
        while step < steps.count {
            clockStep(steps[step], emit: emit)
            step += 1
        }
    }

    private mutating func clockStep(_ step: ClockStep, emit: (consuming Transaction) -> Void) {
        fireOverdue(before: step.index, emit: emit)
        // Nothing falls due (most steps): the emission clock is not needed, the engine's
        // clock moves as `advance` would move it.
        if stage.engine.isQuiet(at: step.time) {
            stage.engine.raiseClock(to: step.time)
            return
        }
        clock.begin(operation: step.index)
        stage.advance(to: step.time, emit: emit)
    }

    /// Before operation `index`: what the shard's last operation left overdue fires at the
    /// operation after it, unless that is `index` itself (its own advance fires it there).
    private mutating func fireOverdue(before index: Int64, emit: (consuming Transaction) -> Void) {
        guard let last = overdueAfter else { return }
        overdueAfter = nil
        guard last + 1 < index else { return }
        clock.begin(operation: last + 1)
        stage.advance(to: Timestamp(nanoseconds: .min), emit: emit)
    }

    /// A live run's shard: the engine's expiries are handed over too (`ShardOutput.expiries`),
    /// and every round's last chunk carries a `ShardSnapshot`.
    static func live(options: AnalysisOptions) -> EngineShard {
        var shard = EngineShard(options: options)
        let handOver = LiveHandOver(clock: shard.clock)
        shard.liveHandOver = handOver
        shard.stage.engine.onExpiry = { handOver.expired($0) }
        return shard
    }

    /// Replays one batch of a live run, handing what closes and what expires to `send` in
    /// chunks; the last chunk ends the round and carries the shard's snapshot.
    mutating func replayLive(_ batch: OperationBatch, send: @escaping (ShardOutput) -> Void) {
        guard let handOver = liveHandOver else { return replay(batch, send: send) }
        handOver.send = send
        replay(batch, emit: { handOver.closed($0) })
        handOver.endRound(
            snapshot: ShardSnapshot(pending: stage.engine.pendingCount, heldForLateAnswer: stage.engine.expiredCount,
                                    packets: stage.packets, engine: stage.engine.statistics),
            final: batch.isLast ? ShardTotals(packets: stage.packets, engine: stage.engine.statistics) : nil)
        handOver.send = { _ in }
    }

    /// Takes the memory of a chunk the merger is done with, for a later one.
    mutating func reuse(_ output: consuming ShardOutput) {
        guard spareOrders.capacity == 0 else { return }
        output.orders.removeAll(keepingCapacity: true)
        output.transactions.removeAll(keepingCapacity: true)
        spareOrders = output.orders
        spareTransactions = output.transactions
    }
}

/// Collects a live shard's hand-overs (closed transactions and expiries, each with its
/// `EmissionOrder`) into chunks: a reference, because the engine's `onExpiry` hook is a
/// stored closure. Touched only by the shard's thread.
final class LiveHandOver {
    private let clock: EmissionClock
    private var output = ShardOutput()
    var send: (ShardOutput) -> Void = { _ in }

    init(clock: EmissionClock) {
        self.clock = clock
    }

    func closed(_ transaction: Transaction) {
        output.orders.append(clock.next())
        output.transactions.append(transaction)
        sendIfFull()
    }

    /// The engine calls `onExpiry` just before the hand-over (or the hold) that follows in the
    /// same step: the expiry takes that one's order without using it up, so the numbering of
    /// the transactions stays exactly the offline one.
    func expired(_ transaction: Transaction) {
        output.expiryOrders.append(clock.current)
        output.expiries.append(transaction)
        sendIfFull()
    }

    func endRound(snapshot: ShardSnapshot, final: ShardTotals?) {
        output.endsRound = true
        output.snapshot = snapshot
        output.final = final
        send(output)
        output = ShardOutput()
    }

    private func sendIfFull() {
        guard output.orders.count + output.expiries.count >= EngineShard.chunkSize else { return }
        send(output)
        output = ShardOutput()
    }
}
