import Attribution
import Foundation
import Reports
import Testing

/// `--vantage` runs of the issue 10 captures, with the cluster's pods, compared with their
/// stored reports: `multinode-vantages[-shifted].{txt,json,ndjson,html}`. Regenerated with
/// the other golden files (`DNSTRAIL_UPDATE_GOLDEN=1 swift test --filter GoldenTests`).
@Suite(.serialized)
struct VantageGoldenTests {
    @Test(arguments: [false, true])
    func reportMatchesGolden(shifted: Bool) throws {
        let directory = try ClusterDirectory.load(path: Paths.captures.appendingPathComponent("k8s/multinode-cluster.json").path)
        let analysed = try AnalysedVantages.multinode(shifted: shifted)
        let outputs: [(String, String)] = [
            ("txt", analysed.report.human()),
            ("json", analysed.report.json().serialized(pretty: true) + "\n"),
            ("ndjson", analysed.transactions.map { ndjsonLine($0, directory: directory) + "\n" }.joined()),
            ("html", analysed.report.html()),
        ]
        let name = shifted ? "multinode-vantages-shifted" : "multinode-vantages"
        try GoldenTests.compare(outputs, named: name)
    }
}
