import WireCore

/// One vantage point's clock against the reference vantage's, as the report shows it.
public struct VantageClock: Sendable, Equatable {
    public var name: String
    /// Its input files, each numbered on from the previous vantage's last frame.
    public var inputs: [InputSummary]
    /// Transactions its own analysis closed (before merging; held or not).
    public var transactions: Int
    /// The vantage whose clock the report's times are on.
    public var isReference: Bool
    /// How far this vantage's clock is ahead of the reference's (its times minus the
    /// reference's for the same packet); nil when it could not be matched. 0 for the reference.
    public var offset: Duration?
    /// The vantage it was matched with (the reference, or one matched before it).
    public var matchedWith: String?
    /// The samples the offset is the median of: query-and-answer exchanges seen both here and
    /// at `matchedWith` (or, without any, single DNS messages seen at both).
    public var sharedMessages: Int
    /// True when the samples are exchanges (a query and its answer both seen at both).
    public var fromExchanges = false
    /// The smallest and largest of those differences, on the reference clock (one-way
    /// delays and clock error both widen it); nil when unmatched or for the reference.
    public var spreadLow: Duration?
    public var spreadHigh: Duration?

    public init(name: String, inputs: [InputSummary], transactions: Int, isReference: Bool, offset: Duration?,
                matchedWith: String?, sharedMessages: Int, spreadLow: Duration?, spreadHigh: Duration?) {
        self.name = name
        self.inputs = inputs
        self.transactions = transactions
        self.isReference = isReference
        self.offset = offset
        self.matchedWith = matchedWith
        self.sharedMessages = sharedMessages
        self.spreadLow = spreadLow
        self.spreadHigh = spreadHigh
    }

    /// False when no DNS message of this vantage was seen at another: its transactions are
    /// reported on its own clock and never merged with another vantage's.
    public var isMatched: Bool { offset != nil }

    /// The width of the spread (largest minus smallest difference).
    public var spread: Duration? {
        guard let spreadLow, let spreadHigh else { return nil }
        return spreadHigh - spreadLow
    }
}

/// The offset between two clocks from the time differences of the packets both saw: the
/// median (robust against a few mismatched messages), with the smallest and largest difference.
struct ClockEstimate: Equatable {
    var offset: Duration
    var low: Duration
    var high: Duration
    var samples: Int
    var fromExchanges = false

    /// nil for no samples. `differences` are the second clock's times minus the first's.
    init?(differences: [Int64]) {
        guard !differences.isEmpty else { return nil }
        let sorted = differences.sorted()
        let middle = sorted.count / 2
        let median = sorted.count % 2 == 1
            ? sorted[middle]
            : sorted[middle - 1] / 2 + sorted[middle] / 2 + (sorted[middle - 1] % 2 + sorted[middle] % 2) / 2
        offset = Duration(nanoseconds: median)
        low = Duration(nanoseconds: sorted[0])
        high = Duration(nanoseconds: sorted[sorted.count - 1])
        samples = sorted.count
    }
}
