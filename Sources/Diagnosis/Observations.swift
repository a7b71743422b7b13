import DNSWire
import PacketDecoding
import Transactions
import WireCore

/// The aggregates several rules read: per source (the client address) and per server
/// address, updated in place once per transaction. Memory is bounded by the number of
/// distinct sources and servers (capped), never by the number of transactions.
struct Observations {
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
        /// The server addresses the client used (ClusterIP, NodeLocal, pod IP), by slot: one
        /// lookup per transaction (a scan of the few a client uses, no hashing) finds its
        /// counts, those of the attempts that reached that very address, and whether the
        /// server lists this source as answered.
        private var serverSlots = SlotIndex<IPAddress>()
        private var serverCounts: [ServerCounts] = []

        /// The server addresses the client used, in order of first use.
        var servers: [IPAddress] { serverSlots.keys }
        /// Attempts that reached another address than the one the client used (the DNAT
        /// backend, or where the answer came from), per client-used server.
        var byOtherBackend: [BackendKey: Counts] = [:]
        var failingExamples: [EvidenceExample] = []
        var backendExamples: [IPAddress: [EvidenceExample]] = [:]
        var frames = FrameList()
        var rejections: [String: Int] = [:]
        /// VLAN tags its failing queries carried (a branch ENI on an AWS trunk has its own).
        var vlans: Set<[UInt16]> = []

        /// Interfaces its failing queries were last seen on (`-i any`), with how many.
        var lastSeenOn: [Int32: Int] = [:]

        /// Legs its failed lookups were lost on between vantage points (`--vantage`), with
        /// how many (at most 8 legs).
        var lostLegs: [LostLeg: Int] = [:]
        var lostBetweenVantages: Int { lostLegs.values.reduce(0, +) }

        /// The leg most of its lost lookups died on, if any (ties: the forward leg, then by name).
        var mainLeg: LostLeg? { lostLegs.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key }

        /// By the server address the client used.
        var byServer: [IPAddress: Counts] {
            Dictionary(uniqueKeysWithValues: zip(serverSlots.keys, serverCounts.lazy.map(\.counts)))
        }

        /// Unanswered attempts seen again after the node's DNAT (sent on to a backend: they
        /// left the pod's side), and those never seen past it.
        var unansweredAfterDNAT: Int { byOtherBackend.values.reduce(0) { $0 + $1.unanswered } }
        var unansweredBeforeDNAT: Int { serverCounts.reduce(0) { $0 + $1.direct.unanswered } }

        /// Its queries left this node and died beyond it: every query failed, none was
        /// rejected by ICMP, and most unanswered attempts were seen after the DNAT.
        var lostBeyondTheNode: Bool {
            guard counts.answered == 0 && counts.rejected == 0 else { return false }
            // Seen at two vantages and lost between them (at least half the failures) says so directly.
            if lostBetweenVantages > 0, lostBetweenVantages * 2 >= counts.unanswered { return true }
            return unansweredAfterDNAT > 0 && unansweredAfterDNAT >= unansweredBeforeDNAT
        }

        /// By the server actually reached (the DNAT backend when known), per client-used server.
        var byBackend: [BackendKey: Counts] {
            var all = byOtherBackend
            for (server, entry) in zip(serverSlots.keys, serverCounts) where entry.direct.answered + entry.direct.unanswered > 0 {
                all[BackendKey(server: server, backend: server)] = entry.direct
            }
            return all
        }

