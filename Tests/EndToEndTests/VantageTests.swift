import Attribution
import Capture
import Diagnosis
import Foundation
@testable import Pipeline
import Reports
import Testing
import Transactions
import WireCore

/// A `--vantage` run in-process, with every merged transaction kept for inspection.
struct AnalysedVantages {
    var transactions: [Transaction] = []
    var report: Report

    init(_ vantages: [(String, [String])], directory: ClusterDirectory = ClusterDirectory(),
         maximumHeld: Int = VantageRun.maximumHeldTransactions) throws {
        let inputs = vantages.map { name, files in
            VantageInput(name: name, files: files.map { CapturePath(Paths.captures.appendingPathComponent($0).path) })
        }
        var transactions: [Transaction] = []
        var figures = ReportBuilder()
        var diagnoser = Diagnoser()
        let options = AnalysisOptions()
        let run = try analyzeVantages(inputs, options: options, maximumHeld: maximumHeld) { transaction in
            transactions.append(transaction)
            figures.add(transaction)
            diagnoser.add(transaction)
        }
        self.transactions = transactions
        report = Report(run: run, figures: figures, options: options, diagnoser: diagnoser, directory: directory)
    }

    /// The two nodes of the issue 10 recording, node A's file shifted or not, node A first.
    static func multinode(shifted: Bool, pods: Bool = true) throws -> AnalysedVantages {
        let directory = pods
            ? try ClusterDirectory.load(path: Paths.captures.appendingPathComponent("k8s/multinode-cluster.json").path)
            : ClusterDirectory()
        return try AnalysedVantages([("node-a", [shifted ? "multinode-node-a-shifted.pcap" : "multinode-node-a.pcap"]),
                                     ("node-b", ["multinode-node-b.pcap"])], directory: directory)
    }

    func lookups(of client: String) -> [Transaction] { transactions.filter { $0.client.ip.description == client } }

    /// The frame number within its own file of a frame of the run.
    func localFrame(_ frame: Int, vantage: String) -> Int? {
        guard let input = report.run.vantages.first(where: { $0.name == vantage })?.inputs.first else { return nil }
        return frame - input.firstFrame + 1
    }
}

/// Issue 10, several vantages: the known answers of captures/README.md "Issue 10 captures".
struct VantageKnownAnswerTests {
    static let both = [false, true]

    @Test(arguments: both)
    func forwardLegLossIsLastSeenAtTheClientsNodeNotSeenAtTheServers(shifted: Bool) throws {
        let run = try AnalysedVantages.multinode(shifted: shifted)
        let lookups = run.lookups(of: "10.244.1.11")
        #expect(lookups.map { String($0.id, radix: 16) }.sorted() == ["46a9", "af16"])
        for lookup in lookups {
            #expect(lookup.outcome == .unanswered)
            #expect(lookup.vantagePath?.lost == PathLoss(direction: .query, lastSeenAt: "node-b", notSeenAt: "node-a"))
            #expect(lookup.vantagePath?.sightings.map(\.name) == ["node-b", "node-a"])
            #expect(lookup.vantagePath?.sightings.map(\.query) == [true, false])
            #expect(lookup.vantagePath?.sightings.map(\.response) == [false, false])
        }
        // node-b frames 29-36: veth (29, 31, 33, 35) then eth0 after the DNAT.
        let nodeB = lookups.flatMap { $0.vantagePath?.sightings.first?.frames ?? [] }
            .compactMap { run.localFrame($0, vantage: "node-b") }
        #expect(nodeB.sorted() == [29, 31, 33, 35])
    }

