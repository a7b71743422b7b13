import DNSWire
import PacketDecoding
import Transactions
import WireCore

/// Incident 6: a DNS server answers its clients SERVFAIL (or late) because its own queries
/// to its upstream go unanswered — CoreDNS's `read udp ...->8.8.8.8:53: i/o timeout`.
///
/// The server the clients ask and the address its upstream queries leave from are seldom
/// the same: kube-dns is a ClusterIP DNATed to a CoreDNS pod, a hostNetwork CoreDNS asks
/// from the node's address, NodeLocal DNSCache forwards to the ClusterIP over TCP. A
/// forwarder is linked to the server it works for when
/// - it is the server's own address, or the DNAT backend that answered for it; or
/// - its failing query asks the very name a client of the server asked, sent between that
///   client's query and the server's SERVFAIL (or late) answer: the forwarded question.
/// Upstream queries still in flight at the capture's end count once they had waited
/// `minimumWait`, so a capture shorter than the timeout still shows the pattern.
struct UpstreamTimeoutRule: DiagnosisRule {
    static let kind = FindingKind.upstreamTimeout

    /// An upstream query in flight at the capture's end, waiting this long, counts as failing.
    static let minimumWait = Duration(nanoseconds: 2_000_000_000)
    /// Names answered SERVFAIL or late remembered (each with up to `maximumAnswersPerName`).
    static let maximumNames = 20_000
    static let maximumAnswersPerName = 4
    /// Sources whose failing queries are remembered, and queries remembered per source.
    static let maximumSources = 4_096
    static let maximumQueriesPerSource = 64

    /// A client's question a server answered SERVFAIL or late: asked then, answered then.
    struct BadAnswer {
        var server: IPAddress
        var asked: Timestamp
        var answered: Timestamp
    }

    /// A query of some source that got no answer (or was still waiting at the capture's end).
    struct FailingQuery {
        var name: UInt64
        var server: IPAddress
        var sent: Timestamp
        var lastSent: Timestamp
        var waiting: Bool
        /// Rendered only when quoted (`example`): thousands are kept, a few quoted.
        var exampleSource: ExampleSource
        var frames: [Int]

        var example: EvidenceExample { exampleSource.example(frames: frames) }
    }

    private var badAnswers: [UInt64: [BadAnswer]] = [:]
    private var failing: [IPAddress: [FailingQuery]] = [:]

    mutating func observe(_ transaction: Transaction, source slot: Int) {
        switch transaction.outcome {
        case .answered, .late:
            // By the question's case-folded name hash: forwarders may change the case.
            guard let response = transaction.response, let hash = transaction.question?.nameHash else { return }
            let slow = transaction.latency.map { $0 > Diagnoser.lateAnswer } ?? false
            guard response.rcode == .servFail || slow else { return }
            guard badAnswers[hash] != nil || badAnswers.count < Self.maximumNames,
                  badAnswers[hash, default: []].count < Self.maximumAnswersPerName else { return }
            badAnswers[hash, default: []].append(
                BadAnswer(server: transaction.server.ip, asked: transaction.firstTime, answered: response.time))
        case .unanswered, .rejected:
            remember(transaction, waiting: false)
        default:
            return
        }
    }

    /// A query still waiting when the capture ended (the engine's `in_flight`).
    mutating func observeInFlight(_ transaction: Transaction) {
        remember(transaction, waiting: true)
    }

    private mutating func remember(_ transaction: Transaction, waiting: Bool) {
        guard let name = transaction.question?.nameHash, let first = transaction.attempts.first else { return }
        let client = transaction.client.ip
        guard failing[client] != nil || failing.count < Self.maximumSources,
              failing[client, default: []].count < Self.maximumQueriesPerSource else { return }
        failing[client, default: []].append(FailingQuery(
            name: name, server: transaction.server.ip, sent: first.time,
            lastSent: transaction.attempts.last?.time ?? first.time, waiting: waiting,
            exampleSource: ExampleSource(transaction), frames: Diagnoser.frames(of: transaction)))
    }

    /// A server answering SERVFAIL or late, and the forwarders linked to it.
    private struct Group {
        var servers: Set<IPAddress>
        var forwarders: Set<IPAddress>
        /// Servers linked by address (their own address or their DNAT backend), not only by name.
        var direct: Set<IPAddress>
    }

