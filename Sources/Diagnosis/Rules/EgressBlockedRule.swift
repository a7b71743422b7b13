import PacketDecoding

/// Incident 1: a set of sources whose DNS all goes unanswered (or rejected) while other
/// sources get answers from the same server — an egress NetworkPolicy without DNS.
struct EgressBlockedRule: DiagnosisRule {
    static let kind = FindingKind.egressBlocked

    func findings(_ observed: ObservedState, _ context: DiagnosisContext) -> [Finding] {
        // Queries that left the node after its DNAT were not stopped by a policy on this
        // node: path-loss says where they died.
        let blinded = observed.blinded.filter { !$0.1.lostBeyondTheNode }
        guard !blinded.isEmpty else { return [] }
        return [finding(blinded, observed, context)]
    }

    private func finding(
        _ blinded: [(IPAddress, Observations.SourceState)], _ observed: ObservedState, _ context: DiagnosisContext
    ) -> Finding {
        let named = blinded.map { context.name($0.0) }
        let failing = blinded.reduce(0) { $0 + $1.1.counts.failing }
        let serverIPs = Set(blinded.flatMap { $0.1.byServer.keys }).sorted()
        let namespaces = Set(named.compactMap(\.namespace)).sorted()
        let rejections = blinded.flatMap { $0.1.rejections.keys }
        let otherAnswered = observed.answeredOthers(by: serverIPs, excluding: blinded)
        let who = namespaces.isEmpty
            ? Diagnoser.listed(named.map(\.description))
            : "namespace " + Diagnoser.listed(namespaces) + ": " + Diagnoser.listed(named.map(\.description))
        let rejected = blinded.reduce(0) { $0 + $1.1.counts.rejected }
        let fate = rejected == failing ? "was rejected" : rejected > 0 ? "went unanswered or was rejected" : "went unanswered"
        var explanation = "Every DNS query from \(who) \(fate) (\(counted(failing, "query", "queries"))"
            + (rejected > 0 && rejected < failing ? ", \(rejected) rejected" : "") + "), while \(otherAnswered) other "
            + "source\(otherAnswered == 1 ? "" : "s") got answers from the same server "
            + "(\(serverIPs.map { context.name($0).description }.joined(separator: ", "))). "
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
        let confidence: Confidence = context.isIncomplete ? .medium : (failing >= 3 && otherAnswered >= 1 ? .high : .medium)
        return Finding(
            kind: Self.kind, confidence: confidence,
            title: "DNS blocked for \(who)",
            explanation: explanation,
            counts: [("sources", blinded.count), ("failed_queries", failing), ("other_sources_answered", otherAnswered)],
            sources: named, servers: serverIPs.map { context.name($0) },
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
}
