import ArgumentParser
import Attribution
import Capture
import Diagnosis
import Evidence
import Foundation
import PacketDecoding
import Pipeline
import Reports
import Transactions
import WireCore
#if canImport(Glibc)
import Glibc
#endif

/// dnstrail's command line: parses arguments and wires the pipeline stages; no analysis here.
struct DNSTrail: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnstrail",
        abstract: "Trace DNS from packets: which queries got no answer, from which source, to which server.",
        discussion: """
            Examples:
              dnstrail analyze node-a.pcap
              dnstrail analyze dump.pcap0 dump.pcap1 --format json > report.json
              dnstrail analyze incident.pcapng.gz --format ndjson | grep unanswered
              dnstrail live -i any --duration 60
              dnstrail live -i eth0 --filter 'udp port 53' --fail-on-unanswered
              dnstrail export incident.pcap --pods pods.json --out bundle/
              dnstrail verify bundle/
            """,
        version: ToolInfo.version,
        subcommands: [Analyze.self, Live.self, Export.self, Verify.self])
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case human, json, ndjson
}

/// Options every analysing subcommand shares.
struct AnalysisArguments: ParsableArguments {
    @Option(name: .customLong("port"), help: "A DNS port (repeatable). Default: 53, 5353 (mDNS), 5355 (LLMNR).")
    var ports: [UInt16] = []

    @Option(help: "Seconds without a response after the last attempt before a query is unanswered.")
    var timeout: Double = 5

    @Option(help: "Output: human (default), json (one report document), ndjson (one line per transaction).")
    var format: OutputFormat = .human

    @Flag(help: "Exit with status 3 when any query went unanswered (for scripts; queries in flight at the end do not count).")
    var failOnUnanswered = false

    @Option(help: "Entries per list (sources, servers, names, fallbacks) in the human and HTML reports; 0 for all. JSON lists all.")
    var top: Int = Report.defaultTop

    @Option(help: ArgumentHelp("Outstanding queries kept before the oldest is evicted.", visibility: .hidden))
    var maxPending: Int = TransactionEngine.defaultMaximumPending

    @Option(name: .customLong("pods"), help: ArgumentHelp(
        "Output of `kubectl get pods,svc -A -o json` (repeatable): names pods, namespaces, nodes and Services.",
        valueName: "file"))
    var podFiles: [String] = []

    @Option(name: .customLong("dns-server"), help: ArgumentHelp(
        "An address that is a DNS server of the cluster (repeatable), besides kube-dns from --pods and 169.254.20.10.",
        valueName: "ip"))
    var dnsServers: [String] = []

    @Option(name: .customLong("interface-names"), help: ArgumentHelp(
        "Output of `ip -o link` (or `ip -j link`) taken on the node: names the interface indexes of `-i any` captures.",
        valueName: "file"))
    var interfaceNamesFile: String?

