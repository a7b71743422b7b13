import Attribution
import Capture
import DequeModule
import Diagnosis
import Dispatch
import Foundation
import PacketDecoding
import Reports
import Synchronization
import Transactions
import WireCore

/// `live --export-on-finding DIR`: what to keep and when to write.
public struct FindingExportConfiguration: Sendable {
    public var folder: String
    /// `--ring`: seconds of captured DNS packets kept in memory.
    public var ringSeconds: Double = 120
    /// The ring's memory cap; on a busy node it then covers less than `ringSeconds` (at
    /// 20,000 queries/s, 32 MiB hold about 5 s).
    public var ringMaximumBytes = 32 << 20
    /// The cap of the frames the ring let go of before their transaction was answered, kept
    /// for `ringSeconds` whatever the ring covers (`UnresolvedFrames`): half the ring's
    /// unless set.
    public var unresolvedMaximumBytes: Int?
    /// `--export-max-bytes`: total size of the bundles in `folder`; the oldest go first.
    public var maximumDiskBytes: Int64 = 1 << 30
    /// Seconds of packets after the trigger that a finding's bundle also holds.
    public var afterTrigger: Double = 10
    /// At most this many bundles per `rateWindow` seconds; more announcements are counted
    /// (`suppressed`) and noticed, not written.
    public var maximumBundlesPerWindow = 10
    public var rateWindow: Double = 600
    /// Bundles waiting for their `afterTrigger` seconds at once; more are suppressed.
    public var maximumPending = 8
    /// The command line recorded in each manifest.
    public var commandLine: [String] = []

    public init(folder: String) {
        self.folder = folder
    }
}

/// Keeps the last seconds of captured packets (`PacketRing`) and writes an evidence bundle
/// when the live diagnosis announces a finding: one per finding kind and subject (the
/// sources a finding names, or its servers when it names no source), holding the subject's
/// packets from the ring before the announcement plus those of the `afterTrigger` seconds
/// after it. SIGUSR1 (`wholeRingRequested`) writes the whole ring at once.
///
/// Runs on the capture thread like every observer: it copies frames into the ring and,
/// when a bundle is due, hands the frames to a background queue that analyses and writes
/// them (`RingBundle`), so the capture never waits on the disk. Announcements come at most
/// once per kind and subject (`FindingChangeDetector`); on top, at most
/// `maximumBundlesPerWindow` bundles per `rateWindow`, and the folder is kept under
/// `maximumDiskBytes` (`BundleRetention`).
public final class FindingExporter: LiveObserver {
    public let configuration: FindingExportConfiguration
    private var ring: PacketRing
    private var unresolved: UnresolvedFrames
    private var answeredFrames = AnsweredFrameBits()
    private var frameNumber = 0
    private var snapshotLength = 262_144
    private var latestFindings: [Finding] = []
    private var pending: [Pending] = []
    private var written: Deque<Timestamp> = []
    /// Announcements not written (rate limit, too many pending), for the notice and tests.
    public private(set) var suppressed = 0
    /// Bundles handed to the writer queue.
    public private(set) var scheduled = 0
    private let writer = BundleQueue()
    private weak var session: LiveSession?
    private let notice: (String) -> Void
    private let clock: () -> Timestamp

    struct Pending {
        var kind: FindingKind
        /// Selects the subjects' frames (its `addresses` are the subjects).
        var matcher: AddressMatcher
        var announced: Finding
        var due: Timestamp
        var before: [RingFrame]
        var lastNumberBefore: Int?
    }

    /// An exporter for `session`; `notice` prints one line on the session's status stream
    /// (called on the capture thread only); `clock` is the wall clock (tests pass their own).
    init(configuration: FindingExportConfiguration, session: LiveSession, notice: @escaping (String) -> Void,
         clock: @escaping () -> Timestamp = wallClock) {
        self.configuration = configuration
        self.session = session
        self.notice = notice
        self.clock = clock
        ring = PacketRing(seconds: configuration.ringSeconds, maximumBytes: configuration.ringMaximumBytes)
        unresolved = UnresolvedFrames(seconds: configuration.ringSeconds,
                                      maximumBytes: configuration.unresolvedMaximumBytes ?? configuration.ringMaximumBytes / 2)
    }

    /// Seconds the ring holds now, its frames, frames it dropped early for its memory cap,
    /// and frames kept beyond it because their transaction was not answered.
    public var ringCoverage: (seconds: Double, frames: Int, evictedForMemory: Int, unresolved: Int) {
        (ring.coveredSeconds, ring.count, ring.evictedForMemory, unresolved.count)
    }

