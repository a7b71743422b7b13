import ArgumentParser
import Attribution
import Capture
import Diagnosis
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
            """,
        version: ToolInfo.version,
        subcommands: [Analyze.self, Live.self])
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

    @Flag(help: "Exit with status 3 when any query went unanswered (for scripts).")
    var failOnUnanswered = false

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

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds") }
        guard maxPending > 0 else { throw ValidationError("--max-pending must be positive") }
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

    /// Runs `body` with a sink that streams NDJSON or aggregates, then prints the report.
    func report(_ body: ((Transaction) -> Void) throws(CaptureError) -> RunResult) throws {
        let output = OutputBuffer()
        let directory = try directory()
        var figures = ReportBuilder()
        var diagnoser = Diagnoser()
        let format = format
        let run: RunResult
        do {
            run = try body { transaction in
                figures.add(transaction)
                diagnoser.add(transaction)
                if format == .ndjson { output.writeLine(ndjsonLine(transaction, directory: directory)) }
            }
        } catch {
            output.flush()
            printError("dnstrail: \(error)")
            throw ExitCode(2)
        }
        let report = Report(run: run, figures: figures, options: options, diagnoser: diagnoser, directory: directory)
        switch format {
        case .human: output.write(report.human())
        case .json: output.writeLine(report.json().serialized(pretty: true))
        case .ndjson: for warning in report.warnings { printError("dnstrail: warning: \(warning)") }
        }
        output.flush()
        if failOnUnanswered && figures.unanswered > 0 { throw ExitCode(3) }
    }
}

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Analyse capture files (.pcap, .pcapng, optionally gzip-compressed).",
        discussion: """
            Several files (a rotated capture) are read in the order of their first packet and \
            numbered as one capture. Exit status: 0 done, 2 an input cannot be read, 3 unanswered \
            queries with --fail-on-unanswered.
            """)

    @Argument(help: "Capture files.")
    var files: [String]

    @OptionGroup var analysis: AnalysisArguments

    func run() throws {
        let options = analysis.options
        try analysis.report { emit throws(CaptureError) in
            try analyzeFiles(files, options: options, emit: emit)
        }
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

    @Option(help: "BPF filter. Default: DNS on the DNS ports, IP fragments, and the same inside VLAN tags.")
    var filter: String?

    @Option(help: "Stop after this many seconds.")
    var duration: Double?

    @OptionGroup var analysis: AnalysisArguments

    func validate() throws {
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
    }

    func run() throws {
        let options = analysis.options
        let interactive = isatty(2) != 0
        try analysis.report { emit throws(CaptureError) in
            let result = try runLive(
                interface: interface, filter: filter, duration: duration, options: options,
                status: { status in
                    var line = "dnstrail: \(Int(status.elapsed)) s  frames \(status.frames)  queries \(status.queries)"
                        + "  answered \(status.answered)  unanswered \(status.unanswered)"
                    if let kernel = status.kernel { line += "  kernel drops \(kernel.dropped)" }
                    printError(interactive ? "\r" + line + "\u{1B}[K" : line, terminator: interactive ? "" : "\n")
                }, emit: emit)
            if interactive { printError("") }
            return result
        }
    }
}

/// Standard error, unbuffered (Swift 6 forbids touching C's `stderr` global directly).
func printError(_ text: String, terminator: String = "\n") {
    let line = text + terminator
    _ = line.withCString { write(2, $0, strlen($0)) }
}

DNSTrail.main()