    /// The names from --interface-names (empty without it); exits 2 with one line if the file is unusable.
    func interfaceNames() throws -> [Int32: String] {
        guard let interfaceNamesFile else { return [:] }
        do {
            return try InterfaceNameMap.load(path: interfaceNamesFile)
        } catch {
            printError("dnstrail: \(error)")
            throw ExitCode(2)
        }
    }

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds") }
        guard maxPending > 0 else { throw ValidationError("--max-pending must be positive") }
        guard top >= 0 else { throw ValidationError("--top must be 0 (all) or more") }
        guard !ports.contains(0) else { throw ValidationError("--port must be between 1 and 65535") }
        for server in dnsServers where IPAddress(server) == nil {
            throw ValidationError("--dns-server '\(server)' is not an IPv4 or IPv6 address")
        }
    }

    /// The cluster directory from --pods and --dns-server; exits 2 with one line if a file is unusable.
    func directory() throws -> ClusterDirectory {
        var directory = ClusterDirectory()
        do {
            if !podFiles.isEmpty { directory = try ClusterDirectory.load(paths: podFiles) }
        } catch {
            printError("dnstrail: \(error)")
            throw ExitCode(2)
        }
        for server in dnsServers { if let ip = IPAddress(server) { directory.addDNSServer(ip) } }
        return directory
    }

    var options: AnalysisOptions {
        var options = AnalysisOptions()
        if !ports.isEmpty { options.ports = ports }
        options.timeout = .seconds(timeout)
        options.maximumPending = maxPending
        return options
    }

    /// Runs `body` with a sink that streams NDJSON or aggregates, prints the report (unless
    /// `print` is false), and returns it. `transactions`, when given, also receives every
    /// transaction as an NDJSON line (the evidence bundle's transactions.ndjson).
    @discardableResult
    func report(
        print: Bool = true, transactions: OutputBuffer? = nil,
        _ body: ((Transaction) -> Void) throws(CaptureError) -> RunResult
    ) throws -> Report {
        let output = OutputBuffer()
        let directory = try directory()
        var figures = ReportBuilder()
        var diagnoser = Diagnoser()
        let format = format
        let printsLines = print && format == .ndjson
        let lines = NDJSONEncoder(directory: directory)
        let run: RunResult
        do {
            run = try body { transaction in
                figures.add(transaction)
                diagnoser.add(transaction)
                if printsLines || transactions != nil {
                    lines.withLine(for: transaction) { line in
                        if printsLines { output.writeLine(line) }
                        transactions?.writeLine(line)
                    }
                }
            }
        } catch {
            output.flush()
            printError("dnstrail: \(error)")
            throw ExitCode(2)
        }
        var report = Report(run: run, figures: figures, options: options, diagnoser: diagnoser, directory: directory)
        report.top = top
        if print {
            switch format {
            case .human: output.write(report.human())
            case .json: output.writeLine(report.json().serialized(pretty: true))
            case .ndjson: for warning in report.warnings { printError("dnstrail: warning: \(warning)") }
            }
            output.flush()
        }
        return report
    }

    /// Exit 3 for scripts when asked to and anything failed. Queries in flight when the
    /// capture ended (`figures.inFlight`) are not failures and never count here.
    func exitForUnanswered(_ report: Report) throws {
        if failOnUnanswered && report.figures.unanswered + report.figures.rejected > 0 { throw ExitCode(3) }
    }
}

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Analyse capture files (.pcap, .pcapng, optionally gzip-compressed).",
        discussion: """
            Several files (a rotated capture) are read in the order of their first packet and \
            numbered as one capture. Standard input ('-'), pipes and FIFOs are read once, in the \
            same order: `tcpdump -w - | dnstrail analyze -` gives the report the file would. \
            Exit status: 0 done, 2 an input cannot be read, 3 unanswered queries with \
            --fail-on-unanswered.
            """)

    @Argument(help: "Capture files ('-' for standard input; pipes and FIFOs are read once).")
    var files: [String]

    @OptionGroup var analysis: AnalysisArguments

    func run() throws {
        let options = analysis.options
        // The names as typed: CommandLine.arguments has turned invalid UTF-8 into U+FFFD.
        let inputs = CapturePath.matching(files, raw: CapturePath.rawArguments())
        let interfaceNames = try analysis.interfaceNames()
        let report = try analysis.report { emit throws(CaptureError) in
            try analyzeFiles(inputs, options: options, interfaceNames: interfaceNames, emit: emit)
        }
        try analysis.exitForUnanswered(report)
    }
}

