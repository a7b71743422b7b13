import DNSTrailTestSupport
import Foundation
import Pipeline
import Reports
import Testing

/// The parallel pipeline's promise (issue 13): the same report for any number of threads.
/// Every bundled and every public capture is analysed with 1, 2 and 7 pairing threads and
/// the human, JSON and NDJSON outputs compared byte for byte. Seven shards on captures of a
/// few clients leave most shards empty and split the clients of busy captures every way.
@Suite(.serialized)
struct ThreadEquivalenceTests {
    static let threadCounts = [2, 7]

    @Test(arguments: Paths.bundledCaptures)
    func bundledCaptureGivesTheSameOutputWithAnyThreads(capture: URL) throws {
        try Self.expectSameOutputs(capture)
    }

    @Test(.enabled(if: PublicCaptures.shouldRun, PublicCaptures.skipReason), arguments: Paths.publicCaptureFiles)
    func publicCaptureGivesTheSameOutputWithAnyThreads(capture: URL) throws {
        try Self.expectSameOutputs(capture)
    }

    static func outputs(_ capture: URL, threads: Int) throws -> [(String, String)] {
        let analysed = try AnalysedCapture(capture, threads: threads)
        return [
            ("human", analysed.report.human()),
            ("json", analysed.report.json().serialized(pretty: true)),
            ("ndjson", analysed.transactions.map { ndjsonLine($0) + "\n" }.joined()),
        ]
    }

    static func expectSameOutputs(_ capture: URL) throws {
        let single = try outputs(capture, threads: 1)
        for threads in threadCounts {
            let parallel = try outputs(capture, threads: threads)
            for ((format, expected), (_, actual)) in zip(single, parallel) {
                #expect(actual == expected,
                        "\(capture.lastPathComponent), \(format), \(threads) threads:\n\(firstDifference(actual, expected))")
            }
        }
    }
}