        /// Updates the entry of `server` in place, made on first sight.
        mutating func updateServer(_ server: IPAddress, _ update: (inout ServerCounts) -> Void) {
            if let slot = serverSlots.slot(of: server) {
                update(&serverCounts[slot])
                return
            }
            guard serverCounts.count < Diagnoser.maximumServersPerSource else { return }
            var entry = ServerCounts()
            update(&entry)
            _ = serverSlots.slot(makingIfNew: server)
            serverCounts.append(entry)
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

    /// A leg of the path between two vantage points: the direction of the lost message,
    /// where it was last seen and where it never arrived.
    struct LostLeg: Hashable, Comparable {
        var direction: PathLoss.Direction
        var from: String
        var to: String

        static func < (lhs: LostLeg, rhs: LostLeg) -> Bool {
            (lhs.direction.rawValue, lhs.from, lhs.to) < (rhs.direction.rawValue, rhs.from, rhs.to)
        }
    }

    struct BackendKey: Hashable {
        var server: IPAddress
        var backend: IPAddress
    }

    struct ServerState {
        var answeredSources: Set<IPAddress> = []
        var answered = 0
        var servfail = 0
        /// Answered, but more than `Diagnoser.lateAnswer` after the query.
        var slow = 0
        var examples: [EvidenceExample] = []
        /// The addresses that really answered for this one: the DNAT backend (the CoreDNS
        /// pod behind a ClusterIP, the node's address for a hostNetwork server), or where the
        /// answer came from. Their own queries are this server's upstream queries.
        var answeredVia: Set<IPAddress> = []
    }

    /// Backends remembered per server address (a Service has a few endpoints).
    static let maximumBackendsPerServer = 16

    /// Sources and servers by slot: one lookup per transaction finds a source, whose state
    /// is then updated in place; a server is found by a scan while there are a few (clients
    /// share a few servers), by hashing beyond that.
    /// Source addresses by slot, found without hashing for most transactions.
    private var sourceSlots = CachedSlotIndex<IPAddress>()
    var sourceAddresses: [IPAddress] { sourceSlots.keys }
    private(set) var sourceStates: [SourceState] = []
    private var serverIndex = CachedSlotIndex<IPAddress>()
    private var serverStates: [ServerState] = []
    /// Transactions of sources beyond `maximumSources`, counted but not diagnosed.
    private(set) var untrackedSources = 0
    /// Answers from servers beyond `maximumServers`: counted for their source, not for the server.
    private(set) var untrackedServerAnswers = 0

    /// Takes in a closed transaction (not multicast, not in flight; a late one counts as
    /// answered, and slow); returns its source's
    /// slot, or nil when the source is beyond `maximumSources` (counted, not diagnosed).
    mutating func add(_ transaction: Transaction) -> Int? {
        let outcome = transaction.outcome
        let client = transaction.client.ip
        guard let slot = sourceSlot(client) else {
            untrackedSources += 1
            return nil
        }
        let server = transaction.server.ip
        var direct = Counts()
        if outcome == .answered || outcome == .late || outcome == .unanswered || outcome == .rejected {
            direct = Observations.countAttempts(transaction, server: server, source: &sourceStates[slot])
        }

        switch outcome {
        case .answered, .late:
            // A late answer still proves the path and the server work: answered, and slow.
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
            if let via = transaction.backend?.ip ?? transaction.response?.source?.ip, via != server,
               serverStates[serverSlot].answeredVia.count < Observations.maximumBackendsPerServer {
                serverStates[serverSlot].answeredVia.insert(via)
            }
            if let rcode = transaction.response?.rcode, rcode == .servFail {
                serverStates[serverSlot].servfail += 1
                Diagnoser.appendExample(Diagnoser.example(transaction), to: &serverStates[serverSlot].examples)
            } else if let latency = transaction.latency, latency > Diagnoser.lateAnswer {
                serverStates[serverSlot].slow += 1
                Diagnoser.appendExample(Diagnoser.example(transaction), to: &serverStates[serverSlot].examples)
            }
        case .unanswered:
            countFailure(\.unanswered, slot: slot, server: server, direct: direct)
        case .rejected:
            countFailure(\.rejected, slot: slot, server: server, direct: direct)
            if let rejection = transaction.rejection {
                sourceStates[slot].rejections["ICMP \(rejection.error.reason) from \(rejection.error.sender)", default: 0] += 1
            }
        case .handshakeFailed, .reset:
            sourceStates[slot].counts.failedConnections += 1
            sourceStates[slot].updateServer(server) { $0.counts.failedConnections += 1 }
        case .multicast, .inFlight:
            return slot
        }
        if outcome != .answered && outcome != .late {
            if let last = transaction.seenOn.last,
               sourceStates[slot].lastSeenOn[last] != nil || sourceStates[slot].lastSeenOn.count < 8 {
                sourceStates[slot].lastSeenOn[last, default: 0] += 1
            }
            if let lost = transaction.vantagePath?.lost {
                let leg = LostLeg(direction: lost.direction, from: lost.lastSeenAt, to: lost.notSeenAt)
                if sourceStates[slot].lostLegs[leg] != nil || sourceStates[slot].lostLegs.count < 8 {
                    sourceStates[slot].lostLegs[leg, default: 0] += 1
                }
            }
            if transaction.vlanIDs.count > 0 && sourceStates[slot].vlans.count < 8 {
                sourceStates[slot].vlans.insert(transaction.vlanIDs.array)
            }
            Diagnoser.appendExample(Diagnoser.example(transaction), to: &sourceStates[slot].failingExamples)
            Diagnoser.appendFrames(Diagnoser.frames(of: transaction), to: &sourceStates[slot].frames)
        }
        return slot
    }

    /// Counts a failed transaction for its source and for the server it used, with the
    /// attempts that reached that very address.
    private mutating func countFailure(_ outcome: WritableKeyPath<Counts, Int>, slot: Int, server: IPAddress, direct: Counts) {
        sourceStates[slot].counts[keyPath: outcome] += 1
        sourceStates[slot].updateServer(server) { entry in
            entry.counts[keyPath: outcome] += 1
            entry.direct.answered += direct.answered
            entry.direct.unanswered += direct.unanswered
        }
    }

    /// The slot of `client`, made on first sight; nil when `maximumSources` are tracked.
    @inline(__always)
    private mutating func sourceSlot(_ client: IPAddress) -> Int? {
        if let slot = sourceSlots.slot(of: client) { return slot }
        guard sourceStates.count < Diagnoser.maximumSources else { return nil }
        let slot = sourceSlots.slot(makingIfNew: client)
        sourceStates.append(SourceState())
        return slot
    }

    /// The slot of `server`, made on first sight; nil for a new server once
    /// `maximumServers` are tracked.
    @inline(__always)
    private mutating func serverSlot(_ server: IPAddress) -> Int? {
        if let slot = serverIndex.slot(of: server) { return slot }
        guard serverStates.count < Diagnoser.maximumServers else { return nil }
        let slot = serverIndex.slot(makingIfNew: server)
        if slot == serverStates.count { serverStates.append(ServerState()) }
        return slot
    }

    /// Sources and servers as dictionaries, for the findings (built once per diagnosis, in
    /// `ObservedState`).
    var sources: [IPAddress: SourceState] {
        Dictionary(uniqueKeysWithValues: zip(sourceAddresses, sourceStates))
    }

    var servers: [IPAddress: ServerState] {
        Dictionary(uniqueKeysWithValues: zip(serverIndex.keys, serverStates))
    }

    /// Per attempt: each retry may be balanced to another backend; the answered attempt
    /// reached its backend, every other attempt's backend stayed silent. Returns the counts
    /// of the attempts that reached `server` itself (most: no DNAT seen); the others go to
    /// `byOtherBackend`.
    private static func countAttempts(_ transaction: Transaction, server: IPAddress, source: inout SourceState) -> Counts {
        var direct = Counts()
        // Most transactions: one attempt, answered by the address it was sent to (what the
        // loop below finds for them, without its lookups).
        if transaction.attempts.count == 1, transaction.outcome == .answered || transaction.outcome == .late,
           let response = transaction.response, response.attemptIndex == 0, transaction.attempts[0].backend == nil,
           response.source.map({ $0.ip == server }) ?? true {
            direct.answered = 1
            return direct
        }
        return countEachAttempt(transaction, server: server, source: &source)
    }

    /// `countAttempts` attempt by attempt. Apart: in one function with the check above, the
    /// compiler copied the attempts for the loop (a retain and release) before the check, on
    /// every transaction (~47 instructions per frame of the 1 M capture).
    @inline(never)
    private static func countEachAttempt(_ transaction: Transaction, server: IPAddress, source: inout SourceState) -> Counts {
        var direct = Counts()
        let respondedIndex = transaction.response?.attemptIndex
        let reached = transaction.backend?.ip ?? transaction.response?.source?.ip ?? server
        for (index, attempt) in transaction.attempts.enumerated() {
            let backend = attempt.backend?.ip ?? (index == respondedIndex ? reached : server)
            if transaction.outcome == .answered || transaction.outcome == .late, index == respondedIndex {
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
                var lost = Diagnoser.example(transaction)
                lost.frames = [attempt.frame]
                lost.note = "attempt \(index + 1) of \(transaction.attemptCount) sent to \(backend), no answer"
                    + (transaction.outcome == .answered ? "; answered via another backend" : "")
                source.backendExamples[backend, default: []].append(lost)
            }
        }
        return direct
    }
}

/// What the rules read at the end, built once per diagnosis (the live stream diagnoses every
/// few seconds): sources and servers by address, the addresses that answer as DNS servers,
/// and the blinded sources egress-blocked and path-loss divide between them.
struct ObservedState {
    let sources: [IPAddress: Observations.SourceState]
    let servers: [IPAddress: Observations.ServerState]
    /// Addresses that answer others as DNS servers, and the backends that answered for them
    /// (a CoreDNS pod behind the ClusterIP, a hostNetwork server's node address): their own
    /// failing queries are upstream trouble, not a blinded pod.
    let answering: Set<IPAddress>
    /// Sources (not DNS servers, not only asking NodeLocal DNSCache) whose every query
    /// failed, at least twice, while other sources got answers from the same server; sorted.
    let blinded: [(IPAddress, Observations.SourceState)]

