// Decodable mirrors of the few fields dnstrail reads from `kubectl get ... -o json`.
// Every field is optional and unknown fields are ignored; an item that cannot be read
// is skipped (and counted) rather than failing the whole document.

/// Decodes `T`, or nil when that element is malformed, so one bad item does not fail a list.
struct Lossy<T: Decodable>: Decodable {
    var value: T?
    init(from decoder: any Decoder) throws {
        value = try? T(from: decoder)
    }
}

/// A port that is a number or a name (`targetPort`).
struct IntOrString: Decodable {
    var text: String
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int.self) {
            text = String(number)
        } else {
            text = try container.decode(String.self)
        }
    }
}

struct RawMetadata: Decodable {
    var name: String?
    var namespace: String?
    var labels: [String: String]

    enum CodingKeys: String, CodingKey { case name, namespace, labels }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try? container.decodeIfPresent(String.self, forKey: .name)
        namespace = try? container.decodeIfPresent(String.self, forKey: .namespace)
        // Label values are strings by API contract; a map that is not is ignored, not fatal.
        labels = ((try? container.decodeIfPresent([String: Lossy<String>].self, forKey: .labels)) ?? nil)?
            .compactMapValues(\.value) ?? [:]
    }
}

struct RawIPEntry: Decodable {
    var ip: String?
}

struct RawPod: Decodable {
    struct Spec: Decodable {
        var nodeName: String?
        var hostNetwork: Bool?
    }
    struct Status: Decodable {
        var phase: String?
        var podIP: String?
        var podIPs: [Lossy<RawIPEntry>]?
        var hostIP: String?
        var hostIPs: [Lossy<RawIPEntry>]?
    }
    var metadata: RawMetadata?
    var spec: Spec?
    var status: Status?

    /// Looks like a pod when `kind` is missing and the list does not say.
    var hasPodShape: Bool {
        status?.podIP != nil || status?.podIPs != nil || status?.hostIP != nil || status?.phase != nil
            || spec?.nodeName != nil || spec?.hostNetwork != nil
    }
}

struct RawService: Decodable {
    struct Port: Decodable {
        var name: String?
        var port: Int?
        var `protocol`: String?
        var targetPort: IntOrString?
    }
    struct Spec: Decodable {
        var clusterIP: String?
        var clusterIPs: [Lossy<String>]?
        var type: String?
        var ports: [Lossy<Port>]?
        var selector: [String: Lossy<String>]?
    }
    var metadata: RawMetadata?
    var spec: Spec?

    var hasServiceShape: Bool {
        spec?.clusterIP != nil || spec?.clusterIPs != nil || spec?.ports != nil || spec?.type != nil
    }
}

struct RawTargetRef: Decodable {
    var kind: String?
    var name: String?
    var namespace: String?
}

/// discovery.k8s.io/v1 EndpointSlice.
struct RawEndpointSlice: Decodable {
    struct Endpoint: Decodable {
        var addresses: [Lossy<String>]?
        var nodeName: String?
        var targetRef: RawTargetRef?
    }
    var metadata: RawMetadata?
    var addressType: String?
    var endpoints: [Lossy<Endpoint>]?
}

/// v1 Endpoints.
struct RawEndpoints: Decodable {
    struct Address: Decodable {
        var ip: String?
        var nodeName: String?
        var targetRef: RawTargetRef?
    }
    struct Subset: Decodable {
        var addresses: [Lossy<Address>]?
        var notReadyAddresses: [Lossy<Address>]?
    }
    var metadata: RawMetadata?
    var subsets: [Lossy<Subset>]?
}

struct RawNode: Decodable {
    struct Address: Decodable {
        var type: String?
        var address: String?
    }
    struct Status: Decodable {
        var addresses: [Lossy<Address>]?
    }
    var metadata: RawMetadata?
    var status: Status?
}

/// The kinds this module reads.
enum ResourceKind: String, CaseIterable {
    case pod = "Pod"
    case service = "Service"
    case endpointSlice = "EndpointSlice"
    case endpoints = "Endpoints"
    case node = "Node"

    /// `PodList` → `.pod`, ...
    init?(listKind: String) {
        guard listKind.hasSuffix("List") else { return nil }
        self.init(rawValue: String(listKind.dropLast(4)))
    }
}

/// One object: decoded as the kind it says it is. Without `kind` (items of a raw
/// `PodList` from `kubectl get --raw`), every readable shape is kept and the list decides.
struct RawItem: Decodable {
    var kind: String?
    var pod: RawPod?
    var service: RawService?
    var endpointSlice: RawEndpointSlice?
    var endpoints: RawEndpoints?
    var node: RawNode?

    enum CodingKeys: String, CodingKey { case kind }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try? container.decodeIfPresent(String.self, forKey: .kind)
        let known = kind.flatMap(ResourceKind.init(rawValue:))
        if kind != nil && known == nil { return }   // ConfigMap, Deployment, ...: ignored
        if known == nil || known == .pod { pod = try? RawPod(from: decoder) }
        if known == nil || known == .service { service = try? RawService(from: decoder) }
        if known == nil || known == .endpointSlice { endpointSlice = try? RawEndpointSlice(from: decoder) }
        if known == nil || known == .endpoints { endpoints = try? RawEndpoints(from: decoder) }
        if known == nil || known == .node { node = try? RawNode(from: decoder) }
    }

    /// What this item is, given the kind its list implies for kind-less items.
    func resolvedKind(listImplies implied: ResourceKind?) -> ResourceKind? {
        if let kind { return ResourceKind(rawValue: kind) }
        if let implied { return implied }
        if endpointSlice?.addressType != nil { return .endpointSlice }
        if endpoints?.subsets != nil { return .endpoints }
        if service?.hasServiceShape == true { return .service }
        if node?.status?.addresses != nil { return .node }
        if pod?.hasPodShape == true { return .pod }
        return nil
    }
}

/// The top level: a `List` (or `PodList`, `ServiceList`, ...) or one object.
struct RawDocument: Decodable {
    var kind: String?
    var items: [Lossy<RawItem>]?
    var hasItemsKey: Bool
    var itemsIsNull: Bool
    var single: RawItem?

    enum CodingKeys: String, CodingKey { case kind, items }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try? container.decodeIfPresent(String.self, forKey: .kind)
        hasItemsKey = container.contains(.items)
        itemsIsNull = hasItemsKey && ((try? container.decodeNil(forKey: .items)) ?? false)
        items = (try? container.decodeIfPresent([Lossy<RawItem>].self, forKey: .items)) ?? nil
        if let kind, ResourceKind(rawValue: kind) != nil {
            single = try? RawItem(from: decoder)
        }
    }
}

// The mirrors are plain values: a decoded API object (KubernetesObject) crosses from the
// watch tasks to the directory builder.
extension Lossy: Sendable where T: Sendable {}
extension IntOrString: Sendable {}
extension RawMetadata: Sendable {}
extension RawIPEntry: Sendable {}
extension RawPod: Sendable {}
extension RawPod.Spec: Sendable {}
extension RawPod.Status: Sendable {}
extension RawService: Sendable {}
extension RawService.Port: Sendable {}
extension RawService.Spec: Sendable {}
extension RawTargetRef: Sendable {}
extension RawEndpointSlice: Sendable {}
extension RawEndpointSlice.Endpoint: Sendable {}
extension RawEndpoints: Sendable {}
extension RawEndpoints.Address: Sendable {}
extension RawEndpoints.Subset: Sendable {}
extension RawNode: Sendable {}
extension RawNode.Address: Sendable {}
extension RawNode.Status: Sendable {}
extension RawItem: Sendable {}
