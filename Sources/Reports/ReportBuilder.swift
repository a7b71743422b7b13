import DNSWire
import PacketDecoding
import Pipeline
import Transactions
import WireCore

/// Aggregates closed transactions into the figures of the report. Memory is bounded by
/// configuration, never by the input: servers, unanswered (source, server) groups and the
/// names they list are each capped; what is beyond a cap is pooled and counted.
public struct ReportBuilder {
    /// Distinct names kept per unanswered (source, server) group; the rest are counted in
    /// `otherNames`. Worst case with `maximumNamesInTotal`: see there.
    public static let maximumNamesPerGroup = 200
    /// Distinct names kept over all groups (a name is at most 255 bytes of text: with the
    /// dictionary entry, about 350 bytes, so at worst 35 MB); the rest count in `otherNames`.
    public static let maximumNamesInTotal = 100_000
    /// Distinct unanswered (source, server) groups kept; the failed queries of further
    /// groups are counted in `droppedGroups`. Worst case about 1.5 KB each without their
    /// names (15 MB).
    public static let maximumUnansweredGroups = 10_000
    /// Servers (address, port, transport) listed one by one; the transactions of further
    /// servers are pooled in `otherServers`. Worst case about 17 KB each (the latency
    /// histogram at its `LatencyHistogram.maximumBuckets`, with its bit index): 170 MB.
    public static let maximumServers = 10_000
    /// Distinct ICMP (reason, sender) pairs kept per group; further ones count in the group's
    /// `rejected` total only.
    public static let maximumRejectionKinds = 8

    public struct ServerKey: QuickHashable, Comparable, Sendable {
        public var server: Endpoint
        public var transport: Transport

        public var quickHash: UInt64 { server.mixed ^ UInt64(transport.rawValue) &* 0x94d0_49bb_1331_11eb }

        public static func < (lhs: ServerKey, rhs: ServerKey) -> Bool {
            (lhs.server.ip, lhs.server.port, lhs.transport.rawValue) < (rhs.server.ip, rhs.server.port, rhs.transport.rawValue)
        }
    }

    public struct ServerFigures: Sendable {
        public var queries = 0
        public var answered = 0
        /// Answers that came after the query's deadline (the client had given up): in
        /// `queries`, not in `answered` nor in the latency percentiles.
        public var late = 0
        /// The longest a late answer took, from the first attempt, in microseconds.
        public var lateMaximumMicroseconds: UInt64 = 0
        public var unanswered = 0
        public var rejected = 0
        /// Queries still waiting when the capture ended (in `queries`, not failures).
        public var inFlight = 0
        /// TCP connections that failed before any DNS message (no SYN-ACK, or RST).
        public var failedConnections = 0
        /// Where the server's queries were DNAT'ed to, and where answers came from instead
        /// (the first eight of each).
        public var backends: [Endpoint: Int] { backendCounts.dictionary }
        public var answeredFrom: [Endpoint: Int] { answeredFromCounts.dictionary }
        var backendCounts = BoundedCounts<Endpoint>()
        var answeredFromCounts = BoundedCounts<Endpoint>()
        /// Latency of answered queries, in microseconds.
        public var latency = LatencyHistogram()

        /// Counts one non-multicast transaction of this server.
        mutating func count(_ transaction: Transaction) {
            switch transaction.outcome {
            case .multicast:
                return
            case .answered:
                queries += 1
                answered += 1
                if let backend = transaction.backend { backendCounts.add(backend) }
                if let source = transaction.response?.source { answeredFromCounts.add(source) }
                if let latency = transaction.latency { self.latency.record(UInt64(max(0, latency.nanoseconds / 1000))) }
            case .late:
                queries += 1
                late += 1
                if let latency = transaction.latency {
                    lateMaximumMicroseconds = max(lateMaximumMicroseconds, UInt64(max(0, latency.nanoseconds / 1000)))
                }
            case .handshakeFailed, .reset:
                failedConnections += 1
            case .inFlight:
                queries += 1
                inFlight += 1
            case .unanswered:
                queries += 1
                unanswered += 1
            case .rejected:
                queries += 1
                rejected += 1
            }
        }
    }

    public struct NameKey: Hashable, Sendable {
        public var qname: String
        public var qtype: DNSType
    }

    /// An ICMP reason and its sender, for grouping rejections.
    public struct RejectionKey: Hashable, Sendable {
        public var reason: String
        public var sender: IPAddress
    }

