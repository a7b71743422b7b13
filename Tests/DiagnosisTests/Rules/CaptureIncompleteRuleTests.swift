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
}
