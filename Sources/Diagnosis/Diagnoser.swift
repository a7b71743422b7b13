import Attribution
import DNSWire
import PacketDecoding
import Transactions
import WireCore

/// What the diagnosis needs besides the transactions: who is who, and how complete the
/// capture was.
public struct DiagnosisContext: Sendable {
    public var directory: ClusterDirectory
    public var timeout: Duration
    public var kernelDropped: UInt64 = 0
    public var interfaceDropped: UInt64 = 0
    /// Inputs that ended in damage (cut mid-record), with the reason.
    public var damagedInputs: [String] = []
    /// DNS messages cut by the snaplen, TCP directions with a gap, fragment sets never completed.
    public var cutDNSMessages = 0
    public var damagedTCPDirections = 0
    public var incompleteFragmentSets = 0

    public init(directory: ClusterDirectory = ClusterDirectory(), timeout: Duration) {
        self.directory = directory
        self.timeout = timeout
    }
}

/// Streams closed transactions into per-source, per-server and per-socket aggregates, and
/// turns them into findings at the end. Memory is bounded by the number of distinct
/// sources and servers (capped), never by the number of transactions.
public struct Diagnoser {
    /// Sources tracked; beyond this, new sources are counted (`untrackedSources`) but not
    /// diagnosed. Each costs about 10 KB at worst with its examples and per-server counts
    /// (measured: scripts/bench-memory), so 250 MB.
    public static let maximumSources = 25_000
    /// Servers counted per source; a source's queries to further servers count in its
    /// totals only (a scanner or a resolver asking thousands of servers).
    public static let maximumServersPerSource = 256
    /// Server addresses whose answers are tracked (which sources they answered, SERVFAIL
    /// and late answers); at most 1,024 answered sources each, about 40 KB: 400 MB at
    /// worst, reached only with 10 M answered queries from distinct (source, server) pairs.
    public static let maximumServers = 10_000
    /// Frames kept per finding for the evidence capture.
    public static let maximumFramesPerSource = 2_000
    /// A retry this long after the first attempt is a resolver timeout, not a burst.
    public static let minimumRetryGap = Duration(nanoseconds: 900_000_000)
    /// An answer later than this counts as late for the upstream rule.
    public static let lateAnswer = Duration(nanoseconds: 2_000_000_000)
    /// How long NXDOMAIN answers are remembered while waiting for the real name.
    public static let searchWindow = Duration(nanoseconds: 10_000_000_000)

    struct Counts {
        var answered = 0
        var unanswered = 0
        var rejected = 0
        var failedConnections = 0
        var failing: Int { unanswered + rejected + failedConnections }
        var total: Int { answered + failing }
    }

    struct SourceState {
        var counts = Counts()
        /// By the server address the client used (ClusterIP, NodeLocal, pod IP): one lookup
        /// per transaction holds its counts, those of the attempts that reached that very
        /// address, and whether the server lists this source as answered.
        var perServer: [IPAddress: ServerCounts] = [:]
        /// Attempts that reached another address than the one the client used (the DNAT
        /// backend, or where the answer came from), per client-used server.
        var byOtherBackend: [BackendKey: Counts] = [:]
        var failingExamples: [EvidenceExample] = []
        var backendExamples: [IPAddress: [EvidenceExample]] = [:]
        var frames: [Int] = []
        var rejections: [String: Int] = [:]
        /// VLAN tags its failing queries carried (a branch ENI on an AWS trunk has its own).
        var vlans: Set<[UInt16]> = []
        /// Recent NXDOMAIN names by the hash of each of their label prefixes (search paths).
        var searchBases: [UInt64: SearchBase] = [:]

        /// By the server address the client used.
        var byServer: [IPAddress: Counts] { perServer.mapValues(\.counts) }

        /// By the server actually reached (the DNAT backend when known), per client-used server.
        var byBackend: [BackendKey: Counts] {
            var all = byOtherBackend
            for (server, entry) in perServer where entry.direct.answered + entry.direct.unanswered > 0 {
                all[BackendKey(server: server, backend: server)] = entry.direct
            }
            return all
        }

        /// Updates the entry of `server` in place, made on first sight.
        mutating func updateServer(_ server: IPAddress, _ update: (inout ServerCounts) -> Void) {
            if let index = perServer.index(forKey: server) {
                update(&perServer.values[index])
                return
            }
            guard perServer.count < Diagnoser.maximumServersPerSource else { return }
            var entry = ServerCounts()
            update(&entry)
            perServer[server] = entry
        }
    }

    struct ServerCounts {
        var counts = Counts()
        /// Attempts that reached the server address itself (`byBackend` with the backend
        /// being the server): answered, or not.
        var direct = Counts()
        /// Whether this source is in the server's `answeredSources`.
        var listedAsAnswered = false
    }

    struct SearchBase {
        var count = 0
        var time: Timestamp
        var names: [String] = []
        var frames: [Int] = []
    }

    /// Search-path prefixes remembered per source.
    public static let maximumSearchBases = 512
    /// Search-path prefixes remembered over all sources (each a few hundred bytes): with
    /// only the per-source cap, thousands of clients asking NXDOMAIN names could hold GBs.
    /// When full, expired prefixes of every source are dropped (at most once per
    /// `searchWindow` of capture time); while still full, new prefixes are not learnt and
    /// amplification is undercounted. Above what 320 busy clients use in the benchmark
    /// (at most 320 × 512): 65,536 there halved the amplified lookups counted.
    public static let maximumSearchBasesInAll = 262_144

    struct BackendKey: Hashable {
        var server: IPAddress
        var backend: IPAddress
    }

