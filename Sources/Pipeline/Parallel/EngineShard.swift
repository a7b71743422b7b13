import Transactions
import WireCore

/// What one shard hands the merging thread for one round: its transactions closed up to
/// the round's last operation, in `EmissionOrder`.
struct ShardOutput: Sendable {
    /// `orders[i]` is the order of `transactions[i]`; both sorted by it.
    var orders: [EmissionOrder] = []
    var transactions: [Transaction] = []
    /// Every transaction with an order up to this operation has been handed over.
    var throughOperation: Int64
    /// Set on the shard's last output: its counts.
    var final: ShardTotals?
}

extension ShardOutput {
    /// Sorts by order (hand-overs of a clock step after an overdue one can come out of order).
    mutating func sort() {
        guard zip(orders, orders.dropFirst()).contains(where: { $1 < $0 }) else { return }
        let permutation = orders.indices.sorted { orders[$0] < orders[$1] }
        orders = permutation.map { orders[$0] }
        transactions = permutation.map { transactions[$0] }
    }

    /// Takes out the hand-overs numbered after `operation` (the output is sorted).
    mutating func takeItems(after operation: Int64) -> EngineShardItems {
        guard let first = orders.firstIndex(where: { $0.operation > operation }) else { return EngineShardItems() }
        let items = EngineShardItems(orders: Array(orders[first...]), transactions: Array(transactions[first...]))
        orders.removeSubrange(first...)
        transactions.removeSubrange(first...)
        return items
    }
}

/// Hand-overs kept for a shard's next output.
struct EngineShardItems {
    var orders: [EmissionOrder] = []
    var transactions: [Transaction] = []
}

/// The counts of one shard's message stage.
struct ShardTotals: Sendable {
    var packets: PacketStatistics
    var engine: EngineStatistics
}

/// One shard of a parallel run: a message stage (parser, engine, name cache) of its own,
/// replaying the operations the router gave it, on its own thread.
///
/// Its engine numbers every hand-over with an `EmissionOrder`. A transaction can leave at
/// the start of an operation owned by another shard (its deadline passed at that frame):
/// the clock steps the router sends make that happen at the same operation as in one engine.
/// A deadline already past when it was set (a frame out of order) fires at the next
/// operation, whichever shard owns it: the shard fires it right after its own operation,
/// numbered as the next one.
struct EngineShard {
    private var stage: MessageStage
    private let clock = EmissionClock()
    private let collected = Collected()
    /// Hand-overs numbered past the round just replayed, kept for the next output.
    private var ahead = EngineShardItems()

    private final class Collected {
        var orders: [EmissionOrder] = []
        var transactions: [Transaction] = []
    }

    /// `options` with the engine's memory bounds already divided among the shards.
    init(options: AnalysisOptions) {
        stage = MessageStage(options: options)
        stage.engine.emissionClock = clock
    }

    /// Replays one batch (its operations and clock steps, in index order) and returns what
    /// closed, in order.
    mutating func replay(_ batch: OperationBatch) -> ShardOutput {
        let clock = clock
        let collected = collected
        collected.orders.append(contentsOf: ahead.orders)
        collected.transactions.append(contentsOf: ahead.transactions)
        ahead = EngineShardItems()
        let emit: (Transaction) -> Void = {
            collected.orders.append(clock.next())
            collected.transactions.append($0)
        }
        batch.bytes.withUnsafeBytes { bytes in
            var step = 0
            let steps = batch.clockSteps
            for position in batch.operations.indices {
                let index = batch.operations[position].index
                while step < steps.count, steps[step].index < index {
                    clock.begin(operation: steps[step].index)
                    stage.advance(to: steps[step].time, emit: emit)
                    step += 1
                }
                clock.begin(operation: index)
                let time = batch.operations[position].time
                switch batch.operations[position].kind {
                case .message(let message):
                    let payload = UnsafeRawBufferPointer(rebasing: bytes[message.offset..<(message.offset + message.count)])
                    stage.message(payload, isCut: message.isCut, frame: message.frame, time: time,
                                  source: message.source, destination: message.destination,
                                  transport: message.transport, context: message.context, emit: emit)
                    fireOverdue(after: index, emit: emit)
                case .connectionEnded(let connection):
                    stage.connectionEnded(connection, emit: emit)
                    fireOverdue(after: index, emit: emit)
                case .finish:
                    stage.engine.finish(emit: emit)
                }
            }
            while step < steps.count {
                clock.begin(operation: steps[step].index)
                stage.advance(to: steps[step].time, emit: emit)
                step += 1
            }
        }
        var output = ShardOutput(orders: collected.orders, transactions: collected.transactions,
                                 throughOperation: batch.throughOperation,
                                 final: batch.isLast ? ShardTotals(packets: stage.packets, engine: stage.engine.statistics) : nil)
        collected.orders = []
        collected.transactions = []
        output.sort()
        if !batch.isLast { ahead = output.takeItems(after: batch.throughOperation) }
        return output
    }

    /// Takes the memory of an output the merger is done with, for the next one.
    mutating func reuse(_ output: consuming ShardOutput) {
        guard collected.orders.isEmpty, collected.transactions.isEmpty else { return }
        output.orders.removeAll(keepingCapacity: true)
        output.transactions.removeAll(keepingCapacity: true)
        collected.orders = output.orders
        collected.transactions = output.transactions
    }

    /// What the operation just done left overdue (a deadline before the clock) goes at the
    /// start of the next operation, as one engine would hand it over there.
    private mutating func fireOverdue(after index: Int64, emit: (Transaction) -> Void) {
        clock.begin(operation: index + 1)
        stage.advance(to: Timestamp(nanoseconds: .min), emit: emit)
    }
}
