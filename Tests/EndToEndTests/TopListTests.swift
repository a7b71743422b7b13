import Diagnosis
import Foundation
import PacketDecoding
import Pipeline
import Reports
import Testing
import Transactions
import WireCore

/// Issue 15.7: `--top N` keeps the human and HTML reports readable on captures with
/// hundreds of sources; what is left out is summed in "… and N more" lines whose totals
/// agree with the lists. JSON stays complete.
struct TopListTests {
    /// 40 sources, source i with i+1 unanswered queries (sent twice), to 15 servers; one
    /// answered query per server so every server has latency.
    static func manySources() -> Report {
        var engine = TransactionEngine()
        var figures = ReportBuilder()
        var diagnoser = Diagnoser()
        var frame = 0
        func emit(_ transaction: Transaction) {
            figures.add(transaction)
            diagnoser.add(transaction)
        }
        func observe(_ client: Endpoint, _ server: Endpoint, id: UInt16, at milliseconds: Int64, response: Bool = false) {
            frame += 1
            let message = MessageObservation(
                frame: frame, time: Timestamp(nanoseconds: milliseconds * 1_000_000),
                source: response ? server : client, destination: response ? client : server, transport: .udp,
                id: id, isResponse: response, question: QuestionKey(nameHash: UInt64(id), type: .a, qclass: .in))
            engine.observe(message, qname: { "name-\(id).example." }, emit: emit)
        }
        for source in 0..<40 {
            let client = Endpoint(ip: IPAddress("10.244.2.\(source + 1)")!, port: 40000)
            let server = Endpoint(ip: IPAddress("10.96.1.\(source % 15 + 1)")!, port: 53)
            for query in 0...source {
                let id = UInt16(source * 100 + query)
                observe(client, server, id: id, at: Int64(source * 10 + query))
                observe(client, server, id: id, at: Int64(1000 + source * 10 + query))
            }
        }
        for server in 0..<15 {
            let client = Endpoint(ip: IPAddress("10.244.3.1")!, port: 41000 + UInt16(server))
            let address = Endpoint(ip: IPAddress("10.96.1.\(server + 1)")!, port: 53)
            observe(client, address, id: 60000, at: 2000)
            observe(client, address, id: 60000, at: 2001, response: true)
        }
        engine.finish(emit: emit)
        var run = RunResult()
        run.engine = engine.statistics
        return Report(run: run, figures: figures, options: AnalysisOptions(), diagnoser: diagnoser, directory: .init())
    }

    @Test func humanReportListsTheTopSourcesAndSumsTheRest() throws {
        let report = Self.manySources()
        let human = report.human()
        #expect(human.contains("Unanswered queries by source (top 10 of 40 sources)\n"))
        // The ten sources with the most failures: 10.244.2.40 (40 queries) down to .31 (31).
        #expect(human.contains("\n  10.244.2.40   40 unanswered queries, 80 attempts\n"))
        #expect(human.contains("\n  10.244.2.31   31 unanswered queries, 62 attempts\n"))
        #expect(!human.contains("\n  10.244.2.30 "))
        // Hidden: sources 1...30, with 1+2+...+30 = 465 queries, 930 attempts.
        #expect(human.contains("\n  … and 30 more sources: 465 unanswered queries, 930 attempts\n"))
        let shown = (31...40).reduce(0, +)
        #expect(shown + 465 == report.figures.unanswered)
        // Names per group: source .40 asked 40 names, 10 shown, the other 30 summed.
        #expect(human.contains("        … and 30 more queries of other names\n"))
        // Servers: 15, the top 10 by failures shown, the rest summed; totals agree.
        let hiddenServers = report.figures.servers.sorted {
            ($0.value.unanswered, $0.value.queries) > ($1.value.unanswered, $1.value.queries)
        }.dropFirst(10)
        let hiddenQueries = hiddenServers.reduce(0) { $0 + $1.value.queries }
        let hiddenUnanswered = hiddenServers.reduce(0) { $0 + $1.value.unanswered }
        #expect(human.contains("\n  … and 5 more servers: \(hiddenQueries) queries, 5 answered, \(hiddenUnanswered) unanswered\n"))
        #expect(human.split(separator: "\n").count < 200)
    }

