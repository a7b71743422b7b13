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
        let root = Paths.root.path + "/"
        let outputs: [(String, String)] = [
            ("txt", analysed.report.human()),
            ("json", analysed.report.json().serialized(pretty: true) + "\n"),
            ("ndjson", analysed.transactions.map { ndjsonLine($0) + "\n" }.joined()),
        ]
        for (suffix, rendered) in outputs {
            let text = rendered.replacingOccurrences(of: root, with: "")
            let golden = Paths.golden.appendingPathComponent("\(capture.lastPathComponent).\(suffix)")
            if Self.updating {
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
