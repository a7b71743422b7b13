import DNSTrailTestSupport
import Foundation
import Testing
import Pipeline
import Transactions

/// tshark as the oracle for query/response pairing over UDP: for every query frame that
/// tshark does not flag as a retransmission (it never pairs those), dnstrail must name the
/// same response frame as tshark's `dns.response_in` — or no response when tshark has none.
/// Every remaining difference is listed in `expectedDifferences` with its reason, so a new
/// difference or a vanished one fails the test. Late answers (after the query's deadline,
/// within `TransactionEngine.lateWindow`) pair as tshark pairs them (ndpi_bad-dns-traffic.pcap
/// frames 55, 56, 58; zeek_erspan.pcap frames 126, 136, 137): outcome `late`.
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
        let questionDiffers = "the fuzzed response's question differs from the query's; dnstrail requires it to match"
        let notDNSPort = "fuzzed destination port is not a DNS port; tshark follows its UDP conversation"
        let badLength = "the UDP or IPv4 length field exceeds the frame (not cut by snaplen): counted as undecodable"
        let malformedQuery = "tshark stops at the query's malformed question and never records it; dnstrail pairs by header"
        let linkType = "link type not decoded by dnstrail (counted as unsupported-link-type)"
        let copies = "-i any: the same packet on several interfaces, before and after DNAT; dnstrail counts the query "
            + "once (first copy) and pairs it with the first copy of the answer, tshark pairs each copy"
        let addressChanged = "the answer comes from another address than the query went to (DNAT seen mid-path, or a "
            + "fuzzed address); dnstrail pairs by client port, id and question and reports the change, tshark does not pair"
        func frames(_ list: [Int], _ reason: String) -> [Int: String] {
            Dictionary(uniqueKeysWithValues: list.map { ($0, reason) })
        }
        return [
            "ndpi_fuzz-2006-06-26-2594.pcap": frames([167, 261, 490, 498, 546, 662], questionDiffers)
                .merging(frames([6, 191, 221], addressChanged)) { $1 }
                .merging(frames([8, 109], notDNSPort)) { $1 }
                .merging(frames([7, 21, 104, 136, 269, 311, 352, 423, 511, 517, 522, 555, 571, 612], badLength)) { $1 }
                .merging(frames([279], malformedQuery)) { $1 },
            "tcpdump_LINKTYPE_PKTAP.pcap": frames([1], linkType),
            "tcpdump_arcnet-rfc1201-arp-icmp-http.pcap": frames([9, 11], linkType),
            "zeek_radiotap.pcap": frames([1], linkType),
            "tcpdump_rtp-seg-fault-1.pcapng": frames([1], badLength),
            "any-dnat.pcap": frames([1, 3, 7, 9, 13, 15, 28, 30], copies),
            "backend-split.pcap": frames([1, 3, 7, 9, 13, 15, 19, 21, 25, 27, 31, 33, 39, 40, 42, 48, 51, 54, 55, 57, 63,
                                          64, 66, 70, 72, 76, 78, 84, 85, 87, 91, 93, 99, 102, 105, 106, 108, 112, 114,
                                          118, 120], copies),
            "bridge-nf-dnat.pcap": frames([1, 3, 5, 10], addressChanged),
            "upstream-service.pcap": frames([1, 3, 7, 9, 17, 19, 27, 29, 33, 35, 39, 41, 45, 47, 51, 53, 61, 63, 67, 69,
                                              73, 75], copies),
            "upstream-service-short.pcap": frames([1, 3, 7, 9, 17, 19, 27, 29, 33, 35], copies),
            "multinode-node-a.pcap": frames([1, 2, 5, 6, 57, 58], copies),
            "multinode-node-a-shifted.pcap": frames([1, 2, 5, 6, 57, 58], copies),
            "multinode-node-b.pcap": frames([1, 2, 5, 6, 15, 16, 30, 32, 34, 36, 38, 40, 42, 44, 45, 46], copies),
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

    @Test(.enabled(if: PublicCaptures.shouldRun, PublicCaptures.skipReason))
    func publicCapturesArePresent() {
        #expect(Paths.publicCaptureFiles.count >= 60, "public captures not found at \(Paths.publicCaptures.path)")
        #expect(Paths.bundledCaptures.count >= 2)
    }

    /// One DNS message as tshark dissected it.
    struct TsharkMessage {
        var frame: Int
        var transport: String
        var isResponse = false
        var responseIn: Int?
        var isRetransmission = false
    }

    /// Reads tshark's PDML (one `<proto name="dns">` per DNS message, so several messages
    /// in one TCP segment stay apart) into messages.
    static func tsharkMessages(_ capture: URL) throws -> [TsharkMessage] {
        let tshark = try #require(which("tshark"), "tshark is not installed (scripts/install-deps installs it)")
        let pdml = try runProgram(tshark, ["-2", "-n", "-r", capture.path, "-Y", "dns && !icmp && !icmpv6", "-T", "pdml"])
        var messages: [TsharkMessage] = []
        var frame = 0
        var transport = ""
        func show(_ line: Substring) -> String? {
            guard let start = line.range(of: " show=\"") else { return nil }
            let rest = line[start.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { return nil }
            return String(rest[..<end])
        }
        for line in pdml.split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("<field name=\"frame.number\""), let value = show(trimmed), let number = Int(value) {
                frame = number
                transport = ""
            } else if trimmed.hasPrefix("<proto name=\"tcp\"") {
                transport = "tcp"
            } else if trimmed.hasPrefix("<proto name=\"udp\"") {
                transport = "udp"
            } else if trimmed.hasPrefix("<proto name=\"dns\"") || trimmed.hasPrefix("<proto name=\"mdns\"")
                        || trimmed.hasPrefix("<proto name=\"llmnr\"") {
                messages.append(TsharkMessage(frame: frame, transport: transport))
            } else if !messages.isEmpty, messages[messages.count - 1].frame == frame {
                if trimmed.hasPrefix("<field name=\"dns.flags.response\"") {
                    messages[messages.count - 1].isResponse = show(trimmed) == "1"
                } else if trimmed.hasPrefix("<field name=\"dns.response_in\""), let value = show(trimmed) {
                    messages[messages.count - 1].responseIn = Int(value)
                } else if trimmed.hasPrefix("<field name=\"dns.retransmission\"") {
                    messages[messages.count - 1].isRetransmission = true
                }
            }
        }
        return messages
    }

    @Test(arguments: OracleTests.captures)
    func pairingAgreesWithTshark(capture: URL) throws {
        // Per frame, the response frames tshark gives its (non-retransmitted) queries.
        var tsharkQueries: [Int: [Int?]] = [:]
        for message in try Self.tsharkMessages(capture)
        where !message.isResponse && !message.isRetransmission && !message.transport.isEmpty {
            tsharkQueries[message.frame, default: []].append(message.responseIn)
        }

        var options = AnalysisOptions()
        if let ports = Self.ports[capture.lastPathComponent] { options.ports = ports }
        let analysed = try AnalysedCapture(capture, options: options)
        var ourQueries: [Int: [Int?]] = [:]
        var multicastFrames: Set<Int> = []
        for transaction in analysed.transactions where transaction.outcome != .handshakeFailed && transaction.outcome != .reset {
            for (index, attempt) in transaction.attempts.enumerated() {
                if transaction.server.ip.isMulticast { multicastFrames.insert(attempt.frame) }
                let answered = transaction.response.flatMap { $0.attemptIndex == index ? $0.frame : nil }
                ourQueries[attempt.frame, default: []].append(answered)
            }
            // The TCP retry of a truncated answer is part of the same transaction.
            if let fallback = transaction.fallback, fallback.id != nil {
                for (index, frame) in fallback.frames.enumerated() {
                    ourQueries[frame, default: []].append(index == 0 ? fallback.responseFrame : nil)
                }
            }
        }

        var differences: Set<Difference> = []
        func text(_ responses: [Int?]) -> String {
            responses.map { $0.map { "response \($0)" } ?? "no response" }.sorted().joined(separator: " + ")
        }
        for (frame, tsharkResponses) in tsharkQueries {
            guard let ours = ourQueries[frame] else {
                differences.insert(Difference(frame: frame, tshark: text(tsharkResponses), dnstrail: "not a query"))
                continue
            }
            // Every query tshark pairs (or leaves unanswered) in this frame must be among ours.
            var remaining = ours
            for response in tsharkResponses {
                if let index = remaining.firstIndex(where: { $0 == response }) {
                    remaining.remove(at: index)
                } else {
                    differences.insert(Difference(frame: frame, tshark: text(tsharkResponses), dnstrail: text(ours)))
                    break
                }
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
