import Capture
import WireCore

/// How far an offline run has got, for a progress display.
public struct OfflineProgress: Sendable, Equatable {
    /// Stored bytes read (compressed bytes for gzip inputs), over all inputs so far.
    public var bytesRead: Int64
    /// The stored size of all inputs; nil when one is a stream (its size is unknown).
    public var totalBytes: Int64?
    public var frames: Int
    /// Wall-clock time since the run started.
    public var elapsed: Duration
    /// The last call, at the end of the run.
    public var isFinal: Bool

    public init(bytesRead: Int64, totalBytes: Int64?, frames: Int, elapsed: Duration, isFinal: Bool = false) {
        self.bytesRead = bytesRead
        self.totalBytes = totalBytes
        self.frames = frames
        self.elapsed = elapsed
        self.isFinal = isFinal
    }

    /// The share done, 0...1, when the total is known and not zero.
    public var fraction: Double? {
        guard let totalBytes, totalBytes > 0 else { return nil }
        return min(1, max(0, Double(bytesRead) / Double(totalBytes)))
    }

    /// Time left at the rate so far, once there is something to go by.
    public var remaining: Duration? {
        guard let fraction, fraction > 0.001, fraction < 1 else { return nil }
        let seconds = elapsed.seconds * (1 - fraction) / fraction
        return Duration(nanoseconds: Int64(min(seconds, 1e9) * 1e9))
    }

    /// The stored size of every input, or nil when one is a stream.
    static func total(of inputs: [OrderedInput]) -> Int64? {
        var total: Int64 = 0
        for input in inputs {
            guard let size = input.storedSize else { return nil }
            total += size
        }
        return total
    }
}

/// Calls a progress callback at most every `interval` of wall time; checked every
/// `frameMask + 1` frames, so the clock is read rarely.
struct ProgressTracker {
    static let frameMask = 4095
    static let interval = Duration(nanoseconds: 250_000_000)

    let total: Int64?
    let report: (OfflineProgress) -> Void
    private let start = monotonicClock()
    private var last = monotonicClock()
    /// Stored bytes of the inputs already read to their end.
    private var finishedBytes: Int64 = 0

    init(total: Int64?, report: @escaping (OfflineProgress) -> Void) {
        self.total = total
        self.report = report
    }

    mutating func tick(frames: Int, current: OfflineCapture) {
        let now = monotonicClock()
        guard now - last >= Self.interval else { return }
        last = now
        report(OfflineProgress(bytesRead: finishedBytes + (current.storedBytesRead ?? 0), totalBytes: total, frames: frames,
                               elapsed: now - start))
    }

    mutating func finishInput(_ storedBytes: Int64) { finishedBytes += storedBytes }

    func end(frames: Int) {
        report(OfflineProgress(bytesRead: total ?? finishedBytes, totalBytes: total, frames: frames,
                               elapsed: monotonicClock() - start, isFinal: true))
    }
}
