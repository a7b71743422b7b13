#if canImport(Glibc)
import Glibc
#endif
import Attribution
import Capture
import Diagnosis
import PacketDecoding
import Pipeline
import Reports
import Transactions
import WireCore

/// What a live session captures and shows: the flags of `dnstrail live`.
public struct LiveConfiguration: Sendable {
    public var interface: String
    /// BPF filter; nil for the default DNS filter.
    public var filter: String?
    /// Stop after this many seconds; nil to run until SIGINT/SIGTERM.
    public var duration: Double?
    public var options = AnalysisOptions()
    public var format = LiveFormat.human
    /// Which transactions the event stream writes; nil for the format's default
    /// (human: failures, ndjson: all).
    public var show: EventSelection?
    /// `--pods` files, watched and re-read when they change or on SIGHUP.
    public var podFiles: [String] = []
    /// `--dns-server` addresses, kept across reloads.
    public var dnsServers: [IPAddress] = []
    /// Interface names from `--interface-names`; names looked up live win.
    public var givenInterfaceNames: [Int32: String] = [:]
    /// Pairing threads (`--threads`): 1 analyses on the capture thread, more run the
    /// parallel pipeline (`LivePipeline`); the hooks run on the capture thread either way.
    public var threads = 1

    public init(interface: String) {
        self.interface = interface
    }

    /// The selection in effect.
    public var selection: EventSelection { show ?? (format == .ndjson ? .all : .failures) }
}

/// `dnstrail live`: the capture loop with its event stream, FINDING lines, status line,
/// `--pods` reloads and an optional evidence bundle, ending in the report.
///
/// Standard output (`output`) carries the event stream: in human format the event and
/// FINDING lines, then the report; in ndjson the transaction lines only (FINDING lines go
/// to standard error); in json only the report. Standard error carries the status line
/// and notices. Observers (`add(_:)`, see `LiveObserver`) see the run without changing it.
public final class LiveSession {
    public let configuration: LiveConfiguration
    /// The names in effect (reloaded from `--pods` as the files change).
    public private(set) var directory: ClusterDirectory
    private let output: OutputBuffer
    private let bundle: EvidenceBundleWriter?
    private let events: EventStream
    private let status: StatusDisplay
    private let reloader: PodsReloader
    /// Names from the API server (`--kubernetes`, see LiveSession+Kubernetes.swift).
    var namesSource: (any LiveNamesSource)?
    private var observers: [any LiveObserver] = []
    private var figures = ReportBuilder()
    private var diagnosis = LiveDiagnosis()
    private var bundleLines: NDJSONEncoder
    private var lastStatus: LiveStatus?
    private var lastFindingSignature: [String]?
    private var lastPeriodic = Timestamp(nanoseconds: .min)

    /// A session writing to `output` (standard output), status and notices to
    /// `errorDescriptor`; `bundle`, when given, records every frame and transaction.
    public init(
        configuration: LiveConfiguration, directory: ClusterDirectory, output: OutputBuffer,
        bundle: EvidenceBundleWriter? = nil, errorDescriptor: Int32 = 2,
        statusOnTerminal: Bool? = nil
    ) {
        self.configuration = configuration
        self.directory = directory
        self.output = output
        self.bundle = bundle
        let interactive = statusOnTerminal ?? (isatty(errorDescriptor) != 0)
        status = StatusDisplay(descriptor: errorDescriptor, interactive: interactive, sharesTerminal: isatty(1) != 0)
        events = EventStream(format: configuration.format, selection: configuration.selection, output: output,
                             directory: directory)
        reloader = PodsReloader(paths: configuration.podFiles, dnsServers: configuration.dnsServers)
        bundleLines = NDJSONEncoder(directory: directory)
        let status = status
        events.aroundFlush = (before: { status.lift() }, after: { status.restore() })
    }

    /// Adds an observer (before `run`).
    public func add(_ observer: any LiveObserver) {
        observers.append(observer)
    }

