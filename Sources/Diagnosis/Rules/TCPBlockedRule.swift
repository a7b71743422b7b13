import PacketDecoding
import Transactions

/// Incident 4: TCP 53 blocked — truncated answers whose TCP retry never completes its
/// handshake (or is reset), or TCP connections to a DNS port that fail before any query.
struct TCPBlockedRule: DiagnosisRule {
    static let kind = FindingKind.tcpBlocked

    private var failures: [EvidenceExample] = []
    private var failureCount = 0
    private var fallbackFailures = 0
    private var frames: [Int] = []
    private var clients: Set<IPAddress> = []
    private var servers: Set<IPAddress> = []

    mutating func observe(_ transaction: Transaction, source slot: Int) {
        if transaction.outcome == .handshakeFailed || transaction.outcome == .reset { record(transaction) }
        if let fallback = transaction.fallback, fallback.outcome == .handshakeFailed || fallback.outcome == .reset {
            fallbackFailures += 1
            record(transaction)
        }
    }

    private mutating func record(_ transaction: Transaction) {
        failureCount += 1
        Diagnoser.appendExample(Diagnoser.example(transaction), to: &failures)
        Diagnoser.appendFrames(Diagnoser.frames(of: transaction), to: &frames)
        if clients.count < 64 { clients.insert(transaction.client.ip) }
        if servers.count < 64 { servers.insert(transaction.server.ip) }
    }

    func findings(_ observed: ObservedState, _ context: DiagnosisContext) -> [Finding] {
        guard failureCount > 0 else { return [] }
        let serverNames = servers.sorted().map { context.name($0) }
        let withTruncation = fallbackFailures > 0
        return [Finding(
            kind: Self.kind, confidence: withTruncation ? .high : .medium,
            title: "DNS over TCP blocked to " + serverNames.map(\.description).joined(separator: ", "),
            explanation: withTruncation
                ? "\(fallbackFailures) answer\(fallbackFailures == 1 ? " was" : "s were") truncated (TC=1) and the client's "
                    + "TCP retry never got through (SYN unanswered or reset). Answers too large for UDP — many records, DNSSEC, "
                    + "long TXT — fail while small ones work: only UDP 53 is allowed on the path."
                : "\(failureCount) TCP connection\(failureCount == 1 ? "" : "s") to a DNS port failed before any query "
                    + "(SYN unanswered or reset): only UDP 53 is allowed on the path, so any fallback to TCP fails.",
            counts: [("failed_tcp_attempts", failureCount), ("truncated_answers_not_retrieved", fallbackFailures)],
            sources: clients.sorted().map { context.name($0) }, servers: serverNames, examples: failures,
            remediation: "Allow TCP 53 wherever UDP 53 is allowed (NetworkPolicy ports, security groups, node firewalls):\n"
                + "  ports:\n  - {protocol: UDP, port: 53}\n  - {protocol: TCP, port: 53}",
            frames: frames)]
    }
}
