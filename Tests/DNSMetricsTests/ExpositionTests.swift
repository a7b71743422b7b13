import DNSMetrics
import DNSWire
import Testing
import Transactions

/// The exposition text for known transactions: exact series and values, CoreDNS's buckets,
/// and what counts when (issue 9.2).
struct ExpositionTests {
    static let server = #"server="10.96.0.10:53",proto="udp""#

    /// One answered A in 3 ms, an AAAA answered NXDOMAIN in 600 ms, an A never answered,
    /// an A answered SERVFAIL 9 s later (late: the 5 s timeout had passed).
    static func knownRun(wiresExpiry: Bool = true) -> EngineRun {
        var run = EngineRun(wiresExpiry: wiresExpiry)
        run.query(at: 0, port: 40001, id: 1)
        run.response(at: 3, port: 40001, id: 1)
        run.query(at: 10, port: 40002, id: 2, type: .aaaa)
        run.response(at: 610, port: 40002, id: 2, type: .aaaa, rcode: .nxDomain)
        run.query(at: 20, port: 40003, id: 3)
        run.query(at: 30, port: 40004, id: 4)
        run.response(at: 9000, port: 40004, id: 4, rcode: .servFail)
        run.finish()
        return run
    }

    @Test func knownTransactionsGiveExactCounterLines() {
        let run = ExpositionTests.knownRun()
        let lines = Set(run.exposition.lines)
        let server = ExpositionTests.server
        for expected in [
            "dnstrail_dns_queries_total{\(server),qtype=\"A\"} 3",
            "dnstrail_dns_queries_total{\(server),qtype=\"AAAA\"} 1",
            "dnstrail_dns_responses_total{\(server),rcode=\"NOERROR\"} 1",
            "dnstrail_dns_responses_total{\(server),rcode=\"NXDOMAIN\"} 1",
            "dnstrail_dns_responses_total{\(server),rcode=\"SERVFAIL\"} 1",
            "dnstrail_dns_unanswered_total{\(server)} 2",
            "dnstrail_dns_late_responses_total{\(server)} 1",
            "dnstrail_dns_unanswered_by_source_total{namespace=\"\",pod=\"unknown\"} 2",
            "dnstrail_dns_request_duration_seconds_count{\(server)} 2",
            "dnstrail_dns_request_duration_seconds_sum{\(server)} 0.603",
            "dnstrail_build_info{version=\"test\"} 1.0",
            "dnstrail_dns_inflight_queries 0.0",
            "dnstrail_findings{kind=\"egress-blocked\"} 0.0",
            "# TYPE dnstrail_dns_queries_total counter",
            "# TYPE dnstrail_dns_request_duration_seconds histogram",
        ] {
            #expect(lines.contains(expected), "missing: \(expected)")
        }
        // The report's figures for the same transactions: unanswered 1, late 1.
        #expect(run.figures.unanswered == 1 && run.figures.late == 1)
        #expect(run.exposition.sum("dnstrail_dns_unanswered_total") - run.exposition.sum("dnstrail_dns_late_responses_total")
                == Double(run.figures.unanswered))
        #expect(run.exposition.sum("dnstrail_dns_queries_total")
                == Double(run.figures.answered + run.figures.late + run.figures.unanswered + run.figures.rejected + run.figures.inFlight))
    }

    /// CoreDNS's buckets, 0.25 ms doubling to 8.192 s: 3 ms falls in le="0.004" and up,
    /// 600 ms in le="1.024" and up; the late answer (9 s) is in no bucket.
    @Test func durationHistogramHasCoreDNSBuckets() {
        let run = ExpositionTests.knownRun()
        let buckets = run.exposition.lines.filter { $0.hasPrefix("dnstrail_dns_request_duration_seconds_bucket{") }
        let expected = [
            ("0.00025", 0), ("0.0005", 0), ("0.001", 0), ("0.002", 0), ("0.004", 1), ("0.008", 1), ("0.016", 1),
            ("0.032", 1), ("0.064", 1), ("0.128", 1), ("0.256", 1), ("0.512", 1), ("1.024", 2), ("2.048", 2),
            ("4.096", 2), ("8.192", 2), ("+Inf", 2),
        ].map { "dnstrail_dns_request_duration_seconds_bucket{\(ExpositionTests.server),le=\"\($0.0)\"} \($0.1)" }
        #expect(buckets == expected)
    }

    /// A query counts as unanswered when its deadline passes (the client gives up), not
    /// when the engine stops holding it for a late answer 30 s later.
    @Test func unansweredCountsAtTheDeadline() {
        var run = EngineRun()
        run.query(at: 0, port: 40003, id: 3)
        #expect(run.exposition.sum("dnstrail_dns_unanswered_total") == 0, "not yet past the deadline")
        // Another query 6 s later moves capture time past the first one's deadline (5.5 s).
        run.query(at: 6000, port: 40005, id: 5)
        #expect(run.figures.transactions == 0, "the engine still holds the first for a late answer")
        #expect(run.exposition.sum("dnstrail_dns_unanswered_total") == 1)
        #expect(run.exposition.sum("dnstrail_dns_queries_total") == 1)
        run.finish()
        // Closed at the end: the held one is not counted twice; the second was in flight.
        #expect(run.exposition.sum("dnstrail_dns_unanswered_total") == 1)
        #expect(run.exposition.sum("dnstrail_dns_queries_total") == 2)
        #expect(run.figures.unanswered == 1 && run.figures.inFlight == 1)
    }

    /// Without `record(expired:)` wired, every query counts once when it closes, and a late
    /// answer never counted unanswered.
    @Test func withoutExpiryEveryQueryCountsWhenItCloses() {
        let run = ExpositionTests.knownRun(wiresExpiry: false)
        let exposition = run.exposition
        #expect(exposition.sum("dnstrail_dns_queries_total") == 4)
        #expect(exposition.sum("dnstrail_dns_unanswered_total") == Double(run.figures.unanswered))
        #expect(exposition.sum("dnstrail_dns_unanswered_total") == 1)
        #expect(exposition.sum("dnstrail_dns_late_responses_total") == 1)
        #expect(exposition.sum("dnstrail_dns_responses_total") == 3)
    }

    /// The status tick's cumulative figures become counters: advanced by the difference, never back.
    @Test func statusFiguresAdvanceCountersMonotonically() {
        let metrics = LiveMetrics(version: "test")
        // Exported from the start: "nothing dropped" reads 0, not absent.
        #expect(Exposition(metrics.exposition()).samples["dnstrail_capture_pipeline_dropped_total"] == 0)
        metrics.update(status: MetricsStatus(packets: 10, kernelDropped: 2, interfaceDropped: 1,
                                             malformed: ["header truncated": 3], inFlight: 7))
        metrics.update(status: MetricsStatus(packets: 25, kernelDropped: 5, interfaceDropped: 1, pipelineDropped: 12,
                                             malformed: ["header truncated": 4, "question badLabel": 1], inFlight: 2))
        var exposition = Exposition(metrics.exposition())
        #expect(exposition.samples["dnstrail_capture_pipeline_dropped_total"] == 12)
        #expect(exposition.samples["dnstrail_capture_packets_total"] == 25)
        #expect(exposition.samples["dnstrail_capture_kernel_dropped_total"] == 5)
        #expect(exposition.samples["dnstrail_capture_interface_dropped_total"] == 1)
        #expect(exposition.samples["dnstrail_dns_malformed_total{reason=\"header truncated\"}"] == 4)
        #expect(exposition.samples["dnstrail_dns_malformed_total{reason=\"question badLabel\"}"] == 1)
        #expect(exposition.samples["dnstrail_dns_inflight_queries"] == 2)
        // A restarted source counter (lower figure) adds nothing; growth from there counts.
        metrics.update(status: MetricsStatus(packets: 5, kernelDropped: 0, inFlight: 0))
        metrics.update(status: MetricsStatus(packets: 8, kernelDropped: 1, pipelineDropped: 4, inFlight: 0))
        exposition = Exposition(metrics.exposition())
        #expect(exposition.samples["dnstrail_capture_pipeline_dropped_total"] == 16)
        #expect(exposition.samples["dnstrail_capture_packets_total"] == 28)
        #expect(exposition.samples["dnstrail_capture_kernel_dropped_total"] == 6)
    }
}