    func findings(_ observed: ObservedState, _ context: DiagnosisContext) -> [Finding] {
        let servers = observed.servers
        let sources = observed.sources
        let end = context.captureEnd
        // A waiting query counts only once it had waited `minimumWait` at the capture's end.
        func counts(_ query: FailingQuery) -> Bool {
            guard query.waiting else { return true }
            guard let end else { return false }
            return end - query.lastSent >= Self.minimumWait
        }
        func ownFailing(_ ip: IPAddress) -> Int {
            (sources[ip]?.counts.failing ?? 0) + (failing[ip]?.filter { $0.waiting && counts($0) }.count ?? 0)
        }
        var links: [IPAddress: (forwarders: Set<IPAddress>, direct: Bool)] = [:]
        for (ip, server) in servers where server.servfail + server.slow > 0 {
            for address in [ip] + server.answeredVia.sorted() where ownFailing(address) > 0 {
                links[ip, default: ([], false)].forwarders.insert(address)
                links[ip, default: ([], false)].direct = true
            }
        }
        // The forwarded question: the same name, asked upstream while the client waited. Not
        // from a client of the servers answering SERVFAIL or late, nor to one of them: pods
        // asking two CoreDNS replicas the same popular names are clients, not forwarders.
        let badServers = Set(servers.filter { $0.value.servfail + $0.value.slow > 0 }.keys)
        for (source, queries) in failing where !Self.isClient(sources[source], of: badServers) {
            for query in queries where counts(query) && !badServers.contains(query.server) {
                for answer in badAnswers[query.name] ?? [] where answer.server != source
                    && query.sent >= answer.asked && query.sent <= answer.answered {
                    links[answer.server, default: ([], false)].forwarders.insert(source)
                }
            }
        }
        var groups: [Group] = []
        for (server, link) in links.sorted(by: { $0.key < $1.key }) {
            var group = Group(servers: [server], forwarders: link.forwarders, direct: link.direct ? [server] : [])
            var kept: [Group] = []
            for other in groups {
                if other.forwarders.isDisjoint(with: group.forwarders) {
                    kept.append(other)
                } else {
                    group.servers.formUnion(other.servers)
                    group.forwarders.formUnion(other.forwarders)
                    group.direct.formUnion(other.direct)
                }
            }
            groups = kept + [group]
        }
        return groups
            .sorted { $0.forwarders.sorted().lexicographicallyPrecedes($1.forwarders.sorted()) }
            .map { finding($0, observed, context, counts: counts) }
    }

    /// Whether `source` asked any of `servers` itself (answered or not).
    static func isClient(_ source: Observations.SourceState?, of servers: Set<IPAddress>) -> Bool {
        guard let source else { return false }
        return source.servers.contains { servers.contains($0) }
    }

    /// A forwarder as findings name it; a node's address with the host-network DNS pods
    /// (those a Service selects) that send from it.
    static func describe(_ ip: IPAddress, _ context: DiagnosisContext) -> String {
        let pods = context.directory.services(backedBy: ip)
            .flatMap { context.directory.hostNetworkPods(at: ip, backing: $0.service) }
        let names = pods.reduce(into: [String]()) { list, pod in
            if !list.contains("\(pod.namespace)/\(pod.name)") { list.append("\(pod.namespace)/\(pod.name)") }
        }
        guard !names.isEmpty else { return context.name(ip).description }
        let node = context.directory.node(at: ip).map { " on \($0)" } ?? ""
        return "\(Diagnoser.listed(names, limit: 3)) (\(ip), host network\(node))"
    }

