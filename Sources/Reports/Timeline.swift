import PacketDecoding
import WireCore

/// Counts per time bucket and source, for the HTML timeline. Bounded whatever the times:
/// at most `maximumBuckets` buckets (the width doubles, merging pairs, as the charted span
/// grows, up to `maximumBucketSeconds`) and `maximumSources` sources (the rest pooled as
/// "other").
///
/// A transaction the chart cannot reach without wider buckets — a clock that jumped by more
/// than the widest chart (28 days), a file from another year in a rotated set, a time at
/// the ends of the 64-bit clock — is counted in `outsideRange` instead of stretching every
/// bucket. When those outnumber the charted ones by more than two to one, the chart moves
/// to them (the transactions it held are counted outside), so it shows where most
/// transactions fell, not where the first one did.
public struct Timeline: Sendable {
    public static let maximumBuckets = 600
    public static let maximumSources = 200
    /// Widest bucket (a power of two, as widths double from 1 s): 600 buckets of 4,096 s chart 28 days.
    public static let maximumBucketSeconds: Int64 = 4096
    /// Times the chart accepts (the years 1843 to 2096): the difference of any two fits in
    /// an Int64, so no arithmetic on them can overflow.
    public static let chartableNanoseconds: ClosedRange<Int64> = -4_000_000_000_000_000_000 ... 4_000_000_000_000_000_000
    static let maximumSpanNanoseconds = Int64(maximumBuckets) * maximumBucketSeconds * 1_000_000_000

    public struct Series: Sendable {
        public var queries: [Int] = []
        public var failed: [Int] = []
    }

    public private(set) var start: Timestamp?
    /// Bucket width in seconds (1, 2, 4, ... at most `maximumBucketSeconds`).
    public private(set) var bucketSeconds: Int64 = 1
    public private(set) var series: [IPAddress: Series] = [:]
    /// Sources beyond `maximumSources`, pooled.
    public private(set) var other = Series()
    public private(set) var bucketCount = 0
    /// Transactions not charted: out of reach of the chart's span (see the type's comment).
    public private(set) var outsideRange = 0
    /// Transactions in the chart now.
    public private(set) var charted = 0
    /// Of `outsideRange`, those counted since the chart last moved.
    private var outsideSinceMove = 0

    /// Whether sources get their series: only the HTML chart reads them (an evidence
    /// bundle's report.html); without it, the chart's span and what falls outside it are
    /// still kept (the report's warning), at no per-source cost (a lookup per transaction).
    public let chartsSources: Bool

    public init(chartsSources: Bool = true) {
        self.chartsSources = chartsSources
    }

    private var bucketNanoseconds: Int64 { bucketSeconds * 1_000_000_000 }

    mutating func add(source: IPAddress, at time: Timestamp, failed: Bool) {
        guard Timeline.chartableNanoseconds.contains(time.nanoseconds) else {
            outsideRange += 1
            return
        }
        guard let index = place(time) else {
            if outsideSinceMove + 1 > 2 * charted {
                restart()
            } else {
                outsideRange += 1
                outsideSinceMove += 1
                return
            }
            return add(source: source, at: time, failed: failed)
        }
        charted += 1
        bucketCount = max(bucketCount, index + 1)
        guard chartsSources else { return }
        if let known = series.index(forKey: source) {
            Timeline.bump(&series.values[known], index, failed)
        } else if series.count < Timeline.maximumSources {
            var new = Series()
            Timeline.bump(&new, index, failed)
            series[source] = new
        } else {
            Timeline.bump(&other, index, failed)
        }
    }

    /// The bucket of a chartable `time`, widening or shifting the chart to reach it; nil
    /// when reaching it would take buckets wider than `maximumBucketSeconds`.
    @inline(__always)
    private mutating func place(_ time: Timestamp) -> Int? {
        guard let start else {
            // The chart starts on the whole second (floor, also before 1970).
            let remainder = time.nanoseconds % 1_000_000_000
            self.start = Timestamp(nanoseconds: time.nanoseconds - (remainder < 0 ? remainder + 1_000_000_000 : remainder))
            return place(time)
        }
        // Both times are chartable: the difference fits.
        let offset = time.nanoseconds - start.nanoseconds
        if offset >= 0 {
            guard offset < Timeline.maximumSpanNanoseconds else { return nil }
            while offset / bucketNanoseconds >= Int64(Timeline.maximumBuckets) { coarsen() }
            return Int(offset / bucketNanoseconds)
        }
        // Transactions close out of order by a few seconds; the chart starts at the earliest
        // first attempt seen, shifting its buckets right when an earlier one appears.
        guard -offset + Int64(bucketCount + 1) * bucketNanoseconds <= Timeline.maximumSpanNanoseconds else { return nil }
        // Widen first, so the shift never pads more than `maximumBuckets` buckets (an earlier
        // transaction days before the chart padded millions of 1 s buckets per source).
        while -offset / bucketNanoseconds + 1 + Int64(bucketCount) > Int64(Timeline.maximumBuckets) {
            guard bucketSeconds < Timeline.maximumBucketSeconds else { return nil }
            coarsen()
        }
        let shift = -offset / bucketNanoseconds + 1
        self.start = Timestamp(nanoseconds: start.nanoseconds - shift * bucketNanoseconds)
        shiftRight(by: Int(shift))
        return place(time)
    }

    /// Starts the chart afresh at `time`; what it held is counted outside.
    private mutating func restart() {
        outsideRange += charted
        charted = 0
        outsideSinceMove = 0
        start = nil
        bucketSeconds = 1
        series = [:]
        other = Series()
        bucketCount = 0
    }

    private static func bump(_ series: inout Series, _ index: Int, _ failed: Bool) {
        if series.queries.count <= index {
            series.queries += Array(repeating: 0, count: index + 1 - series.queries.count)
            series.failed += Array(repeating: 0, count: index + 1 - series.failed.count)
        }
        series.queries[index] += 1
        if failed { series.failed[index] += 1 }
    }

    private mutating func coarsen() {
        bucketSeconds *= 2
        func merge(_ values: [Int]) -> [Int] {
            stride(from: 0, to: values.count, by: 2).map { values[$0] + ($0 + 1 < values.count ? values[$0 + 1] : 0) }
        }
        series = series.mapValues { Series(queries: merge($0.queries), failed: merge($0.failed)) }
        other.queries = merge(other.queries)
        other.failed = merge(other.failed)
        bucketCount = (bucketCount + 1) / 2
    }

    private mutating func shiftRight(by count: Int) {
        let padding = Array(repeating: 0, count: count)
        series = series.mapValues { Series(queries: padding + $0.queries, failed: padding + $0.failed) }
        if !other.queries.isEmpty {
            other.queries = padding + other.queries
            other.failed = padding + other.failed
        }
        bucketCount += count
        while bucketCount > Timeline.maximumBuckets { coarsen() }
    }
}
