import Attribution
import DNSWire
import Diagnosis
import Foundation
import PacketDecoding
import Pipeline
import Reports
import Testing
import Transactions
import WireCore

/// Issue 15.3 and 14.6: every section names the pod or Service behind an address and the
/// interface behind an index, and nothing from outside reaches the terminal raw.
struct ReportPresentationTests {
    static let pods = Paths.captures.appendingPathComponent("k8s/egress-deny-cluster.json").path

    func egressDenyWithPods() throws -> AnalysedCapture {
        let directory = try ClusterDirectory.load(path: Self.pods)
        return try AnalysedCapture(Paths.captures.appendingPathComponent("egress-deny.pcap"), directory: directory)
    }

    @Test func podNamesInUnansweredAndServersOfTheHumanReport() throws {
        let human = try egressDenyWithPods().report.human()
        #expect(human.contains("\n  10.244.1.11 (payments/checkout-7d4b9c6f5-x2xkq, node-a)   4 unanswered queries, 8 attempts\n"))
        #expect(human.contains("\n    → 10.96.0.10:53/udp (kube-system/kube-dns Service)   4 queries, 8 attempts,"))
        #expect(human.contains("\n  10.96.0.10:53/udp  ") && human.contains("\n      kube-system/kube-dns Service\n"))
    }

    @Test func podNamesInJSONUnansweredAndServers() throws {
        let json = try egressDenyWithPods().report.json()
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.serialized(pretty: false).utf8)) as? [String: Any])
        let source = try #require((document["unanswered"] as? [[String: Any]])?.first)
        #expect(source["identity"] as? String == "payments/checkout-7d4b9c6f5-x2xkq")
        #expect(source["namespace"] as? String == "payments")
        #expect(source["pod"] as? String == "checkout-7d4b9c6f5-x2xkq")
        #expect(source["node"] as? String == "node-a")
        #expect(source["service"] is NSNull)
        let server = try #require((source["servers"] as? [[String: Any]])?.first)
        #expect(server["identity"] as? String == "kube-system/kube-dns Service")
        #expect(server["service"] as? String == "kube-dns")
        let servers = try #require(document["servers"] as? [[String: Any]])
        #expect(servers.allSatisfy { $0["identity"] as? String == "kube-system/kube-dns Service" && $0["namespace"] as? String == "kube-system" })
    }

    @Test func podNamesInHTMLTables() throws {
        let html = try egressDenyWithPods().report.html()
        let unanswered = try #require(html.range(of: "<section id=\"unanswered\">"))
        let servers = try #require(html.range(of: "<section id=\"servers\">"))
        let fallbacks = try #require(html.range(of: "<section id=\"fallbacks\">"))
        let unansweredSection = html[unanswered.lowerBound..<servers.lowerBound]
        let serversSection = html[servers.lowerBound..<fallbacks.lowerBound]
        #expect(unansweredSection.contains("<span class=\"who\">payments/checkout-7d4b9c6f5-x2xkq, node-a</span>"))
        #expect(unansweredSection.contains("<span class=\"who\">kube-system/kube-dns Service</span>"))
        #expect(serversSection.contains("<span class=\"who\">kube-system/kube-dns Service</span>"))
    }

    @Test func interfaceNamesReplaceIndexes() throws {
        var analysed = try AnalysedCapture(Paths.captures.appendingPathComponent("any-dnat.pcap"))
        analysed.report.run.interfaceNames = [2: "cni0", 4: "veth1a2b"]
        let human = analysed.report.human()
        #expect(human.contains("        last seen on cni0 (2) ×2\n"))
        #expect(!human.contains("last seen on interface"))
        let document = try #require(try JSONSerialization.jsonObject(with: Data(analysed.report.json().serialized(pretty: false).utf8)) as? [String: Any])
        let group = try #require(((document["unanswered"] as? [[String: Any]])?.first?["servers"] as? [[String: Any]])?.first)
        let lastSeen = try #require((group["last_seen_on"] as? [[String: Any]])?.first)
        #expect(lastSeen["interface"] as? Int == 2)
        #expect(lastSeen["name"] as? String == "cni0")
        #expect(analysed.report.html().contains("last seen on cni0 (2) ×2"))
        // Without a name the index stays, as before.
        analysed.report.run.interfaceNames = [:]
        #expect(analysed.report.human().contains("        last seen on interface 2 ×2\n"))
    }

    /// A hostile pods file (ESC sequences, a newline that would fake a report line) and a
    /// hostile interface name reach the terminal escaped, one report line each.
    @Test func controlCharactersFromPodsAndInterfacesAreEscapedInTheHumanReport() throws {
        let hostile = "evil\u{1B}[2J\u{1B}]0;pwned\u{07}\nWarning        all good"
        let pods = """
            {"kind":"List","items":[
            {"kind":"Pod","metadata":{"name":"\(jsonEscaped(hostile))","namespace":"ns\\u001b[31m"},
             "spec":{"nodeName":"node\\r-a"},"status":{"podIP":"10.244.1.11","podIPs":[{"ip":"10.244.1.11"}]}}]}
            """
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dnstrail-hostile-pods-\(UUID().uuidString).json")
        try Data(pods.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let directory = try ClusterDirectory.load(path: url.path)
        var analysed = try AnalysedCapture(Paths.captures.appendingPathComponent("any-dnat.pcap"), directory: directory)
        analysed.report.run.interfaceNames = [2: "eth\u{1B}[1m0\n"]
        let human = analysed.report.human()
        #expect(!human.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
        #expect(!human.unicodeScalars.contains { (0x7F...0x9F).contains($0.value) })
        #expect(!human.contains("\nWarning        all good"))
        #expect(human.contains(#"evil\u{1B}[2J\u{1B}]0;pwned\u{7}\u{A}Warning        all good"#))
        #expect(human.contains(#"last seen on eth\u{1B}[1m0\u{A} (2)"#))
        #expect(human.contains(#"node\u{D}-a"#))
    }

    func jsonEscaped(_ text: String) -> String {
        text.unicodeScalars.map { scalar in
            scalar.value < 0x20 ? String(format: "\\u%04x", scalar.value) : String(scalar)
        }.joined()
    }

    @Test func reportsSayWhichFrameNumberingTheyCite() throws {
        let report = try egressDenyWithPods().report
        let note = "Frame numbers are those of the input capture(s), as Wireshark numbers them"
        #expect(report.html().contains(note))
        #expect(report.json().serialized(pretty: false).contains(note))
    }
}
