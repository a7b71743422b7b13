import Attribution
import Foundation
import Testing
import Reports
import Transactions

/// Every bundled capture analysed and compared with its stored report (human, JSON and
/// NDJSON). Regenerate after an intended change with `DNSTRAIL_UPDATE_GOLDEN=1 swift test
/// --filter GoldenTests`, then read the diff: the golden files are the known answers.
@Suite(.serialized)
struct GoldenTests {
    static let updating = ProcessInfo.processInfo.environment["DNSTRAIL_UPDATE_GOLDEN"] == "1"

    @Test(arguments: Paths.bundledCaptures)
    func reportMatchesGolden(capture: URL) throws {
        let analysed = try AnalysedCapture(capture)
        let outputs: [(String, String)] = [
            ("txt", analysed.report.human()),
            ("json", analysed.report.json().serialized(pretty: true) + "\n"),
            ("ndjson", analysed.transactions.map { ndjsonLine($0) + "\n" }.joined()),
        ]
        try Self.compare(outputs, named: capture.lastPathComponent)
    }

    /// Compares each rendered output (suffix, text) with `Golden/<name>.<suffix>`, paths of
    /// this checkout removed; with DNSTRAIL_UPDATE_GOLDEN=1 writes them instead.
    static func compare(_ outputs: [(String, String)], named name: String) throws {
        let root = Paths.root.path + "/"
        for (suffix, rendered) in outputs {
            let text = rendered.replacingOccurrences(of: root, with: "")
            let golden = Paths.golden.appendingPathComponent("\(name).\(suffix)")
            if updating {
                try FileManager.default.createDirectory(at: Paths.golden, withIntermediateDirectories: true)
                try text.write(to: golden, atomically: true, encoding: .utf8)
                continue
            }
            let expected = try #require(try? String(contentsOf: golden, encoding: .utf8),
                                        "missing golden file \(golden.lastPathComponent)")
            #expect(text == expected, "\(golden.lastPathComponent) differs:\n\(firstDifference(text, expected))")
        }
    }
}

/// Captures analysed with the cluster's pods and Services (`--pods`): every section names
/// pods and Services (issue 15.3). Golden files `<capture>+pods.{txt,json,ndjson,html}`.
@Suite(.serialized)
struct AttributedGoldenTests {
    /// Capture → the kubectl file that names its addresses (captures/k8s).
    static let table: [(capture: String, pods: String)] = [
        ("egress-deny.pcap", "k8s/egress-deny-cluster.json"),      // findings, unanswered, servers
        ("any-dnat.pcap", "k8s/egress-deny-cluster.json"),         // DNAT backends, last seen on
        ("tcp-blocked.pcap", "k8s/egress-deny-cluster.json"),      // TCP fallbacks, failed connections
        ("udp-reject.pcap", "k8s/egress-deny-cluster.json"),       // ICMP rejections
    ]

    @Test(arguments: AttributedGoldenTests.table.map(\.capture))
    func reportMatchesGolden(capture: String) throws {
        let pods = try #require(Self.table.first { $0.capture == capture }?.pods)
        let directory = try ClusterDirectory.load(path: Paths.captures.appendingPathComponent(pods).path)
        let analysed = try AnalysedCapture(Paths.captures.appendingPathComponent(capture), directory: directory)
        let outputs: [(String, String)] = [
            ("txt", analysed.report.human()),
            ("json", analysed.report.json().serialized(pretty: true) + "\n"),
            ("ndjson", analysed.transactions.map { ndjsonLine($0, directory: directory) + "\n" }.joined()),
            ("html", analysed.report.html()),
        ]
        try GoldenTests.compare(outputs, named: "\(capture)+pods")
    }
}

/// The first differing line of two texts, for a readable failure.
func firstDifference(_ actual: String, _ expected: String) -> String {
    let actualLines = actual.split(separator: "\n", omittingEmptySubsequences: false)
    let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
    for index in 0..<max(actualLines.count, expectedLines.count) {
        let left = index < actualLines.count ? String(actualLines[index]) : "<end>"
        let right = index < expectedLines.count ? String(expectedLines[index]) : "<end>"
        if left != right { return "line \(index + 1):\n  actual:   \(left)\n  expected: \(right)" }
    }
    return "(identical lines)"
}