    struct ServerState {
        var answeredSources: Set<IPAddress> = []
        var answered = 0
        var servfail = 0
        var late = 0
        var examples: [EvidenceExample] = []
    }

    /// Sources and servers by slot: one lookup per transaction finds a source, whose state
    /// is then updated in place; a server is found by a scan while there are a few (clients
    /// share a few servers), by hashing beyond that.
    private var sourceSlots: [IPAddress: Int] = [:]
    private var sourceAddresses: [IPAddress] = []
    private var sourceStates: [SourceState] = []
    private var serverIndex = SlotIndex<IPAddress>()
    private var serverStates: [ServerState] = []
    /// Transactions of sources beyond `maximumSources`, counted but not diagnosed.
    public private(set) var untrackedSources = 0
    /// Answers from servers beyond `maximumServers`: counted for their source, not for the server.
    public private(set) var untrackedServerAnswers = 0
    /// Search-path prefixes held over all sources, and when they were last swept.
    private var searchBaseTotal = 0
    private var lastSearchSweep = Timestamp(nanoseconds: Int64.min)

    private var tcpFailures: [EvidenceExample] = []
    private var tcpFailureCount = 0
    private var tcpFallbackFailures = 0
    private var tcpFrames: [Int] = []
    private var tcpClients: Set<IPAddress> = []
    private var tcpServers: Set<IPAddress> = []

    private var parallelLosses: [EvidenceExample] = []
    private var parallelLossCount = 0
    private var parallelFrames: [Int] = []
    private var parallelClients: Set<IPAddress> = []
    private var parallelServers: Set<IPAddress> = []
    private var parallelGapsNearFiveSeconds = 0
    /// Retry gaps of the lost parallel queries, in tenths of a second (the last bucket holds 60 s and more).
    private var parallelGapTenths = [Int](repeating: 0, count: 601)

    private var amplifiedLookups = 0
    private var amplificationQueries = 0
    private var amplificationExamples: [EvidenceExample] = []
    private var amplificationFrames: [Int] = []
    private var amplifiedClients: Set<IPAddress> = []

    private var clock = Timestamp(nanoseconds: .min)

    public init() {}

    public mutating func add(_ transaction: Transaction) {
        if transaction.lastTime > clock { clock = transaction.lastTime }
        let outcome = transaction.outcome
        // Multicast silence proves nothing; a query in flight at the capture's end is no failure.
        guard outcome != .multicast, outcome != .inFlight, outcome != .late else { return }
        let client = transaction.client.ip
        guard let slot = sourceSlot(client) else {
            untrackedSources += 1
            return
        }
        let server = transaction.server.ip
        var direct = Counts()
        if outcome == .answered || outcome == .unanswered || outcome == .rejected {
            direct = Diagnoser.countAttempts(transaction, server: server, source: &sourceStates[slot])
        }

        switch outcome {
        case .answered:
            sourceStates[slot].counts.answered += 1
            guard let serverSlot = self.serverSlot(server) else {
                untrackedServerAnswers += 1
                sourceStates[slot].updateServer(server) { entry in
                    entry.counts.answered += 1
                    entry.direct.answered += direct.answered
                    entry.direct.unanswered += direct.unanswered
                }
                break
            }
            serverStates[serverSlot].answered += 1
            let room = serverStates[serverSlot].answeredSources.count < 1024
            var listing = false
            sourceStates[slot].updateServer(server) { entry in
                entry.counts.answered += 1
                entry.direct.answered += direct.answered
                entry.direct.unanswered += direct.unanswered
                if room && !entry.listedAsAnswered {
                    entry.listedAsAnswered = true
                    listing = true
                }
            }
            if listing { serverStates[serverSlot].answeredSources.insert(client) }
            if let rcode = transaction.response?.rcode, rcode == .servFail {
                serverStates[serverSlot].servfail += 1
                Diagnoser.appendExample(Diagnoser.example(transaction), to: &serverStates[serverSlot].examples)
            } else if let latency = transaction.latency, latency > Diagnoser.lateAnswer {
                serverStates[serverSlot].late += 1
                Diagnoser.appendExample(Diagnoser.example(transaction), to: &serverStates[serverSlot].examples)
            }
        case .unanswered:
            sourceStates[slot].counts.unanswered += 1
            sourceStates[slot].updateServer(server) { entry in
                entry.counts.unanswered += 1
                entry.direct.answered += direct.answered
                entry.direct.unanswered += direct.unanswered
            }
        case .rejected:
            sourceStates[slot].counts.rejected += 1
            sourceStates[slot].updateServer(server) { entry in
                entry.counts.rejected += 1
                entry.direct.answered += direct.answered
                entry.direct.unanswered += direct.unanswered
            }
            if let rejection = transaction.rejection {
                sourceStates[slot].rejections["ICMP \(rejection.error.reason) from \(rejection.error.sender)", default: 0] += 1
            }
        case .handshakeFailed, .reset:
            sourceStates[slot].counts.failedConnections += 1
            sourceStates[slot].updateServer(server) { $0.counts.failedConnections += 1 }
            recordTCPFailure(transaction, client: client, server: server)
        case .multicast, .inFlight, .late:
            return
        }
        if outcome != .answered {
            if transaction.vlanIDs.count > 0 && sourceStates[slot].vlans.count < 8 {
                sourceStates[slot].vlans.insert(transaction.vlanIDs.array)
            }
            Diagnoser.appendExample(Diagnoser.example(transaction), to: &sourceStates[slot].failingExamples)
            Diagnoser.appendFrames(Diagnoser.frames(of: transaction), to: &sourceStates[slot].frames)
        }
        if let fallback = transaction.fallback, fallback.outcome == .handshakeFailed || fallback.outcome == .reset {
            tcpFallbackFailures += 1
            recordTCPFailure(transaction, client: client, server: server)
        }
        if outcome == .answered, transaction.response?.rcode == .nxDomain,
           searchBaseTotal >= Diagnoser.maximumSearchBasesInAll {
            sweepSearchBases(now: transaction.firstTime)
        }
        if outcome == .answered,
           transaction.response?.rcode == .nxDomain || !sourceStates[slot].searchBases.isEmpty,
           let expansions = Diagnoser.observeSearchPath(transaction, source: &sourceStates[slot],
                                                        total: &searchBaseTotal) {
            recordAmplification(transaction, expansions: expansions)
        }
        if transaction.sentWith != nil { observeParallel(transaction) }
    }

