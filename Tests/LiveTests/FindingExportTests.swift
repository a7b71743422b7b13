import Attribution
import Capture
import Evidence
import Foundation
import PacketDecoding
import Pipeline
import Reports
import Testing
import WireCore
@testable import Diagnosis
@testable import Live
@testable import Transactions

/// `live --export-on-finding`: the packet ring, which frames a subject's bundle holds, the
/// bundle itself (verified like any `export` bundle), the disk cap and the rate limit.
struct FindingExportTests {
    static let deniedPod = IPAddress("10.244.1.11") ?? IPAddress(ipv4: 0)
    static let healthyPod = IPAddress("10.244.1.10") ?? IPAddress(ipv4: 0)

    /// Every frame of a bundled capture as the ring would hold it, numbered from 1.
    static func ringFrames(_ capture: String) throws -> [RingFrame] {
        let file = try OfflineCapture(path: Paths.capture(capture))
        var frames: [RingFrame] = []
        while case .frame(let frame) = file.next() {
            frames.append(RingFrame(number: frame.number, timestamp: frame.timestamp, originalLength: frame.originalLength,
                                    linkType: frame.linkType, bytes: Array(frame.bytes)))
        }
        return frames
    }

    static func frame(_ number: Int, at seconds: Double, size: Int) -> RingFrame {
        RingFrame(number: number, timestamp: Timestamp(nanoseconds: Int64(seconds * 1e9)), originalLength: size,
                  linkType: .ethernet, bytes: Array(repeating: 0, count: size))
    }

    /// A session whose output and status go nowhere (the exporter's host).
    static func quietSession() -> LiveSession {
        LiveSession(configuration: LiveConfiguration(interface: "br0"), directory: ClusterDirectory(),
                    output: OutputBuffer(descriptor: -1), errorDescriptor: -1, statusOnTerminal: false)
    }

    /// A status tick with no counts; `isFinal` for the one after the stop.
    static func status(isFinal: Bool) -> LiveStatus {
        var status = LiveStatus(elapsed: 1, frames: 0, transactions: 0, answered: 0, unanswered: 0, waiting: 0,
                                heldForLateAnswer: 0, kernel: nil, packets: PacketStatistics(), engine: EngineStatistics())
        status.isFinal = isFinal
        return status
    }

    static func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "dnstrail-export-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The ring keeps `seconds` of capture time before its newest frame.
    @Test func ringForgetsFramesOlderThanItsSeconds() {
        var ring = PacketRing(seconds: 10, maximumBytes: 1 << 20)
        for second in 0..<30 { ring.append(Self.frame(second + 1, at: Double(second), size: 100)) }
        #expect(ring.all.map(\.number) == Array(20...30), "frames at 19...29 s: within 10 s of the newest")
        #expect(ring.coveredSeconds == 10)
        #expect(ring.evictedForMemory == 0)
        #expect(ring.bytesHeld == 11 * (100 + RingFrame.overhead))
    }

    /// Over its memory cap the ring drops its oldest frames and counts them: it then covers
    /// fewer seconds than asked, and says so.
    @Test func ringOverItsMemoryCapDropsTheOldestAndCountsThem() {
        let cost = 1_000 + RingFrame.overhead
        var ring = PacketRing(seconds: 120, maximumBytes: 5 * cost)
        for number in 1...12 { ring.append(Self.frame(number, at: Double(number) * 0.1, size: 1_000)) }
        #expect(ring.all.map(\.number) == [8, 9, 10, 11, 12])
        #expect(ring.evictedForMemory == 7)
        #expect(ring.bytesHeld <= ring.maximumBytes)
        #expect(abs(ring.coveredSeconds - 0.4) < 1e-9)
        #expect(ring.frames(after: 10, where: { _ in true }).map(\.number) == [11, 12])
    }