struct Live: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture live (needs root or CAP_NET_RAW) and report when stopped.",
        discussion: """
            Prints a status line every second on standard error; the report comes on \
            --duration expiry or on Ctrl-C / SIGTERM. The kernel's drop counts are part of \
            the report: drops mean some "unanswered" queries may have been answered.
            """)

    @Option(name: [.customShort("i"), .long], help: "Interface to capture on, or 'any'.")
    var interface: String

    @Option(help: "BPF filter. Default: DNS on the DNS ports, IP fragments, ICMP unreachables, overlays carrying DNS, also in VLAN tags.")
    var filter: String?

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @Option(help: ArgumentHelp("Also write an evidence bundle to this (new or empty) directory.", valueName: "dir"))
    var export: String?

    @OptionGroup var analysis: AnalysisArguments

    func validate() throws {
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
    }

    func run() throws {
        let options = analysis.options
        let interactive = isatty(2) != 0
        let bundle = try export.map { try EvidenceBundleWriter(directory: $0) }
        var recorder: PcapngWriter?
        var recordError: String?
        let liveCapturePath = bundle.map { $0.directory.appendingPathComponent(".live-capture.pcapng").path }
        if let liveCapturePath {
            do {
                recorder = try PcapngWriter(path: liveCapturePath, toolVersion: ToolInfo.version)
            } catch {
                printError("dnstrail: \(error)")
                throw ExitCode(2)
            }
        }
        var recorderInterface: Int?
        let report = try analysis.report(print: true, transactions: bundle?.transactions) { emit throws(CaptureError) in
            let result = try runLive(
                interface: interface, filter: filter, duration: duration, options: options,
                record: recorder.map { writer in
                    { frame, linkType, snapshotLength in
                        guard recordError == nil else { return }
                        do {
                            if recorderInterface == nil {
                                recorderInterface = try writer.addInterface(
                                    linkType: linkType, snapshotLength: snapshotLength, name: interface)
                            }
                            try writer.write(interface: recorderInterface ?? 0, timestamp: frame.timestamp,
                                             originalLength: frame.originalLength, bytes: frame.bytes, comment: nil)
                        } catch {
                            recordError = "\(error)"
                        }
                    }
                },
                status: { status in
                    // Transactions as the report counts them; `waiting`: not yet answered nor timed out.
                    var line = "\(Int(status.elapsed)) s  frames \(status.frames)  transactions \(status.transactions)"
                        + "  answered \(status.answered)  unanswered \(status.unanswered)  waiting \(status.waiting)"
                    if let kernel = status.kernel { line += "  drops \(kernel.dropped)" }
                    printError(interactive ? "\r" + terminalLine(line) + "\u{1B}[K" : "dnstrail: " + line,
                               terminator: interactive ? "" : "\n")
                },
                notice: { printError((interactive ? "\r\u{1B}[K" : "") + "dnstrail: " + $0) }, emit: emit)
            if interactive { printError("") }
            if let failure = result.live?.failure { printError("dnstrail: \(failure)") }
            return result
        }
        if let bundle, let recorder, let liveCapturePath {
            do {
                try recorder.close()
            } catch {
                recordError = recordError ?? "\(error)"
            }
            if let recordError {
                printError("dnstrail: cannot record the live capture for the bundle: \(recordError)")
                throw ExitCode(2)
            }
            try bundle.finish(report: report, evidenceInputs: [liveCapturePath], hashedInputs: [],
                              commandLine: CommandLine.arguments)
            try? FileManager.default.removeItem(atPath: liveCapturePath)
            try bundle.writeManifest(report: report, hashedInputs: [], commandLine: CommandLine.arguments)
            printError("dnstrail: evidence bundle written to \(bundle.directory.path)")
        }
        if report.run.live?.failure != nil { throw ExitCode(2) }
        try analysis.exitForUnanswered(report)
    }

    /// `line` cut to the terminal's width, so the carriage-return status stays on one line.
    private func terminalLine(_ line: String) -> String {
        var size = winsize()
        guard ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 1, line.count >= Int(size.ws_col) else { return line }
        return String(line.prefix(Int(size.ws_col) - 1))
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Analyse captures and write an incident evidence bundle.",
        discussion: """
            The bundle: evidence.pcapng (only the packets of the flagged transactions, each \
            with a comment naming its finding), report.json, transactions.ndjson, report.html \
            and manifest.json (SHA-256 of every file and input capture, tool version, command \
            line, capture time range, host). Check it later with `dnstrail verify DIR`.
            """)

    @Argument(help: "Capture files.")
    var files: [String]

    @Option(help: ArgumentHelp("Directory to write the bundle to (created; must be empty if it exists).", valueName: "dir"))
    var out: String

    @OptionGroup var analysis: AnalysisArguments

    func run() throws {
        let options = analysis.options
        let bundle = try EvidenceBundleWriter(directory: out)
        let report = try analysis.report(print: false, transactions: bundle.transactions) { emit throws(CaptureError) in
            try analyzeFiles(files, options: options, emit: emit)
        }
        let ordered = report.run.inputs.map(\.path)
        try bundle.finish(report: report, evidenceInputs: ordered, hashedInputs: ordered, commandLine: CommandLine.arguments)
        try bundle.writeManifest(report: report, hashedInputs: ordered, commandLine: CommandLine.arguments)
        print(report.human(), terminator: "")
        print("Evidence bundle: \(bundle.directory.path) (\(bundle.evidencePackets) packets for "
              + "\(report.findings.count) finding\(report.findings.count == 1 ? "" : "s"))")
        try analysis.exitForUnanswered(report)
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an evidence bundle against its manifest.",
        discussion: "Exit status: 0 when every file matches its SHA-256 and size, 1 on any mismatch, 2 when the bundle cannot be read.")

    @Argument(help: "The bundle directory.")
    var directory: String

    func run() throws {
        let report: VerificationReport
        do {
            report = try EvidenceBundle.verify(directory: URL(fileURLWithPath: directory))
        } catch {
            printError("dnstrail: \(error)")
            throw ExitCode(2)
        }
        for line in report.problemLines { print("FAIL  " + line) }
        for input in report.inputsNotFound { print("note  input capture not found (not checked): \(input)") }
        if report.isValid {
            print("OK    \(report.filesChecked) files match manifest.json"
                  + (report.inputsChecked.isEmpty ? "" : "; \(report.inputsChecked.count) input captures unchanged"))
        } else {
            throw ExitCode(1)
        }
    }
}

