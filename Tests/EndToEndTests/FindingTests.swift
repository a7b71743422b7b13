import Diagnosis
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
