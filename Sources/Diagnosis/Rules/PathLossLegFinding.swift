import PacketDecoding

/// A `path-loss` finding whose leg captures at two vantages named (`--vantage`): the
/// queries of some sources were last seen at one node and never reached the server's
/// (forward leg), or the server's answers were last seen leaving its node and never reached
/// the client's (return leg).
struct PathLossLegFinding {
    let leg: Observations.LostLeg
    let lost: [(IPAddress, Observations.SourceState)]

    func finding(_ observed: ObservedState, _ context: DiagnosisContext) -> Finding {
        let named = lost.map { context.name($0.0) }
        let failing = lost.reduce(0) { $0 + $1.1.counts.failing }
        let onThisLeg = lost.reduce(0) { $0 + ($1.1.lostLegs[leg] ?? 0) }
        let servers = Set(lost.flatMap { $0.1.byServer.keys }).sorted()
        let backends = Set(lost.flatMap { $0.1.byOtherBackend.keys.map(\.backend) }).sorted()
        let otherAnswered = observed.answeredOthers(by: servers, excluding: lost)
        let who = Diagnoser.listed(named.map(\.description))
        let serverNames = (servers + backends).map { context.name($0).description }.joined(separator: ", ")
        let isForward = leg.direction == .query
        let title = isForward
            ? "DNS queries from \(who) lost on the way from \(leg.from) to \(leg.to) (to \(serverNames))"
            : "DNS answers to \(who) lost on the way back from \(leg.from) to \(leg.to) (from \(serverNames))"
        let lostWhere = isForward
            ? "Captured at both at once, \(counted(onThisLeg, "lookup was", "lookups were")) last seen at \(leg.from) and "
                + "never reached \(leg.to), the server's node: the queries are dropped on the forward leg, after they left "
                + "\(leg.from) and before they reached \(leg.to) (a security group, a NACL, the server node's firewall or an "
                + "ingress policy of the DNS pods)."
            : "Captured at both at once, \(counted(onThisLeg, "lookup", "lookups")) reached \(leg.from), the server's node, "
                + "and were answered there, but the answers never reached \(leg.to): they are dropped on the return leg "
                + "(a stateless rule such as a NACL without the ephemeral ports, asymmetric routing or a source/destination "
                + "check, a firewall on \(leg.to)). A NetworkPolicy on \(leg.to) would have stopped the queries instead."
        return Finding(
            kind: .pathLoss,
            confidence: context.isIncomplete ? .medium : (failing >= 2 && onThisLeg * 2 >= failing ? .high : .medium),
            title: title,
            explanation: "Every DNS query from \(who) went unanswered (\(counted(failing, "query", "queries"))), while "
                + "\(otherAnswered) other source\(otherAnswered == 1 ? "" : "s") got answers from the same servers. " + lostWhere,
            counts: [("sources", lost.count), ("failed_queries", failing), ("lost_between_vantages", onThisLeg),
                     ("other_sources_answered", otherAnswered)],
            sources: named, servers: (servers + backends).map { context.name($0) },
            examples: Array(lost.flatMap(\.1.failingExamples).prefix(5)),
            remediation: isForward ? """
                Allow DNS on the way from \(leg.from) to \(leg.to):
                - security groups: the pods' security group (security groups for pods) or \(leg.from)'s must allow UDP and \
                TCP 53 out to the CoreDNS pods or their node's group, and the group of \(leg.to) / the CoreDNS pods must \
                allow UDP and TCP 53 in from them;
                - network ACLs: UDP and TCP 53 out of \(leg.from)'s subnet and into \(leg.to)'s;
                - \(leg.to)'s firewall and any ingress NetworkPolicy on the CoreDNS pods.
                """ : """
                Let the answers back from \(leg.from) to \(leg.to):
                - network ACLs (stateless): UDP and TCP from port 53 out of \(leg.from)'s subnet and into \(leg.to)'s on \
                the ephemeral ports 1024-65535;
                - the return path: asymmetric routing or a source/destination check dropping the answers;
                - \(leg.to)'s firewall (the answers' conntrack state) and any security group rule that is not stateful.
                """,
            frames: Array(lost.flatMap(\.1.frames).prefix(10_000)))
    }
}