    @Test(arguments: both)
    func returnLegLossIsLastSeenAtTheServersNodeNotSeenAtTheClients(shifted: Bool) throws {
        let run = try AnalysedVantages.multinode(shifted: shifted)
        let lookups = run.lookups(of: "10.244.1.12")
        #expect(lookups.map { String($0.id, radix: 16) }.sorted() == ["4061", "92dc"])
        for lookup in lookups {
            #expect(lookup.outcome == .unanswered)
            #expect(lookup.vantagePath?.lost == PathLoss(direction: .response, lastSeenAt: "node-a", notSeenAt: "node-b"))
            #expect(lookup.vantagePath?.sightings.map(\.name) == ["node-b", "node-a"])
            #expect(lookup.vantagePath?.sightings.map(\.query) == [true, true])
            #expect(lookup.vantagePath?.sightings.map(\.response) == [false, true])
        }
        // CoreDNS's answers at node-a: frames 39, 43 (0x4061) and 47, 51 (0x92dc), among its queries' frames.
        let nodeA = Set(lookups.flatMap { $0.vantagePath?.sightings.last?.frames ?? [] }
            .compactMap { run.localFrame($0, vantage: "node-a") })
        #expect(nodeA.isSuperset(of: [39, 43, 47, 51]))
        #expect(nodeA == [37, 39, 41, 43, 45, 47, 49, 51])
    }

    @Test(arguments: both)
    func healthyAndSameNodeLookupsHaveNoLostAndAreCountedOnce(shifted: Bool) throws {
        let run = try AnalysedVantages.multinode(shifted: shifted)
        let healthy = run.lookups(of: "10.244.1.10")
        #expect(healthy.map { String($0.id, radix: 16) }.sorted() == ["22a5", "7843", "8ccc", "94db"])
        for lookup in healthy {
            #expect(lookup.outcome == .answered)
            #expect(lookup.vantagePath?.lost == nil)
            #expect(lookup.vantagePath?.sightings.map(\.name) == ["node-b", "node-a"])
            #expect(lookup.vantagePath?.sightings.allSatisfy { $0.query && $0.response } == true)
        }
        let sameNode = run.lookups(of: "10.244.0.20")
        #expect(sameNode.map { String($0.id, radix: 16) }.sorted() == ["5de7", "889", "96dc"])
        for lookup in sameNode {
            #expect(lookup.outcome == .answered)
            #expect(lookup.vantagePath?.lost == nil)
            #expect(lookup.vantagePath?.sightings.map(\.name) == ["node-a"])
        }
        // 3 + 4 + 2 + 2 lookups, each once (node A's 11 and node B's 8 transactions merged).
        #expect(run.transactions.count == 11)
        #expect(run.report.figures.answered == 7)
        #expect(run.report.figures.unanswered == 4)
        #expect(run.report.run.vantages.map(\.transactions) == [11, 8])
    }

    @Test(arguments: both)
    func clockOffsetIsEstimatedAgainstTheClientsNode(shifted: Bool) throws {
        let run = try AnalysedVantages.multinode(shifted: shifted)
        let clocks = run.report.run.vantages
        #expect(clocks.map(\.name) == ["node-a", "node-b"])
        #expect(clocks.map(\.isReference) == [false, true])
        let nodeA = try #require(clocks.first)
        let offset = try #require(nodeA.offset)
        let expected: Int64 = shifted ? 7_300_000_000 : 0
        // True offset 0 (+7.3 s shifted); one-way delays put the estimate within tens of µs.
        #expect(abs(offset.nanoseconds - expected) < 50_000, "offset \(offset.seconds)")
        #expect(nodeA.sharedMessages >= 4)
        let low = try #require(nodeA.spreadLow), high = try #require(nodeA.spreadHigh)
        #expect(low <= offset && offset <= high)
        #expect((high - low).nanoseconds < 100_000)
        #expect(nodeA.matchedWith == "node-b")
        // Times on the reference clock: the lookups line up with node B's own file.
        #expect(run.report.run.packets.firstTime.map { abs($0.nanoseconds - 1_796_526_749_791_274_000 + 0) < 60_000_000 } == true)
        let human = run.report.human()
        #expect(human.contains("node-b: reference clock"))
        #expect(human.contains(shifted ? "node-a: clock +7.3000" : "node-a: clock +0.0000"))
    }