    /// The slot of `client`, made on first sight; nil when `maximumSources` are tracked.
    private mutating func sourceSlot(_ client: IPAddress) -> Int? {
        if let slot = sourceSlots[client] { return slot }
        guard sourceStates.count < Diagnoser.maximumSources else { return nil }
        let slot = sourceStates.count
        sourceSlots[client] = slot
        sourceAddresses.append(client)
        sourceStates.append(SourceState())
        return slot
    }

    /// The slot of `server`, made on first sight; nil for a new server once
    /// `maximumServers` are tracked.
    private mutating func serverSlot(_ server: IPAddress) -> Int? {
        if let slot = serverIndex.slot(of: server) { return slot }
        guard serverStates.count < Diagnoser.maximumServers else { return nil }
        let slot = serverIndex.slot(makingIfNew: server)
        if slot == serverStates.count { serverStates.append(ServerState()) }
        return slot
    }

    /// Sources and servers as dictionaries, for the findings (built once, at the end).
    private var sourcesByAddress: [IPAddress: SourceState] {
        Dictionary(uniqueKeysWithValues: zip(sourceAddresses, sourceStates))
    }

    private var serversByAddress: [IPAddress: ServerState] {
        Dictionary(uniqueKeysWithValues: zip(serverIndex.keys, serverStates))
    }

    // MARK: - Per-transaction observations

    /// Per attempt: each retry may be balanced to another backend; the answered attempt
    /// reached its backend, every other attempt's backend stayed silent. Returns the counts
    /// of the attempts that reached `server` itself (most: no DNAT seen); the others go to
    /// `byOtherBackend`.
    private static func countAttempts(_ transaction: Transaction, server: IPAddress, source: inout SourceState) -> Counts {
        var direct = Counts()
        let respondedIndex = transaction.response?.attemptIndex
        let reached = transaction.backend?.ip ?? transaction.response?.source?.ip ?? server
        for (index, attempt) in transaction.attempts.enumerated() {
            let backend = attempt.backend?.ip ?? (index == respondedIndex ? reached : server)
            if transaction.outcome == .answered && index == respondedIndex {
                if backend == server {
                    direct.answered += 1
                } else {
                    source.byOtherBackend[BackendKey(server: server, backend: backend), default: Counts()].answered += 1
                }
                continue
            }
            if backend == server {
                direct.unanswered += 1
            } else {
                source.byOtherBackend[BackendKey(server: server, backend: backend), default: Counts()].unanswered += 1
            }
            if source.backendExamples[backend, default: []].count < 5 {
                var lost = example(transaction)
                lost.frames = [attempt.frame]
                lost.note = "attempt \(index + 1) of \(transaction.attemptCount) sent to \(backend), no answer"
                    + (transaction.outcome == .answered ? "; answered via another backend" : "")
                source.backendExamples[backend, default: []].append(lost)
            }
        }
        return direct
    }

    private mutating func recordTCPFailure(_ transaction: Transaction, client: IPAddress, server: IPAddress) {
        tcpFailureCount += 1
        Diagnoser.appendExample(Diagnoser.example(transaction), to: &tcpFailures)
        Diagnoser.appendFrames(Diagnoser.frames(of: transaction), to: &tcpFrames)
        if tcpClients.count < 64 { tcpClients.insert(client) }
        if tcpServers.count < 64 { tcpServers.insert(server) }
    }

    /// The conntrack race: two queries from one socket within microseconds (the engine
    /// pairs them as `sentWith`); one answered at once, the other lost and re-sent after
    /// the resolver's timeout (glibc: 5 s).
    private mutating func observeParallel(_ transaction: Transaction) {
        guard let partner = transaction.sentWith, partner.answeredFirstTry,
              transaction.attempts.count >= 2, let first = transaction.attempts.first else { return }
        let firstTryAnswered = transaction.outcome == .answered && transaction.answeredFirstTry
        let gap = transaction.attempts[1].time - first.time
        guard !firstTryAnswered, gap >= Diagnoser.minimumRetryGap else { return }
        parallelLossCount += 1
        if (gap - Duration(nanoseconds: 5_000_000_000)).magnitude.nanoseconds <= 500_000_000 { parallelGapsNearFiveSeconds += 1 }
        parallelGapTenths[Int(min(600, max(0, gap.nanoseconds.saturatingAdd(50_000_000) / 100_000_000)))] += 1
        var lost = Diagnoser.example(transaction)
        lost.note = "lost, re-sent after \(Diagnoser.seconds(gap)) s; sent with \(partner.type?.description ?? "?") "
            + "(frame \(partner.frame)), which was answered at once"
        Diagnoser.appendExample(lost, to: &parallelLosses)
        Diagnoser.appendFrames(Diagnoser.frames(of: transaction) + [partner.frame], to: &parallelFrames)
        if parallelClients.count < 64 { parallelClients.insert(transaction.client.ip) }
        if parallelServers.count < 64 { parallelServers.insert(transaction.server.ip) }
    }

