import Capture
import PacketDecoding
import Transactions
import WireCore

/// Limits of a `--vantage` run.
public enum VantageRun {
    /// Transactions held for merging, over all vantages (each vantage its equal share).
    /// Beyond its share a vantage's further transactions are reported at once as it saw
    /// them, unmerged, and counted (`unmergedBeyondCap`).
    public static let maximumHeldTransactions = 600_000
    /// Vantage points one run takes.
    public static let maximumVantages = 64
}

/// Analyses several vantage points of one incident (`--vantage NAME=FILE[,FILE...]`):
/// each vantage's files as one capture with its own clock, then every vantage's clock
/// against the reference vantage (the one nearest the clients) from the DNS messages two
/// vantages both saw, then each lookup once, with the vantages that saw it and, for a
/// failed one, the leg it was lost on (see `VantageMerger`). Frames are numbered on across
/// vantages in the order given (each vantage's files in the order of their first packet),
/// so a frame number names one packet of one file; the report's times are on the
/// reference clock. Every input is opened before analysis starts. `maximumHeld` caps the
/// transactions held for merging (see `VantageRun.maximumHeldTransactions`).
public func analyzeVantages(
    _ vantages: [VantageInput], options: AnalysisOptions, maximumHeld: Int = VantageRun.maximumHeldTransactions,
    emit: (Transaction) -> Void
) throws(CaptureError) -> RunResult {
    // Regular files are all opened first, so one that cannot be read fails the run before
    // any analysis; a stream (read once) is opened at its vantage's turn.
    for vantage in vantages { _ = try orderByFirstPacket(vantage.files.filter { $0.reopenableName != nil }) }
    var result = RunResult()
    var held: [[Transaction]] = []
    var inputs: [[InputSummary]] = []
    var unmerged = 0
    var nextFrame = 1
    var ranges: [(first: Timestamp, last: Timestamp)?] = []
    let taken = Array(vantages.prefix(VantageRun.maximumVantages))
    // Each vantage holds its share, so that every vantage's first part can be merged.
    let share = max(0, maximumHeld) / max(1, taken.count)
    var closed: [Int] = []
    for vantage in taken {
        var list: [Transaction] = []
        var unmergedHere = 0
        let run = try analyzeFiles(vantage.files, options: options, firstFrame: nextFrame) { transaction in
            if list.count < share {
                list.append(transaction)
                return
            }
            // Beyond the share: reported at once as this vantage saw it (its own clock), not held.
            var alone = transaction
            alone.vantagePath = VantagePath(
                sightings: [VantageSighting(name: vantage.name, query: true, response: transaction.response != nil)],
                lost: nil)
            unmergedHere += 1
            emit(alone)
        }
        unmerged += unmergedHere
        closed.append(list.count + unmergedHere)
        nextFrame += run.packets.frames
        if let first = run.packets.firstTime, let last = run.packets.lastTime {
            ranges.append((first, last))
        } else {
            ranges.append(nil)
        }
        held.append(list)
        inputs.append(run.inputs)
        result.inputs += run.inputs
        result.add(run)
    }
    let merger = VantageMerger(names: taken.map(\.name), transactions: held)
    var clocks = merger.clocks(inputs: inputs)
    for index in clocks.indices where closed.indices.contains(index) { clocks[index].transactions = closed[index] }
    result.vantages = clocks
    for (index, clock) in clocks.enumerated() {
        // The run's time range on the reference clock (an unmatched vantage's own clock is left out).
        guard let offset = clock.offset, ranges.indices.contains(index), let range = ranges[index] else { continue }
        let first = range.first + (Duration(nanoseconds: 0) - offset)
        let last = range.last + (Duration(nanoseconds: 0) - offset)
        if result.packets.firstTime.map({ first < $0 }) ?? true { result.packets.firstTime = first }
        if result.packets.lastTime.map({ last > $0 }) ?? true { result.packets.lastTime = last }
    }
    held = []
    for transaction in merger.merged(clocks: clocks) { emit(transaction) }
    result.unmergedBeyondCap = unmerged
    return result
}

extension RunResult {
    /// Adds one vantage's counts to the run's (packets, engine, reassembly): what each
    /// capture saw, so a packet seen at two vantages counts twice here, a lookup once in the totals.
    mutating func add(_ run: RunResult) {
        packets.add(run.packets)
        engine.add(run.engine)
        reassembly.add(run.reassembly)
    }
}