/// Writes the files of an evidence bundle into a new directory.
final class EvidenceBundleWriter {
    let directory: URL
    let transactions: OutputBuffer
    private(set) var evidencePackets = 0

    init(directory path: String) throws {
        directory = URL(fileURLWithPath: path)
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            let contents = (try? manager.contentsOfDirectory(atPath: path)) ?? []
            guard isDirectory.boolValue, contents.isEmpty else {
                printError("dnstrail: cannot write the bundle to '\(path)': it exists and is not an empty directory")
                throw ExitCode(2)
            }
        } else {
            do {
                try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                printError("dnstrail: cannot create '\(path)': \(error.localizedDescription)")
                throw ExitCode(2)
            }
        }
        let file = directory.appendingPathComponent("transactions.ndjson").path
        let descriptor = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else {
            printError("dnstrail: cannot create '\(file)': \(String(cString: strerror(errno)))")
            throw ExitCode(2)
        }
        transactions = OutputBuffer(descriptor: descriptor, closeWhenDone: true)
    }

    /// Writes evidence.pcapng, report.json and report.html (transactions.ndjson was
    /// streamed during the analysis).
    func finish(report: Report, evidenceInputs: [String], hashedInputs: [String], commandLine: [String]) throws {
        transactions.close()
        var comments: [Int: String] = [:]
        for finding in report.findings {
            let text = "dnstrail finding \(finding.kind.rawValue): \(finding.title)"
            for frame in finding.frames {
                comments[frame] = comments[frame].map { $0.contains(text) ? $0 : $0 + " | " + text } ?? text
            }
        }
        do {
            evidencePackets = try writeEvidenceCapture(
                inputs: evidenceInputs, comments: comments, to: directory.appendingPathComponent("evidence.pcapng").path,
                toolVersion: ToolInfo.version,
                sectionComment: "dnstrail evidence: " + (report.findings.isEmpty ? "no findings"
                    : report.findings.map { "\($0.kind.rawValue): \($0.title)" }.joined(separator: "; ")))
            try (report.json().serialized(pretty: true) + "\n")
                .write(to: directory.appendingPathComponent("report.json"), atomically: true, encoding: .utf8)
            try report.html().write(to: directory.appendingPathComponent("report.html"), atomically: true, encoding: .utf8)
        } catch {
            printError("dnstrail: cannot write the bundle: \(error)")
            throw ExitCode(2)
        }
    }

    func writeManifest(report: Report, hashedInputs: [String], commandLine: [String]) throws {
        let packets = report.run.packets
        let range = packets.firstTime.flatMap { first in packets.lastTime.map { (first: first.rfc3339, last: $0.rfc3339) } }
        do {
            try EvidenceBundle.writeManifest(
                directory: directory, inputs: hashedInputs.map { URL(fileURLWithPath: $0) }, commandLine: commandLine,
                timeRange: range, toolVersion: ToolInfo.version)
        } catch {
            printError("dnstrail: cannot write the manifest: \(error)")
            throw ExitCode(2)
        }
    }
}

/// Standard error, unbuffered (Swift 6 forbids touching C's `stderr` global directly).
func printError(_ text: String, terminator: String = "\n") {
    let line = text + terminator
    _ = line.withCString { write(2, $0, strlen($0)) }
}

DNSTrail.main()
