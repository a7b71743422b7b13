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
    var line = ""
    NDJSONEncoder(directory: directory).withLine(for: transaction) { line = String(decoding: $0, as: UTF8.self) }
    return line
}

/// Writes `--format ndjson` lines straight into UTF-8 bytes, in one buffer reused from line
/// to line: no intermediate `String`, no allocation per line. Byte for byte what
/// `ndjsonLine(_:directory:)` returns.
///
/// Keeps the date-and-time text of the last second it wrote (transactions close in capture
/// order, so most lines share it with the one before).
public final class NDJSONEncoder {
    /// Adds `pod`, `namespace` and `node` to the client of a transaction from a known pod.
    public let directory: ClusterDirectory?
    private var times = RFC3339Formatter()
    private let line = TextBuffer()

    public init(directory: ClusterDirectory? = nil) {
        self.directory = directory
    }

    /// Calls `body` with the line of `transaction` (UTF-8, without a newline), valid only
    /// during the call.
    public func withLine(for transaction: Transaction, _ body: (UnsafeRawBufferPointer) -> Void) {
        line.removeAll()
        write(transaction)
        body(line.bytes)
    }

    /// Appends the line of `transaction`, without a newline.
    public func append(_ transaction: Transaction, to bytes: inout [UInt8]) {
        withLine(for: transaction) { bytes.append(contentsOf: $0) }
    }

    private func write(_ transaction: Transaction) {
        line.append("{\"time\":\"")
        line.appendWriting(upTo: RFC3339Formatter.textLength) { times.write(transaction.firstTime, into: $0) }
        line.append("\",\"client\":")
        endpoint(transaction.client)
        if let pod = directory?.pod(at: transaction.client.ip) {
            line.removeLast()
            line.append(",\"pod\":")
            JSONValue.appendQuoted(pod.name, to: line)
            line.append(",\"namespace\":")
            JSONValue.appendQuoted(pod.namespace, to: line)
            if let node = pod.node {
                line.append(",\"node\":")
                JSONValue.appendQuoted(node, to: line)
            }
            line.append("}")
        }
        line.append(",\"server\":")
        endpoint(transaction.server)
        line.append(",\"transport\":\"")
        transport(transaction.transport)
        line.append("\",\"id\":")
        line.appendDecimal(transaction.id)
        line.append(",\"qname\":")
        if let qname = transaction.qname { JSONValue.appendQuoted(qname, to: line) } else { line.append("null") }
        line.append(",\"qtype\":")
        if let question = transaction.question {
            JSONValue.appendQuoted(question.type.description, to: line)
            line.append(",\"qclass\":")
            JSONValue.appendQuoted(question.qclass.description, to: line)
        } else {
            line.append("null,\"qclass\":null")
        }
        line.append(",\"opcode\":\"")
        line.append(string: transaction.opcode.description)
        line.append("\",\"outcome\":\"")
        line.append(string: transaction.outcome.rawValue)
        line.append("\",\"rcode\":")
        if let response = transaction.response {
            JSONValue.appendQuoted(response.rcode.description, to: line)
        } else {
            line.append("null")
        }
        line.append(",\"query_frames\":[")
        for (index, attempt) in transaction.attempts.enumerated() {
            if index > 0 { line.append(",") }
            line.appendDecimal(attempt.frame)
        }
        line.append("],\"attempts\":")
        line.appendDecimal(transaction.attemptCount)
        line.append(",\"response_frame\":")
        if let response = transaction.response {
            line.appendDecimal(response.frame)
            line.append(",\"answered_frame\":")
            line.appendDecimal(transaction.attempts.indices.contains(response.attemptIndex)
                ? transaction.attempts[response.attemptIndex].frame : transaction.attempts.first?.frame ?? 0)
        } else {
            line.append("null,\"answered_frame\":null")
        }
        line.append(",\"latency_ms\":")
        if let latency = transaction.latency {
            JSONValue.appendNumber(latency.milliseconds, to: line)
        } else {
            line.append("null")
        }
        line.append(",\"truncated\":")
        if transaction.isTruncated { line.append("true") } else { line.append("false") }
        line.append(",\"expired\":")
        optionalPlainString(transaction.expiry?.rawValue)
        if let fallback = transaction.fallback { self.fallback(fallback) }
        if let rejection = transaction.rejection {
            line.append(",\"icmp\":{\"frame\":")
            line.appendDecimal(rejection.frame)
            line.append(",\"type\":")
            line.appendDecimal(rejection.error.type)
            line.append(",\"code\":")
            line.appendDecimal(rejection.error.code)
            line.append(",\"reason\":\"")
            line.append(string: rejection.error.reason)
            line.append("\",\"from\":\"")
            line.appendWriting(upTo: IPAddress.maximumTextLength) { rejection.error.sender.writeText(into: $0) }
            line.append("\"}")
        }
        if transaction.vlanIDs.count > 0 {
            line.append(",\"vlan\":[")
            for (index, id) in transaction.vlanIDs.array.enumerated() {
                if index > 0 { line.append(",") }
                line.appendDecimal(id)
            }
            line.append("]")
        }
        if let source = transaction.response?.source {
            line.append(",\"answered_from\":")
            endpoint(source)
        }
        if let backend = transaction.backend {
            line.append(",\"backend\":")
            endpoint(backend)
        }
        if !transaction.seenOn.isEmpty {
            line.append(",\"seen_on\":[")
            for (index, interface) in transaction.seenOn.enumerated() {
                if index > 0 { line.append(",") }
                line.appendDecimal(interface)
            }
            line.append("]")
        }
        if let underlay = transaction.underlay {
            line.append(",\"underlay\":{\"encapsulation\":\"")
            line.append(string: underlay.encapsulation.rawValue)
            line.append("\",\"source\":\"")
            line.appendWriting(upTo: IPAddress.maximumTextLength) { underlay.source.writeText(into: $0) }
            line.append("\",\"destination\":\"")
            line.appendWriting(upTo: IPAddress.maximumTextLength) { underlay.destination.writeText(into: $0) }
            line.append("\",\"id\":")
            optionalDecimal(underlay.networkIdentifier)
            line.append("}")
        }
        if transaction.interfaceIndex >= 0 {
            line.append(",\"interface\":")
            line.appendDecimal(transaction.interfaceIndex)
        }
        if let path = transaction.vantagePath { vantages(path) }
        line.append("}")
    }

