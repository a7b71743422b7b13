import Attribution
import Diagnosis
import Reports
import Foundation
import Testing

/// Each bundled capture yields exactly the findings its incident calls for — and the
/// healthy capture none: the rules must not fire on each other's captures.
struct FindingTests {
    /// Capture → the finding kinds a correct diagnosis makes (captures/README.md says why).
    static let expected: [String: [FindingKind]] = [
        "healthy.pcap": [],
        "egress-deny.pcap": [.egressBlocked],
        "bridge-nf-dnat.pcap": [],
        "tcp-blocked.pcap": [.tcpBlocked],
        "tcp-reset.pcap": [.tcpBlocked],
        "tc-fallback.pcap": [],
        "fragmented.pcap": [],
        "ipv6-pod-dropped.pcap": [.egressBlocked],
        "vlan-trunk.pcap": [.egressBlocked],
        "vxlan-nodes.pcap": [.egressBlocked],
        "vxlan-flannel.pcap": [.egressBlocked],
        "any-dnat.pcap": [.egressBlocked],
        "nodelocal-blocked.pcap": [.nodeLocalBlocked],
        "backend-split.pcap": [.backendUnreachable],
        "parallel-aaaa-loss.pcap": [.parallelQueryLoss],
        "upstream-timeout.pcap": [.upstreamTimeout],
        "search-path-amplification.pcap": [.searchPathAmplification],
        "udp-reject.pcap": [.egressBlocked],
        "upstream-service.pcap": [.upstreamTimeout],
        "upstream-service-short.pcap": [.upstreamTimeout],
        "upstream-hostnetwork.pcap": [.upstreamTimeout],
        "upstream-nodelocal-tcp.pcap": [.upstreamTimeout],
        "resolver-throttled.pcap": [.resolverThrottled],
        "refused.pcap": [.serverRefused],
        "late-answers.pcap": [.lateAnswers],
        "multinode-node-a.pcap": [],
        "multinode-node-a-shifted.pcap": [],
        // Issue 10: the client node's capture alone shows the queries leaving after the DNAT.
        "multinode-node-b.pcap": [.pathLoss],
    ]

    @Test func everyCaptureHasAnExpectation() {
        let names = Set(Paths.bundledCaptures.map(\.lastPathComponent))
        #expect(names == Set(Self.expected.keys), "captures without an expected diagnosis: \(names.subtracting(Self.expected.keys))")
    }

    @Test(arguments: Paths.bundledCaptures)
    func findingsMatch(capture: URL) throws {
        let analysed = try AnalysedCapture(capture)
        let kinds = analysed.report.findings.map(\.kind)
        #expect(kinds == Self.expected[capture.lastPathComponent] ?? [], "\(capture.lastPathComponent): \(analysed.report.findings.map(\.title))")
    }

    @Test func egressFindingNamesTheBlindedPodAndItsFrames() throws {
        let analysed = try AnalysedCapture(Paths.captures.appendingPathComponent("egress-deny.pcap"))
        let finding = try #require(analysed.report.findings.first)
        #expect(finding.sources.map(\.ip.description) == ["10.244.1.11"])
        #expect(finding.servers.map(\.ip.description) == ["10.96.0.10"])
        #expect(finding.confidence == .high)
        #expect(Set(finding.frames) == Set(17...24))
        #expect(finding.remediation.contains("{protocol: TCP, port: 53}"))
    }
}

/// With the cluster's pods and Services (`--pods`), findings name namespaces and pods.
struct AttributedFindingTests {
    @Test func egressFindingNamesTheNamespaceAndPod() throws {
        let directory = try ClusterDirectory.load(path: Paths.captures.appendingPathComponent("k8s/egress-deny-cluster.json").path)
        let analysed = try AnalysedCapture(Paths.captures.appendingPathComponent("egress-deny.pcap"), directory: directory)
        let finding = try #require(analysed.report.findings.first)
        #expect(finding.kind == .egressBlocked)
        #expect(finding.title == "DNS blocked for namespace payments: payments/checkout-7d4b9c6f5-x2xkq (10.244.1.11, node-a)")
        #expect(finding.sources.map(\.namespace) == ["payments"])
        #expect(finding.servers.map(\.description) == ["kube-system/kube-dns Service (10.96.0.10)"])
        let line = try #require(analysed.transactions.first { $0.client.ip.description == "10.244.1.11" })
        #expect(ndjsonLine(line, directory: directory).contains(#""pod":"checkout-7d4b9c6f5-x2xkq","namespace":"payments","node":"node-a""#))
    }
}