    /// Frames the ring let go of unanswered are kept `seconds` before the newest and within
    /// their own cap, the oldest dropped first; one removed (answered later) is gone; they
    /// merge with the ring's in number order.
    @Test func unresolvedFramesAreKeptByAgeAndCapAndMergeByNumber() {
        let cost = 100 + RingFrame.overhead
        var kept = UnresolvedFrames(seconds: 10, maximumBytes: 3 * cost)
        for number in [1, 2, 2, 3] { kept.keep(Self.frame(number, at: Double(number), size: 100)) }
        #expect(kept.count == 3, "a frame kept twice is kept once")
        kept.keep(Self.frame(4, at: 4, size: 100))
        #expect(kept.frames(where: { _ in true }).map(\.number) == [2, 3, 4])
        #expect(kept.evictedForMemory == 1)
        kept.remove(3)
        #expect(kept.frames(where: { _ in true }).map(\.number) == [2, 4])
        #expect(kept.bytesHeld == 2 * cost)
        kept.keep(Self.frame(20, at: 20, size: 100))
        #expect(kept.frames(where: { _ in true }).map(\.number) == [20], "older than 10 s before the newest")

        let merged = mergedByNumber([1, 4, 6].map { Self.frame($0, at: 0, size: 1) }, [2, 4, 7].map { Self.frame($0, at: 0, size: 1) })
        #expect(merged.map(\.number) == [1, 2, 4, 6, 7])

        var bits = AnsweredFrameBits()
        for number in [3, 70, 200] { bits.insert(number) }
        #expect(bits.contains(3) && bits.contains(70) && bits.contains(200) && !bits.contains(4) && !bits.contains(71))
        bits.forget(below: 130)
        #expect(!bits.contains(3) && !bits.contains(70) && bits.contains(200))
    }

