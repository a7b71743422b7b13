import DNSWire
import Foundation
import Pipeline
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Reports
@testable import Transactions

/// The HTML report as a browser shows it: rendered by a real headless Chromium, whose
/// dumped DOM must hold the findings and one bar group per charted source, and whose
/// screenshot must not be blank (decoded here; a white page fails the same check).
///
/// Set `DNSTRAIL_UPDATE_SCREENSHOT=1` to rewrite `docs/report-html.png` from the
/// egress-deny report (the README shows it).
@Suite(.serialized)
struct HTMLReportTests {
    static let egressDeny = Paths.captures.appendingPathComponent("egress-deny.pcap")
    static let tcpBlocked = Paths.captures.appendingPathComponent("tcp-blocked.pcap")

    @Test func egressDenyShowsTheBlindedPodInChromium() throws {
        var report = try AnalysedCapture(Self.egressDeny).report
        report.run.inputs[0].path = "captures/egress-deny.pcap"  // as the command line would name it
        let html = report.html()
        let page = try Chromium.render(html)
        expectText("egress-blocked", in: page)
        expectText("10.244.1.11", in: page)
        expectText("DNS blocked for 10.244.1.11", in: page)
        expectText("{protocol: TCP, port: 53}", in: page)

        let timeline = try #require(ChartMarkup(dom: page.dom))
        #expect(timeline.legend == ["10.244.1.11", "10.244.1.10"], "the failing source first")
        for source in timeline.legend {
            #expect((timeline.rectangles[source] ?? 0) >= 1, "no bar for \(source)")
        }
        #expect((timeline.failed["10.244.1.11"] ?? 0) >= 1, "the blinded pod's failures are drawn below the axis")
        #expect(timeline.failed["10.244.1.10"] == nil, "the healthy pod has no failure bars")
        #expect(timeline.latencyBars >= 1)
        expectText(">00:24:16</text>", in: page)  // time labels in UTC HH:MM:SS

        let image = try page.screenshot()
        #expect(image.width == 1280 && image.height == Chromium.windowHeight)
        #expect(!image.isBlank, "\(image.summary)")
        // The first source's colour fills its bars: the SVG chart itself was painted.
        #expect(image.count(of: 0x4E79A7) > 500, "\(image.summary)")
        #expect(image.count(of: 0xFDECEA) > 500, "the red band under the axis: \(image.summary)")

        if ProcessInfo.processInfo.environment["DNSTRAIL_UPDATE_SCREENSHOT"] == "1" {
            let target = Paths.root.appendingPathComponent("docs/report-html.png")
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            // The whole page, for the README.
            try Chromium.render(html, height: Chromium.fullPageHeight).screenshotPNG.write(to: target)
        }
    }

    @Test func tcpBlockedShowsTheFailedFallbacksInChromium() throws {
        let html = try AnalysedCapture(Self.tcpBlocked).report.html()
        let page = try Chromium.render(html)
        expectText("tcp-blocked", in: page)
        expectText("handshake_failed</span> (2 SYN)", in: page)
        expectText("big.sales.svc.cluster.local.", in: page)
        let timeline = try #require(ChartMarkup(dom: page.dom))
        #expect(Set(timeline.legend) == ["10.244.1.10", "10.244.1.11"])
        for source in timeline.legend {
            #expect((timeline.rectangles[source] ?? 0) >= 1, "no bar for \(source)")
        }
        #expect(timeline.latencyBars >= 1)
        let image = try page.screenshot()
        #expect(!image.isBlank, "\(image.summary)")
        #expect(image.count(of: 0x4E79A7) > 500, "\(image.summary)")
    }

    /// The check above must be able to fail: a white page is blank, and so is a page whose
    /// only content is invisible.
    @Test func aWhitePageIsBlank() throws {
        let white = try Chromium.render("<!DOCTYPE html><html><head></head><body></body></html>").screenshot()
        #expect(white.isBlank, "\(white.summary)")
        #expect(white.count(of: 0x4E79A7) == 0)
    }