    @Test(arguments: both)
    func pathLossFindingsNameEachLeg(shifted: Bool) throws {
        let run = try AnalysedVantages.multinode(shifted: shifted)
        let findings = run.report.findings
        #expect(findings.map(\.kind) == [.pathLoss, .pathLoss])
        let forward = try #require(findings.first { $0.title.contains("on the way from node-b to node-a") })
        #expect(forward.sources.map(\.ip.description) == ["10.244.1.11"])
        #expect(forward.servers.map(\.ip.description).contains("10.244.0.53"))
        #expect(forward.remediation.contains("UDP and TCP 53"))
        #expect(forward.remediation.contains("security group"))
        let back = try #require(findings.first { $0.title.contains("on the way back from node-a to node-b") })
        #expect(back.sources.map(\.ip.description) == ["10.244.1.12"])
        #expect(back.remediation.contains("return path"))
        // Its evidence: node B's attempts and node A's answers leaving (frames 39, 43, 47, 51 of node A's file).
        #expect(Set(back.frames).isSuperset(of: [39, 43, 47, 51]))
        #expect(Set(back.frames.compactMap { run.localFrame($0, vantage: "node-b") }).isSuperset(of: [37, 39, 41, 43]))
        #expect(!findings.contains { $0.kind == .egressBlocked })
        let human = run.report.human()
        #expect(human.contains("Lookups lost between vantages (4)"))
        #expect(human.contains("queries lost on the way node-b → node-a: 2"))
        #expect(human.contains("answers lost on the way back node-a → node-b: 2"))
        #expect(run.report.html().contains("answer last seen at node-a, never reached node-b"))
        // The JSON report lists each lost lookup with its path.
        let json = run.report.json().serialized(pretty: false)
        #expect(json.contains("\"lost_between_vantages\":{\"total\":4,"))
        #expect(json.components(separatedBy: "\"not_seen_at\":\"node-b\"").count - 1 == 1 + 2)
    }

    /// A vantage sharing no DNS message with the others: reported, its transactions kept
    /// unmerged on its own clock, never merged into the others' lookups.
    @Test func aVantageWithNoSharedPacketsIsReportedUnmatchedNotMerged() throws {
        let run = try AnalysedVantages([("node-b", ["multinode-node-b.pcap"]), ("elsewhere", ["healthy.pcap"])])
        let clocks = run.report.run.vantages
        #expect(clocks.map(\.isMatched) == [true, false])
        #expect(clocks.last?.offset == nil)
        #expect(run.transactions.count == 8 + 22)
        let elsewhere = run.transactions.filter { $0.vantagePath?.sightings.map(\.name) == ["elsewhere"] }
        #expect(elsewhere.count == 22)
        #expect(run.transactions.allSatisfy { ($0.vantagePath?.sightings.count ?? 0) == 1 && $0.vantagePath?.lost == nil })
        #expect(run.report.warnings.contains { $0.contains("vantage elsewhere: clock could not be matched") })
        #expect(run.report.human().contains("elsewhere: clock could not be matched"))
        // Node B's own lookups still say path-loss beyond the node, not egress-blocked.
        #expect(run.report.findings.map(\.kind).contains(.pathLoss))
        #expect(!run.report.findings.map(\.kind).contains(.egressBlocked))
    }

