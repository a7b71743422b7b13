import DNSTrailTestSupport
import Foundation
import Testing

/// `dnstrail analyze` on inputs that can be read only once, run as a user runs it: the
/// built binary behind a real shell pipe, FIFO or process substitution. The report must be
/// the file's, byte for byte, but for the input's name.
@Suite(.serialized)
struct OnePassCLITests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The `dnstrail` executable beside the test bundle in the build directory.
    static var binary: String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("dnstrail").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return root.appendingPathComponent(".build/debug/dnstrail").path
    }

    /// Runs a bash script with `$1` the binary and the rest as given; stdout, stderr, status.
    func shell(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        // feed FILE FIFO: writes FILE into FIFO in the background, giving up after 60 s
        // (never holding this process's output open, so a failed run cannot hang the test).
        let feed = "feed() { timeout 60 sh -c 'cat \"$0\" > \"$1\"' \"$1\" \"$2\" < /dev/null > /dev/null 2>&1 & }\n"
        return try runProcess("/bin/bash", ["-c", feed + script, "bash", Self.binary] + arguments, in: Self.root)
    }

    /// egress-deny.pcap as pcap, pcapng (editcap) and both gzip-compressed, in `directory`.
    func formats(in directory: TemporaryDirectory) throws -> [String] {
        let pcap = Self.root.appendingPathComponent("captures/egress-deny.pcap").path
        let pcapng = directory.path + "/egress-deny.pcapng"
        _ = try shell("editcap -F pcapng \"$2\" \"$3\"", [pcap, pcapng])
        _ = try shell("gzip -c \"$2\" > \"$2.gz\" && gzip -c \"$3\" > \"$4.gz\"", [pcapng, pcap, directory.path + "/egress-deny.pcap"])
        let names = [pcap, pcapng, pcapng + ".gz", directory.path + "/egress-deny.pcap.gz"]
        for name in names { try #require(FileManager.default.fileExists(atPath: name)) }
        return names
    }

    @Test(arguments: ["human", "json", "ndjson"])
    func standardInputFIFOAndProcessSubstitutionGiveTheFilesReport(format: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for file in try formats(in: directory) {
            let expected = try shell("\"$1\" analyze \"$2\" --format \"$3\"", [file, format])
            #expect(expected.status == 0)
            #expect(expected.output.contains(file) || format == "ndjson")
            let piped = try shell("cat \"$2\" | \"$1\" analyze - --format \"$3\"", [file, format])
            #expect(piped.status == 0, "\(file): \(piped.errors)")
            #expect(piped.output == expected.output.replacingOccurrences(of: file, with: "-"), "\(file) through a pipe")
            let redirected = try shell("\"$1\" analyze - --format \"$3\" < \"$2\"", [file, format])
            #expect(redirected.output == piped.output, "\(file) redirected to standard input")
            let fifo = directory.path + "/capture.fifo"
            let fromFIFO = try shell("rm -f \"$4\"; mkfifo \"$4\" && feed \"$2\" \"$4\" && \"$1\" analyze \"$4\" --format \"$3\"",
                                     [file, format, fifo])
            #expect(fromFIFO.status == 0, "\(file): \(fromFIFO.errors)")
            #expect(fromFIFO.output == expected.output.replacingOccurrences(of: file, with: fifo), "\(file) through a FIFO")
            let substituted = try shell("\"$1\" analyze <(cat \"$2\") --format \"$3\" | sed -E 's#/dev/fd/[0-9]+#/dev/fd/N#g'",
                                        [file, format])
            #expect(substituted.status == 0)
            #expect(substituted.output == expected.output.replacingOccurrences(of: file, with: "/dev/fd/N"),
                    "\(file) through process substitution")
        }
    }

    /// Streams and files mixed: all are ordered by first packet alike, so a rotated capture
    /// with one part on standard input and one through a FIFO gives the whole file's transactions.
    @Test func streamsMixedWithFilesAreReadInFirstPacketOrder() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let whole = Self.root.appendingPathComponent("captures/egress-deny.pcap").path
        _ = try shell("editcap -c 8 \"$2\" \"$3/part.pcap\"", [whole, directory.path])
        let parts = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            .map { directory.path + "/" + $0 }
        try #require(parts.count == 3)
        _ = try shell("gzip \"$2\"", [parts[0]])
        let expected = try shell("\"$1\" analyze \"$2\" --format ndjson", [whole])
        // Given last-first: part 3 as a file, part 1 (gzip) on standard input, part 2 through a FIFO.
        let fifo = directory.path + "/middle.fifo"
        let mixed = try shell("""
            mkfifo "$5" && feed "$4" "$5" && cat "$3" | "$1" analyze "$2" - "$5" --format ndjson
            """, [parts[2], parts[0] + ".gz", parts[1], fifo])
        #expect(mixed.status == 0, "\(mixed.errors)")
        #expect(!expected.output.isEmpty)
        #expect(mixed.output == expected.output)
        let human = try shell("""
            rm -f "$5"; mkfifo "$5" && feed "$4" "$5" && cat "$3" | "$1" analyze "$2" - "$5"
            """, [parts[2], parts[0] + ".gz", parts[1], fifo])
        #expect(human.output.hasPrefix("dnstrail 0.1.0 — - (EN10MB, 8 frames), \(fifo) (EN10MB, 8 frames), \(parts[2]) (EN10MB, 8 frames)\n"))
    }

    @Test func standardInputTwiceOrEmptyFailsWithOneLine() throws {
        let twice = try shell("\"$1\" analyze - - < /dev/null", [])
        #expect(twice.status == 2)
        #expect(twice.errors == "dnstrail: cannot read capture '-': standard input can be read only once; give '-' once\n")
        let empty = try shell("true | \"$1\" analyze -", [])
        #expect(empty.status == 2)
        #expect(empty.errors == "dnstrail: cannot read capture '-': not a pcap or pcapng file (the file is empty)\n")
    }

    /// `--interface-names`: a usable `ip -o link` file is accepted; an unusable one fails
    /// before any output with one line and status 2.
    @Test func interfaceNamesFileIsCheckedBeforeTheRun() throws {
        let capture = "captures/any-dnat.pcap"
        let named = try shell("\"$1\" analyze \"$2\" --format json --interface-names captures/any-dnat.links.txt", [capture])
        #expect(named.status == 0)
        #expect(named.errors.isEmpty)
        #expect(named.output.hasPrefix("{"))
        let endless = try shell("\"$1\" analyze \"$2\" --interface-names /dev/zero", [capture])
        #expect(endless.status == 2)
        #expect(endless.output.isEmpty)
        #expect(endless.errors == "dnstrail: cannot use interface names '/dev/zero': larger than 4 MiB, not `ip link` output\n")
        let notLinks = try shell("\"$1\" analyze \"$2\" --interface-names README.md", [capture])
        #expect(notLinks.status == 2)
        #expect(notLinks.errors == "dnstrail: cannot use interface names 'README.md': line 1 is not `ip -o link` output\n")
    }

    /// A file whose name is not valid UTF-8 opens (by its bytes) and is shown escaped.
    @Test func captureWithAnInvalidUTF8NameOpensAndIsShownEscaped() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let whole = Self.root.appendingPathComponent("captures/egress-deny.pcap").path
        let expected = try shell("\"$1\" analyze \"$2\" --format json", [whole])
        let result = try shell("""
            name="$(printf '%s/dump-\\377.pcap' "$3")"; cp "$2" "$name" && "$1" analyze "$name" --format json
            """, [whole, directory.path])
        #expect(result.status == 0, "\(result.errors)")
        let shown = directory.path + "/dump-\\\\xFF.pcap"  // JSON escapes the backslash again.
        #expect(result.output == expected.output.replacingOccurrences(of: whole, with: shown))
        let human = try shell("""
            name="$(printf '%s/dump-\\377.pcap' "$3")"; "$1" analyze "$name" | head -1
            """, [whole, directory.path])
        #expect(human.output == "dnstrail 0.1.0 — \(directory.path)/dump-\\xFF.pcap (EN10MB, 24 frames)\n")
        let missing = try shell("\"$1\" analyze \"$(printf '%s/gone-\\376\\033[2J.pcap' \"$2\")\"", [directory.path])
        #expect(missing.status == 2)
        #expect(missing.errors == "dnstrail: cannot read capture '\(directory.path)/gone-\\xFE\\x1B[2J.pcap': No such file or directory\n")
    }
}