    /// Failed (unanswered or rejected) queries of one source to one server.
    public struct UnansweredGroup: Sendable {
        public var queries = 0
        /// Of `queries`, those closed by an ICMP error, by reason and sender.
        public var rejected = 0
        public var rejections: [RejectionKey: Int] = [:]
        /// TCP connections from this source to this server that failed before any query.
        public var failedConnections = 0
        public var connectionFailures: [String: Int] = [:]
        public var attempts = 0
        public var first = Timestamp(nanoseconds: .max)
        public var last = Timestamp(nanoseconds: .min)
        public var names: [NameKey: Int] = [:]
        public var otherNames = 0
        /// Interfaces the failed queries were last seen on (`-i any` captures).
        public var lastSeenOn: [Int32: Int] = [:]
        /// VLAN tags and overlays the failed queries travelled in (a few distinct ones).
        public var vlans: [VLANIDs: Int] = [:]
        public var underlays: [Underlay: Int] = [:]
        /// Frame numbers of a few example attempts, for following up in Wireshark.
        public var exampleFrames: [Int] = []
    }

    public struct GroupKey: Hashable, Sendable {
        public var client: IPAddress
        public var server: ServerKey
    }

    public private(set) var transactions = 0
    public private(set) var answered = 0
    /// Answers that came after their query's deadline (`Outcome.late`): not answered, not
    /// unanswered, counted on their own.
    public private(set) var late = 0
    public private(set) var unanswered = 0
    public private(set) var rejected = 0
    public private(set) var failedConnections = 0
    /// Truncated answers and what became of their TCP retry, by outcome ("none" when the
    /// client did not retry over TCP).
    public private(set) var fallbackOutcomes: [String: Int] = [:]
    /// Truncated answers with their fallback, failed ones first when listed (bounded).
    public private(set) var fallbacks: [Transaction] = []
    public static let maximumListedFallbacks = 1000
    public private(set) var unansweredAtCaptureEnd = 0
    /// Queries sent once, less than the timeout before the capture ended: not failures.
    public private(set) var inFlight = 0
    public private(set) var multicast = 0
    public private(set) var retried = 0
    public private(set) var truncated = 0
    @inline(__always)
    private mutating func countRCode(of transaction: Transaction) {
        guard let response = transaction.response else { return }
        let code = Int(response.rcode.rawValue)
        if code < headerRCodes.count { headerRCodes[code] += 1 } else { otherRCodes[response.rcode, default: 0] += 1 }
    }

    /// Answers by rcode, late ones included.
    public var rcodes: [DNSRCode: Int] {
        var rcodes = otherRCodes
        for (code, count) in headerRCodes.enumerated() where count > 0 { rcodes[DNSRCode(UInt16(code))] = count }
        return rcodes
    }
    /// Counts of the sixteen rcodes a header can hold (RFC 1035 §4.1.1), by value; extended
    /// ones (RFC 6891 §6.1.3) are rare and counted in `otherRCodes`.
    private var headerRCodes = [Int](repeating: 0, count: 16)
    private var otherRCodes: [DNSRCode: Int] = [:]

    public var servers: [ServerKey: ServerFigures] {
        Dictionary(uniqueKeysWithValues: zip(serverIndex.keys, serverFigures))
    }
    /// Servers by slot, found once per transaction (clients share a few servers).
    private var serverIndex = CachedSlotIndex<ServerKey>()
    private var serverFigures: [ServerFigures] = []
    /// Servers beyond `maximumServers`, pooled into one row.
    public private(set) var otherServers = ServerFigures()
    /// Transactions (of any outcome) counted in `otherServers`.
    public private(set) var otherServerTransactions = 0
    public private(set) var unansweredGroups: [GroupKey: UnansweredGroup] = [:]
    public private(set) var droppedGroups = 0
    /// Names kept over all groups (capped by `maximumNamesInTotal`).
    public private(set) var namesKept = 0
    /// Answers whose capture time is before their query's (packets out of time order, a
    /// clock stepped back): answered, with no latency.
    public private(set) var answersTimedBeforeQuery = 0

    /// Queries and failures per time bucket per source, for the HTML timeline.
    public private(set) var timeline: Timeline
    /// Answered-query latencies in power-of-two microsecond buckets: bucket i holds
    /// latencies in [2^i, 2^(i+1)) µs (bucket 0 also holds < 1 µs).
    public private(set) var latencyBuckets = [Int](repeating: 0, count: 40)
    /// Failed lookups of a `--vantage` run lost between two vantages, with their path.
    public private(set) var lostLookups = LostLookups()

    /// `chartsTimeline`: whether the report may be rendered in HTML (the timeline's series
    /// by source cost a lookup per transaction, for the chart only).
    public init(chartsTimeline: Bool = true) {
        timeline = Timeline(chartsSources: chartsTimeline)
    }

