import ArgumentParser
import Attribution
import Capture
import DNSMetrics
import Diagnosis
import Evidence
import Foundation
import Live
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
    /// `print` is false), and returns it. `bundle`, when given, also receives every
    /// transaction with its NDJSON line (the evidence bundle's transaction files).
    @discardableResult
    func report(
        print: Bool = true, bundle: EvidenceBundleWriter? = nil, output: OutputBuffer = OutputBuffer(),
        _ body: ((Transaction) -> Void) throws(CaptureError) -> RunResult
    ) throws -> Report {
        let directory = try directory()
        // Only an evidence bundle renders the report in HTML (report.html, with its timeline).
        var figures = ReportBuilder(chartsTimeline: bundle != nil)
        var diagnoser = Diagnoser()
        let format = format
        let printsLines = print && format == .ndjson
        let lines = NDJSONEncoder(directory: directory)
        let run: RunResult
        do {
            run = try body { transaction in
                figures.add(transaction)
                diagnoser.add(transaction)
                if printsLines || bundle != nil {
                    lines.withLine(for: transaction) { line in
                        if printsLines { output.writeLine(line) }
                        bundle?.add(transaction, line: line)
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
        if print { printReport(report, to: output) }
        try checkOutput(output)
        return report
    }

    /// The report in `format` on `output` (for ndjson, whose lines were streamed, its warnings on stderr).
    func printReport(_ report: Report, to output: OutputBuffer) {
        switch format {
        case .human: output.write(report.human())
        case .json: output.writeLine(report.json().serialized(pretty: true))
        case .ndjson: for warning in report.warnings { printError("dnstrail: warning: \(warning)") }
        }
        output.flush()
    }

    /// Exit 3 for scripts when asked to and anything failed. Queries in flight when the
    /// capture ended (`figures.inFlight`) are not failures and never count here.
    func exitForUnanswered(_ report: Report) throws {
        if failOnUnanswered && report.figures.unanswered + report.figures.rejected > 0 { throw ExitCode(3) }
    }
}

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Analyse capture files (.pcap, .pcapng, optionally gzip-compressed).",
        discussion: """
            Several files (a rotated capture) are read in the order of their first packet and \
            numbered as one capture. Standard input ('-'), pipes and FIFOs are read once, in the \
            same order: `tcpdump -w - | dnstrail analyze -` gives the report the file would. \
            Exit status: 0 done, 2 an input cannot be read, 3 unanswered queries with \
            --fail-on-unanswered.
            """)

    @Argument(help: "Capture files ('-' for standard input; pipes and FIFOs are read once).")
    var files: [String] = []

    @OptionGroup var analysis: AnalysisArguments
    @OptionGroup var vantages: VantageArguments
    @OptionGroup var parallel: ThreadArguments

    func validate() throws { try vantages.validate(files: files, interfaceNames: analysis.interfaceNamesFile) }

    func run() throws {
        let options = analysis.options
        // The names as typed: CommandLine.arguments has turned invalid UTF-8 into U+FFFD.
        let inputs = CapturePath.matching(files, raw: CapturePath.rawArguments())
        let interfaceNames = try analysis.interfaceNames()
        let progress = ProgressLine(isTerminal: isatty(2) != 0) { printError($0, terminator: "") }
        let report = try analysis.report { emit throws(CaptureError) in
            if !vantages.parsed.isEmpty { return try analyzeVantages(vantages.parsed, options: options, emit: emit) }
            return try analyzeFiles(inputs, options: options, interfaceNames: interfaceNames, threads: parallel.count,
                                    progress: progress.update, emit: emit)
        }
        try analysis.exitForUnanswered(report)
    }
}

struct Live: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Capture live (needs root or CAP_NET_RAW): failures as they happen, the report when stopped.",
        discussion: """
            Standard output: each transaction that ends badly (unanswered at its deadline, \
            rejected, late, error rcodes, failed TCP) as one line as it happens, FINDING lines \
            when a finding is established or changes, then the report (--format ndjson: one \
            line per transaction as it closes, flushed; json: the report only). Runs until \
            --duration or Ctrl-C / SIGTERM. Status on standard error: redrawn every second on \
            a terminal, else every 10 s. --pods files are re-read when they change and on \
            SIGHUP. The kernel's drop counts are part of the report: drops mean some \
            "unanswered" queries may have been answered.
            """)

    @Option(name: [.customShort("i"), .long], help: "Interface to capture on, or 'any'.")
    var interface: String

    @Option(help: "BPF filter. Default: DNS on the DNS ports, IP fragments, ICMP unreachables, overlays carrying DNS, also in VLAN tags.")
    var filter: String?

    @Option(help: "Stop after this many seconds (default: run until SIGINT or SIGTERM).")
    var duration: Double?

    @Option(help: ArgumentHelp(
        "Transactions the event stream writes: failures (default in human format) or all (default with --format ndjson).",
        valueName: "failures|all"))
    var show: EventSelection?

    @Option(help: ArgumentHelp("Also write an evidence bundle to this (new or empty) directory.", valueName: "dir"))
    var export: String?

    @Option(help: ArgumentHelp(
        "Serve Prometheus metrics at http://ADDR:PORT/metrics while capturing (127.0.0.1:9153, [::1]:9153, :9153 for all).",
        valueName: "addr:port"))
    var metrics: String?

    @Option(help: ArgumentHelp(
        "Keep the last --ring seconds of captured packets and write an evidence bundle into a new folder of DIR "
            + "whenever a finding is established (one per finding kind and subject), and on SIGUSR1 (the whole ring).",
        valueName: "dir"))
    var exportOnFinding: String?

    @Option(help: ArgumentHelp("Seconds of packets --export-on-finding keeps in memory.", valueName: "seconds"))
    var ring: Double = 120

    @Option(help: ArgumentHelp("Seconds of packets after the finding that its bundle also holds.", valueName: "seconds"))
    var exportAfter: Double = 10

    @Option(help: ArgumentHelp(
        "Memory cap of that ring (on a busy node it then covers fewer seconds; frames of unanswered queries are kept "
            + "the whole --ring seconds in half as much again).", valueName: "size"))
    var ringMaxBytes: String = "32M"

    @Option(help: ArgumentHelp("Total size of the bundles in the --export-on-finding folder; the oldest are removed first.",
                               valueName: "size"))
    var exportMaxBytes: String = "1G"

    @OptionGroup var analysis: AnalysisArguments

    @OptionGroup var parallel: ThreadArguments

    @OptionGroup(title: "Pod names from the API server") var cluster: KubernetesArguments

    func validate() throws {
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if !(ring > 0 && ring <= 86_400) { throw ValidationError("--ring must be between 0 and 86400 seconds") }
        if !(exportAfter >= 0 && exportAfter <= 3_600) { throw ValidationError("--export-after must be between 0 and 3600 seconds") }
        for (flag, value) in [("--ring-max-bytes", ringMaxBytes), ("--export-max-bytes", exportMaxBytes)]
        where parseByteSize(value) == nil {
            throw ValidationError("\(flag) '\(value)' is not a size (bytes, or with K, M, G: 64M, 1G)")
        }
        if let metrics, MetricsAddress(metrics) == nil {
            throw ValidationError("--metrics '\(metrics)' is not ADDR:PORT (127.0.0.1:9153, [::1]:9153, :9153)")
        }
    }

    func run() throws {
        let bundle = try export.map(openBundle)
        var bundleFinished = false
        // A failed run takes back what it wrote of the bundle, so the same --export works next time.
        defer { if !bundleFinished { bundle?.discard() } }
        var configuration = LiveConfiguration(interface: interface)
        configuration.filter = filter
        configuration.duration = duration
        configuration.options = analysis.options
        configuration.format = LiveFormat(rawValue: analysis.format.rawValue) ?? .human
        configuration.show = show
        configuration.podFiles = analysis.podFiles
        configuration.dnsServers = analysis.dnsServers.compactMap(IPAddress.init)
        configuration.givenInterfaceNames = try analysis.interfaceNames()
        configuration.threads = parallel.count
        unblockLiveSignals()
        let output = OutputBuffer()
        let session = LiveSession(configuration: configuration, directory: try analysis.directory(), output: output,
                                  bundle: bundle)
        let names = try cluster.watcher(podFiles: analysis.podFiles, dnsServers: configuration.dnsServers)
        defer { names?.stop() }
        if let names { session.useNames(from: names) }
        var metricsServer: MetricsServer?
        defer { metricsServer?.stop() }
        if let address = metrics.flatMap(MetricsAddress.init) {
            do {
                metricsServer = try session.serveMetrics(at: address, version: ToolInfo.version)
            } catch {
                printError("dnstrail: \(error)")
                throw ExitCode(2)
            }
        }
        if let folder = exportOnFinding {
            var export = FindingExportConfiguration(folder: folder)
            export.ringSeconds = ring
            export.afterTrigger = exportAfter
            export.ringMaximumBytes = Int(parseByteSize(ringMaxBytes) ?? Int64(export.ringMaximumBytes))
            export.maximumDiskBytes = parseByteSize(exportMaxBytes) ?? export.maximumDiskBytes
            export.commandLine = CommandLine.arguments
            do {
                try session.exportOnFinding(export)
            } catch {
                printError("dnstrail: \(error)")
                throw ExitCode(2)
            }
        }
        var report: Report
        do {
            report = try session.run()
        } catch {
            output.flush()
            printError("dnstrail: \(error)")
            throw ExitCode(2)
        }
        report.top = analysis.top
        // The report after the events (a blank line between).
        if analysis.format == .human && session.eventLines > 0 { output.writeLine("") }
        analysis.printReport(report, to: output)
        try checkOutput(output)
        if let bundle {
            try finishBundle { try bundle.finishLive(report: report, interface: interface, commandLine: CommandLine.arguments) }
            printError("dnstrail: evidence bundle written to \(bundle.directory.path)")
        }
        // The bundle of a capture whose interface went away is kept: it holds what was captured.
        bundleFinished = true
        if report.run.live?.failure != nil { throw ExitCode(2) }
        try analysis.exitForUnanswered(report)
    }
}

