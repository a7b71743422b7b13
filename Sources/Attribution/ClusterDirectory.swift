#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PacketDecoding

/// Names the pods, Services and nodes behind IP addresses, from the output of
/// `kubectl get pods,svc -A -o json` (also `pods`, `svc`, `endpointslices`, `endpoints`,
/// `nodes`, alone or mixed in one `List`, or a single object), and says which addresses
/// are DNS servers.
///
/// Several documents can be merged with `add(kubectlJSON:)`/`add(contentsOf:)`; an object
/// seen twice (same kind, namespace and name) keeps its latest version.
public struct ClusterDirectory: Sendable {
    /// NodeLocal DNSCache's usual link-local address, 169.254.20.10.
    public static let nodeLocalDNSCacheAddress = IPAddress(ipv4: 0xA9FE_140A)

    /// ClusterIPs the kube-dns Service commonly has: 10.96.0.10 (kubeadm, kind, GKE, AKS),
    /// 10.100.0.10 and 172.20.0.10 (EKS). Never assumed to be kube-dns; for wording only.
    public static let wellKnownKubeDNSAddresses: [IPAddress] = [
        IPAddress(ipv4: 0x0A60_000A),
        IPAddress(ipv4: 0x0A64_000A),
        IPAddress(ipv4: 0xAC14_000A),
    ]

    public static func isWellKnownKubeDNSAddress(_ ip: IPAddress) -> Bool {
        wellKnownKubeDNSAddresses.contains(normalized(ip))
    }

    // Objects read so far, by kind and namespace/name.
    private var pods: [ObjectKey: PodRecord] = [:]
    private var services: [ObjectKey: ServiceRecord] = [:]
    private var endpointSources: [String: [EndpointRecord]] = [:]
    private var nodes: [String: [IPAddress]] = [:]
    private var sequence = 0

    // Indices rebuilt after every document.
    private var podsByIP: [IPAddress: PodIdentity] = [:]
    private var servicesByIP: [IPAddress: ServiceIdentity] = [:]
    private var nodesByIP: [IPAddress: String] = [:]
    private var hostNetworkPodsByIP: [IPAddress: [PodIdentity]] = [:]
    private var clusterDNSRoles: [IPAddress: DNSRole] = [:]

    private var userDNSServers: Set<IPAddress> = []
    /// NodeLocal DNSCache addresses: 169.254.20.10, plus any added (kubespray uses 169.254.25.10).
    public private(set) var nodeLocalDNSCacheAddresses: Set<IPAddress> = [ClusterDirectory.nodeLocalDNSCacheAddress]

    /// Items of a known kind (Pod, Service, ...) that could not be read (a field of the
    /// wrong type, no name) and were skipped. Unknown kinds (ConfigMap, ...) are not counted.
    public private(set) var skippedItemCount = 0

    /// Empty: knows only NodeLocal DNSCache (169.254.20.10).
    public init() {}

    /// Reads one kubectl JSON document.
    public init(kubectlJSON data: Data) throws(AttributionError) {
        try add(kubectlJSON: data)
    }

    /// Reads a kubectl JSON file (`-` is standard input).
    public static func load(path: String) throws(AttributionError) -> ClusterDirectory {
        var directory = ClusterDirectory()
        try directory.add(contentsOf: path)
        return directory
    }

    /// Reads and merges several kubectl JSON files, in order.
    public static func load(paths: [String]) throws(AttributionError) -> ClusterDirectory {
        var directory = ClusterDirectory()
        for path in paths { try directory.add(contentsOf: path) }
        return directory
    }

    /// Merges a kubectl JSON file (`-` is standard input) into the directory.
    public mutating func add(contentsOf path: String) throws(AttributionError) {
        let data = try FileInput.read(path: path)
        do {
            try add(kubectlJSON: data)
        } catch {
            throw error.from(source: "'\(path)'")
        }
    }

    /// Merges one kubectl JSON document into the directory. On error nothing is changed.
    public mutating func add(kubectlJSON data: Data) throws(AttributionError) {
        let document = try KubectlDocumentReader.read(data)
        skippedItemCount += document.unreadableCount
        for item in document.items {
            absorb(item.item, as: item.kind)
        }
        rebuildIndices()
    }

    // MARK: Lookups

