import DNSWire
import PacketDecoding
import Transactions

/// A server that answers REFUSED: an ACL or policy at the server (CoreDNS `acl`, BIND
/// `allow-query`/`allow-recursion`, unbound `access-control`), or clients sent to a server
/// that does not resolve for them. The network works — the server says no.
struct ServerRefusedRule: DiagnosisRule {
    static let kind = FindingKind.serverRefused

    /// Servers whose REFUSED answers are tracked, and sources listed per server.
    static let maximumServers = 1_024
    static let maximumSourcesListed = 64

    struct Refusals {
        var count = 0
        var sources: Set<IPAddress> = []
        /// Refused queries from sources beyond the `maximumSourcesListed` listed.
        var unlistedQueries = 0
        var names: [String] = []
        var examples: [EvidenceExample] = []
        var frames: [Int] = []
    }

    private var byServer: [IPAddress: Refusals] = [:]

    mutating func observe(_ transaction: Transaction, source slot: Int) {
        // NOTIFY and UPDATE refused are a zone's policy at work, not clients turned away.
        guard transaction.outcome == .answered || transaction.outcome == .late, transaction.response?.rcode == .refused,
              transaction.opcode == .query else { return }
        let server = transaction.server.ip
        guard byServer[server] != nil || byServer.count < Self.maximumServers else { return }
        byServer[server, default: Refusals()].record(transaction)
    }

    /// One REFUSED is a name asked of the wrong server; a finding needs it repeated.
    static let minimumRefusals = 2

    func findings(_ observed: ObservedState, _ context: DiagnosisContext) -> [Finding] {
        byServer.filter { $0.value.count >= Self.minimumRefusals }.sorted { $0.key < $1.key }.map { server, refusals in
            let state = observed.servers[server]
            // Sources the same server answered with anything but REFUSED.
            let servedOthers = (state?.answeredSources ?? []).subtracting(refusals.sources).count
            let answeredOtherwise = max(0, (state?.answered ?? refusals.count) - refusals.count)
            let sourceNames = refusals.sources.sorted().map { context.name($0) }
            let who = Diagnoser.listed(sourceNames.map(\.description))
                + (refusals.unlistedQueries > 0 ? " and other sources" : "")
            let serverName = context.name(server)
            var explanation = "\(serverName) answered \(counted(refusals.count, "query", "queries")) from \(who) with REFUSED"
                + (refusals.names.isEmpty ? "" : " (" + Diagnoser.listed(refusals.names, limit: 5) + ")") + ". "
            explanation += answeredOtherwise > 0
                ? "It answered \(counted(answeredOtherwise, "other query", "other queries")) normally"
                    + (servedOthers > 0 ? ", to \(counted(servedOthers, "other source", "other sources"))" : "")
                    + ": the server works and the network delivers; the server's own policy turns these clients away."
                : "It answered nothing else: the network delivers, but this server does not resolve for these clients."
            explanation += " REFUSED comes from an access list or view at the server (CoreDNS `acl`, BIND `allow-query` or "
                + "`allow-recursion`, unbound `access-control`, dnsmasq `--local-service`), or from asking an authoritative-only "
                + "server for names it does not serve."
            return Finding(
                kind: Self.kind,
                confidence: refusals.count >= 3 || servedOthers > 0 ? .high : .medium,
                title: "DNS server \(serverName) refuses queries from \(who)",
                explanation: explanation,
                counts: [("refused_answers", refusals.count), ("sources_refused", refusals.sources.count),
                         ("answered_otherwise", answeredOtherwise)],
                sources: sourceNames, servers: [serverName], examples: refusals.examples,
                remediation: "Allow these clients in the server's access list (CoreDNS: the `acl` plugin's `allow net` for "
                    + "the pod CIDR; BIND: allow-query/allow-recursion; unbound: access-control ... allow), or point the "
                    + "clients (the pod's dnsPolicy/dnsConfig, /etc/resolv.conf, CoreDNS `forward`) at a server that "
                    + "resolves for them.",
                frames: refusals.frames)
        }
    }
}

extension ServerRefusedRule.Refusals {
    mutating func record(_ transaction: Transaction) {
        count += 1
        let client = transaction.client.ip
        if !sources.contains(client) {
            if sources.count < ServerRefusedRule.maximumSourcesListed { sources.insert(client) } else { unlistedQueries += 1 }
        }
        if let name = transaction.qname, names.count < 10, !names.contains(name) { names.append(name) }
        Diagnoser.appendExample(Diagnoser.example(transaction), to: &examples)
        Diagnoser.appendFrames(Diagnoser.frames(of: transaction), to: &frames)
    }
}
