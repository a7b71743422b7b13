/// A pod as named in reports: `payments/payments-api-6f7c8d9b5-q2w8e (node-a)`.
public struct PodIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    /// `spec.nodeName`; nil for a pod not scheduled yet.
    public var node: String?
    public var labels: [String: String]

    public init(namespace: String, name: String, node: String? = nil, labels: [String: String] = [:]) {
        self.namespace = namespace
        self.name = name
        self.node = node
        self.labels = labels
    }

    /// `namespace/name (node)`, or `namespace/name` when the node is unknown.
    public var description: String {
        if let node { return "\(namespace)/\(name) (\(node))" }
        return "\(namespace)/\(name)"
    }
}

/// One entry of a Service's `spec.ports`.
public struct ServicePort: Hashable, Sendable, Codable, CustomStringConvertible {
    /// `name` (required by Kubernetes only when a Service has several ports).
    public var name: String?
    public var port: Int
    /// `protocol`: `TCP` (the Kubernetes default when absent), `UDP` or `SCTP`.
    public var transportProtocol: String
    /// `targetPort` as text: a number (`"53"`) or a container port name (`"dns"`).
    public var targetPort: String?

    public init(name: String? = nil, port: Int, transportProtocol: String = "TCP", targetPort: String? = nil) {
        self.name = name
        self.port = port
        self.transportProtocol = transportProtocol
        self.targetPort = targetPort
    }

    /// `53/UDP`.
    public var description: String { "\(port)/\(transportProtocol)" }
}

/// A Service as named in reports: `kube-system/kube-dns (Service)`.
public struct ServiceIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    public var ports: [ServicePort]
    /// `spec.selector`; empty for a Service without selector (endpoints managed by hand).
    public var selector: [String: String]

    public init(namespace: String, name: String, ports: [ServicePort] = [], selector: [String: String] = [:]) {
        self.namespace = namespace
        self.name = name
        self.ports = ports
        self.selector = selector
    }

    public var description: String { "\(namespace)/\(name) (Service)" }
}

/// Who is behind an IP address.
public enum Identity: Hashable, Sendable, CustomStringConvertible {
    /// A pod with its own IP (not host network).
    case pod(PodIdentity)
    /// A Service ClusterIP.
    case service(ServiceIdentity)
    /// A node address (`status.hostIP` of its pods, or a Node's InternalIP/ExternalIP)
    /// with no host-network pod known on it.
    case node(String)
    /// The NodeLocal DNSCache link-local address (169.254.20.10 unless more were added).
    case nodeLocalDNSCache
    /// A node address shared by host-network pods (kube-proxy, CNI agents, ...): the IP is
    /// the node's, the pods are listed (sorted by namespace and name) but none owns it.
    case hostNetwork(node: String, pods: [PodIdentity])

    /// One line for reports: `default/web-7d4b9c-x2x (node-a)`, `kube-system/kube-dns (Service)`,
    /// `node node-a`, `NodeLocal DNSCache`, `node node-a (host network)`.
    public var description: String {
        switch self {
        case .pod(let pod): pod.description
        case .service(let service): service.description
        case .node(let name): "node \(name)"
        case .nodeLocalDNSCache: "NodeLocal DNSCache"
        case .hostNetwork(let node, _): "node \(node) (host network)"
        }
    }
}

/// Why an address counts as a DNS server.
public enum DNSRole: Hashable, Sendable, CustomStringConvertible {
    /// A ClusterIP of the kube-dns Service (or of another Service in front of CoreDNS).
    case kubeDNSService(ServiceIdentity)
    /// A CoreDNS (or kube-dns) pod: labelled `k8s-app=kube-dns`/`k8s-app=coredns`/
    /// `app.kubernetes.io/name=coredns`, or an endpoint of a kube-dns Service.
    case coreDNSPod(PodIdentity)
    /// NodeLocal DNSCache (169.254.20.10 by default).
    case nodeLocalDNSCache
    /// Given with `--dns-server`.
    case userGiven

    public var description: String {
        switch self {
        case .kubeDNSService(let service): "kube-dns Service \(service.namespace)/\(service.name)"
        case .coreDNSPod(let pod): "CoreDNS pod \(pod)"
        case .nodeLocalDNSCache: "NodeLocal DNSCache"
        case .userGiven: "DNS server given with --dns-server"
        }
    }
}
