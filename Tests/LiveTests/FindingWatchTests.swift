import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Live
@testable import Transactions

/// FINDING lines: when a finding is announced, and the live diagnosis that finds it early.
struct FindingWatchTests {
    static func ip(_ text: String) -> IPAddress { IPAddress(text) ?? IPAddress(ipv4: 0) }

    static func finding(_ kind: FindingKind, sources: [String], servers: [String], title: String = "t") -> Finding {
        Finding(kind: kind, confidence: .high, title: title, explanation: "", counts: [],
                sources: sources.map { NamedAddress(ip: ip($0), identity: nil, namespace: nil) },
                servers: servers.map { NamedAddress(ip: ip($0), identity: nil, namespace: nil) },
                examples: [], remediation: "", frames: [])
    }

    /// Announced once when found; again only for a new source or server; counts growing,
    /// a finding gone and back, or fewer sources are not news.
    @Test func findingIsAnnouncedWhenNewAndWhenItNamesANewSourceOrServer() {
        var detector = FindingChangeDetector()
        let first = Self.finding(.egressBlocked, sources: ["10.244.1.11"], servers: ["10.96.0.10"])
        let announced = detector.announcements(for: [first])
        #expect(announced.count == 1 && announced.first?.isNew == true)
        #expect(detector.announcements(for: [first]).isEmpty)
        #expect(detector.announcements(for: []).isEmpty)
        #expect(detector.announcements(for: [first]).isEmpty, "gone and back with the same sources")
        let grown = Self.finding(.egressBlocked, sources: ["10.244.1.11", "10.244.1.12"], servers: ["10.96.0.10"])
        let change = detector.announcements(for: [grown])
        #expect(change.count == 1)
        #expect(change.first?.isNew == false)
        #expect(change.first?.newSources == [Self.ip("10.244.1.12")])
        #expect(EventLineFormatter.findingLine(change[0], at: Timestamp(nanoseconds: 0))
                == "00:00:00.000 FINDING egress-blocked (changed: +1 source): t")
        #expect(detector.announcements(for: [first]).isEmpty, "fewer sources")
        let otherServer = Self.finding(.egressBlocked, sources: ["10.244.1.11"], servers: ["169.254.20.10"])
        #expect(detector.announcements(for: [otherServer]).first?.newServers == [Self.ip("169.254.20.10")])
        // Another kind over the same addresses is news of its own.
        let other = Self.finding(.nodeLocalBlocked, sources: ["10.244.1.11"], servers: ["169.254.20.10"])
        #expect(detector.announcements(for: [other]).first?.isNew == true)
    }

    /// Known answer (egress-deny): the blinded pod's queries are held 30 s for a late answer
    /// after their deadline; the live diagnosis counts them as unanswered from the deadline,
    /// so egress-blocked is found then, while the real diagnoser (the final report) has
    /// not seen them yet, and never sees them twice.
    @Test func egressBlockedIsFoundAtTheDeadlineNotThirtySecondsLater() throws {
        let replay = try Replay.of("egress-deny.pcap", finish: false, advanceBy: .seconds(7))
        #expect(replay.expired.count >= 3)
        var diagnosis = LiveDiagnosis()
        for event in replay.events {
            switch event {
            case .expired(let transaction): diagnosis.expired(transaction)
            case .closed(let transaction): diagnosis.closed(transaction)
            }
        }
        let context = DiagnosisContext(timeout: TransactionEngine.defaultTimeout)
        #expect(diagnosis.diagnoser.findings(context: context).isEmpty)
        let result = try #require(diagnosis.evaluate(now: Timestamp(nanoseconds: 0)) { context })
        #expect(result.findings.map(\.kind) == [.egressBlocked])
        #expect(result.findings.first?.sources.map(\.ip.description) == ["10.244.1.11"])
        #expect(result.announcements.count == 1)
        // Nothing changed since: not evaluated again.
        #expect(diagnosis.evaluate(now: Timestamp(nanoseconds: 60_000_000_000)) { context } == nil)
        // The held queries handed over at last: they leave the held set, counted once.
        let final = try Replay.of("egress-deny.pcap")
        var replayed = LiveDiagnosis()
        for event in final.events {
            switch event {
            case .expired(let transaction): replayed.expired(transaction)
            case .closed(let transaction): replayed.closed(transaction)
            }
        }
        #expect(replayed.findings(context: context).first?.counts.first { $0.0 == "failed_queries" }?.1
                == replayed.diagnoser.findings(context: context).first?.counts.first { $0.0 == "failed_queries" }?.1)
        #expect(replayed.diagnoser.findings(context: context).map(\.kind) == [.egressBlocked])
    }

    /// The cost of one live evaluation on a busy node: 20,000 sources (2,000 of them
    /// blinded), 60,000 closed transactions and 5,000 queries held for a late answer.
    /// Printed for the record; bounded loosely (a shared, loaded machine).
    @Test func evaluationCostOnABusyNode() throws {
        var diagnosis = LiveDiagnosis()
        var time: Int64 = 1_000
        for source in 0..<20_000 {
            let client = "10.\(source / 65_536 + 1).\(source / 256 % 256).\(source % 256)"
            let blinded = source % 10 == 0
            for query in 0..<3 {
                time += 1
                let transaction = Self.transaction(client: client, at: time, id: UInt16(query),
                                                   outcome: blinded ? .unanswered : .answered)
                if blinded && source < 10_000 && query == 2 {
                    diagnosis.expired(transaction)
                } else {
                    diagnosis.closed(transaction)
                }
            }
        }
        let context = DiagnosisContext(timeout: TransactionEngine.defaultTimeout)
        let result = try #require(diagnosis.evaluate(now: Timestamp(nanoseconds: 0)) { context })
        #expect(result.findings.contains { $0.kind == .egressBlocked })
        print("live diagnosis: one evaluation over 20,000 sources and 1,000 held queries took "
              + "\(Int(diagnosis.lastCost.milliseconds)) ms")
        #expect(diagnosis.lastCost < .seconds(5))
    }

    static func transaction(client: String, at milliseconds: Int64, id: UInt16, outcome: Outcome) -> Transaction {
        let sent = Timestamp(nanoseconds: milliseconds * 1_000_000)
        let attempts = Attempts(Attempt(frame: 1, time: sent, clientPort: 40_000))
        let response = outcome == .answered
            ? ResponseRecord(frame: 2, time: sent + .milliseconds(1), rcode: .noError, isTruncated: false, attemptIndex: 0) : nil
        return Transaction(
            client: Endpoint(ip: ip(client), port: 40_000), server: Endpoint(ip: ip("10.96.0.10"), port: 53), transport: .udp,
            id: id, opcode: .query, qname: "api.example.com.", question: QuestionKey(nameHash: 7, type: .a, qclass: .in),
            vlanIDs: VLANIDs(), interfaceIndex: -1, underlay: nil, attempts: attempts, droppedAttempts: 0,
            response: response, rejection: nil, fallback: nil, outcome: outcome,
            expiry: outcome == .unanswered ? .timeout : nil, lastTime: response?.time ?? sent)
    }
}