    /// Who is behind `ip`: a Service ClusterIP first, then a pod IP, then a node address
    /// (with its host-network pods), then NodeLocal DNSCache.
    public func identity(of ip: IPAddress) -> Identity? {
        let ip = Self.normalized(ip)
        if let service = servicesByIP[ip] { return .service(service) }
        if let pod = podsByIP[ip] { return .pod(pod) }
        if let node = nodesByIP[ip] {
            if let pods = hostNetworkPodsByIP[ip], !pods.isEmpty { return .hostNetwork(node: node, pods: pods) }
            return .node(node)
        }
        if nodeLocalDNSCacheAddresses.contains(ip) { return .nodeLocalDNSCache }
        return nil
    }

    /// The pod owning `ip`; nil for a node address shared by host-network pods.
    public func pod(at ip: IPAddress) -> PodIdentity? {
        podsByIP[Self.normalized(ip)]
    }

    /// The Service whose ClusterIP (any of `clusterIPs`) is `ip`.
    public func service(at ip: IPAddress) -> ServiceIdentity? {
        servicesByIP[Self.normalized(ip)]
    }

    /// The Services whose backends include the pod at `ip` (or a host-network pod on the
    /// node at `ip`): by selector over the pod's labels, or by an endpoint at `ip`. Sorted by
    /// namespace and name, with their ClusterIPs. A DNS server's pod names its Service this
    /// way when the ClusterIP itself never crossed the wire (DNAT in the node's OUTPUT chain).
    public func services(backedBy ip: IPAddress) -> [(service: ServiceIdentity, clusterIPs: [IPAddress])] {
        let ip = Self.normalized(ip)
        let backends = (podsByIP[ip].map { [$0] } ?? []) + (hostNetworkPodsByIP[ip] ?? [])
        var keys: Set<ObjectKey> = []
        for service in services.values where !service.identity.selector.isEmpty {
            let selects = backends.contains { pod in
                pod.namespace == service.identity.namespace
                    && service.identity.selector.allSatisfy { pod.labels[$0.key] == $0.value }
            }
            if selects { keys.insert(service.key) }
        }
        for endpoint in endpointSources.values.joined() where endpoint.ip == ip {
            if let service = endpoint.service { keys.insert(service) }
        }
        return keys.compactMap { services[$0] }
            .sorted { $0.key < $1.key }
            .map { ($0.identity, $0.clusterIPs) }
    }

    /// The host-network pods on the node at `ip` that `service` selects (a hostNetwork
    /// CoreDNS among the node's agents).
    public func hostNetworkPods(at ip: IPAddress, backing service: ServiceIdentity) -> [PodIdentity] {
        guard !service.selector.isEmpty else { return [] }
        return hostNetworkPods(at: ip).filter { pod in
            pod.namespace == service.namespace && service.selector.allSatisfy { pod.labels[$0.key] == $0.value }
        }
    }

    /// The node whose address is `ip`.
    public func node(at ip: IPAddress) -> String? {
        nodesByIP[Self.normalized(ip)]
    }

    /// The host-network pods on the node whose address is `ip` (sorted by namespace, name).
    public func hostNetworkPods(at ip: IPAddress) -> [PodIdentity] {
        hostNetworkPodsByIP[Self.normalized(ip)] ?? []
    }

    /// For reports: the identity's one-line description, or `probably the kube-dns Service`
    /// for a well-known kube-dns ClusterIP when no Service was loaded to say otherwise.
    public func annotation(for ip: IPAddress) -> String? {
        if let identity = identity(of: ip) { return identity.description }
        if services.isEmpty && Self.isWellKnownKubeDNSAddress(ip) { return "probably the kube-dns Service" }
        return nil
    }

    // MARK: DNS servers

    /// Adds a DNS server address (`--dns-server IP`, repeatable).
    public mutating func addDNSServer(_ ip: IPAddress) {
        userDNSServers.insert(Self.normalized(ip))
    }

    /// Adds a NodeLocal DNSCache address besides 169.254.20.10.
    public mutating func addNodeLocalDNSCacheAddress(_ ip: IPAddress) {
        nodeLocalDNSCacheAddresses.insert(Self.normalized(ip))
    }

    public func isDNSServer(_ ip: IPAddress) -> Bool {
        dnsRole(of: ip) != nil
    }

    /// Why `ip` is a DNS server, most specific first: kube-dns Service ClusterIP, CoreDNS
    /// pod, NodeLocal DNSCache, `--dns-server`.
    public func dnsRole(of ip: IPAddress) -> DNSRole? {
        let ip = Self.normalized(ip)
        if let role = clusterDNSRoles[ip] { return role }
        if nodeLocalDNSCacheAddresses.contains(ip) { return .nodeLocalDNSCache }
        if userDNSServers.contains(ip) { return .userGiven }
        return nil
    }

