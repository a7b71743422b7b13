import Attribution
import DNSWire
import Transactions
import WireCore

/// Which transactions the live event stream writes (`--show`).
public enum EventSelection: String, Sendable, CaseIterable {
    /// Those that ended badly (`isFailure`): the default of the human stream.
    case failures
    /// Every transaction: the default of `--format ndjson` (the lines `analyze` writes).
    case all
}

extension Transaction {
    /// Ended badly, as the live stream shows it: unanswered (in flight at the stop is not),
    /// rejected by ICMP, answered late, a failed TCP connection, a TCP fallback that failed,
    /// or answered with an error rcode (anything but NOERROR and NXDOMAIN: SERVFAIL,
    /// REFUSED, FORMERR, NOTIMP...). NXDOMAIN is an answer, not a failure of DNS.
    public var isLiveFailure: Bool {
        switch outcome {
        case .unanswered, .rejected, .late, .handshakeFailed, .reset: return true
        case .inFlight, .multicast: return false
        case .answered:
            if let fallback, fallback.outcome != .answered { return true }
            guard let rcode = fallback?.rcode ?? response?.rcode else { return false }
            return rcode != .noError && rcode != .nxDomain
        }
    }

    /// Already shown at its deadline through the expiry hook: the engine hands an
    /// unanswered or rejected query with expiry `timeout` to `onExpiry` first, always.
    var wasShownAtDeadline: Bool {
        expiry == .timeout && (outcome == .unanswered || outcome == .rejected)
    }
}

/// The human event line: one aligned line per transaction, at most `width` (100) columns:
///
///     TIME         OUTCOME    SOURCE               SERVER          TR  NAME TYPE               AT RESULT
///     00:24:15.043 unanswered payments/c…6f5-x2xkq 10.96.0.10      udp kubernetes…ter.local. A  2 -
///
/// Time (UTC, of the first attempt), outcome (the NDJSON word), source (`namespace/pod`
/// when `--pods` knows it, else ip:port), server (ip, with `:port` unless 53), transport,
/// name and type (a long name cut in the middle, the type kept whole), attempts, and
/// the result: the rcode when it is not NOERROR, else the latency (`-` without an answer);
/// `icmp T/C` when rejected, `tcp nosyn`, `tcp reset`, `tcp icmp` or `tcp -` when the
/// TCP fallback failed (no SYN-ACK, reset, rejected, unanswered). Fields longer than
/// their column are cut in the middle with `…`, so every line fits.
public struct EventLineFormatter {
    public static let width = 100
    /// Column widths, in order: time, outcome, source, server, transport, name, attempts.
    static let columns = [12, 10, 20, 15, 3, 23, 2]

    public var directory: ClusterDirectory

    public init(directory: ClusterDirectory = ClusterDirectory()) {
        self.directory = directory
    }

    /// The header line, aligned with the event lines.
    public var header: String {
        Self.align(["TIME", "OUTCOME", "SOURCE", "SERVER", "TR", "NAME TYPE", "AT"], result: "RESULT", rightAligned: [])
    }

    /// The line of `transaction`.
    public func line(_ transaction: Transaction) -> String {
        let time = String(transaction.firstTime.rfc3339.dropFirst(11).prefix(12))
        let source: String
        if let pod = directory.pod(at: transaction.client.ip) {
            source = "\(pod.namespace)/\(pod.name)"
        } else {
            source = transaction.client.description
        }
        var name = transaction.qname ?? "-"
        if let type = transaction.question?.type {
            // The type is kept whole; a long name is cut in the middle to make room for it.
            let text = " \(type)"
            name = Self.middleCut(name, to: max(2, Self.columns[5] - text.count)) + text
        }
        // The server without its port when it is 53 (the column is narrow; other ports show).
        let server = transaction.server.port == 53 ? transaction.server.ip.description : transaction.server.description
        return Self.align([time, transaction.outcome.rawValue, source, server,
                           transaction.transport.description, name, String(transaction.attemptCount)],
                          result: Self.result(transaction), rightAligned: [6])
    }

    /// A FINDING line: time (UTC, wall clock), kind and title, and what changed when it is not new.
    public static func findingLine(_ announcement: FindingAnnouncement, at time: Timestamp) -> String {
        var line = String(time.rfc3339.dropFirst(11).prefix(12)) + " FINDING " + announcement.finding.kind.rawValue
        if !announcement.isNew {
            var changes: [String] = []
            if !announcement.newSources.isEmpty { changes.append("+\(announcement.newSources.count) source\(announcement.newSources.count == 1 ? "" : "s")") }
            if !announcement.newServers.isEmpty { changes.append("+\(announcement.newServers.count) server\(announcement.newServers.count == 1 ? "" : "s")") }
            line += " (changed: " + changes.joined(separator: ", ") + ")"
        }
        return line + ": " + announcement.finding.title
    }

    /// The last column: what became of the query, in a few characters.
    static func result(_ transaction: Transaction) -> String {
        if let rejection = transaction.rejection, transaction.outcome == .rejected {
            return "icmp \(rejection.error.type)/\(rejection.error.code)"
        }
        if let fallback = transaction.fallback, fallback.outcome != .answered {
            switch fallback.outcome {
            case .handshakeFailed: return "tcp nosyn"
            case .reset: return "tcp reset"
            case .rejected: return "tcp icmp"
            case .unanswered, .answered: return "tcp -"
            }
        }
        if let rcode = transaction.fallback?.rcode ?? transaction.response?.rcode, rcode != .noError {
            return rcode.description
        }
        guard let latency = transaction.latency else { return "-" }
        let milliseconds = latency.milliseconds
        return milliseconds < 100 ? "\(Double(Int(milliseconds * 10)) / 10) ms" : "\(Int(milliseconds)) ms"
    }

    /// `fields` padded to `columns` (cut in the middle when longer), then `result`; the
    /// whole cut to `width`. Fields in `rightAligned` are padded on the left.
    static func align(_ fields: [String], result: String, rightAligned: Set<Int>) -> String {
        var line = ""
        for (index, field) in fields.enumerated() {
            let width = columns[index]
            let cut = middleCut(field, to: width)
            let padding = String(repeating: " ", count: width - cut.count)
            line += rightAligned.contains(index) ? padding + cut : cut + padding
            line += " "
        }
        line += result
        if line.count > width { line = String(line.prefix(width)) }
        while line.hasSuffix(" ") { line.removeLast() }
        return line
    }

    /// `text` at most `width` characters: the start and the end kept, `…` between.
    static func middleCut(_ text: String, to width: Int) -> String {
        guard text.count > width, width > 1 else { return text }
        let tail = (width - 1) / 2
        return String(text.prefix(width - 1 - tail)) + "…" + String(text.suffix(tail))
    }
}
