#if canImport(Glibc)
import Glibc
#endif
import Attribution
import Diagnosis
import Foundation
import FuzzSupport
import PacketDecoding
import Pipeline
import Reports
import Transactions
import WireCore

/// The stages after parsing: a capture built from fuzzer bytes (`CaptureScript` documents
/// the layout) is written to one or two files and analysed as `dnstrail analyze` does —
/// `analyzeFiles` (libpcap, ordering by first packet, decoding, reassembly, pairing) with
/// a `ReportBuilder`, a `Diagnoser` and the NDJSON encoder fed every transaction — then
/// the `Report` is rendered as text, JSON and HTML.
///
/// Nothing may trap, and (run with `-rss_limit_mb`) memory may not grow with the number of
/// servers or sources. The renderings must agree: the JSON parses and its totals add up
/// and match the text report's; every NDJSON line parses, one per transaction; no latency
/// and no time range is negative; capture data never opens a `<script` in the HTML nor puts
/// a control character in the text report.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReports(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    let flags = input.byte()
    let parameter = input.byte()
    let format = CaptureFile.Format.allCases[Int(flags & 0x07) % CaptureFile.Format.allCases.count]
    var options = AnalysisOptions()
    if flags & 0x20 != 0 { options.maximumPending = Int(parameter & 0x0F) + 1 }
    if flags & 0x80 != 0 { options.timeout = .milliseconds(Int64(parameter) * 10 + 1) }
    let snapshot = flags & 0x40 != 0 ? 40 + Int(parameter >> 2) : 65_535
    var script = CaptureScript(input: input, format: format,
                               linkType: flags & 0x08 != 0 ? Packets.raw : Packets.ethernet,
                               snapshot: snapshot, fileCount: flags & 0x10 != 0 ? 2 : 1)
    script.run()
    let paths = script.files.enumerated().map { index, file in
        let extensionName = format == .pcapMicroseconds || format == .pcapNanoseconds ? "pcap" : "pcapng"
        return "\(scratchDirectory)/capture-\(index).\(extensionName)"
    }
    for (path, file) in zip(paths, script.files) { writeFile(path, file.bytes) }
    defer { for path in paths { unlink(path) } }

    var directory = ClusterDirectory()
    if let resolver = IPAddress("172.16.0.1") { directory.addDNSServer(resolver) }
    var figures = ReportBuilder()
    var diagnoser = Diagnoser()
    let encoder = NDJSONEncoder(directory: directory)
    var lines: [String] = []
    let run: RunResult
    do {
        run = try analyzeFiles(paths, options: options) { transaction in
            figures.add(transaction)
            diagnoser.add(transaction)
            encoder.withLine(for: transaction) { lines.append(String(decoding: $0, as: UTF8.self)) }
        }
    } catch {
        fuzzLog("capture refused: \(error)")
        return 0
    }
    let report = Report(run: run, figures: figures, options: options, diagnoser: diagnoser, directory: directory)
    check(report, lines: lines)
    return 0
}

/// Where the capture files are written (memory-backed, one directory per process).
let scratchDirectory = makeScratchDirectory(prefix: "fuzz-reports")

func writeFile(_ path: String, _ bytes: [UInt8]) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    fuzzExpect(descriptor >= 0, "cannot write \(path)")
    var written = 0
    bytes.withUnsafeBytes { buffer in
        guard let base = buffer.baseAddress else { return }
        while written < buffer.count {
            let count = write(descriptor, base + written, buffer.count - written)
            if count <= 0 { break }
            written += count
        }
    }
    close(descriptor)
    fuzzExpect(written == bytes.count, "short write to \(path)")
}

/// `<script` in the HTML of a report without capture data: the template's own, if any.
let baselineScriptTags: Int = {
    let empty = Report(run: RunResult(), figures: ReportBuilder(), options: AnalysisOptions())
    return scriptTags(in: empty.html())
}()

/// Occurrences of `<script`, in any case, counted over the UTF-8 bytes.
func scriptTags(in html: String) -> Int {
    let tag = Array("<script".utf8)
    var count = 0
    var matched = 0
    for byte in html.utf8 {
        let lower = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
        matched = lower == tag[matched] ? matched + 1 : (lower == tag[0] ? 1 : 0)
        if matched == tag.count {
            count += 1
            matched = 0
        }
    }
    return count
}

