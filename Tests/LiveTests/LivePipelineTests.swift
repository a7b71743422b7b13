import Attribution
import Capture
import Diagnosis
import Foundation
@testable import Live
@testable import Pipeline
import Reports
import Testing
import Transactions
import WireCore

/// The live run's parallel pipeline (`LivePipeline`) against one `Analyzer`: the same
/// expiries and closed transactions, interleaved in the same order, whatever the rounds; and
/// a shard too far behind costs whole rounds, counted, never a wait.
@Suite("Live pipeline")
struct LivePipelineTests {
    /// One hand-over to the live hooks, as comparable text (kind, client, id, question, outcome, frames).
    static func describe(_ event: Replay.Event) -> String {
        switch event {
        case .expired(let transaction): "expired " + describe(transaction)
        case .closed(let transaction): "closed " + describe(transaction)
        }
    }

    static func describe(_ transaction: Transaction) -> String {
        "\(transaction.client) \(transaction.server) \(transaction.id) \(transaction.qname ?? "-") "
            + "\(transaction.outcome) \(transaction.expiry.map { "\($0)" } ?? "-") "
            + "\(transaction.attempts.map(\.frame)) \(transaction.response?.frame ?? 0)"
    }

    /// Replays `capture` through a live pipeline of `shards` threads as the live loop drives
    /// it: a round ended every `framesPerRound` frames, hand-overs taken after every frame
    /// without waiting, then an idle advance by `advanceBy` and the finish.
    static func pipelined(
        _ capture: String, shards: Int, framesPerRound: Int, advanceBy: Duration = .seconds(0),
        channelCapacity: Int = LivePipeline.defaultChannelCapacity
    ) throws -> (events: [Replay.Event], result: RunResult, drops: PipelineDrops) {
        var events: [Replay.Event] = []
        let pipeline = LivePipeline(options: AnalysisOptions(), shards: shards, channelCapacity: channelCapacity)
        let file = try OfflineCapture(path: Paths.capture(capture))
        var last = Timestamp(nanoseconds: 0)
        var frames = 0
        while case .frame(let frame) = file.next() {
            last = frame.timestamp
            frames += 1
            pipeline.process(frame, number: frame.number)
            if frames % framesPerRound == 0 { pipeline.endRound(now: frame.timestamp) }
            pipeline.deliver(closed: { events.append(.closed($0)) }, expired: { events.append(.expired($0)) })
        }
        if advanceBy.nanoseconds > 0 {
            pipeline.advanceIdle(to: last + advanceBy)
            pipeline.endRound(now: last + advanceBy)
        }
        let result = pipeline.finish(closed: { events.append(.closed($0)) }, expired: { events.append(.expired($0)) })
        return (events, result, pipeline.drops)
    }

    static let captures = ["egress-deny.pcap", "late-answers.pcap", "udp-reject.pcap", "upstream-timeout.pcap",
                           "tc-fallback.pcap", "tcp-blocked.pcap", "parallel-aaaa-loss.pcap", "any-dnat.pcap"]

