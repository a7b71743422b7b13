import DNSWire
import Foundation
import Histogram
import Pipeline
import PacketDecoding
import Testing
import WireCore
@testable import Reports
@testable import Transactions

/// Issue 14.1 and 14.2: time arithmetic after decoding never overflows, the timeline keeps
/// sensible buckets for any span, latency is never negative, and the report's memory per
/// server is small and capped.
struct HostileTimeAndMemoryTests {
    static let day: Int64 = 86_400

    static func transaction(client: IPAddress = IPAddress(ipv4: 0x0AF4_010B), server: UInt32 = 0x0A60_000A,
                            at time: Timestamp, answeredAt: Timestamp? = nil, qname: String = "a.example.") -> Transaction {
        let response = answeredAt.map {
            ResponseRecord(frame: 2, time: $0, rcode: .noError, isTruncated: false, attemptIndex: 0)
        }
        return Transaction(
            client: Endpoint(ip: client, port: 40_000), server: Endpoint(ip: IPAddress(ipv4: server), port: 53),
            transport: .udp, id: 7, opcode: .query, qname: qname,
            question: QuestionKey(nameHash: DNSName(qname)?.hashKey ?? 0, type: .a, qclass: DNSClass(1)), vlanIDs: VLANIDs(), interfaceIndex: -1,
            underlay: nil, attempts: Attempts(Attempt(frame: 1, time: time, clientPort: 40_000)), droppedAttempts: 0,
            response: response, rejection: nil, fallback: nil, outcome: answeredAt == nil ? .unanswered : .answered,
            expiry: answeredAt == nil ? .timeout : nil, lastTime: time)
    }

    static func renderEverything(_ figures: ReportBuilder) -> (json: String, human: String, html: String) {
        let report = Report(run: RunResult(), figures: figures, options: AnalysisOptions())
        return (report.json().serialized(), report.human(), report.html())
    }

    // MARK: Time arithmetic

    @Test func timestampArithmeticSaturatesAtTheEndsOfTheClock() {
        #expect(Timestamp(seconds: .max, nanoseconds: 0).nanoseconds == .max)
        #expect(Timestamp(seconds: .min, nanoseconds: 0).nanoseconds == .min)
        #expect(Timestamp(seconds: 9_223_372_036, nanoseconds: 999_999_999).nanoseconds == .max)
        #expect((Timestamp(nanoseconds: .max - 5) + Duration(nanoseconds: 10)).nanoseconds == .max)
        #expect((Timestamp(nanoseconds: .max) - Timestamp(nanoseconds: .min)).nanoseconds == .max)
        #expect((Timestamp(nanoseconds: .min) - Timestamp(nanoseconds: .max)).nanoseconds == .min)
        #expect(Duration.seconds(1e30).nanoseconds == .max)
        #expect(Duration.seconds(.nan).nanoseconds == 0)
        #expect(Duration.milliseconds(.min).nanoseconds == .min)
        #expect(Duration(nanoseconds: .min).magnitude.nanoseconds == .max)
    }

