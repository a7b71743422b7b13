import Attribution
import DNSMetrics
import Diagnosis
import Foundation
import Reports
import Testing
import Transactions

/// Over every bundled capture, replayed with the metrics wired as in a live run, the metrics
/// add up to the report's own figures (issue 9.2 must-hold 2, without Prometheus).
struct ReportAgreementTests {
    static let captures = Paths.bundledCaptures

    @Test(arguments: ReportAgreementTests.captures)
    func metricsEqualTheReportFigures(capture: URL) throws {
        let replay = try CaptureReplay(capture)
        let figures = replay.figures
        let exposition = replay.exposition
        let name = capture.lastPathComponent
        let servers = figures.servers.values.map(\.queries).reduce(figures.otherServers.queries, +)
        #expect(exposition.sum("dnstrail_dns_queries_total") == Double(servers), "\(name): queries")
        #expect(exposition.sum("dnstrail_dns_queries_total")
                == Double(figures.answered + figures.late + figures.unanswered + figures.rejected + figures.inFlight))
        #expect(exposition.sum("dnstrail_dns_unanswered_total") - exposition.sum("dnstrail_dns_late_responses_total")
                == Double(figures.unanswered), "\(name): unanswered")
        #expect(exposition.sum("dnstrail_dns_late_responses_total") == Double(figures.late), "\(name): late")
        #expect(exposition.sum("dnstrail_dns_rejected_total") == Double(figures.rejected), "\(name): rejected")
        #expect(exposition.sum("dnstrail_dns_responses_total") == Double(figures.rcodes.values.reduce(0, +)), "\(name): rcodes")
        for (rcode, count) in figures.rcodes where rcode.rawValue <= 23 {
            #expect(exposition.sum("dnstrail_dns_responses_total", where: "rcode", is: rcode.description) == Double(count),
                    "\(name): \(rcode)")
        }
        for (outcome, count) in figures.fallbackOutcomes {
            #expect(exposition.sum("dnstrail_dns_tcp_fallbacks_total", where: "outcome", is: outcome) == Double(count),
                    "\(name): fallback \(outcome)")
        }
        #expect(exposition.sum("dnstrail_dns_tcp_fallbacks_total") == Double(figures.fallbackOutcomes.values.reduce(0, +)))
        #expect(exposition.sum("dnstrail_dns_tcp_connection_failures_total") == Double(figures.failedConnections))
        #expect(exposition.sum("dnstrail_dns_request_duration_seconds_count")
                == Double(figures.answered - figures.answersTimedBeforeQuery), "\(name): histogram count")
        #expect(exposition.sum("dnstrail_dns_unanswered_by_source_total") == exposition.sum("dnstrail_dns_unanswered_total"))
        #expect(exposition.samples["dnstrail_capture_packets_total"] == Double(replay.packets.frames))
        #expect(exposition.sum("dnstrail_dns_malformed_total") == Double(replay.packets.malformedDNSTotal))
    }

    /// The bundled captures include the outcomes the agreement must cover (none has a TCP
    /// connection failing before its query, so `…_tcp_connection_failures_total` is checked as 0).
    @Test func capturesCoverLateRejectedFallbackAndUnanswered() throws {
        var seen: Set<String> = []
        for capture in ReportAgreementTests.captures {
            let figures = try CaptureReplay(capture).figures
            if figures.late > 0 { seen.insert("late") }
            if figures.rejected > 0 { seen.insert("rejected") }
            if figures.unanswered > 0 { seen.insert("unanswered") }
            if !figures.fallbackOutcomes.isEmpty { seen.insert("fallback") }
        }
        #expect(seen == ["late", "rejected", "unanswered", "fallback"])
    }

    /// egress-deny.pcap with its cluster: the denied pod's unanswered queries carry its
    /// namespace and name, and the egress-blocked finding shows in dnstrail_findings.
    @Test func egressDenyNamesThePodAndTheFinding() throws {
        let directory = try ClusterDirectory.load(path: Paths.captures.appendingPathComponent("k8s/egress-deny-cluster.json").path)
        let replay = try CaptureReplay(Paths.captures.appendingPathComponent("egress-deny.pcap"), directory: directory)
        let findings = replay.diagnoser.findings(context: DiagnosisContext(directory: directory, timeout: .seconds(5)))
        replay.metrics.update(findings: findings)
        let exposition = replay.exposition
        // The report's unanswered groups, by the pod of their client.
        var byPod: [String: Int] = [:]
        for (key, group) in replay.figures.unansweredGroups where group.queries > group.rejected {
            guard let pod = directory.pod(at: key.client) else { continue }
            byPod["\(pod.namespace)/\(pod.name)", default: 0] += group.queries - group.rejected
        }
        #expect(!byPod.isEmpty)
        for (pod, count) in byPod {
            let parts = pod.split(separator: "/")
            #expect(exposition.samples[#"dnstrail_dns_unanswered_by_source_total{namespace="\#(parts[0])",pod="\#(parts[1])"}"#]
                    == Double(count), "\(pod)")
        }
        let kinds = Dictionary(grouping: findings, by: \.kind).mapValues(\.count)
        #expect(kinds[.egressBlocked] != nil)
        for kind in FindingKind.allCases {
            #expect(exposition.samples[#"dnstrail_findings{kind="\#(kind.rawValue)"}"#] == Double(kinds[kind] ?? 0), "\(kind)")
        }
    }
}