    /// Names come off the wire and identities from kubectl: `<`, `&` and quotes in them
    /// must stay text, in the page and in the browser's DOM.
    @Test func stringsFromTheCaptureAreEscaped() throws {
        var report = try AnalysedCapture(Self.egressDeny).report
        let hostile = "<script>alert(\"x\")</script>&'.evil."
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;.evil."
        let client = try #require(IPAddress("10.244.9.9"))
        report.figures.add(Self.transaction(from: client, at: 1_795_652_655, qname: hostile, answered: false))
        report.findings.append(Finding(
            kind: .egressBlocked, confidence: .low, title: hostile, explanation: hostile, counts: [(hostile, 1)],
            sources: [NamedAddress(ip: client, identity: hostile, namespace: hostile)], servers: [],
            examples: [EvidenceExample(client: hostile, server: hostile, transport: hostile, qname: hostile, qtype: hostile,
                                       outcome: hostile, frames: [99], note: hostile)],
            remediation: hostile, frames: [99]))
        let html = report.html()
        #expect(!html.contains("<script"))
        #expect(!html.contains("\"x\""))
        #expect(html.components(separatedBy: escaped).count - 1 >= 8, "title, explanation, counts, sources, examples, remediation, unanswered table")

        let page = try Chromium.render(html)
        #expect(page.dom.components(separatedBy: "<script").count == 1, "a script element in the DOM")
        expectText("&lt;script&gt;alert(\"x\")&lt;/script&gt;&amp;'.evil.", in: page)  // parsed as text
        let timeline = try #require(ChartMarkup(dom: page.dom))
        #expect(timeline.legend.contains("10.244.9.9"))
    }

    /// Nothing in the page can reach the network: no `src`, no `href` but in-page anchors,
    /// no CSS `url()` or `@import`, no URL at all, and a policy that forbids fetching.
    @Test(arguments: Paths.bundledCaptures)
    func pageIsSelfContained(capture: URL) throws {
        let html = try AnalysedCapture(capture).report.html()
        let lowercased = html.lowercased()
        #expect(!lowercased.contains("src="))
        #expect(!lowercased.contains("url("))
        #expect(!lowercased.contains("@import"))
        #expect(!lowercased.contains("<script"))
        #expect(!lowercased.contains("http://") && !lowercased.contains("https://"))
        #expect(!lowercased.contains("//www."), "not even an SVG namespace")
        for reference in lowercased.components(separatedBy: "href=").dropFirst() {
            #expect(reference.hasPrefix("\"#"), "\(reference.prefix(40))")
        }
        #expect(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"))
        #expect(html == (try AnalysedCapture(capture).report.html()), "the same capture gives the same page")
    }