    /// Issue 13.1 (live): with 2 and 3 pairing threads and rounds of 1, 3 and 1,024 frames,
    /// the hooks get exactly the expiries and transactions one analyzer gives, in its order
    /// (an expiry just before the transaction that follows it in its engine), and the same
    /// counts. Fails if expiries were merged by their own clock, or a round went missing.
    @Test(arguments: captures)
    func twoAndThreeShardsHandOverWhatOneAnalyzerDoesInItsOrder(capture: String) throws {
        let single = try Replay.of(capture, advanceBy: .seconds(7))
        #expect(!single.events.isEmpty)
        for shards in [2, 3] {
            for framesPerRound in [1, 3, 1_024] {
                // Rings deep enough for the whole capture: frames come faster than live, and
                // a dropped round would be a (counted) difference.
                let (events, result, drops) = try Self.pipelined(capture, shards: shards, framesPerRound: framesPerRound,
                                                                  advanceBy: .seconds(7), channelCapacity: 4_096)
                #expect(drops.isEmpty, "\(drops)")
                #expect(events.map(Self.describe) == single.events.map(Self.describe),
                        "\(capture), \(shards) shards, rounds of \(framesPerRound) frames")
                #expect(result.parallel?.shards == shards)
                #expect(result.engine.queries > 0)
            }
        }
    }

    /// The captures above do have expiries (the comparison covers their order).
    @Test func theComparedCapturesHaveExpiries() throws {
        let expiries = try Self.captures.map { try Replay.of($0, advanceBy: .seconds(7)).expired.count }
        #expect(expiries.reduce(0, +) >= 10, "\(expiries)")
    }

    /// Issue 13.1 (live): a shard whose ring is full makes the capture thread drop the round
    /// (for every shard), never wait: with rings of one round and the shards not yet
    /// running, the first round is taken and every later one is dropped and counted, its
    /// messages never analysed; the clock of the dropped rounds still reaches the shards.
    @Test func fullRingDropsWholeRoundsAndCountsThemInsteadOfWaiting() throws {
        let pipeline = LivePipeline(options: AnalysisOptions(), shards: 2, channelCapacity: 1, startsShards: false)
        let file = try OfflineCapture(path: Paths.capture("egress-deny.pcap"))
        var frames = 0
        var last = Timestamp(nanoseconds: 0)
        let started = monotonicClock()
        while case .frame(let frame) = file.next() {
            frames += 1
            last = frame.timestamp
            pipeline.process(frame, number: frame.number)
            // Rounds of 4 frames, then of 1: every frame of egress-deny.pcap is a DNS message.
            if frames >= 4 { pipeline.endRound(now: frame.timestamp) }
        }
        // Nothing waited on the stopped shards (a blocking send would never return).
        #expect(monotonicClock() - started < .seconds(10))
        let drops = pipeline.drops
        #expect(drops.rounds == frames - 4, "\(drops)")
        pipeline.startShards()
        pipeline.advanceIdle(to: last + .seconds(60))
        let result = pipeline.finish(closed: { _ in }, expired: { _ in })
        #expect(result.packets.frames == frames)
        // The first 4 frames are 2 queries and their answers; every later message was dropped.
        #expect(result.packets.dnsMessages == 4, "only the first round's messages were analysed")
        var all = Analyzer(options: AnalysisOptions())
        let again = try OfflineCapture(path: Paths.capture("egress-deny.pcap"))
        while case .frame(let frame) = again.next() {
            all.process(frame: frame.number, time: frame.timestamp, bytes: frame.bytes, originalLength: frame.originalLength,
                        linkType: frame.linkType) { _ in }
        }
        all.finish { _ in }
        #expect(drops.messages == all.packets.dnsMessages - 4, "\(drops)")

        // The report says so, in all three forms.
        var run = result
        run.live = LiveSummary(interface: "br0", filter: "udp port 53", linkType: "EN10MB", kernel: nil, stoppedBy: "signal",
                               failure: nil, drain: nil, pipeline: LivePipelineSummary(threads: 2, drops: drops))
        let report = Report(run: run, figures: ReportBuilder(), options: AnalysisOptions())
        let expected = "dropped by the pipeline: \(drops.messages) DNS messages, \(drops.connectionEnds) ended TCP "
            + "\(drops.connectionEnds == 1 ? "connection" : "connections") "
            + "(\(frames - 4) rounds its pairing threads were too far behind to take)"
        #expect(report.human().contains("Pipeline       2 pairing threads, " + expected), "\(report.human())")
        #expect(report.warnings.contains { $0.hasPrefix(expected) }, "\(report.warnings)")
        let json = report.json().serialized()
        #expect(json.contains("\"pipeline\":{\"threads\":2,\"dropped_rounds\":\(frames - 4),\"dropped_messages\":\(drops.messages),"
                              + "\"dropped_connection_ends\":\(drops.connectionEnds)}"), "\(json)")

        // And the diagnosis: the capture is incomplete, for this reason (a finding, so that
        // every "unanswered" finding beside it reads as weaker).
        let diagnosed = Report(run: run, figures: ReportBuilder(), options: AnalysisOptions(), diagnoser: Diagnoser(),
                               directory: ClusterDirectory())
        let incomplete = diagnosed.findings.first { $0.kind == .captureIncomplete }
        #expect(incomplete?.title == "The capture is incomplete: the analysis dropped \(drops.messages) DNS messages "
                + "because its pairing threads fell behind", "\(diagnosed.findings.map(\.title))")
        #expect(incomplete?.counts.first { $0.0 == "pipeline_dropped_messages" }?.1 == drops.messages)
    }

    /// With one thread nothing is said of a pipeline (the live report stays as it was).
    @Test func aRunOfOneThreadStatesNoPipeline() {
        var run = RunResult()
        run.live = LiveSummary(interface: "br0", filter: "udp port 53", linkType: "EN10MB", kernel: nil, stoppedBy: "signal",
                               failure: nil, drain: nil)
        let report = Report(run: run, figures: ReportBuilder(), options: AnalysisOptions())
        #expect(!report.human().contains("Pipeline"))
        #expect(!report.json().serialized().contains("pipeline"))
    }

    /// The status line names the pipeline's drops from the first one on; until then it is the
    /// line of one thread (under 100 columns).
    @Test func statusLineShowsPipelineDropsFromTheFirstOn() {
        var status = LiveStatus(elapsed: 12, frames: 345, transactions: 67, answered: 60, unanswered: 7, waiting: 0,
                                heldForLateAnswer: 0, kernel: CaptureStatistics(received: 345, dropped: 0, interfaceDropped: 0),
                                packets: PacketStatistics(), engine: EngineStatistics())
        let oneThread = status.line
        #expect(oneThread == "12 s  frames 345  transactions 67  answered 60  unanswered 7  waiting 0  drops 0")
        status.pipelineDrops = PipelineDrops()
        #expect(status.line == oneThread)
        var drops = PipelineDrops()
        drops.rounds = 2
        drops.messages = 1_500
        status.pipelineDrops = drops
        #expect(status.line == oneThread + "  pipeline-dropped 1500")
    }
}
