import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// Each rule fed the transaction shapes its incident produces (as the engine emits them),
/// and the shapes of neighbouring incidents it must not fire on.
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
            id: id, opcode: .query, qname: name, question: QuestionKey(nameHash: UInt64(name.count) &* 31 &+ UInt64(type.rawValue), type: type, qclass: .in),
            vlanIDs: VLANIDs(), interfaceIndex: -1, underlay: nil, attempts: attempts, droppedAttempts: 0,
            response: response, rejection: nil, fallback: nil, outcome: outcome,
            expiry: outcome == .unanswered ? .timeout : nil, lastTime: last)
        if let backend {
            for index in transaction.attempts.indices { transaction.attempts[index].backend = Endpoint(ip: ip(backend), port: 53) }
        }
        return transaction
    }

    func findings(_ transactions: [Transaction], directory: ClusterDirectory = ClusterDirectory()) -> [Finding] {
        var diagnoser = Diagnoser()
        for transaction in transactions { diagnoser.add(transaction) }
        return diagnoser.findings(context: DiagnosisContext(directory: directory, timeout: .seconds(5)))
    }

    @Test func nodeLocalBlockedWhileTheClusterIPAnswers() throws {
        let result = findings([
            Self.transaction(client: "10.244.1.11", server: "169.254.20.10", at: 0, outcome: .unanswered),
            Self.transaction(client: "10.244.1.11", server: "169.254.20.10", at: 10, outcome: .unanswered),
            Self.transaction(client: "10.244.1.11", server: "10.96.0.10", at: 20, outcome: .answered),
            Self.transaction(client: "10.244.1.10", server: "169.254.20.10", at: 30, outcome: .answered),
        ])
        #expect(result.map(\.kind) == [.nodeLocalBlocked])
        let finding = try #require(result.first)
        #expect(finding.confidence == .high)
        #expect(finding.remediation.contains("ipBlock: {cidr: 169.254.20.10/32}"))
        #expect(finding.servers.first?.identity == "NodeLocal DNSCache")
    }

    @Test func backendSplitNamesTheSilentBackend() throws {
        let result = findings([
            Self.transaction(client: "10.244.1.11", server: "10.96.0.10", at: 0, outcome: .answered, backend: "10.244.0.53"),
            Self.transaction(client: "10.244.1.11", server: "10.96.0.10", at: 10, outcome: .unanswered, backend: "10.244.2.53"),
            Self.transaction(client: "10.244.1.11", server: "10.96.0.10", at: 20, outcome: .unanswered, backend: "10.244.2.53"),
            Self.transaction(client: "10.244.1.11", server: "10.96.0.10", at: 30, outcome: .unanswered, backend: "10.244.2.53"),
        ])
        #expect(result.map(\.kind) == [.backendUnreachable])
        #expect(result.first?.title.contains("10.244.2.53") == true)
        #expect(result.first?.confidence == .high)
    }

    /// A and AAAA from one socket within microseconds (paired by the engine as
    /// `sentWith`); AAAA lost and re-sent 5 s later.
    @Test func parallelQueryLossIsTheConntrackRace() throws {
        var lost = Self.transaction(client: "10.244.1.10", port: 51000, server: "10.96.0.10", at: 0, id: 8, type: .aaaa,
                                    outcome: .answered, retryAfter: 5000, frame: 10)
        lost.sentWith = ParallelQuery(frame: 1, type: .a, answeredFirstTry: true)
        let result = findings([
            Self.transaction(client: "10.244.1.10", port: 51000, server: "10.96.0.10", at: 0, id: 7, type: .a, outcome: .answered),
            lost,
        ])
        #expect(result.map(\.kind) == [.parallelQueryLoss])
        #expect(result.first?.confidence == .high)
        #expect(result.first?.examples.first?.note?.contains("re-sent after 5.0 s") == true)
    }

    /// A pair where both were lost (the server is down) is not the race, nor is a plain
    /// retry with no partner.
    @Test func bothLostIsNotTheRace() {
        var lost = Self.transaction(client: "10.244.1.10", port: 51000, server: "10.96.0.10", at: 0, id: 8, type: .aaaa,
                                    outcome: .answered, retryAfter: 5000, frame: 10)
        lost.sentWith = ParallelQuery(frame: 1, type: .a, answeredFirstTry: false)
        #expect(findings([lost]).isEmpty)
    }

    /// A plain retry after a timeout, with no sibling query, is not the race.
    @Test func lonelyRetryIsNotTheRace() {
        let result = findings([
            Self.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, outcome: .answered, retryAfter: 5000),
            Self.transaction(client: "10.244.1.12", server: "10.96.0.10", at: 0, outcome: .answered),
        ])
        #expect(result.isEmpty)
    }

    @Test func upstreamTimeoutNamesTheForwarderAndItsUpstream() throws {
        let result = findings([
            Self.transaction(client: "10.244.1.10", server: "10.244.0.53", at: 0, name: "example.com.", outcome: .answered, rcode: .servFail, answerAfter: 5000),
            Self.transaction(client: "10.244.1.10", server: "10.244.0.53", at: 10, name: "example.org.", outcome: .answered, rcode: .servFail),
            Self.transaction(client: "10.244.0.53", server: "192.0.2.53", at: 1, name: "example.com.", outcome: .unanswered),
            Self.transaction(client: "10.244.0.53", server: "192.0.2.53", at: 11, name: "example.org.", outcome: .unanswered),
        ])
        #expect(result.map(\.kind) == [.upstreamTimeout])
        #expect(result.first?.sources.map(\.ip.description) == ["10.244.0.53"])
        #expect(result.first?.servers.map(\.ip.description) == ["192.0.2.53"])
    }

    /// ndots:5: three search suffixes answered NXDOMAIN before the real name.
    @Test func searchPathAmplification() throws {
        let suffixes = ["default.svc.cluster.local.", "svc.cluster.local.", "cluster.local."]
        var transactions = suffixes.enumerated().map { index, suffix in
            Self.transaction(client: "10.244.1.10", server: "10.96.0.10", at: Int64(index), id: UInt16(index),
                             name: "api.github.com." + suffix, outcome: .answered, rcode: .nxDomain)
        }
        transactions.append(Self.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 5, id: 9,
                                             name: "api.github.com.", outcome: .answered))
        let result = findings(transactions)
        #expect(result.map(\.kind) == [.searchPathAmplification])
        #expect(result.first?.counts.first { $0.0 == "extra_nxdomain_queries" }?.1 == 3)
    }

    /// One search expansion (redis.sales → redis.sales.svc.cluster.local) is the search
    /// path doing its job, as in the healthy capture.
    @Test func oneSearchExpansionIsNormal() {
        let result = findings([
            Self.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, id: 1,
                             name: "redis.sales.default.svc.cluster.local.", outcome: .answered, rcode: .nxDomain),
            Self.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 1, id: 2,
                             name: "redis.sales.svc.cluster.local.", outcome: .answered),
        ])
        #expect(result.isEmpty)
    }

    @Test func kernelDropsMakeTheCaptureIncomplete() throws {
        var diagnoser = Diagnoser()
        diagnoser.add(Self.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, outcome: .unanswered))
        var context = DiagnosisContext(timeout: .seconds(5))
        context.kernelDropped = 12
        let result = diagnoser.findings(context: context)
        #expect(result.map(\.kind) == [.captureIncomplete])
        #expect(result.first?.confidence == .high)
    }
}