    /// A transaction 30 days before the first one counted trapped in `Timeline.add`
    /// (`arithmetic overflow`); with 20 days it drew 16,777,216-second buckets.
    @Test func transactionThirtyDaysBeforeTheFirstKeepsSensibleBuckets() {
        let now: Int64 = 1_795_652_655
        for jump in [20 * Self.day, 30 * Self.day, 400 * Self.day] {
            var figures = ReportBuilder()
            for second in 0..<120 {
                let time = Timestamp(seconds: now + Int64(second), nanoseconds: 0)
                figures.add(Self.transaction(at: time, answeredAt: time + .milliseconds(1)))
            }
            figures.add(Self.transaction(at: Timestamp(seconds: now - jump, nanoseconds: 0)))
            #expect(figures.timeline.bucketSeconds <= Timeline.maximumBucketSeconds)
            #expect(figures.timeline.bucketCount <= Timeline.maximumBuckets)
            // FuzzReports (oom-d9b596ca): the shift to an earlier transaction padded every
            // source with one entry per 1 s bucket (1.7 M for 20 days) before widening.
            #expect(figures.timeline.series.values.allSatisfy {
                $0.queries.count <= Timeline.maximumBuckets && $0.failed.count <= Timeline.maximumBuckets
            }, "no series holds more than maximumBuckets buckets")
            #expect(figures.timeline.charted + figures.timeline.outsideRange == 121, "every transaction is counted")
            if jump > Timeline.maximumBucketSeconds * Int64(Timeline.maximumBuckets) {
                #expect(figures.timeline.outsideRange == 1)
                #expect(figures.timeline.bucketSeconds == 1, "the 120 s of traffic keep 1-second buckets")
                #expect(figures.limitWarnings.contains { $0.contains("outside the timeline's range") })
            }
            let rendered = Self.renderEverything(figures)
            #expect(rendered.html.contains("<svg class=\"chart timeline\""))
        }
    }

    /// A stray transaction first (a file from another year, read first because it is
    /// older), then the real capture: the chart moves to where most transactions are.
    @Test func timelineFollowsTheMajorityAfterAStrayFirstTransaction() {
        var figures = ReportBuilder()
        let now: Int64 = 1_795_652_655
        figures.add(Self.transaction(at: Timestamp(seconds: now - 365 * Self.day, nanoseconds: 0)))
        for second in 0..<60 {
            figures.add(Self.transaction(at: Timestamp(seconds: now + Int64(second), nanoseconds: 0)))
        }
        let timeline = figures.timeline
        #expect(timeline.start.map { $0.nanoseconds / 1_000_000_000 >= now - 1 } == true)
        #expect(timeline.bucketSeconds == 1)
        #expect(timeline.charted + timeline.outsideRange == 61)
        #expect(timeline.charted >= 57)
    }

    /// Without the HTML chart (`analyze`), the timeline keeps no series by source but the
    /// same span, buckets and transactions outside it (the report's warning) as with it.
    @Test func timelineWithoutSourcesKeepsTheSameSpanAndOutsideCount() {
        var charted = ReportBuilder()
        var uncharted = ReportBuilder(chartsTimeline: false)
        let now: Int64 = 1_795_652_655
        var times = [Timestamp(seconds: now - 365 * Self.day, nanoseconds: 0),
                     Timestamp(seconds: now + 50 * Self.day, nanoseconds: 0)]
        for second in 0..<3_000 { times.append(Timestamp(seconds: now + Int64(second * 7 % 5_000), nanoseconds: 0)) }
        for time in times {
            charted.add(Self.transaction(at: time))
            uncharted.add(Self.transaction(at: time))
        }
        #expect(uncharted.timeline.series.isEmpty && !charted.timeline.series.isEmpty)
        #expect(uncharted.timeline.start == charted.timeline.start)
        #expect(uncharted.timeline.bucketSeconds == charted.timeline.bucketSeconds)
        #expect(uncharted.timeline.bucketCount == charted.timeline.bucketCount)
        #expect(uncharted.timeline.charted == charted.timeline.charted)
        #expect(uncharted.timeline.outsideRange == charted.timeline.outsideRange)
        #expect(charted.timeline.outsideRange > 0 && charted.timeline.bucketSeconds > 1)
        #expect(uncharted.limitWarnings == charted.limitWarnings && !charted.limitWarnings.isEmpty)
    }

    /// pcapng carries 64-bit timestamps: the extreme ones land on the clock's ends, and
    /// nothing after decoding traps on them (engine, report, every renderer).
    @Test func extremeTimestampsNeverTrap() {
        let times: [Int64] = [.min, .min + 1, -1, 0, 1_795_652_655_000_000_000, .max - 1, .max]
        var figures = ReportBuilder()
        var engine = TransactionEngine()
        let client = Endpoint(ip: IPAddress(ipv4: 0x0AF4_010B), port: 40_000)
        let server = Endpoint(ip: IPAddress(ipv4: 0x0A60_000A), port: 53)
        for (index, nanoseconds) in times.enumerated() {
            let question = QuestionKey(nameHash: UInt64(index), type: .a, qclass: DNSClass(1))
            let query = MessageObservation(frame: 2 * index + 1, time: Timestamp(nanoseconds: nanoseconds), source: client,
                                           destination: server, transport: .udp, id: UInt16(index), isResponse: false,
                                           question: question)
            engine.observe(query, qname: { "n\(index).example." }) { figures.add($0) }
            let answerTime = Timestamp(nanoseconds: times[(index + 3) % times.count])
            let answer = MessageObservation(frame: 2 * index + 2, time: answerTime, source: server, destination: client,
                                            transport: .udp, id: UInt16(index), isResponse: true, question: question)
            engine.observe(answer, qname: { nil }) { figures.add($0) }
            figures.add(Self.transaction(at: Timestamp(nanoseconds: nanoseconds),
                                         answeredAt: Timestamp(nanoseconds: times[(index + 4) % times.count])))
        }
        engine.finish { figures.add($0) }
        let rendered = Self.renderEverything(figures)
        #expect(!rendered.json.isEmpty && !rendered.human.isEmpty && !rendered.html.isEmpty)
        #expect(figures.timeline.bucketSeconds <= Timeline.maximumBucketSeconds)
        for (_, server) in figures.servers where server.latency.totalCount > 0 {
            #expect(server.latency.max <= LatencyHistogram.highestTrackableValue * 2)
        }
    }

    /// Packets out of time order gave `latency_ms` -4294967294999.994: an answer timed
    /// before its query is answered, flagged and counted, with no latency.
    @Test func answerTimedBeforeItsQueryHasNoLatencyAndIsCounted() {
        let query = Timestamp(seconds: 1_795_652_655 + 4_294_967_295, nanoseconds: 0)
        let answer = Timestamp(seconds: 1_795_652_655, nanoseconds: 6_000)
        let transaction = Self.transaction(at: query, answeredAt: answer)
        #expect(transaction.latency == nil)
        #expect(transaction.isAnsweredBeforeQuery)
        var figures = ReportBuilder()
        figures.add(transaction)
        #expect(figures.answered == 1)
        #expect(figures.answersTimedBeforeQuery == 1)
        #expect(figures.latencyBuckets.reduce(0, +) == 0)
        #expect(figures.limitWarnings.contains { $0.hasPrefix("1 answers were timed before their query") })
        #expect(ndjsonLine(transaction).contains("\"latency_ms\":null"))
    }

    // MARK: Memory per server

    /// The HDR histogram `LatencyHistogram` matches while it keeps full precision.
    static func hdrHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    }

    /// The sparse histogram gives exactly the HDR histogram's percentiles while it keeps
    /// full precision, on latencies spread like real ones and on edge values.
    @Test func latencyHistogramMatchesHDRPercentiles() {
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<40 {
            var sparse = LatencyHistogram()
            var dense = Self.hdrHistogram()
            let count = trial < 5 ? trial + 1 : Int.random(in: 1...400, using: &generator)
            for _ in 0..<count {
                let value: UInt64 = switch Int.random(in: 0..<6, using: &generator) {
                case 0: 0
                case 1: UInt64.random(in: 1...2_048, using: &generator)
                case 2: UInt64.random(in: 100...5_000, using: &generator)
                case 3: UInt64.random(in: 5_000...2_000_000, using: &generator)
                case 4: 3_600_000_000
                default: UInt64(exp(Double.random(in: 0...21, using: &generator)))
                }
                sparse.record(value)
                _ = dense.record(value)
            }
            #expect(sparse.precision == LatencyHistogram.fullPrecision)
            for percentile in [0.0, 1, 25, 50, 90, 95, 99, 99.9, 100] {
                #expect(sparse.valueAtPercentile(percentile) == dense.valueAtPercentile(percentile),
                        "p\(percentile) of \(count) values")
            }
            #expect(sparse.max == dense.max)
            #expect(sparse.min == dense.min)
            #expect(sparse.totalCount == dense.totalCount)
        }
    }

    /// Past `LatencyHistogram.indexedAbove` buckets a bucket is found through the bit index
    /// instead of the binary search: hundreds of buckets arriving in every order still give
    /// exactly HDR's percentiles, bucket by bucket (values up to 2,047 µs each have their own
    /// bucket at full precision; at most 1,024 buckets, so precision stays full).
    @Test func indexedHistogramMatchesHDRPercentiles() {
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<8 {
            var sparse = LatencyHistogram()
            var dense = Self.hdrHistogram()
            let spread = UInt64([60, 70, 200, 1_000, 1_023, 900, 1_024, 500][trial])
            for step in 0..<6_000 {
                // Buckets arrive in every order: rising, falling, at random, with far outliers.
                let value: UInt64 = switch trial % 3 {
                case 0: UInt64(step) % spread + 1
                case 1: spread - UInt64(step) % spread
                default: step % 97 == 0 ? UInt64.random(in: 2_048...3_600_000_000, using: &generator)
                    : UInt64.random(in: 1...spread, using: &generator)
                }
                sparse.record(value)
                _ = dense.record(value)
            }
            #expect(sparse.precision == LatencyHistogram.fullPrecision)
            for percentile in stride(from: 0.0, through: 100, by: 0.5) {
                #expect(sparse.valueAtPercentile(percentile) == dense.valueAtPercentile(percentile),
                        "p\(percentile), trial \(trial)")
            }
            #expect(sparse.totalCount == dense.totalCount)
        }
    }

    /// A server with every latency distinct stays within `maximumBuckets` (precision
    /// halves), and its percentiles stay within the coarser resolution.
    @Test func latencyHistogramStaysBoundedByMergingBuckets() {
        var sparse = LatencyHistogram()
        for value in UInt64(1)...200_000 { sparse.record(value * 17) }
        #expect(sparse.bucketCount <= LatencyHistogram.maximumBuckets)
        #expect(sparse.precision < LatencyHistogram.fullPrecision)
        #expect(sparse.totalCount == 200_000)
        let median = Double(sparse.valueAtPercentile(50))
        #expect(abs(median - 1_700_000) / 1_700_000 < 0.04)
        #expect(sparse.valueAtPercentile(100) == 3_400_000)
    }

    /// 10,000 distinct servers took a 188 KB histogram each (1.9 GB). Now each costs a few
    /// dozen bytes, and servers beyond `maximumServers` pool into one counted row.
    @Test func serversBeyondTheCapArePooledAndCounted() {
        var figures = ReportBuilder()
        let total = ReportBuilder.maximumServers + 250
        let time = Timestamp(seconds: 1_795_652_655, nanoseconds: 0)
        for index in 0..<total {
            let answered = index % 5 != 0
            figures.add(Self.transaction(server: 0x0B00_0000 | UInt32(index), at: time,
                                         answeredAt: answered ? time + .milliseconds(2) : nil))
        }
        #expect(figures.servers.count == ReportBuilder.maximumServers)
        #expect(figures.otherServerTransactions == 250)
        #expect(figures.otherServers.queries == 250)
        #expect(figures.otherServers.answered == 200)
        #expect(figures.otherServers.latency.totalCount == 200)
        #expect(figures.transactions == total)
        #expect(figures.answered + figures.unanswered == total, "totals count every server")
        #expect(figures.limitWarnings.contains { $0.hasPrefix("250 transactions to servers beyond the first") })
        let listed = figures.servers.values.reduce(0) { $0 + $1.queries } + figures.otherServers.queries
        #expect(listed == total, "nothing dropped silently")
        // The pooled row appears in the JSON (`other_servers`) and in the human Servers table.
        let report = Report(run: RunResult(), figures: figures, options: AnalysisOptions())
        let json = report.json().serialized(pretty: false)
        #expect(json.contains("\"other_servers\":{\"transactions\":250,\"queries\":250,\"answered\":200,\"late\":0,\"unanswered\":50"), "\(json.suffix(400))")
        #expect(report.human().contains("other servers (beyond 10000)"))
    }

    /// 10,000 groups of 200 long names reached 6.3 GB: names are capped per group and in
    /// total, the rest counted in `other_names`.
    @Test func unansweredNamesAreCappedInTotal() {
        var figures = ReportBuilder()
        let time = Timestamp(seconds: 1_795_652_655, nanoseconds: 0)
        let groups = ReportBuilder.maximumNamesInTotal / ReportBuilder.maximumNamesPerGroup + 10
        for group in 0..<groups {
            for name in 0..<(ReportBuilder.maximumNamesPerGroup + 1) {
                figures.add(Self.transaction(client: IPAddress(ipv4: 0x0A00_0000 | UInt32(group)), at: time,
                                             qname: "n\(name).example."))
            }
        }
        #expect(figures.namesKept == ReportBuilder.maximumNamesInTotal)
        let kept = figures.unansweredGroups.values.reduce(0) { $0 + $1.names.count }
        let other = figures.unansweredGroups.values.reduce(0) { $0 + $1.otherNames }
        #expect(kept == ReportBuilder.maximumNamesInTotal)
        #expect(kept + other == groups * (ReportBuilder.maximumNamesPerGroup + 1), "every failed query is counted")
    }
}
