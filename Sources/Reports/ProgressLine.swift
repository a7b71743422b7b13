import Glibc
import Pipeline
import WireCore

/// The progress of a long offline run on standard error: one line redrawn in place,
/// shown once the run has taken `delay`, cleared at the end; nothing at all when standard
/// error is not a terminal (a log or a pipe gets no carriage returns).
public final class ProgressLine {
    /// Runs shorter than this show nothing.
    public static let delay = Duration(nanoseconds: 2_000_000_000)

    private let isTerminal: Bool
    private let write: (String) -> Void
    private var shown = false

    /// `write` puts text on standard error as is (no newline added).
    public init(isTerminal: Bool, write: @escaping (String) -> Void) {
        self.isTerminal = isTerminal
        self.write = write
    }

    /// For `analyzeFiles(progress:)`: draws, redraws or clears the line.
    public func update(_ progress: OfflineProgress) {
        guard isTerminal else { return }
        if progress.isFinal {
            if shown { write("\r\u{1B}[K") }
            shown = false
            return
        }
        guard progress.elapsed >= Self.delay else { return }
        write("\r" + Self.text(progress, width: Self.terminalWidth()) + "\u{1B}[K")
        shown = true
    }

    /// `dnstrail: 45% of 2.6 GB, 1.2 M packets (850 k/s), 12 s, about 14 s left`, or, for a
    /// stream (its size and position unknown), `dnstrail: 1.2 M packets (850 k/s), 12 s`;
    /// cut to `width` columns.
    public static func text(_ progress: OfflineProgress, width: Int? = nil) -> String {
        let seconds = max(progress.elapsed.seconds, 0.001)
        var line = "dnstrail: "
        if let fraction = progress.fraction, let total = progress.totalBytes {
            line += "\(Int(fraction * 100))% of \(bytes(total)), "
        } else if progress.bytesRead > 0 {
            line += "\(bytes(progress.bytesRead)) read, "
        }
        line += "\(count(Double(progress.frames))) packets (\(count(Double(progress.frames) / seconds))/s), "
            + "\(Int(seconds)) s"
        if let remaining = progress.remaining { line += ", about \(Int(remaining.seconds.rounded(.up))) s left" }
        if let width, width > 1, line.count >= width { line = String(line.prefix(width - 1)) }
        return line
    }

    /// `850 B`, `12.3 MB`, `2.6 GB` (powers of 1000, as disk sizes are shown).
    static func bytes(_ value: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var amount = Double(max(0, value))
        var unit = 0
        while amount >= 1000 && unit < units.count - 1 {
            amount /= 1000
            unit += 1
        }
        return unit == 0 ? "\(Int(amount)) B" : oneDecimal(amount) + " " + units[unit]
    }

    /// `950`, `12.3 k`, `1.2 M`.
    static func count(_ value: Double) -> String {
        if value >= 1_000_000 { return oneDecimal(value / 1_000_000) + " M" }
        if value >= 1_000 { return oneDecimal(value / 1_000) + " k" }
        return "\(Int(value))"
    }

    private static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    private static func terminalWidth() -> Int? {
        var size = winsize()
        guard ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }
}
