import DNSTrailTestSupport
import Foundation
import Testing

/// The `dnstrail` executable as a user runs it: exit statuses, one-line errors, several
/// files, gzip. The binary sits beside the test bundle in the build directory.
@Suite(.serialized)
struct CLITests {
    static var binary: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = bundle.deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("dnstrail").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return Paths.root.appendingPathComponent(".build/debug/dnstrail").path
    }

    struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    func run(_ arguments: [String]) throws -> Result {
        let result = try runProcess(Self.binary, arguments, in: Paths.root)
        return Result(status: result.status, output: result.output, errors: result.errors)
    }

    func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dnstrail-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func unreadableInputsFailWithOneLine() throws {
        let missing = try run(["analyze", "captures/no-such.pcap"])
        #expect(missing.status == 2)
        #expect(missing.errors == "dnstrail: cannot read capture 'captures/no-such.pcap': No such file or directory\n")
        #expect(missing.output.isEmpty)
        let notCapture = try run(["analyze", "README.md"])
        #expect(notCapture.status == 2)
        #expect(notCapture.errors.hasPrefix("dnstrail: cannot read capture 'README.md': not a pcap or pcapng file"))
        #expect(notCapture.errors.split(separator: "\n").count == 1)
        let badInterface = try run(["live", "-i", "dnstrail-no-such0", "--duration", "1"])
        #expect(badInterface.status == 2)
        #expect(badInterface.errors.hasPrefix("dnstrail: no such network interface 'dnstrail-no-such0'"))
    }

    @Test func failOnUnansweredExitsThree() throws {
        #expect(try run(["analyze", "captures/egress-deny.pcap", "--fail-on-unanswered"]).status == 3)
        #expect(try run(["analyze", "captures/healthy.pcap", "--fail-on-unanswered"]).status == 0)
        #expect(try run(["analyze", "captures/egress-deny.pcap"]).status == 0)
    }

    @Test func badArgumentsAreRejected() throws {
        let result = try run(["analyze", "captures/healthy.pcap", "--timeout", "0"])
        #expect(result.status == 64)
        #expect(result.errors.contains("--timeout must be between 0 and 3600 seconds"))
    }

    /// A rotated capture given in the wrong order, and gzip-compressed parts: the same
    /// transactions, frame numbers continuing across the files in time order.
    @Test func rotatedAndCompressedPartsGiveTheSameReport() throws {
        let editcap = try #require(which("editcap"), "editcap (wireshark-common) is needed")
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let whole = Paths.captures.appendingPathComponent("egress-deny.pcap").path
        let prefix = directory.appendingPathComponent("part.pcap").path
        _ = try runProgram(editcap, ["-c", "10", whole, prefix])
        let parts = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            .map { directory.appendingPathComponent($0).path }
        #expect(parts.count == 3)
        let gzip = try #require(which("gzip"))
        _ = try runProgram(gzip, [parts[1]])
        let shuffled = [parts[2], parts[1] + ".gz", parts[0]]
        let expected = try run(["analyze", whole, "--format", "ndjson"])
        let actual = try run(["analyze", "--format", "ndjson"] + shuffled)
        #expect(actual.status == 0)
        #expect(actual.output == expected.output)
        #expect(!expected.output.isEmpty)
    }

    /// Issue 14.6: output that cannot be written is an error (one line, exit 2), for every
    /// command and format; `> /dev/full` used to exit 0.
    @Test func writeErrorsFailTheRun() throws {
        let scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        try #require(FileManager.default.fileExists(atPath: "/dev/full"))
        let runs: [[String]] = [
            ["analyze", "captures/egress-deny.pcap"],
            ["analyze", "captures/egress-deny.pcap", "--format", "json"],
            ["analyze", "captures/egress-deny.pcap", "--format", "ndjson"],
            ["export", "captures/egress-deny.pcap", "--out", scratch.appendingPathComponent("bundle").path],
            ["verify", scratch.appendingPathComponent("bundle").path],
        ]
        for arguments in runs {
            let result = try runWithStandardOutput(toFile: "/dev/full", arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.errors.hasSuffix("dnstrail: cannot write the output: No space left on device\n"), "\(arguments): \(result.errors)")
        }
    }

    /// A reader that goes away (`| head`) ends the run quietly, with a shell's SIGPIPE status.
    @Test func closedPipeEndsQuietly() throws {
        let script = "\"$0\" analyze captures/egress-deny.pcap --format json | true; echo \"status ${PIPESTATUS[0]}\""
        let result = try runProcess("/bin/bash", ["-c", script, Self.binary], in: Paths.root)
        #expect(result.output == "status 141\n")
        #expect(result.errors.isEmpty, "\(result.errors)")
    }

    /// Runs the binary with standard output going to `path` (for /dev/full).
    func runWithStandardOutput(toFile path: String, _ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = Paths.root
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: "", errors: String(decoding: errorData, as: UTF8.self))
    }

    @Test func helpShowsExamples() throws {
        let help = try run(["--help"])
        #expect(help.status == 0)
        #expect(help.output.contains("dnstrail analyze node-a.pcap"))
        #expect(help.output.contains("dnstrail live -i any --duration 60"))
        #expect(help.output.split(separator: "\n").allSatisfy { $0.count <= 80 })
    }
}
