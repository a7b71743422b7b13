import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// The transaction shapes each incident produces (as the engine emits them), for the rule
/// tests under Rules/ (one file per finding kind), and the diagnoser run over them.
struct DiagnoserTests {
    static func ip(_ text: String) -> IPAddress { IPAddress(text)! }

    static func transaction(
        client: String, port: UInt16 = 40000, server: String, at milliseconds: Int64, id: UInt16 = 1,
        name: String = "api.example.com.", type: DNSType = .a, outcome: Outcome, rcode: DNSRCode = .noError,
        retryAfter: Int64? = nil, answerAfter: Int64 = 1, backend: String? = nil, frame: Int = 1
    ) -> Transaction {
        var attempts = [Attempt(frame: frame, time: Timestamp(nanoseconds: milliseconds * 1_000_000), clientPort: port)]
        if let retryAfter {
            attempts.append(Attempt(frame: frame + 1, time: Timestamp(nanoseconds: (milliseconds + retryAfter) * 1_000_000),
                                    clientPort: port))
        }
        let last = attempts.last!.time
        var response: ResponseRecord?
        if outcome == .answered {
            response = ResponseRecord(frame: frame + 2, time: last + .milliseconds(answerAfter), rcode: rcode,
                                      isTruncated: false, attemptIndex: attempts.count - 1)
        }
        var transaction = Transaction(
            client: Endpoint(ip: ip(client), port: port), server: Endpoint(ip: ip(server), port: 53), transport: .udp,
            id: id, opcode: .query, qname: name, question: QuestionKey(nameHash: DNSName(name)?.hashKey ?? 0, type: type, qclass: .in),
            vlanIDs: VLANIDs(), interfaceIndex: -1, underlay: nil, attempts: Attempts(attempts), droppedAttempts: 0,
            response: response, rejection: nil, fallback: nil, outcome: outcome,
            expiry: outcome == .unanswered ? .timeout : outcome == .inFlight ? .captureEnd : nil,
            lastTime: response?.time ?? last)
        if let backend {
            for index in transaction.attempts.indices { transaction.attempts[index].backend = Endpoint(ip: ip(backend), port: 53) }
        }
        return transaction
    }

    func findings(
        _ transactions: [Transaction], directory: ClusterDirectory = ClusterDirectory(), captureEndMilliseconds: Int64? = nil
    ) -> [Finding] {
        var diagnoser = Diagnoser()
        for transaction in transactions { diagnoser.add(transaction) }
        let end = captureEndMilliseconds.map { Timestamp(nanoseconds: $0 * 1_000_000) }
        return diagnoser.findings(context: DiagnosisContext(directory: directory, timeout: .seconds(5), captureEnd: end))
    }

    /// Every diagnosis rule keeps its findings to its own kind, and the kinds come out in
    /// their order of importance whatever order the rules ran in.
    @Test func findingsComeOutInKindOrder() {
        var transactions: [Transaction] = []
        // A search-path amplification (later kind) and an egress-blocked pod (first kind).
        for (index, suffix) in ["default.svc.cluster.local.", "svc.cluster.local."].enumerated() {
            transactions.append(Self.transaction(client: "10.244.1.10", server: "10.96.0.10", at: Int64(index), id: UInt16(index),
                                                 name: "api.github.com." + suffix, outcome: .answered, rcode: .nxDomain))
        }
        transactions.append(Self.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 5, id: 9,
                                             name: "api.github.com.", outcome: .answered))
        for index in 0..<3 {
            transactions.append(Self.transaction(client: "10.244.1.11", port: UInt16(41000 + index), server: "10.96.0.10",
                                                 at: Int64(10 + index), id: UInt16(20 + index), outcome: .unanswered))
        }
        #expect(findings(transactions).map(\.kind) == [.egressBlocked, .searchPathAmplification])
    }
}
