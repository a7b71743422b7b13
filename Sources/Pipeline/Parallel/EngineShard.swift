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
    /// Hand-overs of the round being replayed (arrays reused round after round).
    private var orders: [EmissionOrder] = []
    private var transactions: [Transaction] = []
    /// Hand-overs numbered past the round just replayed, kept for the next output.
    private var ahead = EngineShardItems()

    /// `options` with the engine's memory bounds already divided among the shards.
    init(options: AnalysisOptions) {
        stage = MessageStage(options: options)
        stage.engine.emissionClock = clock
    }

    /// Replays one batch (its operations and clock steps, in index order) and returns what
    /// closed, in order.
    mutating func replay(_ batch: OperationBatch) -> ShardOutput {
        var orders = self.orders
        var transactions = self.transactions
        self.orders = []
        self.transactions = []
        orders.append(contentsOf: ahead.orders)
        transactions.append(contentsOf: ahead.transactions)
        ahead = EngineShardItems()
        let clock = clock
        replay(batch) { transaction in
            orders.append(clock.next())
            transactions.append(transaction)
        }
        var output = ShardOutput(orders: orders, transactions: transactions, throughOperation: batch.throughOperation,
                                 final: batch.isLast ? ShardTotals(packets: stage.packets, engine: stage.engine.statistics) : nil)
        output.sort()
        if !batch.isLast { ahead = output.takeItems(after: batch.throughOperation) }
        return output
    }

    private mutating func replay(_ batch: OperationBatch, emit: (Transaction) -> Void) {
        batch.bytes.withUnsafeBytes { bytes in
            batch.operations.withUnsafeBufferPointer { operations in
                batch.clockSteps.withUnsafeBufferPointer { steps in
                    var step = 0
                    for position in operations.indices {
                        let index = operations[position].index
                        while step < steps.count, steps[step].index < index {
                            clock.begin(operation: steps[step].index)
                            stage.advance(to: steps[step].time, emit: emit)
                            step += 1
                        }
                        clock.begin(operation: index)
                        switch operations[position].kind {
                        case .message:
                            let start = Int(operations[position].offset)
                            let payload = UnsafeRawBufferPointer(
                                rebasing: bytes[start..<(start + Int(operations[position].count))])
                            stage.message(payload, isCut: operations[position].isCut, frame: operations[position].frame,
                                          time: operations[position].time, source: operations[position].source,
                                          destination: operations[position].destination,
                                          transport: operations[position].transport, context: operations[position].context,
                                          emit: emit)
                            fireOverdue(after: index, emit: emit)
                        case .connectionEnded:
                            stage.connectionEnded(batch.connections[Int(operations[position].offset)], emit: emit)
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
            }
        }
    }

    /// Takes the memory of an output the merger is done with, for the next one.
    mutating func reuse(_ output: consuming ShardOutput) {
        guard orders.isEmpty, transactions.isEmpty else { return }
        output.orders.removeAll(keepingCapacity: true)
        output.transactions.removeAll(keepingCapacity: true)
        orders = output.orders
        transactions = output.transactions
    }

    /// What the operation just done left overdue (a deadline before the clock) goes at the
    /// start of the next operation, as one engine would hand it over there.
    private mutating func fireOverdue(after index: Int64, emit: (Transaction) -> Void) {
        clock.begin(operation: index + 1)
        stage.advance(to: Timestamp(nanoseconds: .min), emit: emit)
    }
}
