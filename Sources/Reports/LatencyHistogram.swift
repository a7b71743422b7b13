/// Latency of answered queries in microseconds, bucketed exactly as an HDR histogram of
/// three significant digits (lowest discernible value 1, highest 1 h), but stored sparsely:
/// only buckets that hold a count take memory (12 bytes each), so a server with one answer
/// costs a few dozen bytes instead of the 188 KB of a dense HDR histogram.
///
/// Invariant: while a histogram holds at most `maximumBuckets` distinct buckets its
/// percentiles are those of `Histogram<UInt64>(lowestDiscernibleValue: 1,
/// highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)` fed the same
/// values. Past that, adjacent buckets merge pairwise (one significant bit less each time,
/// at worst 5 of the 11 bits: about 3 % resolution), so one histogram never exceeds
/// `maximumBuckets` entries (12 KB), plus, above `indexedAbove` buckets, the index that
/// finds a bucket in constant time (3.6 KB at full precision, less once merged).
public struct LatencyHistogram: Sendable, Equatable {
    /// Values above this (1 h in microseconds) are recorded as this.
    public static let highestTrackableValue: UInt64 = 3_600_000_000
    /// Distinct buckets kept before precision halves.
    public static let maximumBuckets = 1024
    /// log2 of half the sub-buckets per bucket at full precision: three significant digits
    /// need 2,048 sub-buckets (HDR: the power of two above 2 × 10^3).
    static let fullPrecision = 10
    /// Buckets above which `record` finds a value's bucket through the bit index: the
    /// binary search over a thousand buckets is ten dependent loads, `record` the merging
    /// thread's largest item on the benchmark's capture (perf: 2.4 % of all samples).
    static let indexedAbove = 64

    /// Current log2 of half the sub-buckets per power-of-two bucket (`fullPrecision` until merged).
    public private(set) var precision = LatencyHistogram.fullPrecision
    /// Bucket indices with a count, ascending, and their counts.
    private var indices: [UInt32] = []
    private var counts: [UInt64] = []
    public private(set) var totalCount: UInt64 = 0
    private var maxValue: UInt64 = 0
    private var minNonZeroValue: UInt64 = .max
    /// Empty while at most `indexedAbove` buckets are held; then one bit per possible bucket
    /// index at the current precision, set for each held, and per 64-bit word the number of
    /// held buckets before it: a bucket's position in `indices` is `heldBefore[word]` plus
    /// the bits set below its own (two independent loads and a population count).
    private var held: [UInt64] = []
    private var heldBefore: [UInt16] = []

    public init() {}

    /// Distinct buckets held (memory is 12 bytes each).
    public var bucketCount: Int { indices.count }

    /// Records one value (clamped to `highestTrackableValue`).
    public mutating func record(_ value: UInt64) {
        let value = Swift.min(value, LatencyHistogram.highestTrackableValue)
        let index = UInt32(truncatingIfNeeded: LatencyHistogram.index(of: value, precision: precision))
        if held.isEmpty {
            let position = insertionPoint(index)
            if position < indices.count, indices[position] == index {
                counts[position] &+= 1
            } else {
                insert(index, at: position)
            }
        } else {
            let word = Int(truncatingIfNeeded: index &>> 6)
            let bit: UInt64 = 1 &<< UInt64(index & 63)
            let bits = held[word]
            let position = Int(truncatingIfNeeded: heldBefore[word]) &+ (bits & (bit &- 1)).nonzeroBitCount
            if bits & bit != 0 {
                counts[position] &+= 1
            } else {
                insert(index, at: position)
            }
        }
        totalCount &+= 1
        if value > maxValue { maxValue = value }
        if value != 0, value < minNonZeroValue { minNonZeroValue = value }
        while indices.count > LatencyHistogram.maximumBuckets, precision > 1 { halvePrecision() }
    }

    /// Adds a bucket of one value at its place, in the index too.
    private mutating func insert(_ index: UInt32, at position: Int) {
        indices.insert(index, at: position)
        counts.insert(1, at: position)
        if !held.isEmpty {
            let word = Int(truncatingIfNeeded: index &>> 6)
            held[word] |= 1 &<< UInt64(index & 63)
            for later in (word + 1)..<heldBefore.count { heldBefore[later] &+= 1 }
        } else if indices.count > LatencyHistogram.indexedAbove {
            buildIndex()
        }
    }

