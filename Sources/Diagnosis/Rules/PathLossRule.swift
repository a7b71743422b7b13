import PacketDecoding

/// Incident 3 seen from the client's node: every query of some sources was seen leaving
/// the node after its DNAT (to the CoreDNS pod's address, through the node's uplink on a
/// `-i any` capture) and no answer came back, while other sources are answered. A
/// NetworkPolicy on this node stops a query at the pod's interface, before it is sent on;
/// these left, so they died beyond this node: a security group (AWS VPC CNI security
/// groups for pods), a NACL, the server node's firewall or the CoreDNS pods' ingress
/// policy, or the return path. Captures at both ends at once say which leg.
struct PathLossRule: DiagnosisRule {
    static let kind = FindingKind.pathLoss

    func findings(_ observed: ObservedState, _ context: DiagnosisContext) -> [Finding] {
        let lost = observed.blinded.filter { $0.1.lostBeyondTheNode }
        guard !lost.isEmpty else { return [] }
        // Captures at several vantages (`--vantage`) name the leg: one finding per leg.
        var byLeg: [Observations.LostLeg: [(IPAddress, Observations.SourceState)]] = [:]
        var unplaced: [(IPAddress, Observations.SourceState)] = []
        for entry in lost {
            if let leg = entry.1.mainLeg { byLeg[leg, default: []].append(entry) } else { unplaced.append(entry) }
        }
        var findings = byLeg.sorted { $0.key < $1.key }.map { leg, sources in
            PathLossLegFinding(leg: leg, lost: sources).finding(observed, context)
        }
        if !unplaced.isEmpty { findings.append(finding(unplaced, observed, context)) }
        return findings
    }

    private func finding(
        _ lost: [(IPAddress, Observations.SourceState)], _ observed: ObservedState, _ context: DiagnosisContext
    ) -> Finding {
        let named = lost.map { context.name($0.0) }
        let failing = lost.reduce(0) { $0 + $1.1.counts.failing }
        let afterDNAT = lost.reduce(0) { $0 + $1.1.unansweredAfterDNAT }
        let servers = Set(lost.flatMap { $0.1.byServer.keys }).sorted()
        let backends = Set(lost.flatMap { $0.1.byOtherBackend.keys.map(\.backend) }).sorted()
        var lastSeen: [Int32: Int] = [:]
        for (_, source) in lost { lastSeen.merge(source.lastSeenOn, uniquingKeysWith: +) }
        let interfaces = lastSeen.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { context.interface($0.key) }
        let otherAnswered = observed.answeredOthers(by: servers, excluding: lost)
        let who = Diagnoser.listed(named.map(\.description))
        let serverNames = servers.map { context.name($0).description }.joined(separator: ", ")
        let backendNames = backends.map { context.name($0).description }.joined(separator: ", ")
        let leftThrough = interfaces.isEmpty ? "" : " and left through \(Diagnoser.listed(interfaces, limit: 3))"
        return Finding(
            kind: Self.kind, confidence: context.isIncomplete ? .medium : (failing >= 3 && otherAnswered >= 1 ? .high : .medium),
            title: "DNS from \(who) lost beyond this node (to \(backendNames))",
            explanation: "Every DNS query from \(who) went unanswered (\(counted(failing, "query", "queries"))), while "
                + "\(otherAnswered) other source\(otherAnswered == 1 ? "" : "s") got answers from \(serverNames). \(lost.count == 1 ? "Its" : "Their") attempts "
                + "were seen after this node's DNAT, sent on to \(backendNames)\(leftThrough) "
                + "(\(counted(afterDNAT, "attempt", "attempts"))): they left the node, and no answer came back. A "
                + "NetworkPolicy on this node would have stopped them at the pod's interface, before the DNAT; the drop is "
                + "beyond this node — on the way to the server's node (a security group: with AWS VPC CNI security groups "
                + "for pods, the pod's own group; a NACL), at the server's node (its firewall, the CoreDNS pods' ingress "
                + "policy), or on the way back.",
            counts: [("sources", lost.count), ("failed_queries", failing), ("attempts_seen_after_dnat", afterDNAT),
                     ("other_sources_answered", otherAnswered)],
            sources: named, servers: (servers + backends).map { context.name($0) },
            examples: Array(lost.flatMap(\.1.failingExamples).prefix(5)),
            remediation: """
                Find the leg with a capture on the server's node at the same time, then allow DNS there:
                - security groups: the pods' security group (security groups for pods) or the node's must allow UDP and TCP 53 \
                out to the CoreDNS pods or their node's group, and the CoreDNS side must allow them in;
                - network ACLs of both subnets: UDP and TCP 53 out, and the ephemeral ports (1024-65535) back;
                - the server node's firewall and any ingress NetworkPolicy on the CoreDNS pods;
                - the return path: asymmetric routing or a source check dropping the answers.
                """,
            frames: Array(lost.flatMap(\.1.frames).prefix(10_000)))
    }
}