    public func captured(frame: CapturedFrame, linkType: LinkType, snapshotLength: Int) {
        frameNumber += 1
        self.snapshotLength = snapshotLength
        ring.append(frame, number: frameNumber) { evicted in
            if !answeredFrames.contains(evicted.number) { unresolved.keep(evicted) }
        }
        if let oldest = ring.oldestNumber { answeredFrames.forget(below: oldest) }
    }

    /// An answered transaction: the ring lets its frames go when their time comes; those it
    /// already let go are forgotten. A failed one, or one in flight at the stop, stays.
    public func transactionClosed(_ transaction: Transaction) {
        // In flight at the stop, or failed: kept.
        guard transaction.outcome == .answered, !EvidenceBundleWriter.isFailed(transaction) else { return }
        let oldest = ring.oldestNumber ?? .max
        for number in Diagnoser.frames(of: transaction) {
            if number >= oldest { answeredFrames.insert(number) } else { unresolved.remove(number) }
        }
    }

    public func findingsChanged(_ findings: [Finding], announcements: [FindingAnnouncement]) {
        latestFindings = findings
        for announcement in announcements { schedule(announcement) }
    }

    public func statusTick(_ status: LiveStatus) {
        let now = clock()
        let due = pending.filter { status.isFinal || $0.due <= now }
        pending.removeAll { status.isFinal || $0.due <= now }
        for bundle in due { submit(bundle) }
        if status.isFinal { writer.waitUntilIdle() }
        for line in writer.takeNotices() { notice(line) }
    }

    public func wholeRingRequested() {
        guard !ring.isEmpty else { return notice("SIGUSR1: the ring holds no packet yet, no bundle written") }
        submit(frames: ring.all, trigger: nil, lastNumberBefore: nil, label: "ring",
               describing: "the whole ring (SIGUSR1)", keptBecause: "kept by SIGUSR1 (the whole ring of --export-on-finding)")
    }

    /// The subjects of an announcement: the sources it newly names (all of them for a new
    /// kind), or its servers when the finding names no source.
    static func subjects(of announcement: FindingAnnouncement) -> [IPAddress] {
        let finding = announcement.finding
        if !finding.sources.isEmpty {
            return announcement.isNew ? finding.sources.map(\.ip) : announcement.newSources
        }
        return announcement.isNew ? finding.servers.map(\.ip) : announcement.newServers
    }

    private func schedule(_ announcement: FindingAnnouncement) {
        let subjects = Self.subjects(of: announcement)
        guard !subjects.isEmpty else { return }
        let kind = announcement.finding.kind.rawValue
        let now = clock()
        while let first = written.first, (now - first).seconds >= configuration.rateWindow { written.removeFirst() }
        let refusal: String? = if written.count >= configuration.maximumBundlesPerWindow {
            "at most \(configuration.maximumBundlesPerWindow) bundles per \(Int(configuration.rateWindow)) s"
        } else if pending.count >= configuration.maximumPending {
            "\(pending.count) bundles are already waiting for their seconds after the finding"
        } else {
            nil
        }
        if let refusal {
            suppressed += 1
            notice("--export-on-finding: no bundle for \(kind) (\(Self.describe(subjects))): \(refusal)")
            return
        }
        written.append(now)
        let matcher = AddressMatcher(addresses: Set(subjects), ports: session?.configuration.options.ports ?? [53])
        pending.append(Pending(
            kind: announcement.finding.kind, matcher: matcher, announced: announcement.finding,
            due: now + Duration(nanoseconds: Int64((configuration.afterTrigger * 1e9).rounded())),
            before: mergedByNumber(unresolved.frames(where: matcher.matches), ring.frames(where: matcher.matches)),
            lastNumberBefore: ring.newestNumber))
    }

    private func submit(_ bundle: Pending) {
        let matcher = bundle.matcher
        let after = mergedByNumber(
            unresolved.frames(where: { $0.number > (bundle.lastNumberBefore ?? .max) && matcher.matches($0) }),
            ring.frames(after: bundle.lastNumberBefore ?? bundle.before.last?.number, where: matcher.matches))
        // The finding as last evaluated (more of the subject's queries cited), else as announced.
        let current = latestFindings.first { finding in
            finding.kind == bundle.kind && !matcher.addresses.isDisjoint(with: (finding.sources + finding.servers).map(\.ip))
        } ?? bundle.announced
        let subjects = matcher.addresses.sorted()
        submit(frames: bundle.before + after, trigger: current, lastNumberBefore: bundle.lastNumberBefore,
               label: "\(bundle.kind.rawValue)-\(Self.describe(subjects, separator: "+"))",
               describing: "\(bundle.kind.rawValue) (\(Self.describe(subjects)))",
               keptBecause: "a packet of \(Self.describe(subjects)), kept by --export-on-finding for \(bundle.kind.rawValue)")
    }

