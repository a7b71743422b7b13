import Attribution
import Testing
import Transactions
import WireCore
@testable import Live

/// The human event line: aligned columns, at most 100 columns, the NDJSON outcome words.
struct EventLineTests {
    /// Known answer (captures/README.md, egress-deny): the blinded pod's first query, sent
    /// twice, never answered: shown at its deadline with ip:port, then with its pod name.
    @Test func unansweredQueryOfTheBlindedPodWithAndWithoutPods() throws {
        let replay = try Replay.of("egress-deny.pcap")
        let first = try #require(replay.expired.first)
        let plain = EventLineFormatter()
        #expect(plain.line(first)
            == "00:24:15.043 unanswered 10.244.1.11:43958    10.96.0.10      udp kubernetes…ter.local. A  2 -")
        let directory = try ClusterDirectory.load(path: Paths.root.appendingPathComponent("captures/k8s/egress-deny-cluster.json").path)
        let named = EventLineFormatter(directory: directory)
        #expect(named.line(first)
            == "00:24:15.043 unanswered payments/c…6f5-x2xkq 10.96.0.10      udp kubernetes…ter.local. A  2 -")
        #expect(plain.header == "TIME         OUTCOME    SOURCE               SERVER          TR  NAME TYPE               AT RESULT")
    }

    /// The result column: the rcode when not NOERROR, the ICMP type/code of a rejection,
    /// a failed TCP fallback, a late answer's latency; every line of every bundled capture
    /// fits 100 columns, and its outcome column is the NDJSON word.
    @Test func resultColumnAndWidthOverEveryBundledCapture() throws {
        var results: [String: Set<String>] = [:]
        let captures = ["healthy.pcap", "egress-deny.pcap", "udp-reject.pcap", "late-answers.pcap", "refused.pcap",
                        "tcp-blocked.pcap", "tcp-reset.pcap", "upstream-timeout.pcap", "vxlan-nodes.pcap", "any-dnat.pcap",
                        "search-path-amplification.pcap", "parallel-aaaa-loss.pcap", "ipv6-pod-dropped.pcap"]
        let formatter = EventLineFormatter()
        for capture in captures {
            for transaction in try Replay.of(capture).closed {
                let line = formatter.line(transaction)
                #expect(line.count <= EventLineFormatter.width, "\(capture): \(line)")
                let outcome = line.dropFirst(13).prefix(while: { $0 != " " })
                #expect(outcome == transaction.outcome.rawValue, "\(line)")
                results[transaction.outcome.rawValue, default: []].insert(EventLineFormatter.result(transaction))
            }
        }
        #expect(results["rejected"]?.contains("icmp 3/3") == true, "\(results)")
        #expect(results["answered"]?.contains("REFUSED") == true, "\(results)")
        #expect(results["answered"]?.contains("SERVFAIL") == true, "\(results)")
        #expect(results["answered"]?.contains("NXDOMAIN") == true, "\(results)")
        #expect(results["answered"]?.contains("tcp nosyn") == true || results["answered"]?.contains("tcp reset") == true,
                "\(results)")
        #expect(results["late"]?.contains { $0.hasPrefix("600") && $0.hasSuffix(" ms") } == true, "\(results)")
        #expect(results["unanswered"] == ["-"], "\(results)")
    }

    /// Which transactions the failures stream shows: NXDOMAIN and NOERROR answers are not failures.
    @Test func failuresAreUnansweredRejectedLateErrorRcodesAndFailedTCP() throws {
        let healthy = try Replay.of("healthy.pcap").closed
        #expect(!healthy.isEmpty)
        #expect(healthy.allSatisfy { !$0.isLiveFailure }, "\(healthy.map(\.outcome))")
        let refused = try Replay.of("refused.pcap").closed.filter { $0.response?.rcode == .refused }
        #expect(!refused.isEmpty && refused.allSatisfy(\.isLiveFailure))
        let late = try Replay.of("late-answers.pcap").closed.filter { $0.outcome == .late }
        #expect(late.count == 3 && late.allSatisfy(\.isLiveFailure))
        let blocked = try Replay.of("tcp-blocked.pcap").closed.filter { ($0.fallback?.outcome ?? .answered) != .answered }
        #expect(!blocked.isEmpty && blocked.allSatisfy(\.isLiveFailure))
    }

    @Test func longFieldsAreCutInTheMiddle() {
        #expect(EventLineFormatter.middleCut("abcdefghij", to: 5) == "ab…ij")
        #expect(EventLineFormatter.middleCut("abc", to: 5) == "abc")
        #expect(EventLineFormatter.middleCut("abcdef", to: 6) == "abcdef")
    }
}