    /// ndots:5 (RFC 1535 search lists): `api.github.com` asked first as
    /// `api.github.com.<suffix>` for every search suffix, each NXDOMAIN, then as itself.
    /// Each NXDOMAIN name is remembered under the hash of every leading part of it that
    /// ends at a label (`api.`, `api.github.`, ...), so the real name, when answered, finds
    /// its expansions with one lookup — no string work per answer.
    ///
    /// Returns the expansions an answered real name ends, when they amount to amplification.
    private static func observeSearchPath(
        _ transaction: Transaction, source: inout SourceState, total: inout Int
    ) -> SearchBase? {
        guard let name = transaction.qname, let rcode = transaction.response?.rcode else { return nil }
        let now = transaction.firstTime
        if rcode == .nxDomain {
            if source.searchBases.count >= Diagnoser.maximumSearchBases {
                let before = source.searchBases.count
                source.searchBases = source.searchBases.filter { now - $0.value.time <= Diagnoser.searchWindow }
                total -= before - source.searchBases.count
                guard source.searchBases.count < Diagnoser.maximumSearchBases else { return nil }
            }
            var frames: [Int]?
            Diagnoser.forEachLabelPrefix(of: name) { hash, isWhole in
                guard !isWhole else { return }
                if let index = source.searchBases.index(forKey: hash) {
                    Diagnoser.remember(transaction, name: name, in: &source.searchBases.values[index], frames: &frames)
                } else if total < Diagnoser.maximumSearchBasesInAll {
                    var base = SearchBase(time: now)
                    Diagnoser.remember(transaction, name: name, in: &base, frames: &frames)
                    source.searchBases[hash] = base
                    total += 1
                }
            }
            return nil
        }
        // Amplification is about lookups that succeed in the end; a real name answered
        // SERVFAIL is an upstream problem, reported by its own rule.
        guard rcode == .noError, !source.searchBases.isEmpty else { return nil }
        var whole: UInt64 = 0
        Diagnoser.forEachLabelPrefix(of: name) { hash, isWhole in if isWhole { whole = hash } }
        guard let expansions = source.searchBases.removeValue(forKey: whole) else { return nil }
        total -= 1
        guard now - expansions.time <= Diagnoser.searchWindow,
              // One expansion is a search path doing its job (redis.sales → redis.sales.svc...);
              // two or more before an answer is amplification.
              expansions.count >= 2 else { return nil }
        return expansions
    }

    /// Search-path prefixes held now, over all sources (for tests).
    var searchPrefixesHeld: Int { searchBaseTotal }

    /// Drops every source's expired search-path prefixes, when all of them together reach
    /// `maximumSearchBasesInAll`; at most once per `searchWindow` of capture time, so a
    /// table full of live prefixes is not swept on every NXDOMAIN answer.
    private mutating func sweepSearchBases(now: Timestamp) {
        guard lastSearchSweep == Timestamp(nanoseconds: Int64.min) || now - lastSearchSweep >= Diagnoser.searchWindow
        else { return }
        lastSearchSweep = now
        searchBaseTotal = 0
        for slot in sourceStates.indices where !sourceStates[slot].searchBases.isEmpty {
            sourceStates[slot].searchBases = sourceStates[slot].searchBases.filter {
                now - $0.value.time <= Diagnoser.searchWindow
            }
            searchBaseTotal += sourceStates[slot].searchBases.count
        }
    }

    private mutating func recordAmplification(_ transaction: Transaction, expansions: SearchBase) {
        amplifiedLookups += 1
        amplificationQueries += expansions.count
        amplifiedClients.insert(transaction.client.ip)
        var example = Diagnoser.example(transaction)
        example.note = "\(expansions.count) NXDOMAIN first, for " + expansions.names.joined(separator: ", ")
        Diagnoser.appendExample(example, to: &amplificationExamples)
        Diagnoser.appendFrames(expansions.frames + Diagnoser.frames(of: transaction), to: &amplificationFrames)
    }

    /// Counts an NXDOMAIN answer under one of its label prefixes. `frames` holds the
    /// transaction's frames once built (only while a prefix still keeps frames).
    private static func remember(_ transaction: Transaction, name: String, in base: inout SearchBase, frames: inout [Int]?) {
        let now = transaction.firstTime
        if now - base.time > Diagnoser.searchWindow { base = SearchBase(time: now) }
        base.count += 1
        base.time = now
        if base.names.count < 4 && !base.names.contains(name) { base.names.append(name) }
        if base.frames.count < 16 {
            let transactionFrames = frames ?? Diagnoser.frames(of: transaction)
            frames = transactionFrames
            base.frames += transactionFrames.prefix(4)
        }
    }

    /// Calls `body` with the FNV-1a hash of every leading part of `name` that ends with a
    /// dot (ASCII case folded), the last one being the whole name.
    static func forEachLabelPrefix(of name: String, _ body: (UInt64, Bool) -> Void) {
        var name = name
        name.withUTF8 { utf8 in
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for index in utf8.indices {
                let byte = utf8[index]
                let folded = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte
                hash = (hash ^ UInt64(folded)) &* 0x0000_0100_0000_01b3
                if byte == 0x2e { body(hash, index == utf8.count - 1) }
            }
        }
    }

    // MARK: - Findings

