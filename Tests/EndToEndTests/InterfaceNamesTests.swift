import Attribution
import Capture
import Diagnosis
import Foundation
import Pipeline
import Reports
import Testing
import Transactions

/// Interface names for the Linux cooked v2 indexes of an offline `-i any` capture: from
/// `--interface-names` (the node's `ip -o link`) or from a pcapng comment map, and
/// nothing else in the report changes.
@Suite struct InterfaceNamesTests {
    static let capture = Paths.captures.appendingPathComponent("any-dnat.pcap")
    /// `ip -o link` of the node namespace before any-dnat.pcap was recorded (from
    /// captures/record-captures.log).
    static let links = Paths.captures.appendingPathComponent("any-dnat.links.txt")
    static let expectedNames: [Int32: String] = [1: "lo", 2: "br0", 3: "veth-pod-a", 4: "veth-pod-b", 5: "veth-coredns"]

    func run(_ inputs: [CapturePath], names: [Int32: String] = [:]) throws -> (run: RunResult, transactions: [Transaction], json: String) {
        var transactions: [Transaction] = []
        var figures = ReportBuilder()
        var diagnoser = Diagnoser()
        let result = try analyzeFiles(inputs, options: AnalysisOptions(), interfaceNames: names) { transaction in
            transactions.append(transaction)
            figures.add(transaction)
            diagnoser.add(transaction)
        }
        let report = Report(run: result, figures: figures, options: AnalysisOptions(), diagnoser: diagnoser,
                            directory: .init())
        return (result, transactions, report.json().serialized(pretty: true))
    }

    /// Known answer: the record log's table (2 br0, 3 veth-pod-a, 4 veth-pod-b, 5
    /// veth-coredns); the dropped pod's queries were last seen on br0, never on veth-coredns.
    @Test func linkFileNamesEveryInterfaceOfTheAnyCapture() throws {
        let names = try InterfaceNameMap.load(path: Self.links.path)
        #expect(names == Self.expectedNames)
        let named = try run([CapturePath(Self.capture.path)], names: names)
        #expect(named.run.interfaceNames == Self.expectedNames)
        let seen = Set(named.transactions.flatMap(\.seenOn))
        #expect(seen == [2, 3, 4, 5])
        #expect(seen.allSatisfy { named.run.interfaceNames[$0] != nil })
        let dropped = named.transactions.filter { $0.outcome == .unanswered }
        #expect(dropped.count == 2)
        #expect(dropped.allSatisfy { $0.seenOn.last.flatMap { named.run.interfaceNames[$0] } == "br0" })
        let plain = try run([CapturePath(Self.capture.path)])
        #expect(plain.run.interfaceNames.isEmpty)
    }

    /// A pcapng carrying the map in its section comment (as dnstrail's live recorder writes
    /// it) names the interfaces by itself, from a file or a pipe; `--interface-names` wins
    /// where both name an index.
    @Test func pcapngCommentMapNamesTheInterfacesFromAFileOrAPipe() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dnstrail-names-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let editcap = try #require(which("editcap"), "editcap (wireshark-common) is needed")
        let pcapng = directory.appendingPathComponent("any-dnat.pcapng").path
        let comment = InterfaceNameMap.comment(for: Self.expectedNames)
        _ = try runProgram(editcap, ["-F", "pcapng", "--capture-comment", comment, Self.capture.path, pcapng])
        let fromFile = try run([CapturePath(pcapng)])
        #expect(fromFile.run.interfaceNames == Self.expectedNames)
        // Nothing else differs from the pcap given the same names on the command line.
        let reference = try run([CapturePath(Self.capture.path)], names: Self.expectedNames)
        #expect(fromFile.json.replacingOccurrences(of: pcapng, with: Self.capture.path) == reference.json)

        var descriptors: [Int32] = [-1, -1]
        try #require(pipe(&descriptors) == 0)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: pcapng)))
        let writeEnd = descriptors[1]
        let writer = Thread {
            _ = bytes.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
            close(writeEnd)
        }
        writer.start()
        defer { close(descriptors[0]) }
        let fromPipe = try run([CapturePath("/dev/fd/\(descriptors[0])")], names: [5: "coredns-veth"])
        var expected = Self.expectedNames
        expected[5] = "coredns-veth"
        #expect(fromPipe.run.interfaceNames == expected)
        #expect(fromPipe.run.inputs.map(\.frames) == fromFile.run.inputs.map(\.frames))
        #expect(fromPipe.transactions.count == fromFile.transactions.count)
    }
}