    public mutating func add(_ transaction: Transaction) {
        transactions += 1
        if transaction.vantagePath?.lost != nil { lostLookups.add(transaction) }
        let outcome = transaction.outcome
        if outcome != .multicast {
            // A late answer came after the client gave up: charted with the failures.
            timeline.add(source: transaction.client.ip, at: transaction.firstTime,
                         failed: outcome != .answered && outcome != .inFlight)
        }
        let latency = transaction.latency
        if outcome == .answered, transaction.isAnsweredBeforeQuery { answersTimedBeforeQuery += 1 }
        if outcome == .answered, let latency {
            let microseconds = UInt64(max(1, latency.nanoseconds / 1000))
            latencyBuckets[min(latencyBuckets.count - 1, 63 - microseconds.leadingZeroBitCount)] += 1
        }
        if transaction.attemptCount > 1 { retried += 1 }
        if transaction.isTruncated { truncated += 1 }
        if outcome == .multicast {
            multicast += 1
            return
        }
        let key = ServerKey(server: transaction.server, transport: transaction.transport)
        switch outcome {
        case .multicast:
            return
        case .inFlight:
            inFlight += 1
        case .answered:
            answered += 1
            if transaction.isTruncated {
                fallbackOutcomes[transaction.fallback?.outcome.rawValue ?? "none", default: 0] += 1
                listFallback(transaction)
            }
            countRCode(of: transaction)
        case .late:
            late += 1
            // An answer all the same: a late SERVFAIL is still a SERVFAIL.
            countRCode(of: transaction)
        case .handshakeFailed, .reset:
            failedConnections += 1
        case .unanswered:
            unanswered += 1
            if transaction.expiry == .captureEnd { unansweredAtCaptureEnd += 1 }
        case .rejected:
            rejected += 1
        }
        if let slot = serverSlot(key) {
            serverFigures[slot].count(transaction)
        } else {
            otherServerTransactions += 1
            otherServers.count(transaction)
        }
        if outcome != .answered && outcome != .inFlight && outcome != .late { recordFailure(transaction, server: key) }
    }

    /// Adds a failed transaction (unanswered, rejected, failed TCP connection) to its
    /// (source, server) group.
    private mutating func recordFailure(_ transaction: Transaction, server key: ServerKey) {
        let outcome = transaction.outcome
        var namesKept = namesKept
        defer { self.namesKept = namesKept }
        updateGroup(GroupKey(client: transaction.client.ip, server: key)) { group in
            group.attempts += transaction.attemptCount
            group.first = min(group.first, transaction.firstTime)
            group.last = max(group.last, transaction.lastTime)
            if group.exampleFrames.count < 5, let frame = transaction.attempts.first?.frame {
                group.exampleFrames.append(frame)
            }
            if outcome == .handshakeFailed || outcome == .reset {
                group.failedConnections += 1
                group.connectionFailures[outcome.rawValue, default: 0] += 1
                return
            }
            group.queries += 1
            if let rejection = transaction.rejection {
                group.rejected += 1
                let kind = RejectionKey(reason: rejection.error.reason, sender: rejection.error.sender)
                if group.rejections[kind] != nil || group.rejections.count < ReportBuilder.maximumRejectionKinds {
                    group.rejections[kind, default: 0] += 1
                }
            }
            let name = NameKey(qname: transaction.qname ?? "<no question>", qtype: transaction.question?.type ?? DNSType(rawValue: 0))
            if let index = group.names.index(forKey: name) {
                group.names.values[index] += 1
            } else if group.names.count < ReportBuilder.maximumNamesPerGroup, namesKept < ReportBuilder.maximumNamesInTotal {
                group.names[name] = 1
                namesKept += 1
            } else {
                group.otherNames += 1
            }
            if transaction.vlanIDs.count > 0, group.vlans[transaction.vlanIDs] != nil || group.vlans.count < 8 {
                group.vlans[transaction.vlanIDs, default: 0] += 1
            }
            if let last = transaction.seenOn.last, group.lastSeenOn[last] != nil || group.lastSeenOn.count < 8 {
                group.lastSeenOn[last, default: 0] += 1
            }
            if let underlay = transaction.underlay, group.underlays[underlay] != nil || group.underlays.count < 8 {
                group.underlays[underlay, default: 0] += 1
            }
        }
    }

