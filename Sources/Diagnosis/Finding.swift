import Attribution
import PacketDecoding
import Transactions
import WireCore

/// The incident patterns dnstrail can recognise from packets alone (CONTEXT.md).
public enum FindingKind: String, Sendable, CaseIterable, Comparable {
    /// A set of sources whose DNS all goes unanswered while others reach the same server.
    case egressBlocked = "egress-blocked"
    /// Every query of some sources left this node after its DNAT and no answer came back:
    /// lost beyond the node (security group, NACL, the server node, the return path).
    case pathLoss = "path-loss"
    /// Queries to NodeLocal DNSCache (169.254.20.10) unanswered while another server answers.
    case nodeLocalBlocked = "nodelocal-blocked"
    /// For the same client, one DNS backend answers and another never does.
    case backendUnreachable = "backend-unreachable"
    /// Truncated answers whose TCP retry never completes its handshake (or is reset).
    case tcpBlocked = "tcp-blocked"
    /// A and AAAA sent together from one socket, one lost and re-sent after the timeout.
    case parallelQueryLoss = "parallel-query-loss"
    /// A DNS server's own upstream queries unanswered while it answers clients SERVFAIL or late.
    case upstreamTimeout = "upstream-timeout"
    /// A server whose answers arrive after the clients' timeout: they had given up.
    case lateAnswers = "late-answers"
    /// The unanswered share towards one resolver rises with the per-second query rate from
    /// one source: the resolver (or a limit before it) drops above a packet rate.
    case resolverThrottled = "resolver-throttled"
    /// A server answering REFUSED: an access list or policy at the server turns clients away.
    case serverRefused = "server-refused"
    /// Names tried through several search suffixes with NXDOMAIN before the real one.
    case searchPathAmplification = "search-path-amplification"
    /// The capture itself lost or cut packets: unanswered may not mean dropped.
    case captureIncomplete = "capture-incomplete"

    public static func < (lhs: FindingKind, rhs: FindingKind) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }
}

public enum Confidence: String, Sendable, Comparable {
    case low, medium, high

    public static func < (lhs: Confidence, rhs: Confidence) -> Bool {
        let order: [Confidence] = [.low, .medium, .high]
        return order.firstIndex(of: lhs) ?? 0 < order.firstIndex(of: rhs) ?? 0
    }
}

/// One transaction quoted as evidence, with the frames to open in Wireshark.
public struct EvidenceExample: Sendable, Equatable {
    public var client: String
    public var server: String
    public var transport: String
    public var qname: String?
    public var qtype: String?
    public var outcome: String
    public var frames: [Int]
    public var note: String?
}

/// An address named in a finding, with who it is when attribution knows.
public struct NamedAddress: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var ip: IPAddress
    /// `namespace/pod (node)`, `kube-system/kube-dns (Service)`, `NodeLocal DNSCache`, ...
    public var identity: String?
    public var namespace: String?

    public static func < (lhs: NamedAddress, rhs: NamedAddress) -> Bool { lhs.ip < rhs.ip }

    /// Who it is, then the address: `payments/checkout-7d4b9c-x2x (10.244.1.11, node-a)`,
    /// `kube-system/kube-dns Service (10.96.0.10)`, or the bare address when unknown.
    public var description: String {
        guard let identity else { return ip.description }
        if identity.hasPrefix("probably") { return "\(ip) (\(identity))" }
        return "\(identity) (\(ip)\(node.map { ", \($0)" } ?? ""))"
    }

    /// The node of a pod, when attribution knows it.
    public var node: String?

    public init(ip: IPAddress, identity: String?, namespace: String?, node: String? = nil) {
        self.ip = ip
        self.identity = identity
        self.namespace = namespace
        self.node = node
    }

    /// `ip` as `directory` knows it: a pod (namespace/name, node), a Service, or an annotation
    /// (node, NodeLocal DNSCache, `probably the kube-dns Service`); bare when unknown.
    public init(_ ip: IPAddress, in directory: ClusterDirectory) {
        if let pod = directory.pod(at: ip) {
            self.init(ip: ip, identity: "\(pod.namespace)/\(pod.name)", namespace: pod.namespace, node: pod.node)
        } else if let service = directory.service(at: ip) {
            self.init(ip: ip, identity: "\(service.namespace)/\(service.name) Service", namespace: service.namespace)
        } else {
            self.init(ip: ip, identity: directory.annotation(for: ip), namespace: nil)
        }
    }

    /// The address followed by who it is, for tables keyed by address:
    /// `10.244.1.11 (payments/checkout-7d4b9c-x2x, node-a)`, or the bare address.
    public var addressFirst: String {
        guard let identity else { return ip.description }
        return "\(ip) (\(identity)\(node.map { ", \($0)" } ?? ""))"
    }
}

/// `count` followed by the noun in the number it takes: `1 query`, `2 queries`.
public func counted(_ count: Int, _ one: String, _ many: String) -> String {
    "\(count) \(count == 1 ? one : many)"
}

/// A diagnosis: what the pattern most likely means, how sure, the evidence, what to do.
public struct Finding: Sendable {
    public var kind: FindingKind
    public var confidence: Confidence
    /// One line: what was found, with the culprit named.
    public var title: String
    /// One paragraph: why this pattern means that incident.
    public var explanation: String
    /// Figures behind the finding, by name (queries, unanswered, sources, ...).
    public var counts: [(String, Int)]
    public var sources: [NamedAddress]
    public var servers: [NamedAddress]
    public var examples: [EvidenceExample]
    /// What to change, concretely (a NetworkPolicy rule, an ipBlock, a security group).
    public var remediation: String
    /// Every frame of the flagged transactions (bounded), for the evidence capture.
    public var frames: [Int]
}
