import PacketDecoding
import Transactions
import WireCore

/// A resolver that drops queries above a packet rate: the Amazon VPC resolver
/// (169.254.169.253, or the VPC base address plus two) drops above 1024 packets per second
/// per network interface, so CoreDNS forwarding to it, or hostNetwork pods, lose queries
/// in bursts. The signature: from one source address to one resolver, the share of
/// attempts left unanswered rises with that second's query rate — none lost at a low rate,
/// many at a high one.
///
/// Per (source, server) pair, attempts are counted per second of capture time (sent, and
/// lost: an attempt no answer came to); seconds older than `horizon` behind the newest are
/// folded into bins by their rate (powers of two), so memory stays bounded on long captures.
struct ResolverThrottledRule: DiagnosisRule {
    static let kind = FindingKind.resolverThrottled

    /// (source, server) pairs tracked; beyond, new pairs are not.
    static let maximumPairs = 1_024
    /// Seconds kept unfolded per pair: further back than the newest by this many are folded
    /// (an unanswered transaction closes a timeout, or a late-answer window, after it was sent).
    static let horizonSeconds: Int64 = 180
    /// Seconds held unfolded per pair before the ones behind the horizon are folded: just
    /// above the horizon, so a pair's table stays in the dictionary's 256-bucket size (192
    /// entries) — at 256 each of a thousand pairs grew to 512 buckets on long captures.
    static let maximumSecondsPerPair = 191
    /// Failing seconds quoted as evidence per pair.
    static let maximumQuotedSeconds = 12
    /// Rate bins: attempts per second in [2^k, 2^(k+1)).
    static let bins = 24
    /// At least this many lost attempts before a pattern is claimed.
    static let minimumLost = 5

    struct Pair {
        var source: IPAddress
        var server: IPAddress
    }

    /// One second's attempts, 4 bytes a count (a pair holds up to 191 seconds, a thousand
    /// pairs are tracked): a count beyond 2^32 − 1 in one second stays there.
    struct Second {
        private var storedSent: UInt32 = 0
        private var storedLost: UInt32 = 0

        init(sent: Int = 0, lost: Int = 0) {
            storedSent = UInt32(clamping: sent)
            storedLost = UInt32(clamping: lost)
        }

        var sent: Int {
            get { Int(storedSent) }
            set { storedSent = UInt32(clamping: newValue) }
        }

        var lost: Int {
            get { Int(storedLost) }
            set { storedLost = UInt32(clamping: newValue) }
        }
    }

    struct Bin {
        var seconds = 0
        var sent = 0
        var lost = 0
    }

    struct PairState {
        var seconds: [Int64: Second] = [:]
        var newest = Int64.min
        /// The counts of the second `newest`, not yet in `seconds`.
        var current = ResolverThrottledRule.Second()
        /// Seconds up to this one are folded into `bins`; an attempt in one of them comes too late.
        var foldedThrough = Int64.min
        var bins = [Bin](repeating: Bin(), count: ResolverThrottledRule.bins)
        /// Lost attempts whose second was already folded (a straggler): counted, not binned.
        var unbinned = 0
        /// Seconds with losses: (second, rate, lost), the first ones, for the evidence.
        var quoted: [(second: Int64, sent: Int, lost: Int)] = []
        /// Rendered only for a finding (`ExampleSource`): a thousand pairs keep theirs.
        var examples: [(source: ExampleSource, frames: [Int])] = []
        var frames = FrameList()
    }

    /// Pair states, and by source slot the (server, state index) of its pairs: a source asks
    /// a few servers, so a short scan finds its pair without hashing.
    private var pairList: [Pair] = []
    private var states: [PairState] = []
    private var pairsBySource: [[(server: IPAddress, state: Int)]] = []
    /// Servers tracked per source.
    static let maximumPairsPerSource = 16

    /// The most seconds any pair holds unfolded (bounded by `maximumSecondsPerPair`).
    var secondsHeld: Int { states.map(\.seconds.count).max() ?? 0 }

    mutating func observe(_ transaction: Transaction, source slot: Int) {
        guard transaction.transport == .udp,
              transaction.outcome == .answered || transaction.outcome == .late || transaction.outcome == .unanswered
        else { return }
        let server = transaction.server.ip
        while pairsBySource.count <= slot { pairsBySource.append([]) }
        let index: Int
        if let known = pairsBySource[slot].first(where: { $0.server == server }) {
            index = known.state
        } else {
            guard states.count < Self.maximumPairs, pairsBySource[slot].count < Self.maximumPairsPerSource else { return }
            index = states.count
            states.append(PairState())
            pairList.append(Pair(source: transaction.client.ip, server: server))
            pairsBySource[slot].append((server, index))
        }
        let answeredIndex = transaction.outcome == .unanswered ? nil : transaction.response?.attemptIndex
        for attemptIndex in transaction.attempts.indices {
            let second = transaction.attempts[attemptIndex].time.nanoseconds / 1_000_000_000
            states[index].count(second: second, lost: attemptIndex != answeredIndex)
        }
        if transaction.outcome == .unanswered {
            if states[index].examples.count < Diagnoser.maximumExamples {
                states[index].examples.append((ExampleSource(transaction), Diagnoser.frames(of: transaction)))
            }
            Diagnoser.appendFrames(Diagnoser.frames(of: transaction), to: &states[index].frames)
        }
    }