    /// On a node too busy for the ring to cover the seconds before a finding (here a ring of
    /// a few frames), the denied pod's queries, never answered, are still in the finding's
    /// bundle, and none of the healthy pod's answered ones is kept beyond the ring.
    @Test func unansweredQueriesOutliveTheRingAndAnsweredOnesDoNot() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let session = Self.quietSession()
        var configuration = FindingExportConfiguration(folder: folder)
        configuration.afterTrigger = 0
        configuration.ringMaximumBytes = 4 * (200 + RingFrame.overhead)
        configuration.unresolvedMaximumBytes = 1 << 20
        let exporter = FindingExporter(configuration: configuration, session: session, notice: { _ in })
        var analyzer = Analyzer(options: AnalysisOptions())
        var diagnoser = Diagnoser()
        let file = try OfflineCapture(path: Paths.capture("egress-deny.pcap"))
        var deniedQueries = 0
        var answeredFrames: Set<Int> = []
        func closed(_ transaction: Transaction) {
            diagnoser.add(transaction)
            exporter.transactionClosed(transaction)
            if transaction.outcome == .answered { answeredFrames.formUnion(Diagnoser.frames(of: transaction)) }
        }
        while case .frame(let frame) = file.next() {
            exporter.captured(frame: frame, linkType: frame.linkType, snapshotLength: 262_144)
            if Array(frame.bytes[26..<30]) == [10, 244, 1, 11] { deniedQueries += 1 }
            analyzer.process(frame: frame.number, time: frame.timestamp, bytes: frame.bytes, originalLength: frame.originalLength,
                             linkType: frame.linkType, emit: closed)
        }
        analyzer.finish(emit: closed)
        #expect(exporter.ringCoverage.frames < deniedQueries)
        var total = 0
        let count = try OfflineCapture(path: Paths.capture("egress-deny.pcap"))
        while case .frame = count.next() { total += 1 }
        let evicted = total - exporter.ringCoverage.frames
        #expect(evicted > 2 * deniedQueries, "the healthy pod's frames left the ring too")
        // Kept beyond the ring: every frame it let go of but those of answered transactions
        // (the denied pod's queries, and TCP segments without DNS in them).
        let unanswered = (1...evicted).filter { !answeredFrames.contains($0) }.count
        #expect(exporter.ringCoverage.unresolved == unanswered)
        #expect(unanswered < evicted, "the answered ones are let go")
        let finding = try #require(diagnoser.findings(context: DiagnosisContext(directory: ClusterDirectory(),
                                                                                timeout: AnalysisOptions().timeout))
            .first { $0.kind == .egressBlocked })
        var detector = FindingChangeDetector()
        exporter.findingsChanged([finding], announcements: detector.announcements(for: [finding]))
        exporter.statusTick(Self.status(isFinal: true))
        let bundle = try #require(BundleRetention.bundles(in: folder).first)
        let evidence = try OfflineCapture(path: folder + "/" + bundle.name + "/evidence.pcapng")
        var queries = 0
        while case .frame(let frame) = evidence.next() {
            if Array(frame.bytes[26..<30]) == [10, 244, 1, 11] { queries += 1 }
        }
        #expect(deniedQueries > 4)
        #expect(queries == deniedQueries, "every query of the denied pod, though the ring held a few frames")
    }

    /// A subject's frames are exactly those carrying its address (checked against the raw
    /// bytes: the IPv4 address at the source or destination offset of an Ethernet frame).
    @Test func addressMatcherSelectsExactlyTheSubjectsPackets() throws {
        let frames = try Self.ringFrames("egress-deny.pcap")
        let matcher = AddressMatcher(addresses: [Self.deniedPod], ports: [53])
        let denied: [UInt8] = [10, 244, 1, 11]
        var matched = 0
        for frame in frames {
            // Ethernet + IPv4 without options in this capture: source at 26, destination at 30.
            let carries = frame.bytes.count >= 34
                && (Array(frame.bytes[26..<30]) == denied || Array(frame.bytes[30..<34]) == denied)
            #expect(matcher.matches(frame) == carries, "frame \(frame.number)")
            if carries { matched += 1 }
        }
        #expect(matched > 0 && matched < frames.count)
    }

    /// The finding's bundle: written in the `export` format, verified, its report carries
    /// the trigger with frames in the bundle's own numbering, and evidence.pcapng holds the
    /// subject's failed queries and nothing of any other source.
    @Test func subjectBundleVerifiesAndHoldsOnlyTheSubjectsPackets() throws {
        let capture = "egress-deny.pcap"
        var diagnoser = Diagnoser()
        _ = try analyzeFiles([Paths.capture(capture)], options: AnalysisOptions()) { diagnoser.add($0) }
        let trigger = try #require(diagnoser.findings(context: DiagnosisContext(directory: ClusterDirectory(), timeout: AnalysisOptions().timeout)).first { $0.kind == .egressBlocked })
        #expect(trigger.sources.map { $0.ip } == [Self.deniedPod])

        let all = try Self.ringFrames(capture)
        let subject = all.filter(AddressMatcher(addresses: [Self.deniedPod], ports: [53]).matches)
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let job = RingBundleJob(
            path: folder + "/dnstrail-test-bundle", frames: subject, trigger: trigger,
            lastFrameBeforeTrigger: subject.last?.number, interface: "br0", filter: "port 53", snapshotLength: 262_144,
            options: AnalysisOptions(), directory: ClusterDirectory(), interfaceNames: [:], commandLine: ["dnstrail", "live"],
            keptBecause: "a packet of 10.244.1.11, kept by --export-on-finding for egress-blocked",
            cutAt: (subject.last?.timestamp ?? Timestamp(nanoseconds: 0)) + .seconds(10))
        let summary = try RingBundle.write(job)
        #expect(summary.frames == subject.count)

        let verification = try EvidenceBundle.verify(directory: URL(fileURLWithPath: summary.path))
        #expect(verification.isValid, Comment(rawValue: verification.problemLines.joined(separator: "; ")))

        let evidence = try OfflineCapture(path: summary.path + "/evidence.pcapng")
        let matcher = AddressMatcher(addresses: [Self.deniedPod], ports: [53])
        var packets = 0
        while case .frame(let frame) = evidence.next() {
            packets += 1
            let kept = RingFrame(number: frame.number, timestamp: frame.timestamp, originalLength: frame.originalLength,
                                 linkType: frame.linkType, bytes: Array(frame.bytes))
            #expect(matcher.matches(kept), "evidence packet \(packets) is not the denied pod's")
        }
        #expect(packets == summary.evidencePackets)
        #expect(packets == subject.count, "every packet of the denied pod in the capture")
        #expect(trigger.frames.count == subject.count, "all of them failed queries, cited by the finding")

        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary.path + "/report.json")))
        let object = try #require(report as? [String: Any])
        let findings = try #require(object["findings"] as? [[String: Any]])
        #expect(findings.count == 1)
        let kind = findings.first?["kind"] as? String
        #expect(kind == "egress-blocked")
        let run = try #require(object["capture"] as? [String: Any])
        #expect(run["stopped_by"] as? String == "finding (--export-on-finding)")
        let totals = try #require(object["totals"] as? [String: Any])
        let failedQueries = trigger.counts.first { $0.0 == "failed_queries" }?.1
        let unanswered = totals["unanswered"] as? Int, inFlight = totals["in_flight"] as? Int
        #expect(unanswered == failedQueries && inFlight == 0, "cut 10 s after the last query: past every deadline")
        let answered = totals["answered"] as? Int
        #expect(answered == 0, "the healthy pod's answered queries are not in this bundle")
    }

    /// SIGUSR1's bundle of the whole ring: every frame is evidence, and the report has the
    /// findings of its own frames (here egress-blocked, as `analyze` finds on the same packets).
    @Test func wholeRingBundleKeepsEveryFrameAndDiagnosesThem() throws {
        let all = try Self.ringFrames("egress-deny.pcap")
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let job = RingBundleJob(
            path: folder + "/dnstrail-ring", frames: all, trigger: nil, lastFrameBeforeTrigger: nil, interface: "br0",
            filter: "port 53", snapshotLength: 262_144, options: AnalysisOptions(), directory: ClusterDirectory(),
            interfaceNames: [:], commandLine: ["dnstrail", "live"], keptBecause: "kept by SIGUSR1")
        let summary = try RingBundle.write(job)
        #expect(summary.evidencePackets == all.count)
        #expect(try EvidenceBundle.verify(directory: URL(fileURLWithPath: summary.path)).isValid)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary.path + "/report.json")))
        let findings = (report as? [String: Any])?["findings"] as? [[String: Any]] ?? []
        let kinds = findings.compactMap { $0["kind"] as? String }
        #expect(kinds.contains("egress-blocked"))
    }

    /// The disk cap removes the oldest bundles first, only dnstrail bundles, never the newest.
    @Test func retentionRemovesTheOldestBundlesOnly() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func bundle(_ name: String, bytes: Int) throws {
            try FileManager.default.createDirectory(atPath: folder + "/" + name, withIntermediateDirectories: true)
            try Data(repeating: 1, count: bytes).write(to: URL(fileURLWithPath: folder + "/" + name + "/evidence.pcapng"))
            try Data("{}".utf8).write(to: URL(fileURLWithPath: folder + "/" + name + "/manifest.json"))
        }
        try bundle("dnstrail-20261206T010000Z-a", bytes: 1_000)
        try bundle("dnstrail-20261206T020000Z-b", bytes: 1_000)
        try bundle("dnstrail-20261206T030000Z-c", bytes: 1_000)
        try FileManager.default.createDirectory(atPath: folder + "/dnstrail-notes", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/keep-me", withIntermediateDirectories: true)
        #expect(BundleRetention.bundles(in: folder).map(\.name).count == 3, "a folder without manifest.json is no bundle")

        let removed = BundleRetention.enforce(folder: folder, maximumBytes: 2_100, keeping: "dnstrail-20261206T030000Z-c")
        #expect(removed == ["dnstrail-20261206T010000Z-a"])
        let left = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(left == ["dnstrail-20261206T020000Z-b", "dnstrail-20261206T030000Z-c", "dnstrail-notes", "keep-me"])

        let all = BundleRetention.enforce(folder: folder, maximumBytes: 10, keeping: "dnstrail-20261206T030000Z-c")
        #expect(all == ["dnstrail-20261206T020000Z-b"], "the newest stays even alone over the cap")
    }

    @Test func bundleFolderNamesSortByTimeAndAreOnePathComponent() {
        let time = Timestamp(nanoseconds: 1_796_000_000_123_000_000)
        let name = FindingExporter.folderName(at: time, label: "egress-blocked-fd00::1+10.0.0.1")
        #expect(name.hasPrefix("dnstrail-2026"))
        #expect(!name.contains("/") && !name.contains(":"))
        #expect(name.hasSuffix("-egress-blocked-fd00__1+10.0.0.1"))
        #expect(FindingExporter.folderName(at: time, label: "a") < FindingExporter.folderName(at: time + .seconds(1), label: "a"))
    }

    @Test func byteSizesTakeBinarySuffixes() {
        #expect(parseByteSize("64M") == 64 << 20)
        #expect(parseByteSize("1G") == 1 << 30)
        #expect(parseByteSize("512kib") == 512 << 10)
        #expect(parseByteSize("1000") == 1_000)
        for bad in ["", "M", "0", "-5", "1.5G", "10X", "99999999999T"] { #expect(parseByteSize(bad) == nil, "\(bad)") }
    }

    /// The exporter in a session: frames into the ring, an announcement, and the bundle
    /// written once its seconds after the trigger have passed; a second announcement over
    /// the rate limit is counted and not written.
    @Test func exporterWritesOneBundlePerAnnouncementWithinItsRateLimit() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let session = Self.quietSession()
        var configuration = FindingExportConfiguration(folder: folder)
        configuration.afterTrigger = 5
        configuration.maximumBundlesPerWindow = 1
        var now = Timestamp(nanoseconds: 1_796_000_000_000_000_000)
        var notices: [String] = []
        let exporter = FindingExporter(configuration: configuration, session: session, notice: { notices.append($0) },
                                       clock: { now })
        let file = try OfflineCapture(path: Paths.capture("egress-deny.pcap"))
        while case .frame(let frame) = file.next() {
            exporter.captured(frame: frame, linkType: frame.linkType, snapshotLength: 262_144)
        }
        var diagnoser = Diagnoser()
        _ = try analyzeFiles([Paths.capture("egress-deny.pcap")], options: AnalysisOptions()) { diagnoser.add($0) }
        let finding = try #require(diagnoser.findings(context: DiagnosisContext(directory: ClusterDirectory(), timeout: AnalysisOptions().timeout)).first { $0.kind == .egressBlocked })
        var detector = FindingChangeDetector()
        exporter.findingsChanged([finding], announcements: detector.announcements(for: [finding]))
        #expect(exporter.scheduled == 0, "waits for the seconds after the trigger")

        let tick = Self.status(isFinal: false)
        now = now + .seconds(2)
        exporter.statusTick(tick)
        #expect(exporter.scheduled == 0)
        now = now + .seconds(4)
        exporter.statusTick(tick)
        #expect(exporter.scheduled == 1)

        var other = finding
        other.sources = [NamedAddress(ip: IPAddress("10.244.1.99") ?? Self.deniedPod, identity: nil, namespace: nil)]
        exporter.findingsChanged([other], announcements: detector.announcements(for: [finding, other]))
        #expect(exporter.suppressed == 1)

        exporter.statusTick(Self.status(isFinal: true))
        let bundles = BundleRetention.bundles(in: folder)
        #expect(bundles.count == 1)
        #expect(bundles.first?.name.hasSuffix("-egress-blocked-10.244.1.11") == true)
        #expect(notices.contains { $0.hasPrefix("evidence bundle for egress-blocked (10.244.1.11): \(folder)/dnstrail-") })
        #expect(notices.contains { $0.contains("no bundle for egress-blocked (10.244.1.99)") })
        let verification = try EvidenceBundle.verify(directory: URL(fileURLWithPath: folder + "/" + (bundles.first?.name ?? "")))
        #expect(verification.isValid)
    }
}