    private func submit(
        frames: [RingFrame], trigger: Finding?, lastNumberBefore: Int?, label: String, describing: String, keptBecause: String
    ) {
        guard let session else { return }
        let configuration = configuration
        let name = Self.folderName(at: clock(), label: label)
        let job = RingBundleJob(
            path: configuration.folder + "/" + name, frames: frames, trigger: trigger,
            lastFrameBeforeTrigger: lastNumberBefore, interface: session.configuration.interface,
            filter: session.configuration.filter ?? "(the default DNS filter)", snapshotLength: snapshotLength,
            options: session.configuration.options, directory: session.directory,
            interfaceNames: session.configuration.givenInterfaceNames, commandLine: configuration.commandLine,
            keptBecause: keptBecause, cutAt: clock())
        scheduled += 1
        writer.submit(job, folder: configuration.folder, maximumBytes: configuration.maximumDiskBytes,
                      describing: describing)
    }

    /// `dnstrail-20261206T051502.123Z-egress-blocked-10.244.1.11`: sortable by age, one
    /// path component (IPv6 colons become underscores), at most 200 bytes.
    static func folderName(at time: Timestamp, label: String) -> String {
        let stamp = time.rfc3339.filter { $0 != "-" && $0 != ":" }
        let safe = label.map { $0.isLetter || $0.isNumber || "-_.+".contains($0) ? $0 : "_" }
        return String((BundleRetention.namePrefix + stamp + "-" + String(safe)).prefix(200))
    }

    static func describe(_ subjects: [IPAddress], separator: String = ", ") -> String {
        let shown = subjects.prefix(3).map(\.description).joined(separator: separator)
        return subjects.count > 3 ? shown + "\(separator)\(subjects.count - 3) more" : shown
    }
}

/// The background queue that writes bundles, one at a time, and the notices they leave
/// for the capture thread (which alone prints).
final class BundleQueue: Sendable {
    private let queue = DispatchQueue(label: "dnstrail.export-on-finding")
    private let notices = Mutex<[String]>([])

    func submit(_ job: RingBundleJob, folder: String, maximumBytes: Int64, describing: String) {
        queue.async { [self] in
            var lines: [String] = []
            do {
                let summary = try RingBundle.write(job)
                lines.append("evidence bundle for \(describing): \(summary.path) (\(summary.evidencePackets) packets; "
                             + "\(summary.flaggedTransactions) of \(summary.transactions) transactions flagged)")
                let name = String(summary.path.split(separator: "/").last ?? "")
                for removed in BundleRetention.enforce(folder: folder, maximumBytes: maximumBytes, keeping: name) {
                    lines.append("--export-on-finding: removed the oldest bundle \(folder)/\(removed) (over --export-max-bytes)")
                }
            } catch {
                lines.append("--export-on-finding: no bundle for \(describing): \(error)")
            }
            notices.withLock { $0 += lines }
        }
    }

    /// Blocks until every submitted bundle is written (at the end of the run).
    func waitUntilIdle() {
        queue.sync {}
    }

    func takeNotices() -> [String] {
        notices.withLock { taken in
            defer { taken = [] }
            return taken
        }
    }
}

/// Why `--export-on-finding` cannot start: one line for `dnstrail: ...`.
public struct FindingExportError: Error, CustomStringConvertible {
    public var description: String
}

extension LiveSession {
    /// Keeps a ring of the captured packets and writes a bundle into `configuration.folder`
    /// (created if missing) whenever a finding is announced, and on SIGUSR1. Throws when the
    /// folder cannot be created or written.
    @discardableResult
    public func exportOnFinding(_ configuration: FindingExportConfiguration) throws(FindingExportError) -> FindingExporter {
        let folder = configuration.folder
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw FindingExportError(description: "--export-on-finding: cannot create '\(folder)': \(error.localizedDescription)")
        }
        guard access(folder, W_OK | X_OK) == 0 else {
            throw FindingExportError(description: "--export-on-finding: cannot write into '\(folder)': \(String(cString: strerror(errno)))")
        }
        let exporter = FindingExporter(configuration: configuration, session: self) { [unowned self] in notice($0) }
        add(exporter)
        return exporter
    }
}
