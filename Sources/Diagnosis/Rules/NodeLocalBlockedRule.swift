import PacketDecoding

/// Incident 2: queries to NodeLocal DNSCache (169.254.20.10) unanswered while another
/// server answers — a selector-based egress policy cannot allow the link-local cache.
struct NodeLocalBlockedRule: DiagnosisRule {
    static let kind = FindingKind.nodeLocalBlocked

    func findings(_ observed: ObservedState, _ context: DiagnosisContext) -> [Finding] {
        let cache = context.directory.nodeLocalDNSCacheAddresses
        guard !cache.isEmpty else { return [] }
        let otherServerAnswered = observed.servers.contains { !cache.contains($0.key) && $0.value.answered > 0 }
        var entries: [(IPAddress, Observations.SourceState, IPAddress)] = []
        for (ip, source) in observed.sources where !observed.answering.contains(ip) {
            for (server, counts) in source.byServer where cache.contains(server) && counts.answered == 0 && counts.failing >= 2 {
                if source.counts.answered > 0 || otherServerAnswered { entries.append((ip, source, server)) }
            }
        }
        guard !entries.isEmpty else { return [] }
        return [finding(entries.sorted { ($0.0, $0.2) < ($1.0, $1.2) }, context)]
    }

    private func finding(_ entries: [(IPAddress, Observations.SourceState, IPAddress)], _ context: DiagnosisContext) -> Finding {
        let named = entries.map { context.name($0.0) }
        let failing = entries.reduce(0) { $0 + ($1.1.byServer[$1.2]?.failing ?? 0) }
        let answeredElsewhere = entries.reduce(0) { total, entry in
            total + entry.1.byServer.filter { $0.key != entry.2 }.reduce(0) { $0 + $1.value.answered }
        }
        let cache = Set(entries.map(\.2)).sorted()
        return Finding(
            kind: Self.kind, confidence: context.isIncomplete ? .medium : (answeredElsewhere > 0 ? .high : .medium),
            title: "NodeLocal DNSCache \(cache.map(\.description).joined(separator: ", ")) unreachable from "
                + Diagnoser.listed(named.map(\.description)),
            explanation: "Queries to NodeLocal DNSCache (\(cache.map(\.description).joined(separator: ", "))) went unanswered "
                + "(\(failing)) while \(counted(answeredElsewhere, "query", "queries")) from the same "
                + "source\(entries.count == 1 ? "" : "s") to another "
                + "server were answered. The cache listens on a link-local address on each node that no podSelector or "
                + "namespaceSelector can match, so an egress NetworkPolicy written with selectors for kube-dns still blocks it.",
            counts: [("sources", entries.count), ("failed_queries", failing), ("answered_elsewhere", answeredElsewhere)],
            sources: named, servers: cache.map { context.name($0) },
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
}