    /// `"vantages"` in path order and, for a lookup lost between two of them, `"lost"`.
    /// Vantage names are plain (`VantageInput.parse` allows no quote or backslash).
    private func vantages(_ path: VantagePath) {
        line.append(",\"vantages\":[")
        for (index, sighting) in path.sightings.enumerated() {
            if index > 0 { line.append(",") }
            line.append("{\"name\":")
            optionalPlainString(sighting.name)
            line.append(sighting.query ? ",\"query\":true" : ",\"query\":false")
            line.append(sighting.response ? ",\"response\":true" : ",\"response\":false")
            line.append(",\"frames\":[")
            for (position, frame) in sighting.frames.enumerated() {
                if position > 0 { line.append(",") }
                line.appendDecimal(frame)
            }
            line.append("]}")
        }
        line.append("]")
        guard let lost = path.lost else { return }
        line.append(",\"lost\":{\"direction\":")
        optionalPlainString(lost.direction.rawValue)
        line.append(",\"last_seen_at\":")
        optionalPlainString(lost.lastSeenAt)
        line.append(",\"not_seen_at\":")
        optionalPlainString(lost.notSeenAt)
        line.append("}")
    }

    private func fallback(_ fallback: Fallback) {
        line.append(",\"fallback\":{\"outcome\":\"")
        line.append(string: fallback.outcome.rawValue)
        line.append("\",\"transport\":\"tcp\",\"client_port\":")
        line.appendDecimal(fallback.clientPort)
        line.append(",\"id\":")
        optionalDecimal(fallback.id)
        line.append(",\"frames\":[")
        for (index, frame) in fallback.frames.enumerated() {
            if index > 0 { line.append(",") }
            line.appendDecimal(frame)
        }
        line.append("],\"attempts\":")
        line.appendDecimal(fallback.attempts)
        line.append(",\"response_frame\":")
        optionalDecimal(fallback.responseFrame)
        line.append(",\"rcode\":")
        optionalPlainString(fallback.rcode?.description)
        line.append(",\"reset_frame\":")
        optionalDecimal(fallback.resetFrame)
        line.append("}")
    }

    /// `{"ip":"…","port":…}`.
    private func endpoint(_ endpoint: Endpoint) {
        line.append("{\"ip\":\"")
        line.appendWriting(upTo: IPAddress.maximumTextLength) { endpoint.ip.writeText(into: $0) }
        line.append("\",\"port\":")
        line.appendDecimal(endpoint.port)
        line.append("}")
    }

    private func transport(_ transport: Transport) {
        switch transport {
        case .udp: line.append("udp")
        case .tcp: line.append("tcp")
        }
    }

    private func optionalDecimal(_ value: (some BinaryInteger)?) {
        if let value { line.appendDecimal(value) } else { line.append("null") }
    }

    /// A string known to need no escaping (an enum's raw value, an rcode mnemonic), or null.
    private func optionalPlainString(_ value: String?) {
        guard let value else {
            line.append("null")
            return
        }
        line.append("\"")
        line.append(string: value)
        line.append("\"")
    }
}
