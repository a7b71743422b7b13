import Attribution
import DNSWire
import PacketDecoding
import Transactions
import WireCore

/// One line of `--format ndjson`: a transaction as a flat JSON object. Field order and
/// names are the documented schema (README "Output formats").
///
/// A `String` for tests and one-off callers; the CLI writes lines with `NDJSONEncoder`.
public func ndjsonLine(_ transaction: Transaction, directory: ClusterDirectory? = nil) -> String {
    var encoder = NDJSONEncoder(directory: directory)
    var line: [UInt8] = []
    encoder.append(transaction, to: &line)
    return String(decoding: line, as: UTF8.self)
}

/// Writes `--format ndjson` lines straight into UTF-8 bytes: no intermediate `String`, no
/// allocation once the caller's buffer has grown to a line. Byte for byte what
/// `ndjsonLine(_:directory:)` returns.
///
/// Keeps the date-and-time text of the last second it wrote (transactions close in capture
/// order, so most lines share it with the one before).
public struct NDJSONEncoder {
    /// Adds `pod`, `namespace` and `node` to the client of a transaction from a known pod.
    public let directory: ClusterDirectory?
    private var times = RFC3339Formatter()

    public init(directory: ClusterDirectory? = nil) {
        self.directory = directory
    }

    /// Appends the line of `transaction`, without a newline.
    public mutating func append(_ transaction: Transaction, to line: inout [UInt8]) {
        literal("{\"time\":\"", to: &line)
        times.append(transaction.firstTime, to: &line)
        literal("\",\"client\":", to: &line)
        endpoint(transaction.client, to: &line)
        if let pod = directory?.pod(at: transaction.client.ip) {
            line.removeLast()
            literal(",\"pod\":", to: &line)
            JSONValue.appendQuoted(pod.name, to: &line)
            literal(",\"namespace\":", to: &line)
            JSONValue.appendQuoted(pod.namespace, to: &line)
            if let node = pod.node {
                literal(",\"node\":", to: &line)
                JSONValue.appendQuoted(node, to: &line)
            }
            literal("}", to: &line)
        }
        literal(",\"server\":", to: &line)
        endpoint(transaction.server, to: &line)
        literal(",\"transport\":\"", to: &line)
        transport(transaction.transport, to: &line)
        literal("\",\"id\":", to: &line)
        JSONValue.appendDecimal(transaction.id, to: &line)
        literal(",\"qname\":", to: &line)
        if let qname = transaction.qname { JSONValue.appendQuoted(qname, to: &line) } else { literal("null", to: &line) }
        literal(",\"qtype\":", to: &line)
        if let question = transaction.question {
            JSONValue.appendQuoted(question.type.description, to: &line)
            literal(",\"qclass\":", to: &line)
            JSONValue.appendQuoted(question.qclass.description, to: &line)
        } else {
            literal("null,\"qclass\":null", to: &line)
        }
        literal(",\"opcode\":\"", to: &line)
        JSONValue.appendUnescaped(transaction.opcode.description, to: &line)
        literal("\",\"outcome\":\"", to: &line)
        JSONValue.appendUnescaped(transaction.outcome.rawValue, to: &line)
        literal("\",\"rcode\":", to: &line)
        if let response = transaction.response {
            JSONValue.appendQuoted(response.rcode.description, to: &line)
        } else {
            literal("null", to: &line)
        }
        literal(",\"query_frames\":[", to: &line)
        for (index, attempt) in transaction.attempts.enumerated() {
            if index > 0 { literal(",", to: &line) }
            JSONValue.appendDecimal(attempt.frame, to: &line)
        }
        literal("],\"attempts\":", to: &line)
        JSONValue.appendDecimal(transaction.attemptCount, to: &line)
        literal(",\"response_frame\":", to: &line)
        if let response = transaction.response {
            JSONValue.appendDecimal(response.frame, to: &line)
            literal(",\"answered_frame\":", to: &line)
            JSONValue.appendDecimal(transaction.attempts.indices.contains(response.attemptIndex)
                ? transaction.attempts[response.attemptIndex].frame : transaction.attempts.first?.frame ?? 0, to: &line)
        } else {
            literal("null,\"answered_frame\":null", to: &line)
        }
        literal(",\"latency_ms\":", to: &line)
        if let latency = transaction.latency {
            JSONValue.appendNumber(latency.milliseconds, to: &line)
        } else {
            literal("null", to: &line)
        }
        literal(",\"truncated\":", to: &line)
        if transaction.isTruncated { literal("true", to: &line) } else { literal("false", to: &line) }
        literal(",\"expired\":", to: &line)
        if let expiry = transaction.expiry {
            literal("\"", to: &line)
            JSONValue.appendUnescaped(expiry.rawValue, to: &line)
            literal("\"", to: &line)
        } else {
            literal("null", to: &line)
        }
        if let fallback = transaction.fallback { self.fallback(fallback, to: &line) }
        if let rejection = transaction.rejection {
            literal(",\"icmp\":{\"frame\":", to: &line)
            JSONValue.appendDecimal(rejection.frame, to: &line)
            literal(",\"type\":", to: &line)
            JSONValue.appendDecimal(rejection.error.type, to: &line)
            literal(",\"code\":", to: &line)
            JSONValue.appendDecimal(rejection.error.code, to: &line)
            literal(",\"reason\":\"", to: &line)
            JSONValue.appendUnescaped(rejection.error.reason, to: &line)
            literal("\",\"from\":\"", to: &line)
            rejection.error.sender.appendText(to: &line)
            literal("\"}", to: &line)
        }
        if transaction.vlanIDs.count > 0 {
            literal(",\"vlan\":[", to: &line)
            for (index, id) in transaction.vlanIDs.array.enumerated() {
                if index > 0 { literal(",", to: &line) }
                JSONValue.appendDecimal(id, to: &line)
            }
            literal("]", to: &line)
        }
        if let source = transaction.response?.source {
            literal(",\"answered_from\":", to: &line)
            endpoint(source, to: &line)
        }
        if let backend = transaction.backend {
            literal(",\"backend\":", to: &line)
            endpoint(backend, to: &line)
        }
        if !transaction.seenOn.isEmpty {
            literal(",\"seen_on\":[", to: &line)
            for (index, interface) in transaction.seenOn.enumerated() {
                if index > 0 { literal(",", to: &line) }
                JSONValue.appendDecimal(interface, to: &line)
            }
            literal("]", to: &line)
        }
        if let underlay = transaction.underlay {
            literal(",\"underlay\":{\"encapsulation\":\"", to: &line)
            JSONValue.appendUnescaped(underlay.encapsulation.rawValue, to: &line)
            literal("\",\"source\":\"", to: &line)
            underlay.source.appendText(to: &line)
            literal("\",\"destination\":\"", to: &line)
            underlay.destination.appendText(to: &line)
            literal("\",\"id\":", to: &line)
            optionalDecimal(underlay.networkIdentifier, to: &line)
            literal("}", to: &line)
        }
        if transaction.interfaceIndex >= 0 {
            literal(",\"interface\":", to: &line)
            JSONValue.appendDecimal(transaction.interfaceIndex, to: &line)
        }
        literal("}", to: &line)
    }