    /// The findings, most important first.
    public func findings(context: DiagnosisContext) -> [Finding] {
        let sources = sourcesByAddress
        let servers = serversByAddress
        var findings: [Finding] = []
        let directory = context.directory
        let incomplete = context.kernelDropped > 0 || context.interfaceDropped > 0 || !context.damagedInputs.isEmpty
        // Addresses that answer others as DNS servers: their own failing queries are upstream
        // trouble, not a blinded pod.
        let answeringServers = Set(servers.filter { $0.value.answered > 0 }.keys)

        // egress-blocked and nodelocal-blocked.
        var blinded: [(IPAddress, SourceState)] = []
        var nodeLocal: [(IPAddress, SourceState, IPAddress)] = []
        for (ip, source) in sources where !answeringServers.contains(ip) {
            for (server, counts) in source.byServer where directory.nodeLocalDNSCacheAddresses.contains(server)
                && counts.answered == 0 && counts.failing >= 2 {
                let answeredElsewhere = source.counts.answered > 0
                    || servers.contains { !directory.nodeLocalDNSCacheAddresses.contains($0.key) && $0.value.answered > 0 }
                if answeredElsewhere { nodeLocal.append((ip, source, server)) }
            }
            guard source.counts.answered == 0, source.counts.failing >= 2 else { continue }
            let usedServers = source.byServer.keys.filter { !directory.nodeLocalDNSCacheAddresses.contains($0) }
            guard !usedServers.isEmpty else { continue }
            let othersAnswered = usedServers.contains { server in
                servers[server]?.answeredSources.contains { $0 != ip } ?? false
            }
            if othersAnswered { blinded.append((ip, source)) }
        }
        if !blinded.isEmpty { findings.append(egressFinding(blinded.sorted { $0.0 < $1.0 }, directory, incomplete)) }
        if !nodeLocal.isEmpty {
            findings.append(nodeLocalFinding(nodeLocal.sorted { ($0.0, $0.2) < ($1.0, $1.2) }, directory, incomplete))
        }

        // backend-unreachable.
        var splits: [(client: IPAddress, server: IPAddress, good: IPAddress, bad: IPAddress, failing: Int, answered: Int, examples: [EvidenceExample], frames: [Int])] = []
        for (ip, source) in sources where source.counts.answered > 0 {
            let byBackend = source.byBackend
            for (key, counts) in byBackend where key.backend != key.server && counts.answered == 0 && counts.unanswered >= 2 {
                guard let good = byBackend.filter({
                    $0.key.server == key.server && $0.key.backend != key.backend && $0.value.answered > 0
                }).min(by: { $0.key.backend < $1.key.backend }) else { continue }
                splits.append((ip, key.server, good.key.backend, key.backend, counts.unanswered, good.value.answered,
                               source.backendExamples[key.backend] ?? [], source.frames))
            }
        }
        if !splits.isEmpty {
            findings.append(backendFinding(splits.sorted { ($0.client, $0.bad) < ($1.client, $1.bad) }, directory, incomplete))
        }

        if tcpFailureCount > 0 { findings.append(tcpFinding(directory)) }
        if parallelLossCount > 0 { findings.append(parallelFinding(directory)) }

        // upstream-timeout: a server that answers clients SERVFAIL or late while its own
        // queries (as a client) go unanswered.
        for (ip, server) in servers.sorted(by: { $0.key < $1.key }) where server.servfail + server.late > 0 {
            guard let own = sources[ip], own.counts.failing > 0 else { continue }
            findings.append(upstreamFinding(ip, server: server, own: own, directory))
        }

        if amplifiedLookups > 0 { findings.append(searchPathFinding(directory)) }

        let unansweredTotal = sources.values.reduce(0) { $0 + $1.counts.unanswered }
        if incomplete || context.cutDNSMessages > 0 || context.damagedTCPDirections > 0 || context.incompleteFragmentSets > 0 {
            findings.append(captureFinding(context, unanswered: unansweredTotal))
        }
        return findings
    }

    // MARK: - Finding builders

    private func name(_ ip: IPAddress, _ directory: ClusterDirectory) -> NamedAddress { NamedAddress(ip, in: directory) }

    private func egressFinding(_ blinded: [(IPAddress, SourceState)], _ directory: ClusterDirectory, _ incomplete: Bool) -> Finding {
        let named = blinded.map { name($0.0, directory) }
        let failing = blinded.reduce(0) { $0 + $1.1.counts.failing }
        let serverIPs = Set(blinded.flatMap { $0.1.byServer.keys }).sorted()
        let namespaces = Set(named.compactMap(\.namespace)).sorted()
        let rejections = blinded.flatMap { $0.1.rejections.keys }
        let otherAnswered = serverIPs.reduce(0) { total, server in
            total + (serverIndex.slot(of: server).map { serverStates[$0] }?.answeredSources.filter { ip in !blinded.contains { $0.0 == ip } }.count ?? 0)
        }
        let who = namespaces.isEmpty
            ? Diagnoser.listed(named.map(\.description))
            : "namespace " + Diagnoser.listed(namespaces) + ": " + Diagnoser.listed(named.map(\.description))
        let rejected = blinded.reduce(0) { $0 + $1.1.counts.rejected }
        let fate = rejected == failing ? "was rejected" : rejected > 0 ? "went unanswered or was rejected" : "went unanswered"
        var explanation = "Every DNS query from \(who) \(fate) (\(counted(failing, "query", "queries"))"
            + (rejected > 0 && rejected < failing ? ", \(rejected) rejected" : "") + "), while \(otherAnswered) other "
            + "source\(otherAnswered == 1 ? "" : "s") got answers from the same server "
            + "(\(serverIPs.map { name($0, directory).description }.joined(separator: ", "))). "
            + "The server works; something between these sources and it drops their DNS. On Kubernetes this is the signature "
            + "of a NetworkPolicy with policyType Egress selecting these pods without a rule allowing UDP and TCP 53 to kube-dns: "
            + "once any egress policy selects a pod, all its other egress is denied."
        let vlans = Set(blinded.flatMap(\.1.vlans)).sorted { $0.lexicographicallyPrecedes($1) }
        if !vlans.isEmpty {
            explanation += " The failing queries carry VLAN " + vlans.map { $0.map(String.init).joined(separator: "/") }
                .joined(separator: ", ") + ": on an AWS trunk ENI each branch ENI (a pod with its own security group) has "
                + "its own VLAN, so check that pod's security group as well as NetworkPolicies."
        }
        if !rejections.isEmpty {
            explanation += " The queries were refused with " + Set(rejections).sorted().joined(separator: "; ")
                + ": a REJECT rule rather than a silent drop."
        }
        let confidence: Confidence = incomplete ? .medium : (failing >= 3 && otherAnswered >= 1 ? .high : .medium)
        return Finding(
            kind: .egressBlocked, confidence: confidence,
            title: "DNS blocked for \(who)",
            explanation: explanation,
            counts: [("sources", blinded.count), ("failed_queries", failing), ("other_sources_answered", otherAnswered)],
            sources: named, servers: serverIPs.map { name($0, directory) },
            examples: Array(blinded.flatMap(\.1.failingExamples).prefix(5)),
            remediation: """
                Allow DNS in the egress policy that selects these pods (both protocols; large answers fall back to TCP):
                  egress:
                  - to:
                    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
                      podSelector: {matchLabels: {k8s-app: kube-dns}}
                    ports:
                    - {protocol: UDP, port: 53}
                    - {protocol: TCP, port: 53}
                """,
            frames: Array(blinded.flatMap(\.1.frames).prefix(10_000)))
    }

