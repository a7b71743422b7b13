import Foundation
import Pipeline
@testable import Reports
import Testing

/// How the bundle writer picks the transactions a finding cites out of the NDJSON lines:
/// every integer under a key ending in `frame` or `frames`, and nothing inside strings.
struct NDJSONFramesTests {
    func frames(_ line: String) -> [Int] {
        var found: [Int] = []
        Array(line.utf8).withUnsafeBytes { bytes in NDJSONFrames.forEachFrame(in: bytes) { found.append($0) } }
        return found
    }

    @Test func everyFrameKeyOfATransactionLine() {
        let line = #"{"time":"2026-11-26T00:24:15.043299000Z","client":{"ip":"10.244.1.11","port":43958},"#
            + #""server":{"ip":"10.96.0.10","port":53},"transport":"udp","id":10268,"qname":"a.","qtype":"A","#
            + #""outcome":"answered","rcode":"NOERROR","query_frames":[17,18],"attempts":2,"response_frame":19,"#
            + #""answered_frame":18,"latency_ms":0.24,"truncated":true,"expired":null,"#
            + #""fallback":{"outcome":"answered","transport":"tcp","client_port":40000,"id":7,"frames":[30,31],"#
            + #""attempts":1,"response_frame":33,"rcode":"NOERROR","reset_frame":null},"#
            + #""icmp":{"frame":40,"type":3,"code":3},"interface":6,"vlan":[100]}"#
        #expect(frames(line) == [17, 18, 19, 18, 30, 31, 33, 40])
    }

    /// A name can hold anything; escaped quotes inside it never start a key.
    @Test func textInsideStringsIsNeverAKey() {
        let line = #"{"qname":"x\"query_frames\":[5],\"frame\":6.","query_frames":[7],"note":"frames: 8"}"#
        #expect(frames(line) == [7])
    }

    @Test func citedLineIsFoundAndOthersAreNot() {
        let line = Array(#"{"query_frames":[3,4],"response_frame":5,"id":17}"#.utf8)
        line.withUnsafeBytes { bytes in
            #expect(NDJSONFrames.anyFrame(in: bytes, isIn: [5]))
            #expect(!NDJSONFrames.anyFrame(in: bytes, isIn: [17]))
            #expect(!NDJSONFrames.anyFrame(in: bytes, isIn: []))
        }
    }
}

/// The evidence capture a bundle holds: original frame numbers in each packet's comment,
/// the interface map of a `live --export` run in the section header.
struct EvidenceCaptureTests {
    @Test func commentsCarryTheOriginalFrameAndTheSectionTheInterfaceMap() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("dnstrail-evidence-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let output = scratch.appendingPathComponent("evidence.pcapng").path
        let written = try writeEvidenceCapture(
            inputs: [EvidenceInput(file: Paths.captures.appendingPathComponent("egress-deny.pcap").path)],
            comments: [17: "dnstrail finding egress-blocked: x", 24: "dnstrail finding egress-blocked: y"],
            to: output, toolVersion: "0.1.0", sectionComment: "dnstrail evidence",
            interfaceNames: [6: "veth1abc", 2: "eth0"])
        #expect(written == 2)
        let tshark = try #require(which("tshark"))
        let comments = try runProgram(tshark, ["-r", output, "-T", "fields", "-e", "frame.comment"])
        #expect(comments == "frame 17 of egress-deny.pcap; dnstrail finding egress-blocked: x\n"
            + "frame 24 of egress-deny.pcap; dnstrail finding egress-blocked: y\n")
        let capinfos = try #require(which("capinfos"))
        let information = try runProgram(capinfos, ["-k", output])
        #expect(information.contains("Capture comment:     dnstrail-interfaces: 2=eth0 6=veth1abc"))
    }
}
