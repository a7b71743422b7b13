import Attribution
import DNSMetrics
import DNSWire
import Foundation
import PacketDecoding
import Testing
import Transactions

/// Label values stay in bounded sets; query names and client addresses never become labels.
struct LabelCapTests {
    /// 17 servers: the first 16 get a `server` label each, the 17th is `other`.
    @Test func seventeenServersGiveSixteenLabelsAndOther() {
        var run = EngineRun()
        for index in 0..<17 {
            let server = Endpoint(ip: IPAddress("10.96.0.\(index + 1)")!, port: 53)
            run.query(at: Int64(index), port: 40000 + UInt16(index), id: UInt16(index), server: server)
            run.response(at: Int64(index) + 1, port: 40000 + UInt16(index), id: UInt16(index), server: server)
        }
        run.finish()
        let servers = run.exposition.values(of: "server", in: "dnstrail_dns_queries_total")
        #expect(servers.count == 17)
        #expect(servers.contains("other"))
        #expect(servers.contains("10.96.0.16:53"))
        #expect(!servers.contains("10.96.0.17:53"))
        #expect(run.exposition.sum("dnstrail_dns_queries_total", where: "server", is: "other") == 1)
        #expect(run.exposition.sum("dnstrail_dns_queries_total") == 17)
    }

    /// Types outside CoreDNS's list (an unassigned TYPE65280, NULL) are `other`.
    @Test func unknownQueryTypeIsOther() {
        var run = EngineRun()
        run.query(at: 0, port: 40001, id: 1, type: DNSType(65280))
        run.response(at: 1, port: 40001, id: 1, type: DNSType(65280))
        run.query(at: 2, port: 40002, id: 2, type: .null)
        run.response(at: 3, port: 40002, id: 2, type: .null)
        run.query(at: 4, port: 40003, id: 3, type: .https)
        run.response(at: 5, port: 40003, id: 3, type: .https)
        run.finish()
        #expect(run.exposition.values(of: "qtype", in: "dnstrail_dns_queries_total") == ["other", "HTTPS"])
        #expect(run.exposition.sum("dnstrail_dns_queries_total", where: "qtype", is: "other") == 2)
    }

    /// Neither the query name nor the client address appears anywhere in the text, and no
    /// series has a qname or client label.
    @Test func queryNameAndClientAddressNeverBecomeLabels() {
        let run = ExpositionTests.knownRun()
        let text = run.exposition.text
        #expect(!text.contains("secret-name"))
        #expect(!text.contains(EngineRun.client.description))
        for label in ["qname", "name", "client", "ip"] {
            #expect(!text.contains("\(label)=\""), "a \(label) label")
        }
    }

    /// Sources the directory names get their pod's labels, the first 32 of them; later pods
    /// share pod="other"; an address no pod has is pod="unknown".
    @Test func sourcesAreTheFirstThirtyTwoPodsThenOther() throws {
        var items: [String] = []
        for index in 0..<34 {
            items.append(#"{"kind":"Pod","metadata":{"name":"app-\#(index)","namespace":"shop"},"status":{"podIP":"10.244.2.\#(index + 1)"}}"#)
        }
        let json = #"{"kind":"List","items":["# + items.joined(separator: ",") + "]}"
        let directory = try ClusterDirectory(kubectlJSON: Data(json.utf8))
        let metrics = LiveMetrics(version: "test", directory: directory)
        var run = EngineRun()
        run.engine.onExpiry = { metrics.record(expired: $0) }
        for index in 0..<34 {
            run.query(at: Int64(index), port: 40000, id: UInt16(index), client: IPAddress("10.244.2.\(index + 1)")!)
        }
        run.query(at: 40, port: 40000, id: 99, client: IPAddress("192.168.7.7")!)
        run.query(at: 9000, port: 40001, id: 100)  // moves time past every deadline
        let exposition = Exposition(metrics.exposition())
        let name = "dnstrail_dns_unanswered_by_source_total"
        #expect(exposition.samples[#"\#(name){namespace="shop",pod="app-0"}"#] == 1)
        #expect(exposition.samples[#"\#(name){namespace="shop",pod="app-31"}"#] == 1)
        #expect(exposition.samples[#"\#(name){namespace="shop",pod="app-32"}"#] == nil)
        #expect(exposition.samples[#"\#(name){namespace="",pod="other"}"#] == 2)
        #expect(exposition.samples[#"\#(name){namespace="",pod="unknown"}"#] == 1)
        #expect(exposition.sum(name) == exposition.sum("dnstrail_dns_unanswered_total"))
    }
}

/// Issue 11.3: one Prometheus over several nodes sums their series. A label value must
/// mean the same on every node: the server's address, never a slot number or the order
/// servers were seen in.
struct ClusterSumTests {
    @Test func sumByServerOverTwoNodesAddsEachServersQueries() {
        let coredns = Endpoint(ip: IPAddress("10.96.0.10")!, port: 53)
        let nodeLocal = Endpoint(ip: IPAddress("169.254.20.10")!, port: 53)
        // Node one sees CoreDNS first, node two NodeLocal DNSCache first.
        var one = EngineRun()
        one.query(at: 0, port: 40001, id: 1, server: coredns)
        one.query(at: 1, port: 40002, id: 2, server: nodeLocal)
        one.query(at: 2, port: 40003, id: 3, server: nodeLocal)
        one.query(at: 9000, port: 40004, id: 4, server: coredns)
        var two = EngineRun()
        two.query(at: 0, port: 40001, id: 1, server: nodeLocal)
        two.query(at: 1, port: 40002, id: 2, server: coredns)
        two.query(at: 9000, port: 40003, id: 3, server: coredns)
        var sums: [String: Double] = [:]
        for node in [one.exposition, two.exposition] {
            for server in node.values(of: "server", in: "dnstrail_dns_unanswered_total") {
                sums[server, default: 0] += node.sum("dnstrail_dns_unanswered_total", where: "server", is: server)
            }
        }
        #expect(sums == ["10.96.0.10:53": 2, "169.254.20.10:53": 3])
    }
}
