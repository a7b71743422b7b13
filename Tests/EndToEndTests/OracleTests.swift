import Foundation
import Testing
import Transactions

/// tshark as the oracle for query/response pairing over UDP: for every query frame that
/// tshark does not flag as a retransmission (it never pairs those), dnstrail must name the
/// same response frame as tshark's `dns.response_in` — or no response when tshark has none.
/// Every remaining difference is listed in `expectedDifferences` with its reason, so a new
/// difference or a vanished one fails the test.
@Suite(.serialized)
struct OracleTests {
    /// A query frame where the two tools disagree.
    struct Difference: Hashable, CustomStringConvertible {
        var frame: Int
        var tshark: String
        var dnstrail: String
        var description: String { "frame \(frame): tshark \(tshark), dnstrail \(dnstrail)" }
    }

    /// Known, explained differences per capture file name: frame → reason.
    static let expectedDifferences: [String: [Int: String]] = [:]

    static var captures: [URL] { Paths.bundledCaptures + Paths.publicCaptureFiles }

    @Test func publicCapturesArePresent() {
        #expect(Paths.publicCaptureFiles.count >= 60, "public captures not found at \(Paths.publicCaptures.path)")
        #expect(Paths.bundledCaptures.count >= 2)
    }

    @Test(arguments: OracleTests.captures)
    func pairingAgreesWithTshark(capture: URL) throws {
        let tshark = try #require(which("tshark"), "tshark is not installed (scripts/install-deps installs it)")
        let output = try runProgram(tshark, [
            "-2", "-n", "-r", capture.path,
            "-Y", "udp && dns.id && !icmp && !icmpv6",
            "-T", "fields", "-E", "occurrence=f",
            "-e", "frame.number", "-e", "dns.flags.response", "-e", "dns.response_in", "-e", "dns.retransmission",
        ])
        // Frames tshark considers queries (not retransmissions), with their response frame.
        var tsharkQueries: [Int: Int?] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 4, let frame = Int(fields[0]) else { continue }
            let isResponse = fields[1] == "1" || fields[1] == "True"
            let isRetransmission = !fields[3].isEmpty && fields[3] != "0" && fields[3] != "False"
            if isResponse || isRetransmission { continue }
            tsharkQueries[frame] = Int(fields[2])
        }

        let analysed = try AnalysedCapture(capture)
        var ourQueries: [Int: Int?] = [:]
        for transaction in analysed.transactions where transaction.transport == .udp {
            for (index, attempt) in transaction.attempts.enumerated() {
                let answered = transaction.response.flatMap { $0.attemptIndex == index ? $0.frame : nil }
                ourQueries[attempt.frame] = answered
            }
        }

        var differences: Set<Difference> = []
        for (frame, tsharkResponse) in tsharkQueries {
            let text = tsharkResponse.map { "response \($0)" } ?? "no response"
            guard let ours = ourQueries[frame] else {
                differences.insert(Difference(frame: frame, tshark: text, dnstrail: "not a query"))
                continue
            }
            if ours != tsharkResponse {
                differences.insert(Difference(frame: frame, tshark: text,
                                              dnstrail: ours.map { "response \($0)" } ?? "no response"))
            }
        }
        let expected = Self.expectedDifferences[capture.lastPathComponent] ?? [:]
        let unexpected = differences.filter { expected[$0.frame] == nil }.sorted { $0.frame < $1.frame }
        let vanished = expected.keys.filter { frame in !differences.contains { $0.frame == frame } }.sorted()
        #expect(unexpected.isEmpty, "\(capture.lastPathComponent): unexplained differences: \(unexpected)")
        #expect(vanished.isEmpty, "\(capture.lastPathComponent): listed differences no longer occur: \(vanished)")
    }
}
