import PacketDecoding
import Transactions
import WireCore

/// Incident 5, the conntrack race: two queries from one socket within microseconds (the
/// engine pairs them as `sentWith`); one answered at once, the other lost and re-sent
/// after the resolver's timeout (glibc: 5 s).
struct ParallelQueryLossRule: DiagnosisRule {
    static let kind = FindingKind.parallelQueryLoss

    private var losses: [EvidenceExample] = []
    private var lossCount = 0
    private var frames: [Int] = []
    private var clients: Set<IPAddress> = []
    private var servers: Set<IPAddress> = []
    private var gapsNearFiveSeconds = 0
    /// Retry gaps of the lost parallel queries, in tenths of a second (the last bucket holds 60 s and more).
    private var gapTenths = [Int](repeating: 0, count: 601)

    mutating func observe(_ transaction: Transaction, source slot: Int) {
        guard let partner = transaction.sentWith, partner.answeredFirstTry,
              transaction.attempts.count >= 2, let first = transaction.attempts.first else { return }
        let firstTryAnswered = transaction.outcome == .answered && transaction.answeredFirstTry
        let gap = transaction.attempts[1].time - first.time
        guard !firstTryAnswered, gap >= Diagnoser.minimumRetryGap else { return }
        lossCount += 1
        if (gap - Duration(nanoseconds: 5_000_000_000)).magnitude.nanoseconds <= 500_000_000 { gapsNearFiveSeconds += 1 }
        gapTenths[Int(min(600, max(0, gap.nanoseconds.saturatingAdd(50_000_000) / 100_000_000)))] += 1
        Diagnoser.appendExample({
            var lost = Diagnoser.example(transaction)
            lost.note = "lost, re-sent after \(Diagnoser.seconds(gap)) s; sent with \(partner.type?.description ?? "?") "
                + "(frame \(partner.frame)), which was answered at once"
            return lost
        }(), to: &losses)
        Diagnoser.appendFrames(Diagnoser.frames(of: transaction) + [partner.frame], to: &frames)
        if clients.count < 64 { clients.insert(transaction.client.ip) }
        if servers.count < 64 { servers.insert(transaction.server.ip) }
    }

    /// The median retry gap of the lost parallel queries, in tenths of a second.
    private var medianGapTenths: Int {
        var seen = 0
        for (tenths, count) in gapTenths.enumerated() {
            seen += count
            if 2 * seen >= lossCount { return tenths }
        }
        return gapTenths.count - 1
    }

    /// High confidence only when at least half the lost queries were re-sent about 5 s later
    /// (glibc's default timeout, the race's signature); retries at other gaps fit plain loss
    /// as well, and the explanation then says the gap measured instead of claiming 5 s.
    func findings(_ observed: ObservedState, _ context: DiagnosisContext) -> [Finding] {
        guard lossCount > 0 else { return [] }
        let atResolverTimeout = gapsNearFiveSeconds > 0 && 2 * gapsNearFiveSeconds >= lossCount
        let median = medianGapTenths
        let retried = atResolverTimeout
            ? "was re-sent only after the resolver's timeout (glibc: 5 s)"
            : "was re-sent after \(median / 10).\(median % 10) s (median), not the 5 s of glibc's default timeout: a resolver "
                + "with a shorter timeout, or plain packet loss"
        return [Finding(
            kind: Self.kind,
            confidence: atResolverTimeout ? .high : .medium,
            title: "Parallel A/AAAA queries lost from one socket (\(lossCount)×): the conntrack race",
            explanation: "\(lossCount) time\(lossCount == 1 ? "" : "s") a client sent two queries from the same socket "
                + "within microseconds (glibc and musl send A and AAAA together); one was answered at once, the other never "
                + "reached the server and \(retried). This is the Linux "
                + "conntrack insertion race on UDP: the second packet of a new flow loses the race and is dropped — the "
                + "'5 second DNS delay'.",
            counts: [("lost_parallel_queries", lossCount), ("retries_after_about_5_s", gapsNearFiveSeconds)],
            sources: clients.sorted().map { context.name($0) },
            servers: servers.sorted().map { context.name($0) }, examples: losses,
            remediation: "Make the resolver avoid the race: add `options single-request-reopen` (glibc) via the pod's "
                + "dnsConfig, or use NodeLocal DNSCache (its upstream uses TCP), or a kernel with the conntrack race fixes "
                + "(Linux 5.0+).",
            frames: frames)]
    }
}
