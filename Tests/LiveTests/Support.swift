import Capture
import Foundation
import Pipeline
import Transactions
import WireCore

/// Where the bundled captures are.
enum Paths {
    /// The package root (Tests/LiveTests/Support.swift is three levels down).
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func capture(_ name: String) -> String { root.appendingPathComponent("captures/\(name)").path }
}

/// What a replayed capture handed to the live hooks, in order.
final class Replay {
    enum Event {
        case expired(Transaction)
        case closed(Transaction)
    }

    var events: [Event] = []
    var closed: [Transaction] { events.compactMap { if case .closed(let t) = $0 { t } else { nil } } }
    var expired: [Transaction] { events.compactMap { if case .expired(let t) = $0 { t } else { nil } } }

    /// Replays `capture` (a file of captures/) through the analyzer as a live run sees it:
    /// the expiry hook and the closed transactions, in order; `finish` closes what is left.
    static func of(_ capture: String, finish: Bool = true, timeout: Duration = TransactionEngine.defaultTimeout,
                   advanceBy: Duration = Duration(nanoseconds: 0)) throws -> Replay {
        let replay = Replay()
        var options = AnalysisOptions()
        options.timeout = timeout
        var analyzer = Analyzer(options: options)
        analyzer.onExpiry = { replay.events.append(.expired($0)) }
        let file = try OfflineCapture(path: Paths.capture(capture))
        var last = Timestamp(nanoseconds: 0)
        while case .frame(let frame) = file.next() {
            last = frame.timestamp
            analyzer.process(frame: frame.number, time: frame.timestamp, bytes: frame.bytes,
                             originalLength: frame.originalLength, linkType: frame.linkType) { replay.events.append(.closed($0)) }
        }
        if advanceBy.nanoseconds > 0 {
            analyzer.advanceIdle(to: last + advanceBy) { replay.events.append(.closed($0)) }
        }
        if finish { analyzer.finish { replay.events.append(.closed($0)) } }
        return replay
    }
}
