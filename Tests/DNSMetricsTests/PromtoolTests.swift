import DNSMetrics
import Foundation
import Testing

/// `promtool check metrics` (Prometheus's own linter) finds nothing to say about the text of
/// a run with every kind of series (issue 9.2 must-hold 2). scripts/install-deps installs
/// promtool (Debian's prometheus package), so CI runs this.
struct PromtoolTests {
    static let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    @Test(.enabled(if: PromtoolTests.promtool != nil, "promtool not installed (scripts/install-deps installs the prometheus package)"))
    func promtoolCheckMetricsReportsNothing() throws {
        // Every family present: several captures into one registry.
        let metrics = LiveMetrics(version: "test")
        for capture in ["tc-fallback.pcap", "late-answers.pcap", "udp-reject.pcap", "tcp-blocked.pcap", "egress-deny.pcap"] {
            _ = try CaptureReplay(Paths.captures.appendingPathComponent(capture), into: metrics)
        }
        metrics.update(status: MetricsStatus(packets: 9, kernelDropped: 1, interfaceDropped: 1, pipelineDropped: 1,
                                             malformed: ["header truncated": 1], inFlight: 1))
        let text = metrics.exposition()
        // Every family but dnstrail_dns_tcp_connection_failures_total (no bundled capture has one).
        let families = Set(text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") })
        #expect(families.count == 16, "\(families)")
        let result = try PromtoolTests.check(text)
        #expect(result.status == 0)
        #expect(result.output.isEmpty, "promtool said: \(result.output)")
        // promtool does lint: a counter without _total is reported.
        let bad = try PromtoolTests.check("# HELP x A counter.\n# TYPE x counter\nx 1\n")
        #expect(bad.status != 0 || !bad.output.isEmpty)
    }

    /// Runs `promtool check metrics` with `text` on standard input: exit status and all it printed.
    static func check(_ text: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(promtool))
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: printed, as: UTF8.self))
    }
}
