import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// CaptureIncompleteRule: lost or cut packets weaken every finding.
struct CaptureIncompleteRuleTests {
    typealias Shapes = DiagnoserTests

    func findings(_ transactions: [Transaction], directory: ClusterDirectory = ClusterDirectory()) -> [Finding] {
        Shapes().findings(transactions, directory: directory)
    }

    @Test func kernelDropsMakeTheCaptureIncomplete() throws {
        var diagnoser = Diagnoser()
        diagnoser.add(Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, outcome: .unanswered))
        var context = DiagnosisContext(timeout: .seconds(5))
        context.kernelDropped = 12
        let result = diagnoser.findings(context: context)
        #expect(result.map(\.kind) == [.captureIncomplete])
        #expect(result.first?.confidence == .high)
    }

    /// Messages a live run on several threads dropped are lost as surely as kernel drops:
    /// the finding says so, counts them and advises more threads or offline analysis.
    @Test func pipelineDropsMakeTheCaptureIncomplete() throws {
        var diagnoser = Diagnoser()
        diagnoser.add(Shapes.transaction(client: "10.244.1.10", server: "10.96.0.10", at: 0, outcome: .unanswered))
        var context = DiagnosisContext(timeout: .seconds(5))
        context.pipelineDroppedMessages = 1_024
        let finding = try #require(diagnoser.findings(context: context).first)
        #expect(finding.kind == .captureIncomplete)
        #expect(finding.confidence == .high)
        #expect(finding.title == "The capture is incomplete: the analysis dropped 1024 DNS messages because its pairing threads fell behind")
        #expect(finding.counts.first { $0.0 == "pipeline_dropped_messages" }?.1 == 1_024)
        #expect(finding.remediation.contains("more --threads"))
        // Without pipeline drops the finding keeps its old counts (no offline report changes).
        context.pipelineDroppedMessages = 0
        context.kernelDropped = 3
        let kernelOnly = try #require(diagnoser.findings(context: context).first)
        #expect(!kernelOnly.counts.contains { $0.0 == "pipeline_dropped_messages" })
        #expect(!kernelOnly.remediation.contains("more --threads"))
    }
}
