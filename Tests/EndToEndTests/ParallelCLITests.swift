import DNSTrailTestSupport
import Foundation
import Testing

/// `--threads` as a user gives it to the `dnstrail` binary: the same standard output and exit
/// status whatever the count, over several inputs read as one capture, gzip, a damaged file,
/// `--fail-on-unanswered`, `export`; a count out of range refused with one line.
@Suite(.serialized)
struct ParallelCLITests {
    let cli = CLITests()

    /// Runs `arguments` with `--threads 1` and with each other count; all must agree.
    func expectSameRuns(_ arguments: [String], counts: [String] = ["2", "5"]) throws {
        let single = try cli.run(arguments + ["--threads", "1"])
        #expect(!single.output.isEmpty || single.status != 0)
        for count in counts {
            let parallel = try cli.run(arguments + ["--threads", count])
            #expect(parallel.status == single.status, "\(arguments) --threads \(count): exit \(parallel.status), 1 thread \(single.status)")
            #expect(parallel.output == single.output,
                    "\(arguments) --threads \(count):\n\(firstDifference(parallel.output, single.output))")
            #expect(parallel.errors == single.errors, "\(arguments) --threads \(count): \(parallel.errors)")
        }
    }

    @Test(arguments: ["human", "json", "ndjson"])
    func severalInputsGiveTheSameOutputWithAnyThreads(format: String) throws {
        try expectSameRuns(["analyze", "captures/egress-deny.pcap", "captures/tcp-blocked.pcap", "captures/any-dnat.pcap",
                            "captures/udp-reject.pcap", "--format", format])
    }

    @Test func failOnUnansweredExitsAlikeWithAnyThreads() throws {
        try expectSameRuns(["analyze", "captures/egress-deny.pcap", "--fail-on-unanswered"])
        #expect(try cli.run(["analyze", "captures/egress-deny.pcap", "--fail-on-unanswered", "--threads", "3"]).status == 3)
    }

    @Test func gzipAndDamagedInputsGiveTheSameOutputWithAnyThreads() throws {
        let directory = try cli.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try Data(contentsOf: Paths.captures.appendingPathComponent("tc-fallback.pcap"))
        let damaged = directory.appendingPathComponent("cut.pcap")
        try source.prefix(source.count - 7).write(to: damaged)  // cut in the last record
        let gzip = directory.appendingPathComponent("late.pcap.gz")
        let compressed = try runProcess("/bin/sh", ["-c", "gzip -c captures/late-answers.pcap > '\(gzip.path)'"], in: Paths.root)
        try #require(compressed.status == 0)
        try expectSameRuns(["analyze", damaged.path, gzip.path])
        try expectSameRuns(["analyze", damaged.path, "--format", "json"])
    }

    @Test func exportWritesTheSameReportWithAnyThreads() throws {
        let directory = try cli.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var reports: [String] = []
        for count in ["1", "4"] {
            let out = directory.appendingPathComponent("bundle-\(count)")
            let run = try cli.run(["export", "captures/tcp-blocked.pcap", "--out", out.path, "--threads", count])
            #expect(run.status == 0, "\(run.errors)")
            reports.append(try String(contentsOf: out.appendingPathComponent("transactions.ndjson"), encoding: .utf8))
        }
        #expect(reports[0] == reports[1] && !reports[0].isEmpty)
    }

    @Test func threadCountOutOfRangeIsRefusedWithOneLine() throws {
        for count in ["0", "257", "-1"] {
            let run = try cli.run(["analyze", "captures/healthy.pcap", "--threads", count])
            #expect(run.status == 64, "--threads \(count): exit \(run.status)")
            #expect(run.errors.contains("--threads must be between 1 and 256") || run.errors.contains("--threads"),
                    "--threads \(count): \(run.errors)")
        }
    }
}
