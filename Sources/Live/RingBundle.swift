import Attribution
import Capture
import Diagnosis
import Pipeline
import Reports
import Transactions
import WireCore

/// One evidence bundle to write from frames of the ring: what triggered it and what it holds.
public struct RingBundleJob: Sendable {
    /// The bundle's folder (new).
    public var path: String
    /// The frames, oldest first, numbered as the live capture numbered them.
    public var frames: [RingFrame]
    /// The finding that triggered the bundle, as the live diagnosis last stated it; nil for
    /// a bundle of the whole ring (SIGUSR1), whose report has the findings of its own frames.
    public var trigger: Finding?
    /// Where the trigger came from: frames numbered up to this one were captured before it.
    public var lastFrameBeforeTrigger: Int?
    public var interface: String
    public var filter: String
    public var snapshotLength: Int
    public var options: AnalysisOptions
    public var directory: ClusterDirectory
    public var interfaceNames: [Int32: String]
    public var commandLine: [String]
    /// The comment of the evidence packets no finding cites ("a packet of 10.244.1.11, kept
    /// by --export-on-finding for egress-blocked"): every frame of the job is evidence.
    public var keptBecause: String
    /// When the frames were taken from the ring (the bundle's capture ends then).
    public var cutAt: Timestamp? = nil
}

/// What a written bundle holds.
public struct RingBundleSummary: Sendable {
    public var path: String
    public var frames: Int
    public var evidencePackets: Int
    public var transactions: Int
    public var flaggedTransactions: Int
}

/// Writes a bundle in the `export` format (evidence.pcapng, report.json, report.html,
/// transactions.ndjson, transactions-all.ndjson.gz, manifest.json) from frames of the ring.
///
/// The frames are analysed again, alone, renumbered 1...N in capture order: the report's
/// figures and the transaction files describe exactly the packets in the bundle, and every
/// frame number in it is one of the bundle's own. A finding bundle's report carries the
/// triggering finding as the live diagnosis stated it (its words and counts cover the whole
/// live run, which a few seconds of one source's packets cannot re-establish on their own),
/// with its frames renumbered and extended by every frame of the bundle's failed
/// transactions, so evidence.pcapng holds the subject's failures from before the trigger and
/// from the seconds after it. evidence.pcapng holds every frame of the job: those the
/// finding cites with its comment, the others with `keptBecause`.
public enum RingBundle {
    public static func write(_ job: RingBundleJob) throws(EvidenceBundleError) -> RingBundleSummary {
        let writer = try EvidenceBundleWriter(path: job.path)
        do {
            return try write(job, with: writer)
        } catch {
            writer.discard()
            throw error
        }
    }

    private static func write(_ job: RingBundleJob, with writer: EvidenceBundleWriter) throws(EvidenceBundleError) -> RingBundleSummary {
        var analyzer = Analyzer(options: job.options)
        var figures = ReportBuilder()
        var diagnoser = Diagnoser()
        var failedFrames: [Int] = []
        let lines = NDJSONEncoder(directory: job.directory)
        func closed(_ transaction: Transaction) {
            figures.add(transaction)
            diagnoser.add(transaction)
            if EvidenceBundleWriter.isFailed(transaction) { failedFrames += Diagnoser.frames(of: transaction) }
            lines.withLine(for: transaction) { line in writer.add(transaction, line: line) }
        }
        var renumbered: [Int: Int] = [:]
        renumbered.reserveCapacity(job.frames.count)
        for (index, frame) in job.frames.enumerated() {
            let number = index + 1
            renumbered[frame.number] = number
            frame.bytes.withUnsafeBytes { bytes in
                let captured = CapturedFrame(number: number, timestamp: frame.timestamp, capturedLength: bytes.count,
                                             originalLength: frame.originalLength, bytes: bytes, linkType: frame.linkType)
                writer.recordLiveFrame(captured, linkType: frame.linkType, snapshotLength: job.snapshotLength,
                                       interface: job.interface)
                analyzer.process(frame: number, time: frame.timestamp, bytes: bytes, originalLength: frame.originalLength,
                                 linkType: frame.linkType, emit: closed)
            }
        }
        // The bundle's capture ends when it was cut, not at its last packet: a query whose
        // deadline passed by then is unanswered, as the live run saw it, not in flight.
        if let end = job.cutAt, let last = job.frames.last?.timestamp, end > last {
            analyzer.advanceIdle(to: end, emit: closed)
        }
        analyzer.finish(emit: closed)
        var run = RunResult()
        run.takeCounts(of: analyzer)
        run.interfaceNames = job.interfaceNames
        run.live = LiveSummary(interface: job.interface, filter: job.filter,
                               linkType: job.frames.first?.linkType.description ?? "unknown", kernel: nil,
                               stoppedBy: job.trigger == nil ? "SIGUSR1 (the whole ring)" : "finding (--export-on-finding)",
                               failure: nil, drain: nil)
        var report = Report(run: run, figures: figures, options: job.options, diagnoser: diagnoser, directory: job.directory)
        if let trigger = job.trigger {
            report.findings = [trigger.renumbered(renumbered, adding: failedFrames)]
        }
        try writer.finishLive(report: report, interface: job.interface, commandLine: job.commandLine,
                              uncitedComment: job.keptBecause,
                              captureLabel: "the packets kept from the live capture on \(job.interface)")
        return RingBundleSummary(path: writer.directory.path, frames: job.frames.count,
                                 evidencePackets: writer.evidencePackets, transactions: writer.allTransactions,
                                 flaggedTransactions: writer.flaggedTransactions)
    }
}

extension Finding {
    /// This finding with its frame numbers (and its examples') moved to a bundle's own
    /// numbering (`numbering`: live number → bundle number; frames not in the bundle
    /// dropped), plus `extra` frames already in the bundle's numbering; sorted, each once.
    func renumbered(_ numbering: [Int: Int], adding extra: [Int]) -> Finding {
        var copy = self
        copy.frames = Array(Set(frames.compactMap { numbering[$0] } + extra)).sorted()
        copy.examples = examples.map { example in
            var moved = example
            moved.frames = example.frames.compactMap { numbering[$0] }
            return moved
        }
        return copy
    }
}