    func findings(_ observed: ObservedState, _ context: DiagnosisContext) -> [Finding] {
        var findings: [Finding] = []
        for (pair, state) in zip(pairList, states).sorted(by: { ($0.0.server, $0.0.source) < ($1.0.server, $1.0.source) }) {
            var bins = state.bins
            for (_, second) in state.allSeconds { bins[Self.bin(second.sent)].add(second) }
            guard let split = Self.split(bins) else { continue }
            findings.append(finding(pair, state, bins, split, context))
        }
        return findings
    }

    /// The rate threshold (a bin) below which almost nothing is lost and from which much is:
    /// nil when losses do not depend on the rate (a blocked path loses at every rate).
    struct Split {
        var bin: Int
        var below: Bin
        var above: Bin
    }

    static func split(_ bins: [Bin]) -> Split? {
        let lost = bins.reduce(0) { $0 + $1.lost }
        guard lost >= minimumLost else { return nil }
        var best: Split?
        var bestGap = 0.0
        for threshold in 1..<bins.count {
            var below = Bin(), above = Bin()
            for (index, bin) in bins.enumerated() {
                if index < threshold { below.add(bin) } else { above.add(bin) }
            }
            guard below.sent >= 20, below.seconds >= 2, above.lost >= minimumLost, above.seconds >= 1 else { continue }
            let lowShare = Double(below.lost) / Double(below.sent)
            let highShare = Double(above.lost) / Double(above.sent)
            // Throttling: at the high rate a real share is lost, at the low rate next to nothing.
            guard highShare >= 0.1, lowShare <= 0.02, highShare >= 5 * lowShare else { continue }
            // On a tie the higher threshold, the nearest to the rate the losses start at.
            if highShare - lowShare >= bestGap {
                bestGap = highShare - lowShare
                best = Split(bin: threshold, below: below, above: above)
            }
        }
        return best
    }

    static func bin(_ sent: Int) -> Int { min(bins - 1, max(0, Int.bitWidth - 1 - sent.leadingZeroBitCount)) }

    /// The Amazon VPC resolver's well-known addresses (the VPC base plus two cannot be known).
    static func isAmazonResolver(_ ip: IPAddress) -> Bool {
        ip == IPAddress("169.254.169.253") || ip == IPAddress("fd00:ec2::253")
    }

    private func finding(_ pair: Pair, _ state: PairState, _ bins: [Bin], _ split: Split, _ context: DiagnosisContext) -> Finding {
        let source = context.name(pair.source)
        let server = context.name(pair.server)
        let lowShare = Self.percent(split.below.lost, of: split.below.sent)
        let highShare = Self.percent(split.above.lost, of: split.above.sent)
        let threshold = 1 << split.bin
        let unfolded = state.allSeconds
        // Ordered on every field: a second can be both quoted and unfolded again (a straggler
        // after folding), and the unfolded ones come from a dictionary, whose order changes
        // from run to run; by second alone the quoted list did too (seen on 16 million frames).
        let lossSeconds = (state.quoted + unfolded.filter { $0.value.lost > 0 }.map { ($0.key, $0.value.sent, $0.value.lost) })
            .sorted { ($0.second, $0.sent, $0.lost) < ($1.second, $1.sent, $1.lost) }
        let lossRates = lossSeconds.map(\.sent).sorted()
        let known = unfolded.values.map(\.sent) + state.quoted.map(\.sent)
        let peak = max(known.max() ?? 0, bins.lastIndex { $0.seconds > 0 }.map { 1 << $0 } ?? 0)
        let evidence = lossSeconds.prefix(Self.maximumQuotedSeconds).map { "\($0.sent)/s (\($0.lost) lost)" }
            .joined(separator: ", ") + (lossSeconds.count > Self.maximumQuotedSeconds ? ", ..." : "")
        let amazon = Self.isAmazonResolver(pair.server)
        var explanation = "From \(source) to \(server), \(highShare) of the attempts sent in seconds with \(threshold) or more "
            + "queries went unanswered (\(split.above.lost) of \(split.above.sent)), against \(lowShare) below that rate "
            + "(\(split.below.lost) of \(split.below.sent)). Losses rise with the query rate: the resolver, or a limit in front "
            + "of it, drops what exceeds a packet rate."
        if !evidence.isEmpty { explanation += " Query rate in the seconds with losses: \(evidence)." }
        explanation += amazon
            ? " \(pair.server) is the Amazon VPC resolver's address; it drops DNS packets above 1024 per second per "
                + "network interface."
            : " The Amazon VPC resolver (169.254.169.253, or the VPC base address plus two) drops above 1024 packets per "
                + "second per network interface; other resolvers have rate limits too (unbound ratelimit, BIND rate-limit, "
                + "dnsmasq dns-forward-max, a firewall `limit rate`)."
        return Finding(
            kind: Self.kind, confidence: amazon || split.below.lost == 0 ? .high : .medium,
            title: "Resolver \(server) drops queries from \(source) at high rates: \(highShare) lost at \(threshold)/s or more, "
                + "\(lowShare) below",
            explanation: explanation,
            counts: [("lost_attempts_at_high_rate", split.above.lost), ("attempts_at_high_rate", split.above.sent),
                     ("lost_attempts_at_low_rate", split.below.lost), ("attempts_at_low_rate", split.below.sent),
                     ("rate_threshold_per_second", threshold), ("peak_rate_per_second", peak),
                     ("lowest_rate_with_losses", lossRates.first ?? 0)],
            sources: [source], servers: [server], examples: state.examples.map { $0.source.example(frames: $0.frames) },
            remediation: "Spread or cut the query rate to this resolver: cache in front of it (NodeLocal DNSCache, CoreDNS "
                + "`cache` with a longer TTL, prefetch), fewer lookups per client (ndots, FQDNs with a trailing dot), more "
                + "interfaces or nodes sending (the VPC limit is per ENI), or raise the limit where it is yours. Watch "
                + "`linklocal_allowance_exceeded` (ethtool -S on the ENA interface) on AWS.",
            frames: Array(state.frames.prefix(10_000)))
    }