extension EventSelection: ExpressibleByArgument {}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Analyse captures and write an incident evidence bundle.",
        discussion: """
            The bundle: evidence.pcapng (only the packets the findings cite, each with a comment \
            giving its original frame number and the finding), report.json, report.html, \
            transactions.ndjson (the flagged transactions: cited by a finding or failed), \
            transactions-all.ndjson.gz (every transaction) and manifest.json (SHA-256 of every \
            file and input capture, tool version, command line, capture time range, host). \
            --format chooses what is printed: the human report, the JSON report or the NDJSON \
            lines (the bundle line then goes to standard error). Check it later with \
            `dnstrail verify DIR`.
            """)

    @Argument(help: "Capture files.")
    var files: [String] = []

    @Option(help: ArgumentHelp("Directory to write the bundle to (created; must be empty if it exists).", valueName: "dir"))
    var out: String

    @OptionGroup var analysis: AnalysisArguments
    @OptionGroup var vantages: VantageArguments
    @OptionGroup var parallel: ThreadArguments

    func validate() throws { try vantages.validate(files: files, interfaceNames: analysis.interfaceNamesFile) }

    func run() throws {
        let options = analysis.options
        // The bundle copies evidence packets from the inputs and hashes them after the analysis,
        // so it reads each input twice: it needs regular files, named in UTF-8 (a stream is
        // read once; save it first with `tcpdump -w FILE`).
        let inputs = CapturePath.matching(files, raw: CapturePath.rawArguments()) + vantages.parsed.flatMap(\.files)
        if let input = inputs.first(where: { $0.reopenableName == nil }) {
            printError("dnstrail: export needs regular files named in UTF-8 (it reads each input twice): "
                       + "'\(input.display)' is not one; save it first with `tcpdump -w FILE`, or rename it")
            throw ExitCode(2)
        }
        let interfaceNames = try analysis.interfaceNames()
        let bundle = try openBundle(out)
        var bundleFinished = false
        // A failed run takes back what it wrote of the bundle, so the same --out works next time.
        defer { if !bundleFinished { bundle.discard() } }
        let output = OutputBuffer()
        // ndjson streams its lines during the analysis; human and json come once the bundle is written.
        let progress = ProgressLine(isTerminal: isatty(2) != 0) { printError($0, terminator: "") }
        let report = try analysis.report(print: analysis.format == .ndjson, bundle: bundle, output: output) { emit throws(CaptureError) in
            if !vantages.parsed.isEmpty { return try analyzeVantages(vantages.parsed, options: options, emit: emit) }
            return try analyzeFiles(inputs, options: options, interfaceNames: interfaceNames, threads: parallel.count,
                                    progress: progress.update, emit: emit)
        }
        try finishBundle {
            try bundle.finish(report: report, inputs: report.run.inputs.map(\.path), commandLine: CommandLine.arguments)
        }
        bundleFinished = true
        if analysis.format != .ndjson { analysis.printReport(report, to: output) }
        let summary = "Evidence bundle: \(bundle.directory.path) (\(bundle.evidencePackets) packets for "
            + "\(report.findings.count) finding\(report.findings.count == 1 ? "" : "s"); "
            + "\(bundle.flaggedTransactions) of \(bundle.allTransactions) transactions flagged)"
        // Standard output stays one document (json) or pure lines (ndjson).
        if analysis.format == .human { output.writeLine(summary) } else { printError("dnstrail: " + summary) }
        try checkOutput(output)
        try analysis.exitForUnanswered(report)
    }
}

