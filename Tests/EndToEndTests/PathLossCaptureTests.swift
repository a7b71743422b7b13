import Attribution
import Capture
import Diagnosis
import Foundation
import Reports
import Testing

/// Issue 10, one capture: node B's `-i any` capture (captures/README.md, "Issue 10
/// captures") shows pod 10.244.1.11's queries (dropped by the router, forward leg) and pod
/// 10.244.1.12's (answers dropped, return leg) leaving through eth0 after the DNAT to the
/// CoreDNS pod on node A: lost beyond this node, not blocked by a policy on it.
struct PathLossCaptureTests {
    static func analysed(_ name: String) throws -> AnalysedCapture {
        let base = name.replacingOccurrences(of: "-shifted", with: "")
        let links = Paths.captures.appendingPathComponent(base.replacingOccurrences(of: ".pcap", with: ".links.txt"))
        let directory = try ClusterDirectory.load(path: Paths.captures.appendingPathComponent("k8s/multinode-cluster.json").path)
        return try AnalysedCapture(Paths.captures.appendingPathComponent(name), directory: directory,
                                   interfaceNames: try InterfaceNameMap.load(path: links.path))
    }

    @Test func theClientNodesCaptureGivesPathLossNotEgressBlocked() throws {
        let report = try Self.analysed("multinode-node-b.pcap").report
        #expect(report.findings.map(\.kind) == [.pathLoss])
        let finding = try #require(report.findings.first)
        #expect(finding.sources.map(\.ip.description) == ["10.244.1.11", "10.244.1.12"])
        #expect(finding.servers.map(\.ip.description) == ["10.96.0.10", "10.244.0.53"])
        #expect(finding.title.contains("lost beyond this node (to kube-system/coredns-5d78c9869d-4qv8n (10.244.0.53, node-a))"))
        #expect(finding.explanation.contains("left through eth0 (8 attempts)"))
        #expect(!finding.remediation.contains("podSelector"))
        #expect(finding.confidence == .high)
        // The first copy of each attempt, on the pod's veth (its DNAT copy on eth0 is the next frame).
        #expect(finding.frames.sorted() == [29, 31, 33, 35, 37, 39, 41, 43])
    }

    /// The server's node saw the healthy, same-node and return-leg queries answered: nothing
    /// to find there alone (the answers to 10.244.1.12 leave it), shifted clock or not.
    @Test(arguments: ["multinode-node-a.pcap", "multinode-node-a-shifted.pcap"])
    func theServerNodesCaptureAloneFindsNothing(name: String) throws {
        let report = try Self.analysed(name).report
        #expect(report.findings.isEmpty, "\(report.findings.map(\.title))")
        #expect(report.figures.answered == 11)
    }
}