    /// Every DNS server address, sorted (IPv4 first).
    public var dnsServers: [IPAddress] {
        Set(clusterDNSRoles.keys).union(nodeLocalDNSCacheAddresses).union(userDNSServers).sorted()
    }

    // MARK: Counts

    /// Pods read (all phases, with or without an IP).
    public var podCount: Int { pods.count }
    /// Services read (headless and ExternalName included).
    public var serviceCount: Int { services.count }
    /// Nodes known by name (from Node objects or from pods' `spec.nodeName` with a `hostIP`).
    public var nodeCount: Int { Set(nodesByIP.values).count }

    // MARK: Building

    mutating func absorb(_ item: RawItem, as kind: ResourceKind) {
        sequence += 1
        switch kind {
        case .pod:
            guard let raw = item.pod, let record = PodRecord(raw, sequence: sequence) else { return skip() }
            pods[record.key] = record
        case .service:
            guard let raw = item.service, let record = ServiceRecord(raw) else { return skip() }
            services[record.key] = record
        case .endpointSlice:
            guard let raw = item.endpointSlice, let name = raw.metadata?.name else { return skip() }
            let namespace = raw.metadata?.namespace ?? "default"
            endpointSources["EndpointSlice \(namespace)/\(name)"] = EndpointRecord.records(from: raw)
        case .endpoints:
            guard let raw = item.endpoints, let name = raw.metadata?.name else { return skip() }
            let namespace = raw.metadata?.namespace ?? "default"
            endpointSources["Endpoints \(namespace)/\(name)"] = EndpointRecord.records(from: raw)
        case .node:
            guard let raw = item.node, let name = raw.metadata?.name else { return skip() }
            nodes[name] = (raw.status?.addresses ?? []).compactMap(\.value).compactMap { address in
                guard address.type == "InternalIP" || address.type == "ExternalIP" else { return nil }
                return address.address.flatMap(Self.parseIP)
            }
        }
    }

    mutating func skip() {
        skippedItemCount += 1
    }

    mutating func rebuildIndices() {
        var nodesByIP: [IPAddress: String] = [:]
        var hostNetworkPodsByIP: [IPAddress: [PodIdentity]] = [:]
        var podsByIP: [IPAddress: PodIdentity] = [:]
        var servicesByIP: [IPAddress: ServiceIdentity] = [:]
        var roles: [IPAddress: DNSRole] = [:]

        // Nodes: Node objects, then the hostIP of scheduled pods.
        for (name, addresses) in nodes.sorted(by: { $0.key < $1.key }) {
            for ip in addresses where nodesByIP[ip] == nil { nodesByIP[ip] = name }
        }
        // Running before Pending before finished pods, so a reused IP goes to the live pod.
        let orderedPods = pods.values.sorted { ($0.phaseRank, $0.sequence) < ($1.phaseRank, $1.sequence) }
        for pod in orderedPods {
            guard let node = pod.identity.node else { continue }
            for ip in pod.hostIPs where nodesByIP[ip] == nil { nodesByIP[ip] = node }
        }
        // Host-network pods: their IP is the node's; list them, claim nothing.
        for pod in orderedPods where pod.isHostNetwork {
            for ip in pod.podIPs {
                if nodesByIP[ip] == nil { nodesByIP[ip] = pod.identity.node ?? ip.description }
                hostNetworkPodsByIP[ip, default: []].append(pod.identity)
            }
        }
        for (ip, list) in hostNetworkPodsByIP {
            hostNetworkPodsByIP[ip] = list.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        }
        // Pod IPs, then endpoints naming pods the file does not list.
        for pod in orderedPods where !pod.isHostNetwork {
            for ip in pod.podIPs where podsByIP[ip] == nil && nodesByIP[ip] == nil {
                podsByIP[ip] = pod.identity
            }
        }
        let endpointGroups = endpointSources.sorted { $0.key < $1.key }.map(\.value)
        for endpoint in endpointGroups.joined() {
            guard let reference = endpoint.pod, podsByIP[endpoint.ip] == nil, nodesByIP[endpoint.ip] == nil else { continue }
            podsByIP[endpoint.ip] = pods[reference]?.identity
                ?? PodIdentity(namespace: reference.namespace, name: reference.name, node: endpoint.nodeName)
        }
        // Service ClusterIPs.
        let orderedServices = services.values.sorted { $0.key < $1.key }
        for service in orderedServices {
            for ip in service.clusterIPs where servicesByIP[ip] == nil { servicesByIP[ip] = service.identity }
        }

        // DNS: kube-dns Service ClusterIPs, then CoreDNS pods (by label or as endpoints).
        let coreDNSPods = orderedPods.filter { Self.isCoreDNS(labels: $0.identity.labels) }
        var dnsServiceKeys: Set<ObjectKey> = [ObjectKey(namespace: "kube-system", name: "kube-dns")]
        for service in orderedServices where Self.isKubeDNS(service.identity, coreDNSPods: coreDNSPods) {
            dnsServiceKeys.insert(service.key)
            for ip in service.clusterIPs where roles[ip] == nil { roles[ip] = .kubeDNSService(service.identity) }
        }
        for pod in coreDNSPods {
            for ip in pod.podIPs where roles[ip] == nil && (pod.isHostNetwork || podsByIP[ip] == pod.identity) {
                roles[ip] = .coreDNSPod(pod.identity)
            }
        }
        for endpoint in endpointGroups.joined() {
            guard let service = endpoint.service, dnsServiceKeys.contains(service),
                  let reference = endpoint.pod, roles[endpoint.ip] == nil else { continue }
            let identity = podsByIP[endpoint.ip].flatMap { ObjectKey($0) == reference ? $0 : nil }
                ?? pods[reference]?.identity
                ?? PodIdentity(namespace: reference.namespace, name: reference.name, node: endpoint.nodeName)
            roles[endpoint.ip] = .coreDNSPod(identity)
        }

        self.nodesByIP = nodesByIP
        self.hostNetworkPodsByIP = hostNetworkPodsByIP
        self.podsByIP = podsByIP
        self.servicesByIP = servicesByIP
        self.clusterDNSRoles = roles
    }

