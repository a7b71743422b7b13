import DNSWire
import PacketDecoding
import Transactions
import WireCore

/// A server whose answers arrive after the client's deadline (`outcome: late`): the client
/// had given up, and retried or failed, while the server was still working on it. The
/// server waits on something — its upstream, a slow backend, overload, CPU throttling.
struct LateAnswersRule: DiagnosisRule {
    static let kind = FindingKind.lateAnswers

    /// Servers tracked, sources listed and latencies kept (for the median) per server.
    static let maximumServers = 1_024
    static let maximumSourcesListed = 64
    static let maximumLatencies = 1_024

    struct LateServer {
        var count = 0
        var sources: Set<IPAddress> = []
        var latencies: [Duration] = []
        var fastest = Duration(nanoseconds: .max)
        var slowest = Duration(nanoseconds: 0)
        var rcodes: [String: Int] = [:]
        var examples: [EvidenceExample] = []
        var frames: [Int] = []
    }

    private var servers: [IPAddress: LateServer] = [:]

    mutating func observe(_ transaction: Transaction, source slot: Int) {
        guard transaction.outcome == .late, let latency = transaction.latency else { return }
        let server = transaction.server.ip
        guard servers[server] != nil || servers.count < Self.maximumServers else { return }
        servers[server, default: LateServer()].record(transaction, latency: latency)
    }

    func findings(_ observed: ObservedState, _ context: DiagnosisContext) -> [Finding] {
        servers.sorted { $0.key < $1.key }.map { ip, late in
            let server = context.name(ip)
            let sources = late.sources.sorted().map { context.name($0) }
            let median = late.latencies.sorted()[late.latencies.count / 2]
            let answered = observed.servers[ip]?.answered ?? late.count
            let rcodes = late.rcodes.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key) \($0.value)" }
                .joined(separator: ", ")
            let timeout = Diagnoser.seconds(context.timeout)
            return Finding(
                kind: Self.kind,
                confidence: late.count >= 3 ? .high : .medium,
                title: "DNS server \(server) answers after its clients gave up: \(counted(late.count, "late answer", "late answers")) "
                    + "(median \(Diagnoser.seconds(median)) s, timeout \(timeout) s)",
                explanation: "\(counted(late.count, "query", "queries")) from \(Diagnoser.listed(sources.map(\.description))) "
                    + "\(late.count == 1 ? "was" : "were") answered by \(server) only after the \(timeout) s timeout "
                    + "(\(Self.range(late.fastest, late.slowest)) s after the query; \(rcodes)), "
                    + "out of \(answered) answers from it. By then the client had given up on that try (glibc waits 5 s by "
                    + "default), retried or failed: `i/o timeout` for the client although the server does answer. The "
                    + "server waits on something: its upstream, a slow backend, overload or CPU throttling, or a path that "
                    + "delays packets.",
                counts: [("late_answers", late.count), ("median_latency_ms", Int(median.nanoseconds / 1_000_000)),
                         ("slowest_latency_ms", Int(late.slowest.nanoseconds / 1_000_000)), ("answers_from_server", answered)],
                sources: sources, servers: [server], examples: late.examples,
                remediation: "Find what the server waits for: its upstream's latency (CoreDNS: the `forward` plugin's "
                    + "coredns_forward_request_duration_seconds and health checks; an upstream-timeout finding above), CPU "
                    + "limits throttling the DNS pods, queueing under load. Serve from cache (NodeLocal DNSCache; CoreDNS "
                    + "`cache` with `prefetch` and `serve_stale`). Raising the clients' timeout (`options timeout:`) "
                    + "only hides it.",
                frames: late.frames)
        }
    }
}

extension LateAnswersRule {
    /// `6.0` when both ends round alike, else `6.0 to 11.2` (seconds).
    static func range(_ low: Duration, _ high: Duration) -> String {
        let (from, to) = (Diagnoser.seconds(low), Diagnoser.seconds(high))
        return from == to ? from : "\(from) to \(to)"
    }
}

extension LateAnswersRule.LateServer {
    mutating func record(_ transaction: Transaction, latency: Duration) {
        count += 1
        if sources.count < LateAnswersRule.maximumSourcesListed { sources.insert(transaction.client.ip) }
        if latencies.count < LateAnswersRule.maximumLatencies { latencies.append(latency) }
        fastest = min(fastest, latency)
        slowest = max(slowest, latency)
        if let rcode = transaction.response?.rcode { rcodes[rcode.description, default: 0] += 1 }
        Diagnoser.appendExample(Diagnoser.example(transaction), to: &examples)
        Diagnoser.appendFrames(Diagnoser.frames(of: transaction), to: &frames)
    }
}
