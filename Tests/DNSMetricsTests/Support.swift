import Attribution
import Capture
import DNSMetrics
import DNSWire
import Diagnosis
import Foundation
import PacketDecoding
import Pipeline
import Reports
import Transactions
import WireCore

/// Locations the metrics tests read from.
enum Paths {
    /// The package root, found from this file's path (Tests/DNSMetricsTests/Support.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let captures = root.appendingPathComponent("captures")

    static var bundledCaptures: [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: captures.path)) ?? []
        return names.filter { $0.hasSuffix(".pcap") }.sorted().map { captures.appendingPathComponent($0) }
    }
}

/// The samples of an exposition text: series (name and labels as written) to value.
struct Exposition {
    let text: String
    let lines: [String]
    let samples: [String: Double]

    init(_ text: String) {
        self.text = text
        lines = text.split(separator: "\n").map(String.init)
        var samples: [String: Double] = [:]
        for line in lines where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        self.samples = samples
    }

    /// The sum over every series of `name` (its labelled ones, or the unlabelled one).
    func sum(_ name: String) -> Double {
        samples.filter { $0.key == name || $0.key.hasPrefix(name + "{") }.values.reduce(0, +)
    }

    /// The series of `name` whose labels include `label="value"`, summed.
    func sum(_ name: String, where label: String, is value: String) -> Double {
        samples.filter { ($0.key.hasPrefix(name + "{")) && $0.key.contains("\(label)=\"\(value)\"") }.values.reduce(0, +)
    }

    /// Distinct values of `label` among the series of `name`.
    func values(of label: String, in name: String) -> Set<String> {
        var values: Set<String> = []
        for key in samples.keys where key.hasPrefix(name + "{") {
            guard let start = key.range(of: "\(label)=\"") else { continue }
            let rest = key[start.upperBound...]
            if let end = rest.firstIndex(of: "\"") { values.insert(String(rest[..<end])) }
        }
        return values
    }
}

/// A real transaction engine fed message by message, its closed transactions and the
/// queries at their deadline going to `metrics` (as the live loop wires them) and to a
/// `ReportBuilder` (the report's figures).
struct EngineRun {
    static let server = Endpoint(ip: IPAddress("10.96.0.10")!, port: 53)
    static let client = IPAddress("10.244.1.11")!

    var engine = TransactionEngine(timeout: .seconds(5))
    let metrics = LiveMetrics(version: "test")
    var figures = ReportBuilder()

    init(wiresExpiry: Bool = true) {
        if wiresExpiry { engine.onExpiry = { [metrics] in metrics.record(expired: $0) } }
    }

    static func question(_ type: DNSType) -> QuestionKey { QuestionKey(nameHash: 0xfeed, type: type, qclass: .in) }

    mutating func query(at milliseconds: Int64, port: UInt16, id: UInt16, type: DNSType = .a,
                        server: Endpoint = EngineRun.server, client: IPAddress = EngineRun.client) {
        let message = MessageObservation(
            frame: 0, time: Timestamp(nanoseconds: milliseconds * 1_000_000), source: Endpoint(ip: client, port: port),
            destination: server, transport: .udp, id: id, isResponse: false, question: EngineRun.question(type))
        var closed: [Transaction] = []
        engine.observe(message, qname: { "secret-name.example." }) { closed.append($0) }
        for transaction in closed { close(transaction) }
    }

    mutating func response(at milliseconds: Int64, port: UInt16, id: UInt16, type: DNSType = .a, rcode: DNSRCode = .noError,
                           server: Endpoint = EngineRun.server, client: IPAddress = EngineRun.client) {
        let message = MessageObservation(
            frame: 0, time: Timestamp(nanoseconds: milliseconds * 1_000_000), source: server,
            destination: Endpoint(ip: client, port: port), transport: .udp, id: id, isResponse: true, rcode: rcode,
            question: EngineRun.question(type))
        var closed: [Transaction] = []
        engine.observe(message, qname: { nil }) { closed.append($0) }
        for transaction in closed { close(transaction) }
    }

    mutating func finish() {
        var closed: [Transaction] = []
        engine.finish { closed.append($0) }
        for transaction in closed { close(transaction) }
    }

    private mutating func close(_ transaction: Transaction) {
        figures.add(transaction)
        metrics.record(closed: transaction)
    }

    var exposition: Exposition { Exposition(metrics.exposition()) }
}

/// Replays a capture through the analyser with the metrics wired as in a live run (queries
/// at their deadline too), beside the report's figures and diagnosis.
struct CaptureReplay {
    let metrics: LiveMetrics
    var figures = ReportBuilder()
    var diagnoser = Diagnoser()
    var packets = PacketStatistics()

    /// `metrics`, when given, is fed instead of a new one (several captures into one registry).
    init(_ url: URL, directory: ClusterDirectory = ClusterDirectory(), wiresExpiry: Bool = true,
         into metrics: LiveMetrics? = nil) throws {
        self.metrics = metrics ?? LiveMetrics(version: "test", directory: directory)
        let metrics = self.metrics
        var analyzer = Analyzer(options: AnalysisOptions())
        if wiresExpiry { analyzer.onExpiry = { [metrics] in metrics.record(expired: $0) } }
        let capture = try OfflineCapture(path: url.path)
        var closed: [Transaction] = []
        reading: while true {
            switch capture.next() {
            case .frame(let frame):
                analyzer.process(frame: frame.number, time: frame.timestamp, bytes: frame.bytes,
                                 originalLength: frame.originalLength, linkType: frame.linkType) { closed.append($0) }
            case .end, .damaged, .timeout:
                break reading
            }
            for transaction in closed { add(transaction) }
            closed.removeAll()
        }
        analyzer.finish { closed.append($0) }
        for transaction in closed { add(transaction) }
        packets = analyzer.packets
        metrics.update(status: MetricsStatus(packets: packets.frames, malformed: packets.malformedDNS,
                                             inFlight: analyzer.engine.pendingCount))
    }

    private mutating func add(_ transaction: Transaction) {
        figures.add(transaction)
        diagnoser.add(transaction)
        metrics.record(closed: transaction)
    }

    var exposition: Exposition { Exposition(metrics.exposition()) }
}