func check(_ report: Report, lines: [String]) {
    let figures = report.figures
    // Text report: every figure line renders, no control character from capture data.
    let human = report.human()
    let control = human.utf8.first { $0 < 0x20 && $0 != 0x0A || $0 == 0x7F }
    fuzzExpect(control == nil, "control character 0x\(String(control ?? 0, radix: 16)) in the text report")
    let textTotals = totals(inTextReport: human)

    // JSON: parses, and its totals add up and agree with the text report and the builder.
    let json = report.json().serialized(pretty: true)
    let parsed = try? JSONSerialization.jsonObject(with: Data(json.utf8))
    guard let document = parsed as? [String: Any] else {
        fuzzExpect(false, "the JSON report does not parse: \(json.prefix(300))")
        return
    }
    let totals = document["totals"] as? [String: Any] ?? [:]
    func total(_ key: String) -> Int { totals[key] as? Int ?? -1 }
    fuzzExpect(total("transactions") == figures.transactions, "JSON transactions \(total("transactions"))")
    fuzzExpect(total("transactions") == total("answered") + total("unanswered") + total("rejected")
                   + total("in_flight") + total("multicast") + total("failed_tcp_connections"),
               "JSON totals do not add up: \(totals)")
    for key in ["transactions", "answered", "unanswered", "retried"] {
        fuzzExpect(textTotals[key] == total(key), "text report \(key) \(textTotals[key] ?? -1), JSON \(total(key))")
    }
    fuzzExpect((textTotals["rejected"] ?? 0) == total("rejected"), "text report rejected, JSON \(total("rejected"))")
    fuzzExpect((textTotals["multicast"] ?? 0) == total("multicast"), "text report multicast, JSON \(total("multicast"))")
    let servers = document["servers"] as? [[String: Any]] ?? []
    // Servers beyond the cap are pooled in `other_servers`, so the rows still add up.
    let other = document["other_servers"] as? [String: Any] ?? [:]
    func sum(_ key: String) -> Int { servers.reduce(other[key] as? Int ?? 0) { $0 + ($1[key] as? Int ?? 0) } }
    fuzzExpect(sum("queries") == total("answered") + total("unanswered") + total("rejected") + total("in_flight"),
               "server queries \(sum("queries")) against totals \(totals)")
    fuzzExpect(sum("answered") == total("answered"), "server answers \(sum("answered")) against \(total("answered"))")
    for server in servers {
        guard let latency = server["latency_ms"] as? [String: Any] else { continue }
        for (key, value) in latency {
            fuzzExpect((value as? Double ?? 0) >= 0, "negative server latency \(key) \(value)")
        }
    }
    if let range = document["time_range"] as? [String: Any] {
        fuzzExpect((range["seconds"] as? Double ?? 0) >= 0, "negative time range \(range)")
    }

    // NDJSON: one line per transaction, each a JSON object, latency never negative.
    fuzzExpect(lines.count == figures.transactions, "\(lines.count) NDJSON lines for \(figures.transactions) transactions")
    var answeredLines = 0
    // All lines in one parse (as one array); line by line only to name the one that fails.
    let all = (try? JSONSerialization.jsonObject(with: Data(("[" + lines.joined(separator: ",") + "]").utf8))) as? [Any]
    if all?.count != lines.count || all?.contains(where: { !($0 is [String: Any]) }) != false {
        for line in lines where !((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any]) {
            fuzzExpect(false, "NDJSON line does not parse as an object: \(line.prefix(300))")
        }
        fuzzExpect(lines.isEmpty, "NDJSON lines do not parse together")
    }
    for (object, line) in zip(all as? [[String: Any]] ?? [], lines) {
        if let latency = object["latency_ms"] as? Double {
            fuzzExpect(latency >= 0, "negative latency_ms \(latency): \(line.prefix(400))")
        }
        if object["outcome"] as? String == "answered" { answeredLines += 1 }
    }
    fuzzExpect(answeredLines == total("answered"), "\(answeredLines) answered NDJSON lines, JSON \(total("answered"))")

    // HTML: capture data never opens a script.
    let html = report.html()
    fuzzExpect(scriptTags(in: html) == baselineScriptTags, "capture data opened a <script in the HTML report")
    fuzzLog("\(figures.transactions) transactions, \(servers.count) servers, \(report.findings.count) findings, "
            + "timeline \(figures.timeline.bucketCount) buckets of \(figures.timeline.bucketSeconds) s; JSON \(json.utf8.count) B, "
            + "HTML \(html.utf8.count) B")
}

/// The counts of the text report's "Transactions" line: `Transactions 12 answered 10 (…) …`.
func totals(inTextReport text: String) -> [String: Int] {
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Transactions ") }) else { return [:] }
    let words = line.split(separator: " ")
    var totals: [String: Int] = [:]
    for (word, next) in zip(words, words.dropFirst()) {
        if let value = Int(next) { totals[word == "Transactions" ? "transactions" : String(word)] = value }
    }
    return totals
}