    private func nodeLocalFinding(_ entries: [(IPAddress, SourceState, IPAddress)], _ directory: ClusterDirectory, _ incomplete: Bool) -> Finding {
        let named = entries.map { name($0.0, directory) }
        let failing = entries.reduce(0) { $0 + ($1.1.byServer[$1.2]?.failing ?? 0) }
        let answeredElsewhere = entries.reduce(0) { total, entry in
            total + entry.1.byServer.filter { $0.key != entry.2 }.reduce(0) { $0 + $1.value.answered }
        }
        let cache = Set(entries.map(\.2)).sorted()
        return Finding(
            kind: .nodeLocalBlocked, confidence: incomplete ? .medium : (answeredElsewhere > 0 ? .high : .medium),
            title: "NodeLocal DNSCache \(cache.map(\.description).joined(separator: ", ")) unreachable from "
                + Diagnoser.listed(named.map(\.description)),
            explanation: "Queries to NodeLocal DNSCache (\(cache.map(\.description).joined(separator: ", "))) went unanswered "
                + "(\(failing)) while \(counted(answeredElsewhere, "query", "queries")) from the same "
                + "source\(entries.count == 1 ? "" : "s") to another "
                + "server were answered. The cache listens on a link-local address on each node that no podSelector or "
                + "namespaceSelector can match, so an egress NetworkPolicy written with selectors for kube-dns still blocks it.",
            counts: [("sources", entries.count), ("failed_queries", failing), ("answered_elsewhere", answeredElsewhere)],
            sources: named, servers: cache.map { name($0, directory) },
            examples: Array(entries.flatMap { entry in entry.1.failingExamples.filter { $0.server.hasPrefix(entry.2.description) } }.prefix(5)),
            remediation: """
                Allow the node-local cache by address in the egress policy (selectors cannot match it):
                  egress:
                  - to:
                    - ipBlock: {cidr: \(cache.first.map { $0.isIPv6 ? "\($0)/128" : "\($0)/32" } ?? "169.254.20.10/32")}
                    ports:
                    - {protocol: UDP, port: 53}
                    - {protocol: TCP, port: 53}
                """,
            frames: Array(entries.flatMap(\.1.frames).prefix(10_000)))
    }

    private func backendFinding(
        _ splits: [(client: IPAddress, server: IPAddress, good: IPAddress, bad: IPAddress, failing: Int, answered: Int, examples: [EvidenceExample], frames: [Int])],
        _ directory: ClusterDirectory, _ incomplete: Bool
    ) -> Finding {
        let bad = Set(splits.map(\.bad)).sorted()
        let good = Set(splits.map(\.good)).sorted()
        let service = Set(splits.map(\.server)).sorted()
        let failing = splits.reduce(0) { $0 + $1.failing }
        let answered = splits.reduce(0) { $0 + $1.answered }
        let clients = Set(splits.map(\.client)).sorted().map { name($0, directory) }
        let badNames = bad.map { name($0, directory).description }.joined(separator: ", ")
        return Finding(
            kind: .backendUnreachable, confidence: incomplete ? .medium : (failing >= 3 ? .high : .medium),
            title: "DNS backend \(badNames) never answers " + Diagnoser.listed(clients.map(\.description)),
            explanation: "Queries from the same client\(clients.count == 1 ? "" : "s") to \(service.map(\.description).joined(separator: ", ")) "
                + "were answered when DNAT sent them to \(good.map { name($0, directory).description }.joined(separator: ", ")) "
                + "(\(answered)) and never when it sent them to \(badNames) (\(failing)). One path works and the other is "
                + "blocked: with AWS VPC CNI security groups for pods, a pod's security group that does not allow DNS to where "
                + "CoreDNS runs blocks the CoreDNS pod on another node while the one on the same node still answers — slow, "
                + "mostly failing resolution that sometimes succeeds on retry.",
            counts: [("clients", clients.count), ("failed_via_backend", failing), ("answered_via_other_backend", answered)],
            sources: clients, servers: (service + bad).map { name($0, directory) },
            examples: Array(splits.flatMap(\.examples).prefix(5)),
            remediation: "Allow DNS (UDP and TCP 53) from the pods' security group to the CoreDNS pods behind \(badNames) "
                + "(their node's or their own security group), and inbound on the CoreDNS side from the pods' security group; "
                + "or run a CoreDNS replica reachable from every node the pods use.",
            frames: Array(splits.flatMap(\.frames).prefix(10_000)))
    }