    /// Captures until the duration, a signal or a capture failure, and returns the report
    /// (not printed). Throws when the capture cannot start.
    public func run() throws(CaptureError) -> Report {
        let configuration = configuration
        let hooks = LiveHooks(
            frame: { [unowned self] frame, linkType, snapshotLength in
                bundle?.recordLiveFrame(frame, linkType: linkType, snapshotLength: snapshotLength,
                                        interface: configuration.interface)
                for observer in observers {
                    observer.captured(frame: frame, linkType: linkType, snapshotLength: snapshotLength)
                }
            },
            closed: { [unowned self] in closed($0) },
            expired: { [unowned self] in expired($0) },
            status: { [unowned self] in tick($0) },
            pass: { [unowned self] in pass(now: $0) },
            hangup: { [unowned self] in
                guard reloader.isWatching else { return notice("SIGHUP: no --pods file to re-read") }
                reloader.check(now: wallClock(), force: true)
            },
            ringRequested: { [unowned self] in
                guard !observers.isEmpty, observers.contains(where: { $0 is FindingExporter }) else {
                    return notice("SIGUSR1: no --export-on-finding directory to write the ring to")
                }
                for observer in observers { observer.wholeRingRequested() }
            },
            notice: { [unowned self] in notice($0) })
        var result = try runLive(interface: configuration.interface, filter: configuration.filter,
                                 duration: configuration.duration, options: configuration.options,
                                 threads: configuration.threads, hooks: hooks)
        if let final = lastStatus { status.finish(final) }
        events.flush()
        if let failure = result.live?.failure { notice(failure) }
        result.interfaceNames.merge(configuration.givenInterfaceNames) { live, _ in live }
        if let outcome = reloader.takeResult() { apply(outcome) }
        if let update = namesSource?.takeNames() { adopt(update) }
        return Report(run: result, figures: figures, options: configuration.options, diagnoser: diagnosis.diagnoser,
                      directory: directory)
    }

    /// Lines the event stream wrote to standard output (events, FINDING lines, the header).
    public var eventLines: Int { events.linesWritten }

    /// How long the live findings took so far: evaluations and total wall time.
    public var findingCost: (evaluations: Int, total: Duration) { (diagnosis.evaluations, diagnosis.totalCost) }

    private func closed(_ transaction: Transaction) {
        figures.add(transaction)
        diagnosis.closed(transaction)
        if let bundle {
            bundleLines.withLine(for: transaction) { line in bundle.add(transaction, line: line) }
        }
        events.closed(transaction)
        for observer in observers { observer.transactionClosed(transaction) }
    }

    private func expired(_ transaction: Transaction) {
        diagnosis.expired(transaction)
        events.expired(transaction)
        for observer in observers { observer.queryExpired(transaction) }
    }

    private func tick(_ current: LiveStatus) {
        lastStatus = current
        if !current.isFinal { status.show(current) }
        for observer in observers { observer.statusTick(current) }
    }

    private func pass(now: Timestamp) {
        events.pass(now: now)
        // Periodic work at most every `EventStream.flushInterval`, not on every frame.
        guard now >= lastPeriodic + EventStream.flushInterval || now < lastPeriodic else { return }
        lastPeriodic = now
        reloader.check(now: now)
        if let outcome = reloader.takeResult() { apply(outcome) }
        if let update = namesSource?.takeNames() { adopt(update) }
        evaluateFindings(now: now)
        events.pass(now: now)
    }

    /// Runs the live diagnosis when due; prints FINDING lines for what is new or changed.
    private func evaluateFindings(now: Timestamp) {
        let directory = directory
        let options = configuration.options
        let kernel = lastStatus?.kernel
        let pipelineDropped = lastStatus?.pipelineDrops?.messages ?? 0
        let lastTime = lastStatus?.packets.lastTime
        guard let (findings, announcements) = diagnosis.evaluate(now: now, context: {
            var context = DiagnosisContext(directory: directory, timeout: options.timeout, captureEnd: lastTime)
            context.kernelDropped = kernel?.dropped ?? 0
            context.interfaceDropped = kernel?.interfaceDropped ?? 0
            context.pipelineDroppedMessages = pipelineDropped
            return context
        }) else { return }
        for announcement in announcements {
            let line = EventLineFormatter.findingLine(announcement, at: now)
            if configuration.format == .human {
                events.finding(line)
            } else {
                notice(line)
            }
        }
        let signature = findings.map { "\($0.kind) \($0.sources.map(\.ip)) \($0.servers.map(\.ip))" }
        if signature != lastFindingSignature || !announcements.isEmpty {
            lastFindingSignature = signature
            for observer in observers { observer.findingsChanged(findings, announcements: announcements) }
        }
    }

    private func apply(_ outcome: PodsReloader.Outcome) {
        switch outcome {
        case .reloaded(let reloaded):
            directory = reloaded
            events.use(reloaded)
            bundleLines = NDJSONEncoder(directory: reloaded)
            notice("--pods re-read: \(reloaded.podCount) pods, \(reloaded.serviceCount) services")
        case .failed(let reason):
            notice("--pods not re-read, keeping the previous names: \(reason)")
        }
    }

    /// A directory published by the names source replaces the one in effect; its notices are shown.
    private func adopt(_ update: LiveNamesUpdate) {
        if let watched = update.directory {
            directory = watched
            events.use(watched)
            bundleLines = NDJSONEncoder(directory: watched)
        }
        for text in update.notices { notice(text) }
    }

    func notice(_ text: String) {
        events.flush()
        status.notice(text)
    }
}