    /// An unrelated vantage given first does not become the reference the others fail to match.
    @Test func anUnrelatedFirstVantageDoesNotBecomeTheReference() throws {
        let run = try AnalysedVantages([("elsewhere", ["healthy.pcap"]), ("node-a", ["multinode-node-a.pcap"]),
                                        ("node-b", ["multinode-node-b.pcap"])])
        let clocks = run.report.run.vantages
        #expect(clocks.map(\.isReference) == [false, false, true])
        #expect(clocks.map(\.isMatched) == [false, true, true])
        #expect(run.transactions.count == 22 + 11)
        #expect(run.lookups(of: "10.244.1.12").allSatisfy {
            $0.vantagePath?.lost == PathLoss(direction: .response, lastSeenAt: "node-a", notSeenAt: "node-b")
        })
    }

    /// Beyond the cap of held transactions, each vantage's further transactions are reported
    /// unmerged, counted and warned about; none is lost.
    @Test func transactionsBeyondTheHeldCapAreReportedUnmergedAndCounted() throws {
        let run = try AnalysedVantages([("node-a", ["multinode-node-a.pcap"]), ("node-b", ["multinode-node-b.pcap"])],
                                       maximumHeld: 8)
        // 4 held per vantage; node A's other 7 and node B's other 4 come unmerged.
        #expect(run.report.run.unmergedBeyondCap == 7 + 4)
        #expect(run.report.run.vantages.map(\.transactions) == [11, 8])
        let unmerged = run.transactions.filter { $0.vantagePath?.sightings.count == 1 && $0.vantagePath?.lost == nil }
        #expect(unmerged.count >= 11)
        #expect(run.transactions.count <= 11 + 8 && run.transactions.count > 11)
        #expect(run.report.warnings.contains { $0.contains("11 transactions were not merged across vantages") })
    }

    /// Rotated files of one vantage are read in order as one capture.
    @Test func aVantageOfSeveralFilesIsOneCapture() throws {
        let run = try AnalysedVantages([("node-a", ["multinode-node-a.pcap"]),
                                        ("node-b", ["multinode-node-b.pcap", "multinode-node-b.pcap"])])
        #expect(run.report.run.vantages.last?.inputs.map(\.firstFrame) == [61, 109])
        #expect(run.report.run.packets.frames == 60 + 48 + 48)
    }
}

/// The pieces of the merge on their own.
struct VantageMergeRuleTests {
    static func sighting(_ name: String, _ query: Bool, _ response: Bool) -> VantageSighting {
        VantageSighting(name: name, query: query, response: response)
    }

    @Test func theQueryStopsAtTheFirstVantageThatDidNotSeeIt() {
        let path = [Self.sighting("b", true, false), Self.sighting("router", true, false), Self.sighting("a", false, false)]
        #expect(VantageMerger.lostLeg(path) == PathLoss(direction: .query, lastSeenAt: "router", notSeenAt: "a"))
    }

    @Test func theAnswerStopsOnItsWayBackAtTheFirstVantageThatDidNotSeeIt() {
        let path = [Self.sighting("b", true, false), Self.sighting("router", true, true), Self.sighting("a", true, true)]
        #expect(VantageMerger.lostLeg(path) == PathLoss(direction: .response, lastSeenAt: "router", notSeenAt: "b"))
    }

    @Test func aServerThatNeverAnsweredIsNoPathLoss() {
        #expect(VantageMerger.lostLeg([Self.sighting("b", true, false), Self.sighting("a", true, false)]) == nil)
        #expect(VantageMerger.lostLeg([Self.sighting("b", true, false)]) == nil)
    }

    @Test func theClockOffsetIsTheMedianOfTheDifferences() throws {
        let estimate = try #require(ClockEstimate(differences: [7_300_016_000, 7_299_998_000, 9_000_000_000, 7_300_003_000, -5]))
        #expect(estimate.offset.nanoseconds == 7_300_003_000)
        #expect(estimate.low.nanoseconds == -5 && estimate.high.nanoseconds == 9_000_000_000)
        #expect(ClockEstimate(differences: [10, 20])?.offset.nanoseconds == 15)
        #expect(ClockEstimate(differences: []) == nil)
    }

    @Test func vantageArgumentsAreNameEqualsFiles() throws {
        let parsed = try VantageInput.parse("node-a=a0.pcap,a1.pcap").get()
        #expect(parsed.name == "node-a" && parsed.files.map(\.display) == ["a0.pcap", "a1.pcap"])
        #expect((try? VantageInput.parse("a0.pcap").get()) == nil)
        #expect((try? VantageInput.parse("=a0.pcap").get()) == nil)
        #expect((try? VantageInput.parse("node\"a=a0.pcap").get()) == nil)
        #expect((try? VantageInput.parse("node-a=a0.pcap,").get()) == nil)
        #expect(VantageInput.validate([parsed]) != nil)
        #expect(VantageInput.validate([parsed, parsed])?.description.contains("twice") == true)
    }
}
