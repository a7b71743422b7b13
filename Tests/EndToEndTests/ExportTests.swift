import Foundation
import Testing

/// `dnstrail export` and `dnstrail verify` as an SRE uses them on the egress-deny incident.
@Suite(.serialized)
struct ExportTests {
    let cli = CLITests()

    @Test func egressDenyBundleHoldsOnlyTheFlaggedPacketsAndVerifies() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dnstrail-bundle-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let export = try cli.run(["export", "captures/egress-deny.pcap", "--out", directory.path])
        #expect(export.status == 0, "\(export.errors)")
        #expect(export.output.contains("egress-blocked"))
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == ["evidence.pcapng", "manifest.json", "report.html", "report.json", "transactions.ndjson"])

        // tshark opens it; exactly the 8 packets of the blinded pod's 4 queries × 2 attempts,
        // each with the finding as its comment.
        let tshark = try #require(which("tshark"))
        let fields = try runProgram(tshark, ["-r", directory.appendingPathComponent("evidence.pcapng").path,
                                             "-T", "fields", "-e", "ip.src", "-e", "dns.flags.response", "-e", "frame.comment"])
        let rows = fields.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(rows.count == 8)
        #expect(rows.allSatisfy { $0.count == 3 && $0[0] == "10.244.1.11" && $0[1] == "0" })
        #expect(rows.allSatisfy { $0[2].hasPrefix("dnstrail finding egress-blocked: DNS blocked for 10.244.1.11") })
        // The same packets as in the original capture, byte for byte.
        let original = try runProgram(tshark, ["-r", "\(Paths.captures.path)/egress-deny.pcap", "-Y", "frame.number >= 17",
                                               "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "dns.id"])
        let copied = try runProgram(tshark, ["-r", directory.appendingPathComponent("evidence.pcapng").path,
                                             "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "dns.id"])
        #expect(copied == original)

        let verified = try cli.run(["verify", directory.path])
        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output.hasPrefix("OK    4 files match manifest.json; 1 input captures unchanged"))

        // Flip one byte of the evidence: verify names the file and fails.
        let evidence = directory.appendingPathComponent("evidence.pcapng")
        var bytes = try Data(contentsOf: evidence)
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: evidence)
        let tampered = try cli.run(["verify", directory.path])
        #expect(tampered.status == 1)
        #expect(tampered.output.contains("'evidence.pcapng': sha256 mismatch"))
    }

    @Test func exportRefusesANonEmptyDirectory() throws {
        let result = try cli.run(["export", "captures/egress-deny.pcap", "--out", "captures"])
        #expect(result.status == 2)
        #expect(result.errors == "dnstrail: cannot write the bundle to 'captures': it exists and is not an empty directory\n")
    }

    @Test func verifyOfAMissingBundleFailsWithOneLine() throws {
        let result = try cli.run(["verify", "/nonexistent-bundle"])
        #expect(result.status == 2)
        #expect(result.errors.split(separator: "\n").count == 1)
    }
}