    @Test func topZeroListsEverything() throws {
        var report = Self.manySources()
        report.top = 0
        let human = report.human()
        #expect(human.contains("Unanswered queries by source\n"))
        #expect(human.contains("\n  10.244.2.1   1 unanswered query, 2 attempts\n"))
        #expect(!human.contains("more sources"))
        #expect(!human.contains("more servers"))
    }

    @Test func htmlReportHonoursTopAndJSONStaysComplete() throws {
        let report = Self.manySources()
        let html = report.html()
        #expect(html.components(separatedBy: "<tbody>\n<tr><th scope=\"rowgroup\"").count - 1 == 10)
        #expect(html.contains("… and 30 more sources: 465 unanswered queries, 930 attempts."))
        #expect(html.contains("… and 5 more servers:"))
        let document = try #require(try JSONSerialization.jsonObject(with: Data(report.json().serialized(pretty: false).utf8)) as? [String: Any])
        #expect((document["unanswered"] as? [Any])?.count == 40)
        #expect((document["servers"] as? [Any])?.count == 15)
    }
}

extension TopListTests {
    /// Issue 15.8: 1,200 truncated answers with no TCP retry. The list keeps at most
    /// `maximumListedFallbacks`; "… and N more" counts from the total (1,200), as the
    /// section's header line does, not from the kept list.
    @Test func fallbackListAgreesWithItsTotal() throws {
        var engine = TransactionEngine()
        var figures = ReportBuilder()
        var frame = 0
        for index in 0..<1200 {
            let client = Endpoint(ip: IPAddress("10.244.4.\(index % 200 + 1)")!, port: UInt16(30000 + index))
            let server = Endpoint(ip: IPAddress("10.96.0.10")!, port: 53)
            let question = QuestionKey(nameHash: UInt64(index), type: .txt, qclass: .in)
            let time = Int64(index) * 1_000_000
            for response in [false, true] {
                frame += 1
                engine.observe(MessageObservation(
                    frame: frame, time: Timestamp(nanoseconds: time + (response ? 100_000 : 0)),
                    source: response ? server : client, destination: response ? client : server, transport: .udp,
                    id: UInt16(index), isResponse: response, isTruncated: response, question: question),
                    qname: { "big-\(index).example." }) { figures.add($0) }
            }
        }
        engine.finish { figures.add($0) }
        #expect(figures.fallbackOutcomes == ["none": 1200])
        #expect(figures.fallbacks.count == ReportBuilder.maximumListedFallbacks)
        var run = RunResult()
        run.engine = engine.statistics
        let report = Report(run: run, figures: figures, options: AnalysisOptions())
        let human = report.human()
        #expect(human.contains("\n  no TCP retry seen 1200\n"))
        #expect(human.contains("\n  … and 1190 more\n"))
        #expect(report.html().contains("… and 1190 more."))
    }
}

/// `--top` on the command line: validated, and passed to the human report.
@Suite(.serialized)
struct TopOptionTests {
    let cli = CLITests()

    @Test func topIsValidatedAndApplied() throws {
        let negative = try cli.run(["analyze", "captures/egress-deny.pcap", "--top=-1"])
        #expect(negative.status == 64)
        #expect(negative.errors.contains("--top must be 0 (all) or more"))
        let one = try cli.run(["analyze", "captures/egress-deny.pcap", "--top", "1"])
        #expect(one.status == 0)
        // One name of the blinded pod's four shown, the other three summed.
        #expect(one.output.contains("\n        … and 3 more queries of other names\n"))
        let all = try cli.run(["analyze", "captures/egress-deny.pcap", "--top", "0"])
        #expect(all.output == (try cli.run(["analyze", "captures/egress-deny.pcap"])).output)
    }
}