    /// A busy node: 20 sources over 20 minutes. The chart keeps the 8 with the most
    /// failures (then queries), pools the rest as "other", and labels round UTC times.
    @Test func manySourcesArePooledAsOther() throws {
        var figures = ReportBuilder()
        let start: Int64 = 1_795_652_655
        for index in 0..<20 {
            let client = try #require(IPAddress("10.244.2.\(index + 1)"))
            for second in stride(from: Int64(index), to: 1200, by: 7) {
                // Sources 10.244.2.15 … 10.244.2.20 fail now and then, the others never.
                let answered = index < 14 || second % 3 != 0
                figures.add(Self.transaction(from: client, at: start + second, qname: "svc\(index).example.", answered: answered))
            }
        }
        let html = Report(run: RunResult(), figures: figures, options: AnalysisOptions()).html()
        let chart = try #require(ChartMarkup(dom: html))
        #expect(chart.legend.count == 9)
        #expect(Array(chart.legend.prefix(6)).sorted() == (15...20).map { "10.244.2.\($0)" }, "failing sources first")
        #expect(chart.legend.last == "other")
        for source in chart.legend { #expect((chart.rectangles[source] ?? 0) >= 1, "no bar for \(source)") }
        #expect(html.contains("other 12 sources"))
        let labels = html.components(separatedBy: "<text class=\"tick\"").dropFirst()
            .map { String($0.drop { $0 != ">" }.dropFirst().prefix(8)) }
        #expect((5...12).contains(labels.count), "\(labels)")
        #expect(labels.allSatisfy { $0.hasSuffix(":00") || $0.hasSuffix(":30") }, "round times: \(labels)")
    }

    static func transaction(from client: IPAddress, at seconds: Int64, qname: String, answered: Bool) -> Transaction {
        let time = Timestamp(seconds: seconds, nanoseconds: 0)
        let server = Endpoint(ip: IPAddress(ipv4: 0x0A60_000A), port: 53)
        let response = answered ? ResponseRecord(frame: 2, time: time + .milliseconds(1), rcode: .noError, isTruncated: false,
                                                 attemptIndex: 0) : nil
        return Transaction(
            client: Endpoint(ip: client, port: 40_000), server: server, transport: .udp, id: 7,
            opcode: .query, qname: qname, question: QuestionKey(nameHash: 1, type: .a, qclass: DNSClass(1)),
            vlanIDs: VLANIDs(), interfaceIndex: -1, underlay: nil,
            attempts: Attempts(Attempt(frame: 1, time: time, clientPort: 40_000)), droppedAttempts: 0, response: response,
            rejection: nil, fallback: nil, outcome: answered ? .answered : .unanswered,
            expiry: answered ? nil : .timeout, lastTime: time)
    }

    @Test func latencyBinsAreLabelledInBinaryUnits() {
        #expect(LatencyChart.label(bin: 0) == "<2 µs")
        #expect(LatencyChart.label(bin: 7) == "128–256 µs")
        #expect(LatencyChart.label(bin: 9) == "512 µs–1 ms")
        #expect(LatencyChart.label(bin: 10) == "1–2 ms")
        #expect(LatencyChart.label(bin: 19) == "512 ms–1 s")
        #expect(LatencyChart.label(bin: 22) == "4–8 s")
    }
}

// MARK: - Reading the dumped DOM

/// Expects `text` in the page's DOM, without printing the whole DOM when it is missing.
func expectText(_ text: String, in page: RenderedPage, sourceLocation: SourceLocation = #_sourceLocation) {
    let found = page.dom.contains(text)
    #expect(found, "\(text) is not in the rendered page", sourceLocation: sourceLocation)
}

/// The charts as the browser's DOM holds them: legend entries of the timeline, rectangles
/// per series group (each source is one `<g class="series" data-source=...>`), latency bars.
struct ChartMarkup {
    var legend: [String] = []
    var rectangles: [String: Int] = [:]
    var failed: [String: Int] = [:]
    var latencyBars = 0

    init?(dom: String) {
        guard let timeline = Self.element(dom, from: "<svg class=\"chart timeline\"", to: "</svg>"),
              let legendList = Self.element(dom, from: "<ul class=\"legend\">", to: "</ul>") else { return nil }
        for item in legendList.components(separatedBy: "<li data-source=\"").dropFirst() {
            legend.append(String(item.prefix { $0 != "\"" }))
        }
        for group in timeline.components(separatedBy: "<g class=\"series\" data-source=\"").dropFirst() {
            let source = String(group.prefix { $0 != "\"" })
            let body = group.components(separatedBy: "</g>").first ?? ""
            rectangles[source] = body.components(separatedBy: "<rect").count - 1
            let failures = body.components(separatedBy: "<rect class=\"failed\"").count - 1
            if failures > 0 { failed[source] = failures }
        }
        if let latency = Self.element(dom, from: "<svg class=\"chart latency\"", to: "</svg>"),
           let bars = Self.element(latency, from: "<g class=\"bars\"", to: "</g>") {
            latencyBars = bars.components(separatedBy: "<rect").count - 1
        }
    }

