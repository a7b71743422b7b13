#if canImport(Glibc)
import Glibc
#endif

/// The status line on standard error: on a terminal redrawn in place every second (cut
/// to the terminal's width); otherwise (a log file, journald) one line every
/// `unattendedInterval` seconds and once more at the stop, so a run of days does not
/// fill its log with a line a second.
final class StatusDisplay {
    static let unattendedInterval = 10.0

    let interactive: Bool
    /// Standard output is the same terminal: lift the status line before event lines.
    let sharesTerminal: Bool
    private let descriptor: Int32
    private var drawn: String?
    private var lastPrinted = 0.0

    init(descriptor: Int32 = 2, interactive: Bool, sharesTerminal: Bool) {
        self.descriptor = descriptor
        self.interactive = interactive
        self.sharesTerminal = sharesTerminal && interactive
    }

    /// A status tick (about once a second).
    func show(_ status: LiveStatus) {
        if interactive {
            draw(terminalLine(status.line))
        } else if status.elapsed - lastPrinted >= Self.unattendedInterval {
            lastPrinted = status.elapsed
            write("dnstrail: " + status.line + "\n")
        }
    }

    /// The last status after the stop: a final line in a log, the end of the line on a terminal.
    func finish(_ status: LiveStatus) {
        if interactive {
            if drawn != nil { write("\n") }
            drawn = nil
        } else {
            write("dnstrail: " + status.line + "\n")
        }
    }

    /// A one-line message, on a line of its own.
    func notice(_ text: String) {
        write((interactive && drawn != nil ? "\r\u{1B}[K" : "") + "dnstrail: " + text + "\n")
        if interactive, let drawn { write(drawn) }
    }

    /// Lifts the status line off a terminal shared with standard output (before event lines).
    func lift() {
        guard sharesTerminal, drawn != nil else { return }
        write("\r\u{1B}[K")
    }

    /// Puts the status line back after `lift`.
    func restore() {
        guard sharesTerminal, let drawn else { return }
        write(drawn)
    }

    private func draw(_ line: String) {
        let text = "\r" + line + "\u{1B}[K"
        drawn = text
        write(text)
    }

    /// `line` cut to the terminal's width, so the carriage-return status stays on one line.
    private func terminalLine(_ line: String) -> String {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 1, line.count >= Int(size.ws_col) else { return line }
        return String(line.prefix(Int(size.ws_col) - 1))
    }

    private func write(_ text: String) {
        _ = text.withCString { Glibc.write(descriptor, $0, strlen($0)) }
    }
}
