import PacketDecoding

/// Incident 3: for the same client and Service, one DNS backend answers and another never
/// does (security groups for pods: the CoreDNS pod on another node is blocked).
struct BackendUnreachableRule: DiagnosisRule {
    static let kind = FindingKind.backendUnreachable

    struct Split {
        var client: IPAddress
        var server: IPAddress
        var good: IPAddress
        var bad: IPAddress
        var failing: Int
        var answered: Int
        var examples: [EvidenceExample]
        var frames: [Int]
    }

    func findings(_ observed: ObservedState, _ context: DiagnosisContext) -> [Finding] {
        var splits: [Split] = []
        for (ip, source) in observed.sources where source.counts.answered > 0 {
            let byBackend = source.byBackend
            for (key, counts) in byBackend where key.backend != key.server && counts.answered == 0 && counts.unanswered >= 2 {
                guard let good = byBackend.filter({
                    $0.key.server == key.server && $0.key.backend != key.backend && $0.value.answered > 0
                }).min(by: { $0.key.backend < $1.key.backend }) else { continue }
                splits.append(Split(client: ip, server: key.server, good: good.key.backend, bad: key.backend,
                                    failing: counts.unanswered, answered: good.value.answered,
                                    examples: source.backendExamples[key.backend] ?? [], frames: Array(source.frames)))
            }
        }
        guard !splits.isEmpty else { return [] }
        return [finding(splits.sorted { ($0.client, $0.bad) < ($1.client, $1.bad) }, context)]
    }

    private func finding(_ splits: [Split], _ context: DiagnosisContext) -> Finding {
        let bad = Set(splits.map(\.bad)).sorted()
        let good = Set(splits.map(\.good)).sorted()
        let service = Set(splits.map(\.server)).sorted()
        let failing = splits.reduce(0) { $0 + $1.failing }
        let answered = splits.reduce(0) { $0 + $1.answered }
        let clients = Set(splits.map(\.client)).sorted().map { context.name($0) }
        let badNames = bad.map { context.name($0).description }.joined(separator: ", ")
        return Finding(
            kind: Self.kind, confidence: context.isIncomplete ? .medium : (failing >= 3 ? .high : .medium),
            title: "DNS backend \(badNames) never answers " + Diagnoser.listed(clients.map(\.description)),
            explanation: "Queries from the same client\(clients.count == 1 ? "" : "s") to \(service.map(\.description).joined(separator: ", ")) "
                + "were answered when DNAT sent them to \(good.map { context.name($0).description }.joined(separator: ", ")) "
                + "(\(answered)) and never when it sent them to \(badNames) (\(failing)). One path works and the other is "
                + "blocked: with AWS VPC CNI security groups for pods, a pod's security group that does not allow DNS to where "
                + "CoreDNS runs blocks the CoreDNS pod on another node while the one on the same node still answers — slow, "
                + "mostly failing resolution that sometimes succeeds on retry.",
            counts: [("clients", clients.count), ("failed_via_backend", failing), ("answered_via_other_backend", answered)],
            sources: clients, servers: (service + bad).map { context.name($0) },
            examples: Array(splits.flatMap(\.examples).prefix(5)),
            remediation: "Allow DNS (UDP and TCP 53) from the pods' security group to the CoreDNS pods behind \(badNames) "
                + "(their node's or their own security group), and inbound on the CoreDNS side from the pods' security group; "
                + "or run a CoreDNS replica reachable from every node the pods use.",
            frames: Array(splits.flatMap(\.frames).prefix(10_000)))
    }
}