    private func tcpFinding(_ directory: ClusterDirectory) -> Finding {
        let clients = tcpClients.sorted().map { name($0, directory) }
        let serverNames = tcpServers.sorted().map { name($0, directory) }
        let withTruncation = tcpFallbackFailures > 0
        return Finding(
            kind: .tcpBlocked, confidence: withTruncation ? .high : .medium,
            title: "DNS over TCP blocked to " + serverNames.map(\.description).joined(separator: ", "),
            explanation: withTruncation
                ? "\(tcpFallbackFailures) answer\(tcpFallbackFailures == 1 ? " was" : "s were") truncated (TC=1) and the client's "
                    + "TCP retry never got through (SYN unanswered or reset). Answers too large for UDP — many records, DNSSEC, "
                    + "long TXT — fail while small ones work: only UDP 53 is allowed on the path."
                : "\(tcpFailureCount) TCP connection\(tcpFailureCount == 1 ? "" : "s") to a DNS port failed before any query "
                    + "(SYN unanswered or reset): only UDP 53 is allowed on the path, so any fallback to TCP fails.",
            counts: [("failed_tcp_attempts", tcpFailureCount), ("truncated_answers_not_retrieved", tcpFallbackFailures)],
            sources: clients, servers: serverNames, examples: tcpFailures,
            remediation: "Allow TCP 53 wherever UDP 53 is allowed (NetworkPolicy ports, security groups, node firewalls):\n"
                + "  ports:\n  - {protocol: UDP, port: 53}\n  - {protocol: TCP, port: 53}",
            frames: tcpFrames)
    }

    /// The median retry gap of the lost parallel queries, in tenths of a second.
    private var parallelMedianGapTenths: Int {
        var seen = 0
        for (tenths, count) in parallelGapTenths.enumerated() {
            seen += count
            if 2 * seen >= parallelLossCount { return tenths }
        }
        return parallelGapTenths.count - 1
    }

    /// High confidence only when at least half the lost queries were re-sent about 5 s later
    /// (glibc's default timeout, the race's signature); retries at other gaps fit plain loss
    /// as well, and the explanation then says the gap measured instead of claiming 5 s.
    private func parallelFinding(_ directory: ClusterDirectory) -> Finding {
        let atResolverTimeout = parallelGapsNearFiveSeconds > 0 && 2 * parallelGapsNearFiveSeconds >= parallelLossCount
        let median = parallelMedianGapTenths
        let retried = atResolverTimeout
            ? "was re-sent only after the resolver's timeout (glibc: 5 s)"
            : "was re-sent after \(median / 10).\(median % 10) s (median), not the 5 s of glibc's default timeout: a resolver "
                + "with a shorter timeout, or plain packet loss"
        return Finding(
            kind: .parallelQueryLoss,
            confidence: atResolverTimeout ? .high : .medium,
            title: "Parallel A/AAAA queries lost from one socket (\(parallelLossCount)×): the conntrack race",
            explanation: "\(parallelLossCount) time\(parallelLossCount == 1 ? "" : "s") a client sent two queries from the same socket "
                + "within microseconds (glibc and musl send A and AAAA together); one was answered at once, the other never "
                + "reached the server and \(retried). This is the Linux "
                + "conntrack insertion race on UDP: the second packet of a new flow loses the race and is dropped — the "
                + "'5 second DNS delay'.",
            counts: [("lost_parallel_queries", parallelLossCount), ("retries_after_about_5_s", parallelGapsNearFiveSeconds)],
            sources: parallelClients.sorted().map { name($0, directory) },
            servers: parallelServers.sorted().map { name($0, directory) }, examples: parallelLosses,
            remediation: "Make the resolver avoid the race: add `options single-request-reopen` (glibc) via the pod's "
                + "dnsConfig, or use NodeLocal DNSCache (its upstream uses TCP), or a kernel with the conntrack race fixes "
                + "(Linux 5.0+).",
            frames: parallelFrames)
    }

    private func upstreamFinding(_ ip: IPAddress, server: ServerState, own: SourceState, _ directory: ClusterDirectory) -> Finding {
        let upstreams = own.byServer.filter { $0.value.failing > 0 }.keys.sorted()
        let failing = own.counts.failing
        let upstreamNames = upstreams.map { name($0, directory).description }.joined(separator: ", ")
        return Finding(
            kind: .upstreamTimeout, confidence: failing >= 2 && server.servfail + server.late >= 2 ? .high : .medium,
            title: "DNS server \(name(ip, directory)) gets no answer from its upstream \(upstreamNames)",
            explanation: "\(name(ip, directory)) answered its clients with SERVFAIL (\(server.servfail)) or late "
                + "(\(server.late) over 2 s), and its own queries to \(upstreamNames) went unanswered (\(failing)). The clients' "
                + "server works; the server's upstream does not answer it — CoreDNS logs this as `read udp ... i/o timeout`.",
            counts: [("servfail_answers", server.servfail), ("late_answers", server.late), ("unanswered_upstream_queries", failing)],
            sources: [name(ip, directory)], servers: upstreams.map { name($0, directory) },
            examples: Array((server.examples + own.failingExamples).prefix(6)),
            remediation: "Check the upstream \(upstreamNames) and the path to it from the DNS server (egress policy of the "
                + "CoreDNS pods, node firewall, VPC resolver limits); point CoreDNS's `forward` plugin at a reachable upstream.",
            frames: Array(own.frames.prefix(10_000)))
    }