/// `--threads` of analyze, export and live.
struct ThreadArguments: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Pairing threads (besides one reading and one reporting); the output is the same for any number "
            + "(live: while nothing is dropped for a full queue; drops are counted and reported). "
            + "Default: the cores available (a cgroup CPU quota counts).", valueName: "n"))
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
    }

    var count: Int { threads ?? AvailableCores.count }
}

/// `--vantage NAME=FILE[,FILE...]` of analyze and export: captures of one incident taken at
/// several points at once (issue 10); the analysis is `analyzeVantages`.
struct VantageArguments: ParsableArguments {
    @Option(name: .customLong("vantage"), help: ArgumentHelp(
        "A capture taken at one point (a node), with its name (repeatable, instead of files; rotated files "
            + "comma-separated): lookups seen at several are merged, clocks matched, the lost leg named.",
        valueName: "name=file[,file...]"))
    var arguments: [String] = []

    /// The vantages as given (empty without --vantage); `validate(files:)` has checked them.
    var parsed: [VantageInput] { arguments.compactMap { try? VantageInput.parse($0).get() } }

    func validate(files: [String], interfaceNames: String?) throws {
        if arguments.isEmpty {
            if files.isEmpty { throw ValidationError("Missing expected argument '<files> ...'") }
            return
        }
        guard files.isEmpty else { throw ValidationError("give capture files or --vantage, not both") }
        if interfaceNames != nil {
            throw ValidationError("--interface-names names the interfaces of one capture; it cannot apply to --vantage")
        }
        var vantages: [VantageInput] = []
        for argument in arguments {
            switch VantageInput.parse(argument) {
            case .success(let vantage): vantages.append(vantage)
            case .failure(let error): throw ValidationError(error.description)
            }
        }
        if let error = VantageInput.validate(vantages) { throw ValidationError(error.description) }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check an evidence bundle against its manifest.",
        discussion: """
            A bundle is evidence from someone else: verify reads only regular files inside it \
            (never through a symbolic link) and reads the input captures the manifest names only \
            with --check-inputs. Exit status: 0 when every file matches its SHA-256 and size, \
            1 on any mismatch, 2 when the bundle cannot be read.
            """)

