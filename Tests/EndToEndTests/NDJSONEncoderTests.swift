import Attribution
import DNSWire
import Foundation
import PacketDecoding
@testable import Reports
import Testing
import Transactions
import WireCore

/// The NDJSON line is written straight into bytes; it must stay byte for byte what the
/// `String`-building implementation wrote (kept below as the reference).
struct NDJSONEncoderTests {
    /// Strings that need every kind of escape, and some that need none.
    static let awkwardStrings = [
        "", "example.com.", "a\"quote", "back\\slash", "new\nline", "\r\t", "\u{0}\u{1}\u{1f}\u{7f}",
        "caf\u{e9}.example.", "\u{1F600}.example.", "mixed \"\\\u{8}\u{c} é", String(repeating: "x", count: 300) + "\"",
        "\\\\\\", "\u{2028}\u{2029}", "end\"",
    ]

    @Test(arguments: Paths.bundledCaptures)
    func linesMatchTheReference(capture: URL) throws {
        let directory = try ClusterDirectory.load(path: Paths.captures.appendingPathComponent("k8s/egress-deny-cluster.json").path)
        let analysed = try AnalysedCapture(capture)
        let encoder = NDJSONEncoder()
        let attributed = NDJSONEncoder(directory: directory)
        var line: [UInt8] = []
        for transaction in analysed.transactions {
            line.removeAll(keepingCapacity: true)
            encoder.append(transaction, to: &line)
            #expect(String(decoding: line, as: UTF8.self) == legacyNDJSONLine(transaction))
            #expect(ndjsonLine(transaction) == legacyNDJSONLine(transaction))
            line.removeAll(keepingCapacity: true)
            attributed.append(transaction, to: &line)
            #expect(String(decoding: line, as: UTF8.self) == legacyNDJSONLine(transaction, directory: directory))
        }
    }

    /// Every optional part of a line at once, with names and codes that need escaping.
    @Test func everyFieldAndEscape() throws {
        let fallbacks = try AnalysedCapture(Paths.captures.appendingPathComponent("tc-fallback.pcap")).transactions
        let rejections = try AnalysedCapture(Paths.captures.appendingPathComponent("udp-reject.pcap")).transactions
        var template = try #require(fallbacks.first { $0.fallback != nil })
        template.rejection = rejections.compactMap(\.rejection).first
        template.vlanIDs = VLANIDs([100, 4094])
        template.seenOn = [3, 0, 12]
        template.interfaceIndex = 7
        template.underlay = Underlay(encapsulation: .geneve, source: IPAddress(ipv4: 0xc0a8_0001),
                                     destination: try #require(IPAddress("fd00::2")), networkIdentifier: 16_777_215)
        let encoder = NDJSONEncoder()
        var line: [UInt8] = []
        for (index, name) in Self.awkwardStrings.enumerated() {
            var transaction = template
            transaction.qname = index == 0 ? nil : name
            transaction.question?.type = DNSType(rawValue: UInt16(index * 4099 % 65_536))
            transaction.question?.qclass = DNSClass(rawValue: UInt16(index * 257))
            transaction.id = UInt16(index * 5000)
            transaction.client.port = UInt16(index * 4700)
            if index % 2 == 1 { transaction.response?.rcode = DNSRCode(rawValue: UInt16(index * 300)) }
            if index % 3 == 1 { transaction.response = nil }
            if index % 4 == 1 { transaction.fallback?.id = nil; transaction.fallback?.rcode = nil }
            if index % 5 == 1 { transaction.underlay?.networkIdentifier = nil }
            line.removeAll(keepingCapacity: true)
            encoder.append(transaction, to: &line)
            #expect(String(decoding: line, as: UTF8.self) == legacyNDJSONLine(transaction), "\(name)")
        }
    }

    @Test func quotingMatchesTheReference() {
        for value in Self.awkwardStrings + (0..<0x80).map({ String(UnicodeScalar(UInt8($0))) }) {
            let bytes = TextBuffer(capacity: 8)
            JSONValue.appendQuoted(value, to: bytes)
            var expected = ""
            legacyAppendQuoted(value, to: &expected)
            #expect(String(decoding: bytes.bytes, as: UTF8.self) == expected)
            // And inside a serialized value (the report's JSON goes through the same bytes).
            #expect(JSONValue.array([.string(value)]).serialized() == "[" + expected + "]")
        }
    }

    /// Milliseconds with up to three decimals: zero, negative zero, negative, rounding
    /// across a whole number, trailing zeros, and random latencies in nanoseconds.
    @Test func numbersMatchTheReference() {
        var values: [Double] = [0, -0.0, 0.0004, 0.0005, -0.0005, 0.001, -0.001, 0.1, 0.12, 0.123, 0.1234, 1, -1,
                                1.9995, 2.5, 999.9999, 1000, 12_345.678_9, -12_345.6785, .infinity, -.infinity, .nan,
                                1e15, -1e15, 3_600_000.5]
        var state: UInt64 = 42
        for _ in 0..<20_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let nanoseconds = Int64(bitPattern: state >> 20) - (1 << 43)
            values.append(Duration(nanoseconds: nanoseconds).milliseconds)
        }
        for value in values {
            let bytes = TextBuffer(capacity: 8)
            JSONValue.appendNumber(value, to: bytes)
            #expect(String(decoding: bytes.bytes, as: UTF8.self) == legacyFormat(value), "\(value)")
            #expect(JSONValue.format(value) == legacyFormat(value), "\(value)")
        }
    }

