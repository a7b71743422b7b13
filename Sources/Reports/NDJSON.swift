import Attribution
import DNSWire
import PacketDecoding
import Transactions
import WireCore

/// One line of `--format ndjson`: a transaction as a flat JSON object. Field order and
/// names are the documented schema (README "Output formats").
public func ndjsonLine(_ transaction: Transaction, directory: ClusterDirectory? = nil) -> String {
    var line = "{\"time\":\""
    line += transaction.firstTime.rfc3339
    line += "\",\"client\":"
    appendEndpoint(transaction.client, to: &line)
    if let pod = directory?.pod(at: transaction.client.ip) {
        line.removeLast()
        line += ",\"pod\":"
        JSONValue.appendQuoted(pod.name, to: &line)
        line += ",\"namespace\":"
        JSONValue.appendQuoted(pod.namespace, to: &line)
        if let node = pod.node {
            line += ",\"node\":"
            JSONValue.appendQuoted(node, to: &line)
        }
        line += "}"
    }
    line += ",\"server\":"
    appendEndpoint(transaction.server, to: &line)
    line += ",\"transport\":\"\(transaction.transport)\",\"id\":\(transaction.id),\"qname\":"
    if let qname = transaction.qname { JSONValue.appendQuoted(qname, to: &line) } else { line += "null" }
    line += ",\"qtype\":"
    if let question = transaction.question {
        JSONValue.appendQuoted(question.type.description, to: &line)
        line += ",\"qclass\":"
        JSONValue.appendQuoted(question.qclass.description, to: &line)
    } else {
        line += "null,\"qclass\":null"
    }
    line += ",\"opcode\":\"\(transaction.opcode)\",\"outcome\":\"\(transaction.outcome.rawValue)\",\"rcode\":"
    if let response = transaction.response { JSONValue.appendQuoted(response.rcode.description, to: &line) } else { line += "null" }
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
    if let latency = transaction.latency { line += JSONValue.format(latency.milliseconds) } else { line += "null" }
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
        appendEndpoint(source, to: &line)
    }
    if let backend = transaction.backend {
        line += ",\"backend\":"
        appendEndpoint(backend, to: &line)
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

private func appendEndpoint(_ endpoint: Endpoint, to line: inout String) {
    line += "{\"ip\":\"\(endpoint.ip)\",\"port\":\(endpoint.port)}"
}