    static func element(_ text: String, from start: String, to end: String) -> String? {
        guard let opening = text.range(of: start),
              let closing = text.range(of: end, range: opening.upperBound..<text.endIndex) else { return nil }
        return String(text[opening.lowerBound..<closing.upperBound])
    }
}

// MARK: - Headless Chromium

/// One page rendered by headless Chromium: its DOM after loading, and a screenshot.
struct RenderedPage {
    var dom: String
    var screenshotPNG: Data

    func screenshot() throws -> PNGImage { try PNGImage(bytes: [UInt8](screenshotPNG)) }
}

enum Chromium {
    static let windowWidth = 1280
    static let windowHeight = 2000
    /// Tall enough for the whole egress-deny report (the README's screenshot).
    static let fullPageHeight = 2800
    static let timeoutSeconds = 120.0

    /// Debian's `chromium` (installed by scripts/install-deps), or another Chromium on PATH.
    static var executable: String? {
        which("chromium") ?? which("chromium-browser") ?? which("google-chrome")
    }

    /// Writes `html` to a temporary file and has Chromium load it, dump the DOM and take a
    /// screenshot of the window. Host resolution is disabled: a page that tried to reach
    /// the network would find nothing.
    static func render(_ html: String, height: Int = windowHeight) throws -> RenderedPage {
        let chromium = try #require(executable, "Chromium is missing: run scripts/install-deps (Debian package chromium)")
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("dnstrail-html-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pageURL = directory.appendingPathComponent("report.html")
        let screenshotURL = directory.appendingPathComponent("screenshot.png")
        let domURL = directory.appendingPathComponent("dom.html")
        let errorsURL = directory.appendingPathComponent("chromium.log")
        try html.write(to: pageURL, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: domURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errorsURL.path, contents: nil)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--force-device-scale-factor=1", "--user-data-dir=\(directory.appendingPathComponent("profile").path)",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=\(windowWidth),\(height)", "--screenshot=\(screenshotURL.path)",
            "--dump-dom", pageURL.absoluteString,
        ]
        // Files, not pipes: the DOM can outgrow a pipe's buffer before Chromium exits.
        process.standardOutput = try FileHandle(forWritingTo: domURL)
        process.standardError = try FileHandle(forWritingTo: errorsURL)
        try process.run()
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw ProgramFailure(program: chromium, status: -1, message: "no result within \(Int(timeoutSeconds)) s")
        }
        let errors = (try? String(contentsOf: errorsURL, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: screenshotURL.path) else {
            throw ProgramFailure(program: chromium, status: process.terminationStatus, message: String(errors.suffix(2000)))
        }
        return RenderedPage(dom: try String(contentsOf: domURL, encoding: .utf8), screenshotPNG: try Data(contentsOf: screenshotURL))
    }
}

// MARK: - PNG

/// A decoded 8-bit PNG (grey, RGB, grey+alpha or RGBA, not interlaced, as Chromium writes
/// them), as 0xRRGGBB pixels with alpha dropped. The zlib stream is inflated by Python's
/// zlib module; chunks and scanline filters (PNG spec §9) are decoded here.
struct PNGImage {
    var width: Int
    var height: Int
    var pixels: [UInt32]

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    init(bytes: [UInt8]) throws {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count > 8, Array(bytes[0..<8]) == signature else { throw Malformed(description: "not a PNG") }
        func bigEndian(_ offset: Int) -> Int {
            bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
        }
        var offset = 8
        var header: [UInt8] = []
        var compressed: [UInt8] = []
        while offset + 12 <= bytes.count {
            let length = bigEndian(offset)
            let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
            guard offset + 12 + length <= bytes.count else { throw Malformed(description: "chunk \(type) cut") }
            let data = bytes[offset + 8..<offset + 8 + length]
            if type == "IHDR" { header = Array(data) }
            if type == "IDAT" { compressed += data }
            if type == "IEND" { break }
            offset += 12 + length
        }
        guard header.count == 13 else { throw Malformed(description: "no IHDR") }
        width = header[0..<4].reduce(0) { $0 << 8 | Int($1) }
        height = header[4..<8].reduce(0) { $0 << 8 | Int($1) }
        let channelsByColourType: [UInt8: Int] = [0: 1, 2: 3, 4: 2, 6: 4]
        guard header[8] == 8, let channels = channelsByColourType[header[9]], header[12] == 0 else {
            throw Malformed(description: "unsupported PNG: depth \(header[8]), colour type \(header[9]), interlace \(header[12])")
        }
        let raw = try PNGImage.inflate(compressed)
        let rowBytes = width * channels
        guard raw.count == height * (rowBytes + 1) else {
            throw Malformed(description: "\(raw.count) bytes of image data for \(width)×\(height)×\(channels)")
        }
        var previous = [UInt8](repeating: 0, count: rowBytes)
        var row = [UInt8](repeating: 0, count: rowBytes)
        pixels = []
        pixels.reserveCapacity(width * height)
        for y in 0..<height {
            let start = y * (rowBytes + 1)
            let filter = raw[start]
            for x in 0..<rowBytes {
                let value = raw[start + 1 + x]
                let left = x >= channels ? Int(row[x - channels]) : 0
                let up = Int(previous[x])
                let upLeft = x >= channels ? Int(previous[x - channels]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = left
                case 2: predictor = up
                case 3: predictor = (left + up) / 2
                case 4:
                    let estimate = left + up - upLeft
                    let (toLeft, toUp, toUpLeft) = (abs(estimate - left), abs(estimate - up), abs(estimate - upLeft))
                    predictor = toLeft <= toUp && toLeft <= toUpLeft ? left : toUp <= toUpLeft ? up : upLeft
                default: throw Malformed(description: "filter \(filter) in row \(y)")
                }
                row[x] = UInt8(truncatingIfNeeded: Int(value) + predictor)
            }
            for x in 0..<width {
                let base = x * channels
                if channels <= 2 {
                    let grey = UInt32(row[base])
                    pixels.append(grey << 16 | grey << 8 | grey)
                } else {
                    pixels.append(UInt32(row[base]) << 16 | UInt32(row[base + 1]) << 8 | UInt32(row[base + 2]))
                }
            }
            swap(&previous, &row)
        }
    }