    /// A buffer grows past its first capacity and keeps what it held.
    @Test func bufferGrows() {
        let buffer = TextBuffer(capacity: 1)
        var expected = ""
        for value in 0..<2_000 {
            buffer.appendDecimal(value * 7919)
            buffer.append(",")
            buffer.append(string: "é\"")
            expected += "\(value * 7919),é\""
        }
        #expect(String(decoding: buffer.bytes, as: UTF8.self) == expected)
        buffer.removeLast()
        #expect(buffer.count == expected.utf8.count - 1)
    }

    @Test func decimalsMatchString() {
        var values: [Int] = [0, 1, 9, 10, 99, 100, Int.max, Int.min, -1, -10]
        var state: UInt64 = 7
        for _ in 0..<5_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            values.append(Int(bitPattern: UInt(state)) >> Int(state % 63))
        }
        // A small buffer, so that growing is exercised too.
        let bytes = TextBuffer(capacity: 8)
        for value in values {
            bytes.removeAll()
            bytes.appendDecimal(value)
            #expect(String(decoding: bytes.bytes, as: UTF8.self) == String(value))
        }
        bytes.removeAll()
        bytes.appendDecimal(UInt64.max)
        bytes.appendDigits(42, count: 5)
        bytes.append(",")
        #expect(String(decoding: bytes.bytes, as: UTF8.self) == String(UInt64.max) + "00042,")
    }
}

// MARK: - The reference: the String-building implementation the encoder replaced.

