import DNSTrailTestSupport
import Foundation
import Pipeline
import Reports
import Testing
import Transactions

/// Issue 12.2 on a capture recorded independently of the project: zeek_erspan.pcap holds
/// three SERVFAIL answers 11 s after their queries (the client's 5 s timeout long past).
/// They are linked as `late`, with the latency tshark gives them (`dns.time`), counted on
/// their own in every report, and are neither unanswered nor unsolicited.
@Suite(.serialized, .enabled(if: PublicCaptures.shouldRun, PublicCaptures.skipReason))
struct LateAnswerReportTests {
    let cli = CLITests()
    static var capture: URL { PublicCaptures.directory.appendingPathComponent("zeek_erspan.pcap") }

    /// tshark's pairs with their time: query frame → (response frame, seconds).
    static func tsharkLatencies() throws -> [Int: (response: Int, seconds: Double)] {
        let tshark = try #require(which("tshark"), "tshark is not installed (scripts/install-deps installs it)")
        let output = try runProgram(tshark, ["-n", "-r", capture.path, "-Y", "dns.time",
                                             "-T", "fields", "-e", "dns.response_to", "-e", "frame.number", "-e", "dns.time"])
        var pairs: [Int: (Int, Double)] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            guard fields.count == 3, let query = Int(fields[0]), let response = Int(fields[1]),
                  let seconds = Double(fields[2]) else { continue }
            pairs[query] = (response, seconds)
        }
        return pairs
    }

    @Test func zeekErspanLateAnswersAreLinkedWithTsharksLatency() throws {
        let tshark = try Self.tsharkLatencies()
        let slow = tshark.filter { $0.value.seconds > 5.5 }
        #expect(slow.keys.sorted() == [126, 136, 137], "tshark's pairs later than the deadline")
        let analysed = try AnalysedCapture(Self.capture)
        let late = analysed.transactions.filter { $0.outcome == .late }
        #expect(late.count == 3)
        for transaction in late {
            let query = try #require(transaction.attempts.first?.frame)
            let expected = try #require(slow[query], "late transaction of frame \(query) is not one of tshark's slow pairs")
            #expect(transaction.response?.frame == expected.response)
            #expect(transaction.response?.rcode == .servFail)
            let latency = try #require(transaction.latency)
            #expect(abs(latency.seconds - expected.seconds) < 0.000_001, "frame \(query): \(latency.seconds) s")
        }
        // Every other pair tshark makes is answered in time.
        for (query, pair) in tshark where pair.seconds <= 5.5 {
            #expect(analysed.transactions.contains { $0.outcome == .answered && $0.attempts.first?.frame == query
                && $0.response?.frame == pair.response })
        }
        #expect(analysed.report.run.engine.unsolicitedTotal == 0)
        #expect(analysed.report.figures.late == 3)
        #expect(analysed.report.figures.unanswered == 0)
    }

    @Test func reportsCountLateAnswersOnTheirOwn() throws {
        let result = try cli.run(["analyze", Self.capture.path, "--format", "json", "--fail-on-unanswered"])
        // Late answers are not unanswered queries: --fail-on-unanswered does not fail on them.
        #expect(result.status == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let totals = try #require(report["totals"] as? [String: Any])
        #expect(totals["late"] as? Int == 3)
        #expect(totals["answered"] as? Int == 2)
        #expect(totals["unanswered"] as? Int == 0)
        #expect(totals["unsolicited_responses"] as? Int == 0)
        #expect(totals["expired_released_early"] as? Int == 0)
        #expect((report["unanswered"] as? [Any])?.isEmpty == true)
        let servers = try #require(report["servers"] as? [[String: Any]])
        let server = try #require(servers.first { $0["ip"] as? String == "192.168.69.2" })
        #expect(server["late"] as? Int == 3)
        #expect(server["late_max_ms"] as? Double == 11378.456)
        #expect(server["queries"] as? Int == 5)

        let human = try cli.run(["analyze", Self.capture.path]).output
        #expect(human.contains("Transactions   7   answered 2 (40%)   late 3 (60%)   unanswered 0 (0%)   retried 2   multicast 2\n"))
        #expect(human.contains("Responses      unsolicited 0 "))
        #expect(human.contains("  192.168.69.2:53/udp                         5         2           0 "))
        #expect(human.contains("      answered late (after the query's timeout) ×3, the slowest after 11378.46 ms\n"))

        let ndjson = try cli.run(["analyze", Self.capture.path, "--format", "ndjson"]).output
        let lines = ndjson.split(separator: "\n").filter { $0.contains(#""outcome":"late""#) }
        #expect(lines.count == 3)
        #expect(lines.contains {
            $0.contains(#""query_frames":[126]"#) && $0.contains(#""response_frame":145"#)
                && $0.contains(#""answered_frame":126"#) && $0.contains(#""rcode":"SERVFAIL""#)
                && $0.contains(#""latency_ms":11378.456"#) && $0.contains(#""expired":null"#)
        })
    }

    @Test func htmlReportHasALateTileAndServerNote() throws {
        let analysed = try AnalysedCapture(Self.capture)
        let html = analysed.report.html()
        #expect(html.contains("late"))
        #expect(html.contains("answered after the client&#39;s timeout") || html.contains("answered after the client's timeout"))
        #expect(html.contains("answered late (after the query&#39;s timeout) ×3") || html.contains("answered late (after the query's timeout) ×3"))
    }

    /// An evidence bundle's transactions.ndjson keeps late answers: the client gave up on them.
    @Test func lateAnswersAreFlaggedForTheBundle() throws {
        let analysed = try AnalysedCapture(Self.capture)
        let flagged = analysed.transactions.filter(EvidenceBundleWriter.isFailed)
        #expect(flagged.filter { $0.outcome == .late }.count == 3)
    }
}
