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
        #expect(names == ["evidence.pcapng", "manifest.json", "report.html", "report.json", "transactions-all.ndjson.gz",
                          "transactions.ndjson"])

        // tshark opens it; exactly the 8 packets of the blinded pod's 4 queries × 2 attempts,
        // each with the finding as its comment.
        let tshark = try #require(which("tshark"))
        let fields = try runProgram(tshark, ["-r", directory.appendingPathComponent("evidence.pcapng").path,
                                             "-T", "fields", "-e", "ip.src", "-e", "dns.flags.response", "-e", "frame.comment"])
        let rows = fields.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(rows.count == 8)
        #expect(rows.allSatisfy { $0.count == 3 && $0[0] == "10.244.1.11" && $0[1] == "0" })
        // Each comment gives the packet's frame number in the analysed capture, which the
        // reports cite, before the finding (issue 15.6).
        #expect(rows.map { String($0[2].prefix { $0 != ";" }) } == (17...24).map { "frame \($0) of egress-deny.pcap" })
        #expect(rows.allSatisfy { $0[2].contains("; dnstrail finding egress-blocked: DNS blocked for 10.244.1.11") })
        // The same packets as in the original capture, byte for byte.
        let original = try runProgram(tshark, ["-r", "\(Paths.captures.path)/egress-deny.pcap", "-Y", "frame.number >= 17",
                                               "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "dns.id"])
        let copied = try runProgram(tshark, ["-r", directory.appendingPathComponent("evidence.pcapng").path,
                                             "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "dns.id"])
        #expect(copied == original)

        let verified = try cli.run(["verify", directory.path])
        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output == "OK    5 files match manifest.json\n")
        let withInputs = try cli.run(["verify", "--check-inputs", directory.path])
        #expect(withInputs.output == "OK    5 files match manifest.json; 1 input captures unchanged\n")

        // Flip one byte of the evidence: verify names the file and fails.
        let evidence = directory.appendingPathComponent("evidence.pcapng")
        var bytes = try Data(contentsOf: evidence)
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: evidence)
        let tampered = try cli.run(["verify", directory.path])
        #expect(tampered.status == 1)
        #expect(tampered.output.contains("'evidence.pcapng': sha256 mismatch"))
    }

    func scratchDirectory() throws -> URL { try cli.temporaryDirectory() }

    /// The section comment says which numbering the reports use (issue 15.6).
    @Test func evidenceSectionCommentNamesTheFrameNumbering() throws {
        let scratch = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let bundle = scratch.appendingPathComponent("bundle")
        #expect(try cli.run(["export", "captures/egress-deny.pcap", "--out", bundle.path]).status == 0)
        let capinfos = try #require(which("capinfos"))
        let information = try runProgram(capinfos, ["-k", bundle.appendingPathComponent("evidence.pcapng").path])
        #expect(information.contains("cite frames as numbered in the analysed capture"))
        #expect(information.contains("this file numbers its packets 1...N"))
    }

    /// Issue 15.4: a failed start leaves nothing behind, so the corrected command works.
    @Test func exportWithAMissingInputCreatesNoDirectory() throws {
        let scratch = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let bundle = scratch.appendingPathComponent("incident/bundle")
        let failed = try cli.run(["export", "captures/egres-deny.pcap", "--out", bundle.path])
        #expect(failed.status == 2)
        #expect(failed.errors == "dnstrail: cannot read capture 'captures/egres-deny.pcap': No such file or directory\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == [])
        #expect(try cli.run(["export", "captures/egress-deny.pcap", "--out", bundle.path]).status == 0)
    }

    /// A bundle reads its inputs twice (evidence packets, hashes): a FIFO, read once, is
    /// refused in one line before anything is made.
    @Test func exportRefusesAnInputItCannotReadTwice() throws {
        let scratch = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let fifo = scratch.appendingPathComponent("stream.pcap").path
        try #require(mkfifo(fifo, 0o600) == 0)
        let bundle = scratch.appendingPathComponent("bundle")
        let refused = try cli.run(["export", fifo, "--out", bundle.path])
        #expect(refused.status == 2)
        #expect(refused.errors.hasPrefix("dnstrail: export needs regular files named in UTF-8"), "\(refused.errors)")
        #expect(!FileManager.default.fileExists(atPath: bundle.path))
    }

    @Test func exportWithAMissingPodsFileCreatesNoDirectory() throws {
        let scratch = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let bundle = scratch.appendingPathComponent("bundle")
        let failed = try cli.run(["export", "captures/egress-deny.pcap", "--pods", "no-such-pods.json", "--out", bundle.path])
        #expect(failed.status == 2)
        #expect(failed.errors.split(separator: "\n").count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == [])
        #expect(try cli.run(["export", "captures/egress-deny.pcap", "--out", bundle.path]).status == 0)
    }

    /// Needs no privilege: an unknown interface fails before anything is captured.
    @Test func liveExportWithABadInterfaceCreatesNoDirectory() throws {
        let scratch = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let bundle = scratch.appendingPathComponent("bundle")
        let failed = try cli.run(["live", "-i", "dnstrail-no-such0", "--duration", "1", "--export", bundle.path])
        #expect(failed.status == 2)
        #expect(failed.errors.hasPrefix("dnstrail: no such network interface 'dnstrail-no-such0'"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == [])
    }

    /// A live run that captures nothing still writes a bundle that verifies (it used to fail
    /// reading back a recording without interfaces). Live capture needs root.
    @Test(.enabled(if: getuid() == 0, "live capture needs root"))
    func liveExportWithNoTrafficWritesAVerifiableBundle() throws {
        let scratch = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let bundle = scratch.appendingPathComponent("bundle")
        let live = try cli.run(["live", "-i", "lo", "--filter", "udp port 9", "--duration", "0.5", "--export", bundle.path])
        #expect(live.status == 0, "\(live.errors)")
        let verified = try cli.run(["verify", bundle.path])
        #expect(verified.output == "OK    5 files match manifest.json\n", "\(verified.output)")
        let tshark = try #require(which("tshark"))
        #expect(try runProgram(tshark, ["-r", bundle.appendingPathComponent("evidence.pcapng").path]).isEmpty)
    }

    /// A pre-existing empty directory is used as it is and left as it was after a failure.
    @Test func failedExportLeavesAPreexistingEmptyDirectoryAlone() throws {
        let scratch = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let bundle = scratch.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: bundle, withIntermediateDirectories: false)
        #expect(try cli.run(["export", "captures/no-such.pcap", "--out", bundle.path]).status == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: bundle.path) == [])
        #expect(try cli.run(["export", "captures/egress-deny.pcap", "--out", bundle.path]).status == 0)
    }

    /// Issue 15.5: --format chooses what export prints; stdout stays one document or pure lines.
    @Test func exportFormatChoosesWhatIsPrinted() throws {
        let scratch = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        for format in ["human", "json", "ndjson"] {
            let bundle = scratch.appendingPathComponent(format)
            let export = try cli.run(["export", "captures/egress-deny.pcap", "--format", format, "--out", bundle.path])
            let analyze = try cli.run(["analyze", "captures/egress-deny.pcap", "--format", format])
            #expect(export.status == 0, "\(export.errors)")
            let summary = "Evidence bundle: \(bundle.path) (8 packets for 1 finding; 4 of 8 transactions flagged)\n"
            if format == "human" {
                #expect(export.output == analyze.output + summary)
                #expect(export.errors.isEmpty)
            } else {
                #expect(export.output == analyze.output, "\(format)")
                #expect(export.errors == analyze.errors + "dnstrail: " + summary)
            }
        }
    }

    /// Issue 15.7: the bundle keeps every transaction compressed, and uncompressed only the
    /// flagged ones (failed, or cited by a finding), in the order they closed.
    @Test func bundleKeepsAllTransactionsCompressedAndTheFlaggedOnesPlain() throws {
        let scratch = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let gzip = try #require(which("gzip"))
        // egress-deny: failures only; search-path-amplification: a finding citing answered (NXDOMAIN) transactions.
        for (capture, cited) in [("egress-deny.pcap", 0), ("search-path-amplification.pcap", 1)] {
            let bundle = scratch.appendingPathComponent(capture)
            #expect(try cli.run(["export", "captures/\(capture)", "--out", bundle.path]).status == 0)
            let all = bundle.appendingPathComponent("transactions-all.ndjson.gz").path
            _ = try runProgram(gzip, ["-t", all])
            let expected = try cli.run(["analyze", "captures/\(capture)", "--format", "ndjson"]).output
            #expect(try runProgram(gzip, ["-dc", all]) == expected)
            #expect(!expected.isEmpty)

            let flagged = try String(contentsOf: bundle.appendingPathComponent("transactions.ndjson"), encoding: .utf8)
                .split(separator: "\n").map(String.init)
            let lines = expected.split(separator: "\n").map(String.init)
            let failed = lines.filter { !$0.contains("\"outcome\":\"answered\"") && !$0.contains("\"outcome\":\"multicast\"") }
            #expect(!failed.isEmpty || cited > 0)
            // In close order, a subsequence of the full list, holding every failed transaction.
            var remaining = lines[...]
            for line in flagged {
                guard let index = remaining.firstIndex(of: line) else {
                    Issue.record("\(capture): flagged line not in the full list in order: \(line)")
                    break
                }
                remaining = remaining[(index + 1)...]
            }
            #expect(Set(failed).isSubset(of: Set(flagged)), "\(capture)")
            if cited > 0 {
                #expect(flagged.count > failed.count, "\(capture): answered transactions cited by a finding are kept")
            } else {
                #expect(flagged == failed)
            }
            let verified = try cli.run(["verify", bundle.path])
            #expect(verified.output == "OK    5 files match manifest.json\n", "\(verified.output)")
        }
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