    /// `k8s-app=kube-dns` (kubeadm, EKS, AKS, GKE's kube-dns), `k8s-app=coredns`, or the
    /// CoreDNS Helm chart's `app.kubernetes.io/name=coredns`.
    static func isCoreDNS(labels: [String: String]) -> Bool {
        if let app = labels["k8s-app"], app == "kube-dns" || app == "coredns" { return true }
        return labels["app.kubernetes.io/name"] == "coredns"
    }

    /// kube-system/kube-dns, or a Service selecting CoreDNS pods (by the usual labels, or
    /// a non-empty selector matching a CoreDNS pod of its namespace; this includes
    /// NodeLocal DNSCache's `kube-dns-upstream`).
    static func isKubeDNS(_ service: ServiceIdentity, coreDNSPods: [PodRecord]) -> Bool {
        if service.namespace == "kube-system" && service.name == "kube-dns" { return true }
        if !service.selector.isEmpty && isCoreDNS(labels: service.selector) { return true }
        guard !service.selector.isEmpty else { return false }
        return coreDNSPods.contains { pod in
            pod.identity.namespace == service.namespace
                && service.selector.allSatisfy { pod.identity.labels[$0.key] == $0.value }
        }
    }

    /// IPv4-mapped IPv6 (`::ffff:10.96.0.10`) is looked up as the IPv4 address.
    static func normalized(_ ip: IPAddress) -> IPAddress {
        if ip.isIPv6 && ip.high == 0 && ip.low >> 32 == 0xFFFF {
            return IPAddress(ipv4: UInt32(truncatingIfNeeded: ip.low))
        }
        return ip
    }

    static func parseIP(_ text: String) -> IPAddress? {
        IPAddress(text.trimmingSpaces).map(normalized)
    }
}

// MARK: - Records

struct ObjectKey: Hashable, Comparable, Sendable {
    var namespace: String
    var name: String

    init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    init(_ pod: PodIdentity) {
        self.init(namespace: pod.namespace, name: pod.name)
    }

    static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool {
        (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name)
    }
}

struct PodRecord: Sendable {
    var identity: PodIdentity
    var podIPs: [IPAddress]
    var hostIPs: [IPAddress]
    var hostNetwork: Bool
    var phase: String?
    var sequence: Int

    var key: ObjectKey { ObjectKey(identity) }

    /// `spec.hostNetwork`, or a pod IP equal to its host IP (objects missing the flag).
    var isHostNetwork: Bool {
        hostNetwork || podIPs.contains(where: hostIPs.contains)
    }

    var phaseRank: Int {
        switch phase {
        case "Running": 0
        case "Pending": 1
        case "Succeeded", "Failed": 3
        default: 2
        }
    }

