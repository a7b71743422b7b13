import Attribution
import Reports
import Transactions
import WireCore

/// What standard output carries during a live run (`--format`).
public enum LiveFormat: String, Sendable {
    /// Event lines (and FINDING lines) as they happen, then the human report.
    case human
    /// One NDJSON line per transaction as it closes; nothing else on standard output.
    case ndjson
    /// Nothing while running; the JSON report at the stop (standard output stays one document).
    case json
}

/// The live event stream on standard output: each selected transaction written as it
/// closes, and flushed within `flushInterval` (standard output may be a file or a pipe,
/// block-buffered otherwise until exit).
///
/// When a line is written: a query unanswered or rejected at its deadline (the expiry
/// hook), not 30 s later when the engine gives up waiting for a late answer; every other
/// transaction when it closes. A late answer to a query already written as unanswered
/// writes a second line, outcome `late` (same time, client, id: the same transaction, now
/// final). The final hand-over of an unanswered query written at its deadline writes
/// nothing. So each transaction has one line, except a late one, which has two.
public final class EventStream {
    /// Written lines reach the file descriptor at most this long after they were written
    /// (with 100 ms reads, a line is out within about 0.2 s of its transaction closing).
    public static let flushInterval = Duration.milliseconds(100)

    public let format: LiveFormat
    public let selection: EventSelection
    private let output: OutputBuffer
    private var formatter: EventLineFormatter
    private var encoder: NDJSONEncoder
    private var headerWritten = false
    private var unflushed = false
    private var lastFlush = Timestamp(nanoseconds: .min)
    /// Called before and after each flush that writes event lines (to lift and redraw a
    /// status line on the same terminal).
    var aroundFlush: (before: () -> Void, after: () -> Void) = ({}, {})
    /// Lines written so far (event, FINDING and header lines).
    public private(set) var linesWritten = 0

    public init(format: LiveFormat, selection: EventSelection, output: OutputBuffer, directory: ClusterDirectory) {
        self.format = format
        self.selection = selection
        self.output = output
        formatter = EventLineFormatter(directory: directory)
        encoder = NDJSONEncoder(directory: directory)
    }

    /// New names (`--pods` reloaded) for the lines to come.
    public func use(_ directory: ClusterDirectory) {
        formatter = EventLineFormatter(directory: directory)
        encoder = NDJSONEncoder(directory: directory)
    }

    /// A query whose deadline just passed unanswered or rejected.
    public func expired(_ transaction: Transaction) {
        write(transaction)
    }

    /// A transaction with its final outcome.
    public func closed(_ transaction: Transaction) {
        guard !transaction.wasShownAtDeadline else { return }
        write(transaction)
    }

    private func write(_ transaction: Transaction) {
        guard format != .json, selection == .all || transaction.isLiveFailure else { return }
        switch format {
        case .ndjson:
            encoder.withLine(for: transaction) { output.writeLine($0) }
        case .human:
            if !headerWritten {
                headerWritten = true
                writeLine(formatter.header)
            }
            output.writeLine(formatter.line(transaction))
        case .json:
            return
        }
        linesWritten += 1
        unflushed = true
    }

    /// A FINDING line (human format only; the caller sends it to standard error otherwise).
    public func finding(_ line: String) {
        guard format == .human else { return }
        writeLine(line)
    }

    private func writeLine(_ line: String) {
        output.writeLine(line)
        linesWritten += 1
        unflushed = true
    }

    /// Flushes what was written when `flushInterval` passed since the last flush.
    public func pass(now: Timestamp) {
        guard unflushed, now >= lastFlush + Self.flushInterval || now < lastFlush else { return }
        lastFlush = now
        flush()
    }

    /// Flushes now (at the stop, before the report).
    public func flush() {
        guard unflushed else { return }
        unflushed = false
        aroundFlush.before()
        output.flush()
        aroundFlush.after()
    }
}