    /// Keeps a truncated answer for the list: the first `maximumListedFallbacks`, then a failed
    /// fallback takes the place of an answered one, so the failures listed first are all kept.
    private mutating func listFallback(_ transaction: Transaction) {
        if fallbacks.count < ReportBuilder.maximumListedFallbacks {
            fallbacks.append(transaction)
        } else if transaction.fallback?.outcome != .answered,
                  let answered = fallbacks.lastIndex(where: { $0.fallback?.outcome == .answered }) {
            fallbacks[answered] = transaction
        }
    }

    /// The slot of `key`'s figures, made on first sight; nil for a new server once
    /// `maximumServers` are listed.
    @inline(__always)
    private mutating func serverSlot(_ key: ServerKey) -> Int? {
        if let slot = serverIndex.slot(of: key) { return slot }
        guard serverFigures.count < ReportBuilder.maximumServers else { return nil }
        let slot = serverIndex.slot(makingIfNew: key)
        if slot == serverFigures.count { serverFigures.append(ServerFigures()) }
        return slot
    }

    /// Updates the group of `key` in place, making it if there is room (beyond
    /// `maximumUnansweredGroups` new groups are counted in `droppedGroups`).
    private mutating func updateGroup(_ key: GroupKey, _ update: (inout UnansweredGroup) -> Void) {
        if let index = unansweredGroups.index(forKey: key) {
            update(&unansweredGroups.values[index])
            return
        }
        guard unansweredGroups.count < ReportBuilder.maximumUnansweredGroups else {
            droppedGroups += 1
            return
        }
        var group = UnansweredGroup()
        update(&group)
        unansweredGroups[key] = group
    }

    /// What the caps and the clock left out of the detail, one line each (empty on
    /// ordinary captures): every renderer prints them with the warnings.
    public var limitWarnings: [String] {
        var warnings: [String] = []
        if answersTimedBeforeQuery > 0 {
            warnings.append("\(answersTimedBeforeQuery) answers were timed before their query (packets out of time order, "
                            + "or the clock stepped back): counted as answered, without latency")
        }
        if otherServerTransactions > 0 {
            warnings.append("\(otherServerTransactions) transactions to servers beyond the first "
                            + "\(ReportBuilder.maximumServers) are counted in the totals but not listed per server")
        }
        if timeline.outsideRange > 0 {
            warnings.append("\(timeline.outsideRange) transactions lie outside the timeline's range "
                            + "(the capture's clock jumps by more than \(Timeline.maximumBuckets * Int(Timeline.maximumBucketSeconds) / 86_400) days): "
                            + "counted, not charted")
        }
        return warnings
    }

    /// Unanswered groups as the report lists them: sources with the most unanswered
    /// queries first, then by address; each source's servers likewise.
    public var unansweredBySource: [(client: IPAddress, queries: Int, attempts: Int, servers: [(ServerKey, UnansweredGroup)])] {
        var bySource: [IPAddress: [(ServerKey, UnansweredGroup)]] = [:]
        for (key, group) in unansweredGroups { bySource[key.client, default: []].append((key.server, group)) }
        func weight(_ group: UnansweredGroup) -> Int { group.queries + group.failedConnections }
        return bySource.map { client, servers in
            let sorted = servers.sorted { weight($0.1) != weight($1.1) ? weight($0.1) > weight($1.1) : $0.0 < $1.0 }
            return (client, servers.reduce(0) { $0 + $1.1.queries }, servers.reduce(0) { $0 + $1.1.attempts }, sorted)
        }.sorted {
            let left = $0.servers.reduce(0) { $0 + weight($1.1) }
            let right = $1.servers.reduce(0) { $0 + weight($1.1) }
            return left != right ? left > right : $0.client < $1.client
        }
    }

    /// Names of a group, most frequent first, then alphabetically.
    public static func sortedNames(_ group: UnansweredGroup) -> [(NameKey, Int)] {
        group.names.sorted {
            $0.value != $1.value ? $0.value > $1.value
                : ($0.key.qname, $0.key.qtype.rawValue) < ($1.key.qname, $1.key.qtype.rawValue)
        }.map { ($0.key, $0.value) }
    }
}

/// Counts for the first `capacity` distinct keys seen (later keys are not counted), in a
/// flat array: a scan of up to eight keys costs less than hashing one.
struct BoundedCounts<Key: Hashable & Sendable>: Sendable {
    static var capacity: Int { 8 }
    private var keys: [Key] = []
    private var counts: [Int] = []

    mutating func add(_ key: Key) {
        if let index = keys.firstIndex(of: key) {
            counts[index] += 1
        } else if keys.count < BoundedCounts.capacity {
            keys.append(key)
            counts.append(1)
        }
    }

    var dictionary: [Key: Int] { Dictionary(uniqueKeysWithValues: zip(keys, counts)) }
}