    private func searchPathFinding(_ directory: ClusterDirectory) -> Finding {
        Finding(
            kind: .searchPathAmplification, confidence: amplifiedLookups >= 3 || amplificationQueries >= 3 * amplifiedLookups ? .high : .medium,
            title: "Search-path amplification: \(counted(amplificationQueries, "NXDOMAIN query", "NXDOMAIN queries")) before \(amplifiedLookups) real lookup\(amplifiedLookups == 1 ? "" : "s")",
            explanation: "Names were first tried with each search suffix (ndots:5 in the pod's resolv.conf makes any name with "
                + "fewer than 5 dots go through the search list), each answered NXDOMAIN, before the real name. Every lookup "
                + "costs several queries; when DNS is slow or lossy the failures multiply.",
            counts: [("amplified_lookups", amplifiedLookups), ("extra_nxdomain_queries", amplificationQueries)],
            sources: amplifiedClients.sorted().map { name($0, directory) }, servers: [],
            examples: amplificationExamples,
            remediation: "Use fully qualified names with a trailing dot (api.github.com.), or lower ndots in the pod spec:\n"
                + "  dnsConfig:\n    options:\n    - {name: ndots, value: \"2\"}\n"
                + "or enable CoreDNS's autopath plugin.",
            frames: amplificationFrames)
    }

    private func captureFinding(_ context: DiagnosisContext, unanswered: Int) -> Finding {
        var reasons: [String] = []
        if context.kernelDropped > 0 || context.interfaceDropped > 0 {
            reasons.append("the kernel dropped \(counted(Int(context.kernelDropped), "packet", "packets")) "
                           + "(interface: \(context.interfaceDropped))")
        }
        reasons += context.damagedInputs
        if context.cutDNSMessages > 0 {
            reasons.append(counted(context.cutDNSMessages, "DNS message was", "DNS messages were") + " cut by the snaplen")
        }
        if context.damagedTCPDirections > 0 {
            reasons.append(counted(context.damagedTCPDirections, "TCP stream had", "TCP streams had") + " gaps")
        }
        if context.incompleteFragmentSets > 0 {
            reasons.append(counted(context.incompleteFragmentSets, "fragmented datagram", "fragmented datagrams") + " never completed")
        }
        let severe = context.kernelDropped > 0 || context.interfaceDropped > 0 || !context.damagedInputs.isEmpty
        return Finding(
            kind: .captureIncomplete, confidence: severe ? .high : .medium,
            title: "The capture is incomplete: " + reasons.joined(separator: "; "),
            explanation: "The capture lost or cut packets, so \(unanswered) unanswered quer\(unanswered == 1 ? "y" : "ies") may "
                + "have been answered without the capture seeing it. Findings above are weaker for it.",
            counts: [("kernel_dropped", Int(context.kernelDropped)), ("interface_dropped", Int(context.interfaceDropped)),
                     ("cut_dns_messages", context.cutDNSMessages), ("damaged_tcp_directions", context.damagedTCPDirections),
                     ("incomplete_fragment_sets", context.incompleteFragmentSets)],
            sources: [], servers: [], examples: [],
            remediation: "Capture again with a larger buffer (dnstrail live uses 32 MiB; tcpdump -B 65536), a full snaplen "
                + "(-s 0), and a filter limited to DNS, on a less loaded moment or interface.",
            frames: [])
    }

    // MARK: - Helpers

    static func example(_ transaction: Transaction) -> EvidenceExample {
        var note: String?
        if let fallback = transaction.fallback { note = "TCP fallback \(fallback.outcome.rawValue)" }
        if let rejection = transaction.rejection { note = "ICMP \(rejection.error.reason) from \(rejection.error.sender)" }
        if let backend = transaction.backend { note = (note.map { $0 + "; " } ?? "") + "DNAT to \(backend)" }
        return EvidenceExample(
            client: transaction.client.description, server: transaction.server.description,
            transport: transaction.transport.description, qname: transaction.qname,
            qtype: transaction.question?.type.description, outcome: transaction.outcome.rawValue,
            frames: frames(of: transaction), note: note)
    }

    static func frames(of transaction: Transaction) -> [Int] {
        var frames = transaction.attempts.map(\.frame)
        if let response = transaction.response { frames.append(response.frame) }
        if let fallback = transaction.fallback {
            frames += fallback.frames
            if let response = fallback.responseFrame { frames.append(response) }
            if let reset = fallback.resetFrame { frames.append(reset) }
        }
        if let rejection = transaction.rejection { frames.append(rejection.frame) }
        return frames
    }

    /// Keeps the first five examples; `example` is built only if kept.
    private static func appendExample(_ example: @autoclosure () -> EvidenceExample, to list: inout [EvidenceExample]) {
        if list.count < 5 { list.append(example()) }
    }

    /// Keeps the first `maximumFramesPerSource` frames; `frames` is built only if there is room.
    private static func appendFrames(_ frames: @autoclosure () -> [Int], to list: inout [Int]) {
        let room = Diagnoser.maximumFramesPerSource - list.count
        if room > 0 { list += frames().prefix(room) }
    }

    /// Names listed in a title or sentence: the first `limit`, then how many more (the
    /// finding's evidence lists them all).
    static func listed(_ names: [String], limit: Int = 10) -> String {
        guard names.count > limit else { return names.joined(separator: ", ") }
        return names.prefix(limit).joined(separator: ", ") + " and \(names.count - limit) more"
    }

    static func seconds(_ duration: Duration) -> String {
        let tenths = duration.nanoseconds.saturatingAdd(50_000_000) / 100_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}
