import Foundation
import Testing
import Pipeline
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

    /// Known, explained differences per capture file: the frames and why they differ.
    static let expectedDifferences: [String: [Int: String]] = {
        let fragments = "the answer (or query) arrives in IP fragments; reassembly is not wired in yet"
        let late = "the response came after the 5 s --timeout (tshark pairs at any distance)"
        let questionDiffers = "the fuzzed response's question differs from the query's; dnstrail requires it to match"
        let notDNSPort = "fuzzed destination port is not a DNS port; tshark follows its UDP conversation"
        let badLength = "the UDP or IPv4 length field exceeds the frame (not cut by snaplen): counted as undecodable"
        let malformedQuery = "tshark stops at the query's malformed question and never records it; dnstrail pairs by header"
        let linkType = "link type not decoded by dnstrail (counted as unsupported-link-type)"
        let erspan = "DNS inside GRE/ERSPAN: that encapsulation is not decoded yet (counted as tunnel)"
        func frames(_ list: [Int], _ reason: String) -> [Int: String] {
            Dictionary(uniqueKeysWithValues: list.map { ($0, reason) })
        }
        return [
            "dnscap_frags.pcap": frames([2, 13, 27, 37, 48, 62, 72, 83, 97, 107, 118, 132, 143, 157, 168, 182, 193, 207, 218,
                                         232, 243, 257, 267, 277, 287, 298, 312, 323, 337, 348, 362, 373, 387, 398, 412,
                                         423, 437, 448, 462, 473, 487], fragments),
            "ndpi_dns_fragmented.pcap": frames([1, 4, 7, 10, 15, 37, 40], fragments),
            "zeek_ipv6-fragmented-dns.pcap": frames([5], fragments),
            "zeek_dns-edns-ecs.pcap": frames([57, 83], fragments),
            "ndpi_bad-dns-traffic.pcap": frames([55, 56, 58], late),
            "ndpi_fuzz-2006-06-26-2594.pcap": frames([167, 261, 490, 498, 546, 662], questionDiffers)
                .merging(frames([8, 109], notDNSPort)) { $1 }
                .merging(frames([7, 21, 104, 136, 269, 311, 352, 423, 511, 517, 522, 555, 571, 612], badLength)) { $1 }
                .merging(frames([279], malformedQuery)) { $1 },
            "tcpdump_LINKTYPE_PKTAP.pcap": frames([1], linkType),
            "tcpdump_arcnet-rfc1201-arp-icmp-http.pcap": frames([9, 11], linkType),
            "zeek_radiotap.pcap": frames([1], linkType),
            "tcpdump_rtp-seg-fault-1.pcapng": frames([1], badLength),
            "zeek_erspan.pcap": frames([126, 132, 134, 136, 137, 140, 141], erspan),
        ]
    }()

    /// mDNS and LLMNR queries go to a multicast group and are answered by whichever host
    /// owns the name, mostly with id 0 and no question. tshark pairs such a response with
    /// a query of its UDP conversation by id alone; dnstrail with the oldest outstanding
    /// query to the same group asking the same question. Differences on frames whose query
    /// went to a multicast group are explained by that (checked per frame, not assumed).
    static let multicastReason = "multicast query: tshark and dnstrail pair group answers differently"

    /// Captures whose DNS runs on other ports, analysed with `--port` as a user would.
    static let ports: [String: [UInt16]] = ["tcpdump_dns_udp_8053.pcap": [53, 8053]]

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

        var options = AnalysisOptions()
        if let ports = Self.ports[capture.lastPathComponent] { options.ports = ports }
        let analysed = try AnalysedCapture(capture, options: options)
        var ourQueries: [Int: Int?] = [:]
        var multicastFrames: Set<Int> = []
        for transaction in analysed.transactions where transaction.transport == .udp {
            for (index, attempt) in transaction.attempts.enumerated() {
                if transaction.server.ip.isMulticast { multicastFrames.insert(attempt.frame) }
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
        let unexpected = differences.filter { expected[$0.frame] == nil && !multicastFrames.contains($0.frame) }
            .sorted { $0.frame < $1.frame }
        let vanished = expected.keys.filter { frame in !differences.contains { $0.frame == frame } }.sorted()
        #expect(unexpected.isEmpty, "\(capture.lastPathComponent): unexplained differences: \(unexpected)")
        #expect(vanished.isEmpty, "\(capture.lastPathComponent): listed differences no longer occur: \(vanished)")
    }
}
