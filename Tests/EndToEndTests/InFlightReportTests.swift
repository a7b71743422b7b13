import Foundation
import Testing

/// Issue 15.1 against real frames: egress-deny.pcap cut so its tail holds queries still
/// waiting when the capture ends. One sent once, moments before the end, is in flight (not
/// unanswered, not a failure); one already re-sent stays unanswered.
@Suite(.serialized)
struct InFlightReportTests {
    let cli = CLITests()

    func capture(frames numbers: [Int], _ name: String) throws -> String {
        let records = numbers.map { HostileCaptureTests.frames[$0 - 1] }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dnstrail-inflight-\(UUID().uuidString)-\(name)")
        try Data(HostileCaptureTests.pcap(records: records)).write(to: url)
        return url.path
    }

    func json(_ output: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
    }

    /// Frames 1-5: two answered queries of 10.244.1.10, then its query of frame 5 whose
    /// answer (frame 6) the capture missed: in flight.
    @Test func queryCutOffByTheEndOfTheCaptureIsInFlight() throws {
        let path = try capture(frames: [1, 2, 3, 4, 5], "tail.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try cli.run(["analyze", path, "--format", "json", "--fail-on-unanswered"])
        #expect(result.status == 0)
        let report = try json(result.output)
        let totals = try #require(report["totals"] as? [String: Any])
        #expect(totals["in_flight"] as? Int == 1)
        #expect(totals["unanswered"] as? Int == 0)
        #expect(totals["unanswered_at_capture_end"] as? Int == 0)
        #expect((report["unanswered"] as? [Any])?.isEmpty == true)
        #expect((report["findings"] as? [Any])?.isEmpty == true)
        #expect((report["servers"] as? [[String: Any]])?.first?["in_flight"] as? Int == 1)
        #expect((report["warnings"] as? [String]) == [
            "1 query was in flight when the capture ended (sent once, less than the 5 s timeout before its end): "
                + "not counted as unanswered",
        ])
        let ndjson = try cli.run(["analyze", path, "--format", "ndjson"])
        let last = try #require(ndjson.output.split(separator: "\n").first { $0.contains("does-not-exist") })
        #expect(last.contains(#""outcome":"in_flight""#) && last.contains(#""expired":"capture-end""#))
        let human = try cli.run(["analyze", path])
        #expect(human.output.contains("Transactions   3   answered 2 (100%)   unanswered 0 (0%)   in flight 1   retried 0\n"))
        #expect(human.output.contains("Unanswered queries by source\n  none\n"))
    }

    /// Frames 1-5 and 17-19: frame 5 and 19 (sent once) are in flight; 17/18, re-sent by the
    /// client, is unanswered at the capture's end and still fails --fail-on-unanswered.
    @Test func retriedQueryAtTheEndStaysUnanswered() throws {
        let path = try capture(frames: [1, 2, 3, 4, 5, 17, 18, 19], "retried.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try cli.run(["analyze", path, "--format", "json", "--fail-on-unanswered"])
        #expect(result.status == 3)
        let totals = try #require(try json(result.output)["totals"] as? [String: Any])
        #expect(totals["in_flight"] as? Int == 2)
        #expect(totals["unanswered"] as? Int == 1)
        #expect(totals["unanswered_at_capture_end"] as? Int == 1)
    }

    /// With --timeout 0.05, frame 5 (0.045 s) has waited 0.055 s at frame 17 (0.100 s), the
    /// last: longer than the timeout, so unanswered although its deadline (plus grace) is not past.
    @Test func singleAttemptWaitingLongerThanTheTimeoutIsUnanswered() throws {
        let path = try capture(frames: [5, 17], "waited.pcap")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try cli.run(["analyze", path, "--format", "json", "--timeout", "0.05"])
        let totals = try #require(try json(result.output)["totals"] as? [String: Any])
        #expect(totals["unanswered"] as? Int == 1)
        #expect(totals["in_flight"] as? Int == 1)
    }
}
