import DNSWire
import Histogram
import PacketDecoding
import Pipeline
import Transactions
import WireCore

/// Aggregates closed transactions into the figures of the report. Memory is bounded by the
/// number of distinct servers and unanswered (source, server, name) groups, each capped.
public struct ReportBuilder {
    /// Distinct names kept per unanswered (source, server) group; the rest are counted.
    public static let maximumNamesPerGroup = 200
    /// Distinct unanswered (source, server) groups kept; the rest are counted.
    public static let maximumUnansweredGroups = 10_000

    public struct ServerKey: Hashable, Comparable, Sendable {
        public var server: Endpoint
        public var transport: Transport

        public static func < (lhs: ServerKey, rhs: ServerKey) -> Bool {
            (lhs.server.ip, lhs.server.port, lhs.transport.rawValue) < (rhs.server.ip, rhs.server.port, rhs.transport.rawValue)
        }
    }

    public struct ServerFigures: Sendable {
        public var queries = 0
        public var answered = 0
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
        public var latency = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000,
                                               numberOfSignificantValueDigits: .three)
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
    /// Answers by rcode.
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
    private var serverIndex = SlotIndex<ServerKey>()
    private var serverFigures: [ServerFigures] = []
    public private(set) var unansweredGroups: [GroupKey: UnansweredGroup] = [:]
    public private(set) var droppedGroups = 0

    /// Queries and failures per time bucket per source, for the HTML timeline.
    public private(set) var timeline = Timeline()
    /// Answered-query latencies in power-of-two microsecond buckets: bucket i holds
    /// latencies in [2^i, 2^(i+1)) µs (bucket 0 also holds < 1 µs).
    public private(set) var latencyBuckets = [Int](repeating: 0, count: 40)

    public init() {}

    public mutating func add(_ transaction: Transaction) {
        transactions += 1
        let outcome = transaction.outcome
        if outcome != .multicast {
            timeline.add(source: transaction.client.ip, at: transaction.firstTime,
                         failed: outcome != .answered && outcome != .inFlight)
        }
        let latency = transaction.latency
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
        let slot = serverSlot(key)
        switch outcome {
        case .multicast:
            return
        case .inFlight:
            inFlight += 1
            serverFigures[slot].queries += 1
            serverFigures[slot].inFlight += 1
        case .answered:
            answered += 1
            if let backend = transaction.backend { serverFigures[slot].backendCounts.add(backend) }
            if let source = transaction.response?.source { serverFigures[slot].answeredFromCounts.add(source) }
            if transaction.isTruncated {
                fallbackOutcomes[transaction.fallback?.outcome.rawValue ?? "none", default: 0] += 1
                listFallback(transaction)
            }
            if let response = transaction.response {
                let code = Int(response.rcode.rawValue)
                if code < headerRCodes.count { headerRCodes[code] += 1 } else { otherRCodes[response.rcode, default: 0] += 1 }
            }
            serverFigures[slot].queries += 1
            serverFigures[slot].answered += 1
            if let latency {
                let microseconds = UInt64(max(0, latency.nanoseconds / 1000))
                _ = serverFigures[slot].latency.record(min(microseconds, 3_600_000_000))
            }
        case .handshakeFailed, .reset:
            failedConnections += 1
            serverFigures[slot].failedConnections += 1
            updateGroup(GroupKey(client: transaction.client.ip, server: key)) { group in
                group.failedConnections += 1
                group.connectionFailures[outcome.rawValue, default: 0] += 1
                group.attempts += transaction.attemptCount
                group.first = min(group.first, transaction.firstTime)
                group.last = max(group.last, transaction.lastTime)
                if group.exampleFrames.count < 5, let frame = transaction.attempts.first?.frame {
                    group.exampleFrames.append(frame)
                }
            }
        case .unanswered, .rejected:
            serverFigures[slot].queries += 1
            if outcome == .rejected {
                rejected += 1
                serverFigures[slot].rejected += 1
            } else {
                unanswered += 1
                if transaction.expiry == .captureEnd { unansweredAtCaptureEnd += 1 }
                serverFigures[slot].unanswered += 1
            }
            updateGroup(GroupKey(client: transaction.client.ip, server: key)) { group in
                group.queries += 1
                if let rejection = transaction.rejection {
                    group.rejected += 1
                    group.rejections[RejectionKey(reason: rejection.error.reason, sender: rejection.error.sender), default: 0] += 1
                }
                group.attempts += transaction.attemptCount
                group.first = min(group.first, transaction.firstTime)
                group.last = max(group.last, transaction.lastTime)
                let name = NameKey(qname: transaction.qname ?? "<no question>", qtype: transaction.question?.type ?? DNSType(rawValue: 0))
                if group.names[name] != nil || group.names.count < ReportBuilder.maximumNamesPerGroup {
                    group.names[name, default: 0] += 1
                } else {
                    group.otherNames += 1
                }
                if group.exampleFrames.count < 5, let frame = transaction.attempts.first?.frame {
                    group.exampleFrames.append(frame)
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

    /// The slot of `key`'s figures, made on first sight.
    private mutating func serverSlot(_ key: ServerKey) -> Int {
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

/// Counts per time bucket and source, bounded: at most `maximumBuckets` buckets (the
/// bucket width doubles, merging pairs, when a capture runs longer) and
/// `maximumSources` sources (the rest pooled as "other").
public struct Timeline: Sendable {
    public static let maximumBuckets = 600
    public static let maximumSources = 200

    public struct Series: Sendable {
        public var queries: [Int] = []
        public var failed: [Int] = []
    }

    public private(set) var start: Timestamp?
    /// Bucket width in seconds (1, 2, 4, ...).
    public private(set) var bucketSeconds: Int64 = 1
    public private(set) var series: [IPAddress: Series] = [:]
    /// Sources beyond `maximumSources`, pooled.
    public private(set) var other = Series()
    public private(set) var bucketCount = 0

    public init() {}

    mutating func add(source: IPAddress, at time: Timestamp, failed: Bool) {
        if start.map({ time < $0 }) ?? true {
            // Transactions close out of order by a few seconds; the timeline starts at the
            // earliest first attempt seen, shifting buckets if an earlier one appears.
            if let old = start {
                let shift = Int((old.nanoseconds - time.nanoseconds) / (bucketSeconds * 1_000_000_000)) + 1
                shiftRight(by: shift)
                start = Timestamp(nanoseconds: old.nanoseconds - Int64(shift) * bucketSeconds * 1_000_000_000)
            } else {
                start = Timestamp(nanoseconds: time.nanoseconds - time.nanoseconds % 1_000_000_000)
            }
        }
        guard let start else { return }
        var index = Int((time.nanoseconds - start.nanoseconds) / (bucketSeconds * 1_000_000_000))
        while index >= Timeline.maximumBuckets {
            coarsen()
            index = Int((time.nanoseconds - start.nanoseconds) / (bucketSeconds * 1_000_000_000))
        }
        bucketCount = max(bucketCount, index + 1)
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