    @Argument(help: "The bundle directory.")
    var directory: String

    @Flag(help: "Also re-hash the input captures at the paths the manifest records (regular files of the recorded size only).")
    var checkInputs = false

    func run() throws {
        let report: VerificationReport
        do {
            report = try EvidenceBundle.verify(directory: URL(fileURLWithPath: directory), checkInputs: checkInputs)
        } catch {
            printError("dnstrail: \(error)")
            throw ExitCode(2)
        }
        let output = OutputBuffer()
        for line in report.problemLines { output.writeLine("FAIL  " + line) }
        for input in report.inputsNotFound { output.writeLine("note  input capture not found (not checked): \(input)") }
        if report.isValid {
            output.writeLine("OK    \(report.filesChecked) files match manifest.json"
                  + (report.inputsChecked.isEmpty ? "" : "; \(report.inputsChecked.count) input captures unchanged"))
        }
        try checkOutput(output)
        if !report.isValid { throw ExitCode(1) }
    }
}

/// The bundle writer for `path`, or one line and exit 2 when `path` is a non-empty directory or a file.
func openBundle(_ path: String) throws -> EvidenceBundleWriter {
    do {
        return try EvidenceBundleWriter(path: path)
    } catch {
        printError("dnstrail: \(error)")
        throw ExitCode(2)
    }
}

/// Runs the last step of a bundle; one line and exit 2 when it fails.
func finishBundle(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch {
        printError("dnstrail: \(error)")
        throw ExitCode(2)
    }
}

/// Ends the run when standard output could not be written: quietly, as a process killed by
/// SIGPIPE, when the reader went away (`| head`); otherwise one line and exit 2 (`> /dev/full`).
func checkOutput(_ output: OutputBuffer) throws {
    output.flush()
    guard output.failed else { return }
    if output.readerClosed {
        signal(SIGPIPE, SIG_DFL)
        raise(SIGPIPE)
        throw ExitCode(128 + SIGPIPE)
    }
    printError("dnstrail: cannot write the output: \(output.failureReason ?? "write error")")
    throw ExitCode(2)
}

/// Standard error, unbuffered (Swift 6 forbids touching C's `stderr` global directly).
func printError(_ text: String, terminator: String = "\n") {
    let line = text + terminator
    _ = line.withCString { write(2, $0, strlen($0)) }
}

DNSTrail.main()