private func legacyNDJSONLine(_ transaction: Transaction, directory: ClusterDirectory? = nil) -> String {
    var line = "{\"time\":\""
    line += transaction.firstTime.rfc3339
    line += "\",\"client\":"
    legacyAppendEndpoint(transaction.client, to: &line)
    if let pod = directory?.pod(at: transaction.client.ip) {
        line.removeLast()
        line += ",\"pod\":"
        legacyAppendQuoted(pod.name, to: &line)
        line += ",\"namespace\":"
        legacyAppendQuoted(pod.namespace, to: &line)
        if let node = pod.node {
            line += ",\"node\":"
            legacyAppendQuoted(node, to: &line)
        }
        line += "}"
    }
    line += ",\"server\":"
    legacyAppendEndpoint(transaction.server, to: &line)
    line += ",\"transport\":\"\(transaction.transport)\",\"id\":\(transaction.id),\"qname\":"
    if let qname = transaction.qname { legacyAppendQuoted(qname, to: &line) } else { line += "null" }
    line += ",\"qtype\":"
    if let question = transaction.question {
        legacyAppendQuoted(question.type.description, to: &line)
        line += ",\"qclass\":"
        legacyAppendQuoted(question.qclass.description, to: &line)
    } else {
        line += "null,\"qclass\":null"
    }
    line += ",\"opcode\":\"\(transaction.opcode)\",\"outcome\":\"\(transaction.outcome.rawValue)\",\"rcode\":"
    if let response = transaction.response { legacyAppendQuoted(response.rcode.description, to: &line) } else { line += "null" }
    line += ",\"query_frames\":["
    for (index, attempt) in transaction.attempts.enumerated() {
        if index > 0 { line += "," }
        line += String(attempt.frame)
    }
    line += "],\"attempts\":\(transaction.attemptCount),\"response_frame\":"
    if let response = transaction.response {
        line += String(response.frame)
        line += ",\"answered_frame\":"
        line += String(transaction.attempts.indices.contains(response.attemptIndex)
            ? transaction.attempts[response.attemptIndex].frame : transaction.attempts.first?.frame ?? 0)
    } else {
        line += "null,\"answered_frame\":null"
    }
    line += ",\"latency_ms\":"
    if let latency = transaction.latency { line += legacyFormat(latency.milliseconds) } else { line += "null" }
    line += ",\"truncated\":\(transaction.isTruncated)"
    line += ",\"expired\":"
    if let expiry = transaction.expiry { line += "\"\(expiry.rawValue)\"" } else { line += "null" }
    if let fallback = transaction.fallback {
        line += ",\"fallback\":{\"outcome\":\"\(fallback.outcome.rawValue)\",\"transport\":\"tcp\""
        line += ",\"client_port\":\(fallback.clientPort),\"id\":" + (fallback.id.map(String.init) ?? "null")
        line += ",\"frames\":[" + fallback.frames.map(String.init).joined(separator: ",") + "]"
        line += ",\"attempts\":\(fallback.attempts),\"response_frame\":" + (fallback.responseFrame.map(String.init) ?? "null")
        line += ",\"rcode\":" + (fallback.rcode.map { "\"\($0)\"" } ?? "null")
        line += ",\"reset_frame\":" + (fallback.resetFrame.map(String.init) ?? "null") + "}"
    }
    if let rejection = transaction.rejection {
        line += ",\"icmp\":{\"frame\":\(rejection.frame),\"type\":\(rejection.error.type),\"code\":\(rejection.error.code)"
        line += ",\"reason\":\"\(rejection.error.reason)\",\"from\":\"\(rejection.error.sender)\"}"
    }
    if transaction.vlanIDs.count > 0 {
        line += ",\"vlan\":[" + transaction.vlanIDs.array.map(String.init).joined(separator: ",") + "]"
    }
    if let source = transaction.response?.source {
        line += ",\"answered_from\":"
        legacyAppendEndpoint(source, to: &line)
    }
    if let backend = transaction.backend {
        line += ",\"backend\":"
        legacyAppendEndpoint(backend, to: &line)
    }
    if !transaction.seenOn.isEmpty {
        line += ",\"seen_on\":[" + transaction.seenOn.map(String.init).joined(separator: ",") + "]"
    }
    if let underlay = transaction.underlay {
        line += ",\"underlay\":{\"encapsulation\":\"\(underlay.encapsulation.rawValue)\",\"source\":\"\(underlay.source)\""
        line += ",\"destination\":\"\(underlay.destination)\",\"id\":" + (underlay.networkIdentifier.map(String.init) ?? "null") + "}"
    }
    if transaction.interfaceIndex >= 0 { line += ",\"interface\":\(transaction.interfaceIndex)" }
    line += "}"
    return line
}

private func legacyAppendEndpoint(_ endpoint: Endpoint, to line: inout String) {
    line += "{\"ip\":\"\(endpoint.ip)\",\"port\":\(endpoint.port)}"
}

private func legacyFormat(_ value: Double) -> String {
    guard value.isFinite else { return "null" }
    let scaled = (value * 1000).rounded()
    let negative = scaled < 0
    let magnitude = Int64(abs(scaled))
    var text = String(magnitude / 1000)
    let fraction = magnitude % 1000
    if fraction != 0 {
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        text += "." + digits
    }
    return negative ? "-" + text : text
}

private func legacyAppendQuoted(_ value: String, to output: inout String) {
    output += "\""
    for scalar in value.unicodeScalars {
        switch scalar {
        case "\"": output += "\\\""
        case "\\": output += "\\\\"
        case "\n": output += "\\n"
        case "\r": output += "\\r"
        case "\t": output += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: output.unicodeScalars.append(scalar)
        }
    }
    output += "\""
}