    static func percent(_ part: Int, of whole: Int) -> String {
        guard whole > 0 else { return "0%" }
        let tenths = (part * 1000 + whole / 2) / whole
        return "\(tenths / 10).\(tenths % 10)%"
    }
}

extension ResolverThrottledRule.Bin {
    mutating func add(_ second: ResolverThrottledRule.Second) {
        seconds += 1
        sent += second.sent
        lost += second.lost
    }

    mutating func add(_ other: ResolverThrottledRule.Bin) {
        seconds += other.seconds
        sent += other.sent
        lost += other.lost
    }
}

extension ResolverThrottledRule.PairState {
    /// Counts one attempt in its second, folding seconds that fell behind the horizon. The
    /// newest second is counted apart (most attempts of a pair close in time order), and
    /// joins `seconds` when a later one begins.
    mutating func count(second: Int64, lost: Bool) {
        if second == newest {
            current.sent += 1
            if lost { current.lost += 1 }
            return
        }
        if second > newest {
            flush()
            newest = second
            current = ResolverThrottledRule.Second(sent: 1, lost: lost ? 1 : 0)
        } else if second > foldedThrough {
            if let index = seconds.index(forKey: second) {
                seconds.values[index].sent += 1
                if lost { seconds.values[index].lost += 1 }
            } else {
                seconds[second] = ResolverThrottledRule.Second(sent: 1, lost: lost ? 1 : 0)
            }
        } else {
            if lost { unbinned += 1 }
            return
        }
        if seconds.count > ResolverThrottledRule.maximumSecondsPerPair { fold() }
        if seconds.count > ResolverThrottledRule.maximumSecondsPerPair {
            // Every second within the horizon is busy: fold the oldest half.
            let sorted = seconds.keys.sorted()
            fold(through: sorted[sorted.count / 2])
        }
    }

    /// Moves the newest second's counts into `seconds`.
    private mutating func flush() {
        guard current.sent > 0, newest != Int64.min else { return }
        if let index = seconds.index(forKey: newest) {
            seconds.values[index].sent += current.sent
            seconds.values[index].lost += current.lost
        } else {
            seconds[newest] = current
        }
        current = ResolverThrottledRule.Second()
    }

    /// Every second counted, the newest included.
    var allSeconds: [Int64: ResolverThrottledRule.Second] {
        var all = seconds
        if current.sent > 0 {
            all[newest, default: ResolverThrottledRule.Second()].sent += current.sent
            all[newest, default: ResolverThrottledRule.Second()].lost += current.lost
        }
        return all
    }

    /// Folds every second behind the horizon (or up to `through`) into the rate bins.
    private mutating func fold(through: Int64? = nil) {
        let horizon = through ?? newest.saturatingSubtract(ResolverThrottledRule.horizonSeconds)
        foldedThrough = max(foldedThrough, horizon)
        // In time order: the seconds quoted are the first ones with losses, not whichever
        // the dictionary's order (new with every run) gave first.
        for (second, counts) in seconds.sorted(by: { $0.key < $1.key }) where second <= horizon {
            bins[ResolverThrottledRule.bin(counts.sent)].add(counts)
            if counts.lost > 0, quoted.count < ResolverThrottledRule.maximumQuotedSeconds {
                quoted.append((second, counts.sent, counts.lost))
            }
        }
        seconds = seconds.filter { $0.key > horizon }
    }
}