/// The search-path rule's memory over all sources is capped, and expired prefixes leave.
struct SearchPathMemoryTests {
    @Test func prefixesOverAllSourcesStayCappedAndExpire() throws {
        var diagnoser = Diagnoser()
        let cap = Diagnoser.maximumSearchBasesInAll
        // 600 sources × 500 NXDOMAIN names, one prefix each ("nS-N."): more than the cap.
        var frame = 1
        for source in 0..<600 {
            for name in 0..<500 {
                diagnoser.add(DiagnoserTests.transaction(
                    client: "10.244.\(source / 200).\(source % 200 + 1)", server: "10.96.0.10", at: Int64(source),
                    id: UInt16(name), name: "n\(source)-\(name).example.", outcome: .answered, rcode: .nxDomain,
                    frame: frame))
                frame += 3
            }
            #expect(diagnoser.searchPrefixesHeld <= cap)
        }
        #expect(diagnoser.searchPrefixesHeld == cap)
        // Well after the search window: a new client's amplification is learnt again
        // (the full table was swept of expired prefixes).
        let late: Int64 = 600 + 2 * Diagnoser.searchWindow.nanoseconds / 1_000_000
        var transactions = ["default.svc.cluster.local.", "svc.cluster.local.", "cluster.local."].enumerated().map {
            DiagnoserTests.transaction(client: "10.245.0.1", server: "10.96.0.10", at: late + Int64($0), id: UInt16($0),
                                       name: "api.github.com." + $1, outcome: .answered, rcode: .nxDomain)
        }
        transactions.append(DiagnoserTests.transaction(client: "10.245.0.1", server: "10.96.0.10", at: late + 5, id: 9,
                                                       name: "api.github.com.", outcome: .answered))
        for transaction in transactions { diagnoser.add(transaction) }
        #expect(diagnoser.searchPrefixesHeld < 100)
        let findings = diagnoser.findings(context: DiagnosisContext(directory: ClusterDirectory(), timeout: .seconds(5)))
        let amplification = try #require(findings.first { $0.kind == .searchPathAmplification })
        #expect(amplification.counts.first { $0.0 == "extra_nxdomain_queries" }?.1 == 3)
    }
}