    /// How many sources other than `group` each of `servers` answered, summed over them
    /// (the "others got answers from the same server" of egress-blocked and path-loss).
    func answeredOthers(by servers: [IPAddress], excluding group: [(IPAddress, Observations.SourceState)]) -> Int {
        let excluded = Set(group.map(\.0))
        return servers.reduce(0) { total, server in
            total + (self.servers[server]?.answeredSources.subtracting(excluded).count ?? 0)
        }
    }

    init(_ observations: Observations, context: DiagnosisContext) {
        let sources = observations.sources
        let servers = observations.servers
        var answering: Set<IPAddress> = []
        for (ip, server) in servers where server.answered > 0 {
            answering.insert(ip)
            answering.formUnion(server.answeredVia)
        }
        let cache = context.directory.nodeLocalDNSCacheAddresses
        var blinded: [(IPAddress, Observations.SourceState)] = []
        for (ip, source) in sources where !answering.contains(ip) {
            guard source.counts.answered == 0, source.counts.failing >= 2 else { continue }
            let usedServers = source.byServer.keys.filter { !cache.contains($0) }
            guard !usedServers.isEmpty else { continue }
            let othersAnswered = usedServers.contains { server in
                servers[server]?.answeredSources.contains { $0 != ip } ?? false
            }
            if othersAnswered { blinded.append((ip, source)) }
        }
        self.sources = sources
        self.servers = servers
        self.answering = answering
        self.blinded = blinded.sorted { $0.0 < $1.0 }
    }
}