    init?(_ raw: RawPod, sequence: Int) {
        guard let name = raw.metadata?.name, !name.isEmpty else { return nil }
        identity = PodIdentity(
            namespace: raw.metadata?.namespace ?? "default",
            name: name,
            node: raw.spec?.nodeName.flatMap { $0.isEmpty ? nil : $0 },
            labels: raw.metadata?.labels ?? [:])
        podIPs = Self.addresses(single: raw.status?.podIP, list: raw.status?.podIPs)
        hostIPs = Self.addresses(single: raw.status?.hostIP, list: raw.status?.hostIPs)
        hostNetwork = raw.spec?.hostNetwork ?? false
        phase = raw.status?.phase
        self.sequence = sequence
    }

    /// `podIP` plus `podIPs[].ip` (the same first address), without duplicates, in order.
    static func addresses(single: String?, list: [Lossy<RawIPEntry>]?) -> [IPAddress] {
        var result: [IPAddress] = []
        let texts = [single] + (list ?? []).map { $0.value?.ip }
        for text in texts {
            guard let text, let ip = ClusterDirectory.parseIP(text), !result.contains(ip) else { continue }
            result.append(ip)
        }
        return result
    }
}

struct ServiceRecord: Sendable {
    var identity: ServiceIdentity
    /// Parsed ClusterIPs; `None` (headless) and empty (ExternalName) give none.
    var clusterIPs: [IPAddress]

    var key: ObjectKey { ObjectKey(namespace: identity.namespace, name: identity.name) }

    init?(_ raw: RawService) {
        guard let name = raw.metadata?.name, !name.isEmpty else { return nil }
        let ports = (raw.spec?.ports ?? []).compactMap(\.value).compactMap { port -> ServicePort? in
            guard let number = port.port else { return nil }
            return ServicePort(name: port.name, port: number,
                               transportProtocol: port.protocol ?? "TCP", targetPort: port.targetPort?.text)
        }
        identity = ServiceIdentity(
            namespace: raw.metadata?.namespace ?? "default",
            name: name,
            ports: ports,
            selector: (raw.spec?.selector ?? [:]).compactMapValues(\.value))
        var ips: [IPAddress] = []
        let texts = [raw.spec?.clusterIP] + (raw.spec?.clusterIPs ?? []).map(\.value)
        for text in texts {
            guard let text, let ip = ClusterDirectory.parseIP(text), !ips.contains(ip) else { continue }
            ips.append(ip)
        }
        clusterIPs = ips
    }
}

/// One address of an EndpointSlice or Endpoints object.
struct EndpointRecord: Sendable {
    /// The Service it belongs to (EndpointSlice: the `kubernetes.io/service-name` label).
    var service: ObjectKey?
    var ip: IPAddress
    /// `targetRef` when it names a Pod.
    var pod: ObjectKey?
    var nodeName: String?

    static func records(from slice: RawEndpointSlice) -> [EndpointRecord] {
        let namespace = slice.metadata?.namespace ?? "default"
        let service = slice.metadata?.labels["kubernetes.io/service-name"].map {
            ObjectKey(namespace: namespace, name: $0)
        }
        guard slice.addressType != "FQDN" else { return [] }
        return (slice.endpoints ?? []).compactMap(\.value).flatMap { endpoint in
            (endpoint.addresses ?? []).compactMap { text -> EndpointRecord? in
                guard let text = text.value, let ip = ClusterDirectory.parseIP(text) else { return nil }
                return EndpointRecord(service: service, ip: ip,
                                      pod: podKey(endpoint.targetRef, namespace: namespace),
                                      nodeName: endpoint.nodeName)
            }
        }
    }

    static func records(from endpoints: RawEndpoints) -> [EndpointRecord] {
        let namespace = endpoints.metadata?.namespace ?? "default"
        let service = endpoints.metadata?.name.map { ObjectKey(namespace: namespace, name: $0) }
        return (endpoints.subsets ?? []).compactMap(\.value).flatMap { subset in
            ((subset.addresses ?? []) + (subset.notReadyAddresses ?? [])).compactMap(\.value).compactMap { address -> EndpointRecord? in
                guard let text = address.ip, let ip = ClusterDirectory.parseIP(text) else { return nil }
                return EndpointRecord(service: service, ip: ip,
                                      pod: podKey(address.targetRef, namespace: namespace),
                                      nodeName: address.nodeName)
            }
        }
    }

    static func podKey(_ reference: RawTargetRef?, namespace: String) -> ObjectKey? {
        guard let reference, reference.kind == nil || reference.kind == "Pod",
              let name = reference.name, !name.isEmpty else { return nil }
        return ObjectKey(namespace: reference.namespace ?? namespace, name: name)
    }
}
