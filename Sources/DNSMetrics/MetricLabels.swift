import Attribution
import DNSWire
import PacketDecoding
import Transactions

/// Label values of the metrics, each from a bounded set: a time series per value costs
/// Prometheus memory on every node, so nothing from the wire becomes a label unchecked.
/// Query names and client addresses never do (they stay in the NDJSON stream).
enum MetricLabels {
    /// The label for everything beyond a cap.
    static let other = "other"
    /// The `pod` label of a source the cluster directory does not name (no `--pods`, a node
    /// address, something outside the cluster); its `namespace` is empty.
    static let unknownSource = "unknown"

    /// Query types with a label of their own: CoreDNS's list (plugin/metrics/vars,
    /// `monitorType`), so dashboards for both agree; every other type is `other`.
    static let qtypes: Set<UInt16> = [
        DNSType.aaaa, .a, .cname, .dnskey, .ds, .mx, .nsec3, .nsec, .ns, .ptr, .rrsig, .soa, .srv, .txt, .https,
        .ixfr, .axfr, .any,
    ].reduce(into: []) { $0.insert($1.rawValue) }

    /// The `qtype` label: the mnemonic for the listed types, `other` for the rest and for a
    /// transaction without a question.
    static func qtype(_ type: DNSType?) -> String {
        guard let type, qtypes.contains(type.rawValue) else { return other }
        return type.description
    }

    /// The `rcode` label: the mnemonic of RCODEs 0–23 (RFC 1035 §4.1.1, RFC 6891 §6.1.3,
    /// RFC 8945), `other` above.
    static func rcode(_ rcode: DNSRCode) -> String {
        rcode.rawValue <= 23 ? rcode.description : other
    }

    /// The `server` label of a server address and port: `10.96.0.10:53`, `[fd00::a]:53`.
    /// The same on every node for the same server, so `sum by (server)` adds nodes up.
    static func server(_ endpoint: Endpoint) -> String { endpoint.description }
}

/// Assigns label values first come, first served, up to a cap; later keys share `other`.
/// A counter's series must never go down, so a value once given is kept for the run (the
/// cardinality limit of OpenTelemetry's SDKs works the same way, with its overflow series).
struct CappedLabels<Key: Hashable & Sendable>: Sendable {
    let maximum: Int
    private(set) var labels: [Key: String] = [:]
    /// Keys that found the table full (counted once per lookup, not per distinct key).
    private(set) var overflowed = 0

    init(maximum: Int) { self.maximum = maximum }

    /// The label of `key`: its own (`make(key)`, given while fewer than `maximum` exist), or `other`.
    mutating func label(for key: Key, make: (Key) -> String) -> String {
        if let label = labels[key] { return label }
        guard labels.count < maximum else {
            overflowed += 1
            return MetricLabels.other
        }
        let label = make(key)
        labels[key] = label
        return label
    }
}
