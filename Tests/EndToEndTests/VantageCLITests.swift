import Foundation
import Testing

/// `dnstrail analyze|export --vantage NAME=FILE[,FILE...]` as a user runs it.
@Suite(.serialized)
struct VantageCLITests {
    let cli = CLITests()
    static let nodes = ["--vantage", "node-a=captures/multinode-node-a.pcap", "--vantage", "node-b=captures/multinode-node-b.pcap"]

    @Test func analyzeWithTwoVantagesNamesTheLostLegPerLookup() throws {
        let result = try cli.run(["analyze", "--format", "ndjson"] + Self.nodes)
        #expect(result.status == 0, "\(result.errors)")
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 11)
        let forward = "\"lost\":{\"direction\":\"query\",\"last_seen_at\":\"node-b\",\"not_seen_at\":\"node-a\"}"
        let back = "\"lost\":{\"direction\":\"response\",\"last_seen_at\":\"node-a\",\"not_seen_at\":\"node-b\"}"
        #expect(lines.filter { $0.contains(forward) }.count == 2)
        #expect(lines.filter { $0.contains(back) }.count == 2)
        #expect(lines.filter { $0.contains("\"lost\"") }.count == 4)
        #expect(lines.allSatisfy { $0.contains("\"vantages\":[{\"name\":") })
    }

    @Test func badVantageArgumentsFailWithOneLine() throws {
        let one = try cli.run(["analyze", "--vantage", "node-a=captures/multinode-node-a.pcap"])
        #expect(one.status == 64)
        #expect(one.errors.contains("at least two vantage points"))
        let shape = try cli.run(["analyze", "--vantage", "captures/multinode-node-a.pcap", "--vantage", "b=x.pcap"])
        #expect(shape.status == 64)
        #expect(shape.errors.contains("is not NAME=FILE"))
        let both = try cli.run(["analyze", "captures/healthy.pcap"] + Self.nodes)
        #expect(both.status == 64)
        #expect(both.errors.contains("not both"))
        let names = try cli.run(["analyze", "--interface-names", "captures/multinode-node-b.links.txt"] + Self.nodes)
        #expect(names.status == 64)
        #expect(names.errors.contains("cannot apply to --vantage"))
        let none = try cli.run(["analyze"])
        #expect(none.status == 64)
        let missing = try cli.run(["analyze", "--vantage", "a=captures/no-such.pcap", "--vantage", "b=captures/healthy.pcap"])
        #expect(missing.status == 2)
        #expect(missing.errors.contains("no-such.pcap"))
    }

    /// The bundle's evidence comes from both vantages' files, by the run's frame numbers.
    @Test func exportWithTwoVantagesWritesAVerifiableBundle() throws {
        let scratch = try cli.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let bundle = scratch.appendingPathComponent("bundle")
        let export = try cli.run(["export", "--out", bundle.path, "--pods", "captures/k8s/multinode-cluster.json"] + Self.nodes)
        #expect(export.status == 0, "\(export.errors)")
        #expect(export.output.contains("lost on the way from node-b to node-a"))
        #expect(export.output.contains("lost on the way back from node-a to node-b"))
        let flagged = try String(contentsOf: bundle.appendingPathComponent("transactions.ndjson"), encoding: .utf8)
        #expect(flagged.split(separator: "\n").filter { $0.contains("\"lost\"") }.count == 4)
        #expect(try cli.run(["verify", "--check-inputs", bundle.path]).output.contains("2 input captures unchanged"))
        if let tshark = which("tshark") {
            let comments = try runProgram(tshark, ["-r", bundle.appendingPathComponent("evidence.pcapng").path,
                                                   "-T", "fields", "-e", "frame.comment"])
            // The failed lookups' attempts at node-b (frames 29-44 of its file, 89-104 of the run).
            #expect(comments.contains("frame 89 of multinode-node-b.pcap"))
            // The answers that left node A and never reached node B.
            #expect(comments.contains("frame 39 of multinode-node-a.pcap"))
        }
    }
}