    /// Builds the bit index from `indices` at the current precision, or drops it when at
    /// most `indexedAbove` buckets are held (so that equal contents have equal indexes).
    private mutating func buildIndex() {
        guard indices.count > LatencyHistogram.indexedAbove else {
            (held, heldBefore) = ([], [])
            return
        }
        let words = LatencyHistogram.index(of: LatencyHistogram.highestTrackableValue, precision: precision) >> 6 + 1
        held = Array(repeating: 0, count: words)
        heldBefore = Array(repeating: 0, count: words)
        for index in indices { held[Int(index >> 6)] |= 1 << UInt64(index & 63) }
        var before = 0
        for word in 0..<words {
            heldBefore[word] = UInt16(before)
            before += held[word].nonzeroBitCount
        }
    }

    /// The largest value that `percentile` % of recorded values are at or below, as HDR
    /// reports it: the highest value equivalent to that bucket, clamped to [min, max].
    public func valueAtPercentile(_ percentile: Double) -> UInt64 {
        guard percentile != 0 else { return min }
        guard percentile < 100 else { return maxValue }
        let requested = Swift.min(Swift.max(percentile.nextDown, 0), 100)
        let countAtPercentile = Swift.max(1, UInt64(((requested * Double(totalCount)) / 100).rounded(.up)))
        var cumulative: UInt64 = 0
        for (position, index) in indices.enumerated() {
            cumulative &+= counts[position]
            if cumulative >= countAtPercentile {
                let value = LatencyHistogram.highestEquivalent(of: LatencyHistogram.value(at: Int(index), precision: precision),
                                                               precision: precision)
                return Swift.max(Swift.min(value, maxValue), min)
            }
        }
        return 0
    }

    /// The smallest value recorded (0 when a 0 was recorded or nothing was).
    public var min: UInt64 {
        (indices.first == 0 || totalCount == 0) ? 0 : minNonZeroValue
    }

    /// The highest value equivalent to the largest recorded, as HDR's `max`.
    public var max: UInt64 {
        maxValue == 0 ? 0 : LatencyHistogram.highestEquivalent(of: maxValue, precision: precision)
    }

    /// Merges each pair of adjacent buckets: bucket boundaries at one precision are a
    /// subset of those at the next, so every count lands in the bucket holding its values.
    private mutating func halvePrecision() {
        let coarser = precision - 1
        var mergedIndices: [UInt32] = []
        var mergedCounts: [UInt64] = []
        mergedIndices.reserveCapacity(indices.count / 2 + 1)
        mergedCounts.reserveCapacity(indices.count / 2 + 1)
        for (position, index) in indices.enumerated() {
            let lowest = LatencyHistogram.value(at: Int(index), precision: precision)
            let merged = UInt32(truncatingIfNeeded: LatencyHistogram.index(of: lowest, precision: coarser))
            if mergedIndices.last == merged {
                mergedCounts[mergedCounts.count - 1] &+= counts[position]
            } else {
                mergedIndices.append(merged)
                mergedCounts.append(counts[position])
            }
        }
        indices = mergedIndices
        counts = mergedCounts
        precision = coarser
        buildIndex()
    }

    private func insertionPoint(_ index: UInt32) -> Int {
        // Through the buffer: the probes stay within it, and the array's bounds check on
        // every probe was a quarter of a record's cost. The range halves the same way
        // whatever is found: the loop's own branch is always predicted, only the step's is
        // not (the compiler keeps it a branch however it is written). 10 % less time per
        // record than the classic search (perf samples, 5 M capture).
        indices.withUnsafeBufferPointer { buckets in
            var base = 0
            var length = buckets.count
            guard length > 0 else { return 0 }
            while length > 1 {
                let half = length &>> 1
                if buckets[base &+ half] < index { base &+= half }
                length &-= half
            }
            return buckets[base] < index ? base &+ 1 : base
        }
    }

    // HDR's bucket arithmetic (unit magnitude 0), for `precision` = log2(sub-buckets / 2).

    @inline(__always)
    static func bucket(of value: UInt64, precision: Int) -> Int {
        let mask = (UInt64(1) << (precision + 1)) - 1
        return (63 - precision) - (value | mask).leadingZeroBitCount
    }

    @inline(__always)
    static func index(of value: UInt64, precision: Int) -> Int {
        let bucket = bucket(of: value, precision: precision)
        let subBucket = Int(value >> bucket)
        return ((bucket + 1) << precision) + subBucket - (1 << precision)
    }

    static func value(at index: Int, precision: Int) -> UInt64 {
        var bucket = (index >> precision) - 1
        var subBucket = (index & ((1 << precision) - 1)) + (1 << precision)
        if bucket < 0 {
            subBucket -= 1 << precision
            bucket = 0
        }
        return UInt64(subBucket) << bucket
    }

    static func highestEquivalent(of value: UInt64, precision: Int) -> UInt64 {
        let bucket = bucket(of: value, precision: precision)
        let lowest = UInt64(Int(value >> bucket)) << bucket
        return lowest + (UInt64(1) << bucket) - 1
    }
}
