import Transactions
import WireCore

/// Each vantage's clock against the reference's, from the DNS messages two vantages saw.
extension VantageMerger {
    /// The clock estimate of `second` against `first` from the messages each saw once. Where
    /// both saw a query and its answer, each exchange gives ((query difference) + (answer
    /// difference)) / 2, in which the one-way delays cancel but for their asymmetry (as NTP
    /// does); only without such exchanges are the one-way differences used.
    ///
    /// Samples are taken in the first vantage's transaction order (never a dictionary's,
    /// which changes from run to run), so the same captures always give the same estimate.
    func estimate(_ first: Int, _ second: Int) -> ClockEstimate? {
        var oneWay: [Int64] = []
        var exchanges: [Int64] = []
        /// The second clock's time minus the first's for a message each saw once.
        func difference(_ key: MessageKey) -> Int64? {
            guard let here = sightings[first][key], here.count == 1,
                  let there = sightings[second][key], there.count == 1 else { return nil }
            return there.time.nanoseconds.saturatingSubtract(here.time.nanoseconds)
        }
        sampling: for transaction in transactions[first] {
            for attempt in transaction.attempts {
                if oneWay.count >= Self.maximumSamplesPerPair && exchanges.count >= Self.maximumSamplesPerPair { break sampling }
                var key = Self.queryKey(transaction, attempt)
                guard let query = difference(key) else { continue }
                key.isResponse = true
                let answer = difference(key)
                if oneWay.count < Self.maximumSamplesPerPair {
                    oneWay.append(query)
                    if let answer, oneWay.count < Self.maximumSamplesPerPair { oneWay.append(answer) }
                }
                if let answer, exchanges.count < Self.maximumSamplesPerPair { exchanges.append(query / 2 + answer / 2) }
            }
        }
        var estimate = ClockEstimate(differences: exchanges.isEmpty ? oneWay : exchanges)
        estimate?.fromExchanges = !exchanges.isEmpty
        return estimate
    }

    /// The vantage nearest the clients: for each query two vantages saw once and answered,
    /// the one that waited longer for the answer is nearer the client. The most such wins
    /// makes the reference; on a tie, the one sharing messages with the most other vantages
    /// (a vantage that shares nothing never becomes the reference of those that do); then the first.
    func referenceVantage(estimates: [[ClockEstimate?]]) -> Int {
        var wins = Array(repeating: 0, count: names.count)
        for first in names.indices {
            for second in names.indices where second > first {
                for (key, seen) in sightings[first] where seen.count == 1 && !key.isResponse {
                    guard let here = seen.roundTrip, let other = sightings[second][key], other.count == 1,
                          let there = other.roundTrip, here != there else { continue }
                    wins[here > there ? first : second] += 1
                }
            }
        }
        let partners = names.indices.map { index in estimates[index].filter { $0 != nil }.count }
        var best = 0
        for index in wins.indices where (wins[index], partners[index]) > (wins[best], partners[best]) { best = index }
        return best
    }

    /// Each vantage's clock against the reference: matched outwards from it, each vantage
    /// through the already matched one it shares the most messages with.
    func clocks(inputs: [[InputSummary]]) -> [VantageClock] {
        let estimates: [[ClockEstimate?]] = names.indices.map { first in
            names.indices.map { second in first == second ? nil : estimate(first, second) }
        }
        let reference = referenceVantage(estimates: estimates)
        var clocks = names.indices.map { index in
            VantageClock(name: names[index], inputs: inputs.indices.contains(index) ? inputs[index] : [],
                         transactions: transactions[index].count, isReference: index == reference,
                         offset: index == reference ? Duration(nanoseconds: 0) : nil, matchedWith: nil,
                         sharedMessages: 0, spreadLow: nil, spreadHigh: nil)
        }
        var changed = true
        while changed {
            changed = false
            for index in names.indices where clocks[index].offset == nil {
                var best: (partner: Int, estimate: ClockEstimate)?
                for partner in names.indices {
                    guard clocks[partner].offset != nil, let estimate = estimates[partner][index] else { continue }
                    if best == nil || estimate.samples > (best?.estimate.samples ?? 0) { best = (partner, estimate) }
                }
                guard let best, let base = clocks[best.partner].offset else { continue }
                clocks[index].offset = base + best.estimate.offset
                clocks[index].matchedWith = names[best.partner]
                clocks[index].sharedMessages = best.estimate.samples
                clocks[index].fromExchanges = best.estimate.fromExchanges
                clocks[index].spreadLow = base + best.estimate.low
                clocks[index].spreadHigh = base + best.estimate.high
                changed = true
            }
        }
        return clocks
    }
}
