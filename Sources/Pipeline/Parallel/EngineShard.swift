import Transactions
import WireCore

/// What one shard hands the merging thread for one round: its transactions closed up to
/// the round's last operation, in `EmissionOrder`.
struct ShardOutput: Sendable {
    var transactions: [(order: EmissionOrder, transaction: Transaction)] = []
    /// Every transaction with an order up to this operation has been handed over.
    var throughOperation: Int64
    /// Set on the shard's last output: its counts.
    var final: ShardTotals?
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
    private var ahead: [(order: EmissionOrder, transaction: Transaction)] = []

    private final class Collected {
        var transactions: [(order: EmissionOrder, transaction: Transaction)] = []
    }

    /// `options` with the engine's memory bounds already divided among the shards.
    init(options: AnalysisOptions) {
        stage = MessageStage(options: options)
        stage.engine.emissionClock = clock
    }

    /// Replays one batch and returns what closed, in order.
    mutating func replay(_ batch: OperationBatch) -> ShardOutput {
        let clock = clock
        let collected = collected
        collected.transactions = ahead
        ahead = []
        let emit: (Transaction) -> Void = { collected.transactions.append((clock.next(), $0)) }
        batch.bytes.withUnsafeBytes { bytes in
            for operation in batch.operations {
                clock.begin(operation: operation.index)
                switch operation.kind {
                case .clock:
                    stage.advance(to: operation.time, emit: emit)
                case .message(let message):
                    let payload = UnsafeRawBufferPointer(rebasing: bytes[message.offset..<(message.offset + message.count)])
                    stage.message(payload, isCut: message.isCut, frame: message.frame, time: operation.time,
                                  source: message.source, destination: message.destination,
                                  transport: message.transport, context: message.context, emit: emit)
                    fireOverdue(after: operation.index, emit: emit)
                case .connectionEnded(let connection):
                    stage.connectionEnded(connection, emit: emit)
                    fireOverdue(after: operation.index, emit: emit)
                case .finish:
                    stage.engine.finish(emit: emit)
                }
            }
        }
        var transactions = collected.transactions
        collected.transactions = []
        if zip(transactions, transactions.dropFirst()).contains(where: { $1.order < $0.order }) {
            transactions.sort { $0.order < $1.order }
        }
        if !batch.isLast, let firstAhead = transactions.firstIndex(where: { $0.order.operation > batch.throughOperation }) {
            ahead = Array(transactions[firstAhead...])
            transactions.removeSubrange(firstAhead...)
        }
        return ShardOutput(transactions: transactions, throughOperation: batch.throughOperation,
                           final: batch.isLast ? ShardTotals(packets: stage.packets, engine: stage.engine.statistics) : nil)
    }

    /// What the operation just done left overdue (a deadline before the clock) goes at the
    /// start of the next operation, as one engine would hand it over there.
    private mutating func fireOverdue(after index: Int64, emit: (Transaction) -> Void) {
        clock.begin(operation: index + 1)
        stage.advance(to: Timestamp(nanoseconds: .min), emit: emit)
    }
}