    private func fallback(_ fallback: Fallback, to line: inout [UInt8]) {
        literal(",\"fallback\":{\"outcome\":\"", to: &line)
        JSONValue.appendUnescaped(fallback.outcome.rawValue, to: &line)
        literal("\",\"transport\":\"tcp\",\"client_port\":", to: &line)
        JSONValue.appendDecimal(fallback.clientPort, to: &line)
        literal(",\"id\":", to: &line)
        optionalDecimal(fallback.id, to: &line)
        literal(",\"frames\":[", to: &line)
        for (index, frame) in fallback.frames.enumerated() {
            if index > 0 { literal(",", to: &line) }
            JSONValue.appendDecimal(frame, to: &line)
        }
        literal("],\"attempts\":", to: &line)
        JSONValue.appendDecimal(fallback.attempts, to: &line)
        literal(",\"response_frame\":", to: &line)
        optionalDecimal(fallback.responseFrame, to: &line)
        literal(",\"rcode\":", to: &line)
        if let rcode = fallback.rcode {
            literal("\"", to: &line)
            JSONValue.appendUnescaped(rcode.description, to: &line)
            literal("\"", to: &line)
        } else {
            literal("null", to: &line)
        }
        literal(",\"reset_frame\":", to: &line)
        optionalDecimal(fallback.resetFrame, to: &line)
        literal("}", to: &line)
    }

    /// `{"ip":"…","port":…}`.
    private func endpoint(_ endpoint: Endpoint, to line: inout [UInt8]) {
        literal("{\"ip\":\"", to: &line)
        endpoint.ip.appendText(to: &line)
        literal("\",\"port\":", to: &line)
        JSONValue.appendDecimal(endpoint.port, to: &line)
        literal("}", to: &line)
    }

    private func transport(_ transport: Transport, to line: inout [UInt8]) {
        switch transport {
        case .udp: literal("udp", to: &line)
        case .tcp: literal("tcp", to: &line)
        }
    }

    private func optionalDecimal(_ value: (some BinaryInteger)?, to line: inout [UInt8]) {
        if let value { JSONValue.appendDecimal(value, to: &line) } else { literal("null", to: &line) }
    }

    @inline(__always)
    private func literal(_ text: StaticString, to line: inout [UInt8]) {
        JSONValue.appendLiteral(text, to: &line)
    }
}