    private func finding(
        _ group: Group, _ observed: ObservedState, _ context: DiagnosisContext, counts: (FailingQuery) -> Bool
    ) -> Finding {
        let sources = observed.sources
        let members = group.servers.union(group.forwarders)
        let forwarders = group.forwarders.sorted()
        var upstreams: Set<IPAddress> = []
        var unanswered = 0
        var examples: [EvidenceExample] = []
        var frames: [Int] = []
        for forwarder in forwarders {
            if let own = sources[forwarder] {
                for (server, counts) in own.byServer where counts.failing > 0 && !members.contains(server) {
                    upstreams.insert(server)
                    unanswered += counts.failing
                }
                examples += own.failingExamples.filter { example in !members.contains { example.server.hasPrefix($0.description) } }
                frames += own.frames
            }
        }
        var waiting = 0
        for forwarder in forwarders {
            for query in failing[forwarder] ?? [] where query.waiting && counts(query) && !members.contains(query.server) {
                waiting += 1
                upstreams.insert(query.server)
                if examples.count < 6 { examples.append(query.example) }
                frames += query.frames
            }
        }
        let servers = group.servers.sorted()
        let states = servers.compactMap { observed.servers[$0] }
        let servfail = states.reduce(0) { $0 + $1.servfail }
        let slow = states.reduce(0) { $0 + $1.slow }
        let upstreamList = upstreams.sorted()
        let upstreamNames = upstreamList.map { context.name($0).description }.joined(separator: ", ")
        let forwarderNames = forwarders.map { Self.describe($0, context) }.joined(separator: ", ")
        // The servers clients asked: linked by address (or all, when linked by name only);
        // the others only passed the failures on (a cache in front).
        let fronts = servers.filter { !group.forwarders.contains($0) }
        let directFronts = group.direct.isEmpty ? fronts : fronts.filter { group.direct.contains($0) }
        let relays = fronts.filter { !directFronts.contains($0) }
        // The ClusterIPs of the Services the forwarders back (--pods), when the ClusterIP
        // never crossed the wire (DNAT in the node's OUTPUT chain, before any capture point).
        var serviceIPs: [IPAddress] = []
        for forwarder in forwarders {
            for (_, clusterIPs) in context.directory.services(backedBy: forwarder) {
                for ip in clusterIPs where !fronts.contains(ip) && !serviceIPs.contains(ip) && !group.forwarders.contains(ip) {
                    serviceIPs.append(ip)
                }
            }
        }
        let behind = directFronts + serviceIPs
        let who = behind.isEmpty
            ? forwarderNames
            : "\(forwarderNames) behind \(behind.map { context.name($0).description }.joined(separator: ", "))"
        var explanation = "\(who) answered its clients with SERVFAIL (\(servfail)) or late (\(slow) over 2 s), and its own "
            + "queries to \(upstreamNames) went unanswered (\(unanswered)"
            + (waiting > 0 ? ", and \(waiting) still waiting \(Diagnoser.seconds(Self.minimumWait)) s or more when the capture ended" : "")
            + "). The clients' server works; the server's upstream does not answer it — CoreDNS logs this as "
            + "`read udp ... i/o timeout`."
        if !directFronts.isEmpty {
            explanation += " The clients ask \(directFronts.map { context.name($0).description }.joined(separator: ", ")); "
                + "the queries to the upstream leave from \(forwarderNames)"
                + (group.direct.isEmpty ? ", asking the very names those clients asked, while they waited" : "") + "."
        }
        if !relays.isEmpty {
            explanation += " \(relays.map { context.name($0).description }.joined(separator: ", ")) passed the same failures "
                + "on to its own clients (a cache in front forwarding these names)."
        }
        let serverExamples = states.flatMap(\.examples)
        return Finding(
            kind: Self.kind,
            confidence: unanswered + waiting >= 2 && servfail + slow >= 2 ? .high : .medium,
            title: "DNS server \(who) gets no answer from its upstream \(upstreamNames)",
            explanation: explanation,
            counts: [("servfail_answers", servfail), ("late_answers", slow), ("unanswered_upstream_queries", unanswered)]
                + (waiting > 0 ? [("upstream_queries_waiting_at_end", waiting)] : []),
            sources: forwarders.map { context.name($0) }, servers: upstreamList.map { context.name($0) },
            examples: Array((serverExamples + examples).prefix(6)),
            remediation: "Check the upstream \(upstreamNames) and the path to it from the DNS server (egress policy of the "
                + "CoreDNS pods, node firewall, VPC resolver limits); point CoreDNS's `forward` plugin at a reachable upstream.",
            frames: Array(frames.prefix(10_000)))
    }
}