    static func inflate(_ stream: [UInt8]) throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dnstrail-png-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("idat.z")
        let output = directory.appendingPathComponent("idat.raw")
        try Data(stream).write(to: input)
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : which("python3")
        _ = try runProgram(try #require(python, "python3 is missing: run scripts/install-deps"), [
            "-c", "import sys, zlib; open(sys.argv[2], 'wb').write(zlib.decompress(open(sys.argv[1], 'rb').read()))",
            input.path, output.path,
        ])
        return [UInt8](try Data(contentsOf: output))
    }

    /// Pixels of exactly this colour (0xRRGGBB).
    func count(of colour: UInt32) -> Int { pixels.reduce(0) { $0 + ($1 == colour ? 1 : 0) } }

    var distinctColours: Int { Set(pixels).count }

    /// Share of pixels that are not pure white.
    var inkedShare: Double {
        Double(pixels.reduce(0) { $0 + ($1 == 0xFFFFFF ? 0 : 1) }) / Double(max(1, pixels.count))
    }

    /// Blank: one or two colours, or almost nothing but white. A rendered report has text,
    /// charts in several colours and tinted panels.
    var isBlank: Bool { distinctColours <= 2 || inkedShare < 0.01 }

    var summary: String {
        "\(width)×\(height), \(distinctColours) colours, \(Int(inkedShare * 1000) / 10)% not white"
    }
}
