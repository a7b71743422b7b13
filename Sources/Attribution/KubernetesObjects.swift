#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One object from the Kubernetes API (an item of a PodList or ServiceList, the object of
/// a watch event), decoded once with the same mirrors as `kubectl get -o json`, so that a
/// directory built from watched objects names pods exactly as one read from a file does.
///
/// Decoding throws only when the JSON value is not an object, has no `metadata.name`, or
/// carries a name, namespace or label longer than `KubectlDocumentReader.maximumStringBytes`.
public struct KubernetesObject: Decodable, Sendable {
    /// `metadata.namespace`; "default" when absent, as kubectl files are read.
    public let namespace: String
    public let name: String
    /// `metadata.resourceVersion`: where a watch resumes.
    public let resourceVersion: String?
    /// `kind` as sent; the items of an API list carry none.
    public let kind: String?
    /// The kind the list or watch it came from implies, for an object without `kind`.
    var impliedKind: ResourceKind?
    let item: RawItem

    private struct Metadata: Decodable {
        var name: String?
        var namespace: String?
        var resourceVersion: String?
    }

    private enum CodingKeys: String, CodingKey { case metadata }

    public init(from decoder: any Decoder) throws {
        item = try RawItem(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let metadata = try? container.decodeIfPresent(Metadata.self, forKey: .metadata)
        guard let name = metadata?.name, !name.isEmpty else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "no metadata.name"))
        }
        do {
            try KubectlDocumentReader.checkStringLengths(item)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
        self.name = name
        namespace = metadata?.namespace ?? "default"
        resourceVersion = metadata?.resourceVersion
        kind = item.kind
    }

    /// The same object, read as `kindName` (`Pod`, `Service`) when it does not say its kind.
    public func assuming(kind kindName: String) -> KubernetesObject {
        var copy = self
        copy.impliedKind = ResourceKind(rawValue: kindName)
        return copy
    }

    /// What the directory reads it as; nil for a kind it does not read (a watch `Status`).
    var resourceKind: ResourceKind? { item.resolvedKind(listImplies: impliedKind) }

    /// True for a kind the directory reads (Pod, Service, EndpointSlice, Endpoints, Node).
    public var isReadable: Bool { resourceKind != nil }
}

/// A list response of the API (`PodList`, `ServiceList`): its `metadata.resourceVersion`
/// (where the watch starts) and its items, each read as the list's kind. Items that cannot
/// be read (no name, not an object, a string over the limit) are skipped and counted.
public struct KubernetesObjectList: Decodable, Sendable {
    public let kind: String?
    public let resourceVersion: String?
    /// `metadata.continue`: the next page of a list asked with `limit`; nil on the last.
    public let continueToken: String?
    public let items: [KubernetesObject]
    public let skippedCount: Int

    private struct Metadata: Decodable {
        var resourceVersion: String?
        var `continue`: String?
    }

    private enum CodingKeys: String, CodingKey { case kind, metadata, items }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try? container.decodeIfPresent(String.self, forKey: .kind)
        let metadata = (try? container.decodeIfPresent(Metadata.self, forKey: .metadata)) ?? nil
        resourceVersion = metadata?.resourceVersion
        continueToken = metadata?.continue.flatMap { $0.isEmpty ? nil : $0 }
        let implied = kind.flatMap(ResourceKind.init(listKind:))
        let entries = (try container.decodeIfPresent([Lossy<KubernetesObject>].self, forKey: .items)) ?? []
        var items: [KubernetesObject] = []
        var skipped = 0
        for entry in entries {
            guard var object = entry.value else { skipped += 1; continue }
            object.impliedKind = implied
            items.append(object)
        }
        self.items = items
        skippedCount = skipped
    }
}

extension ClusterDirectory {
    /// A directory of API objects (pods and Services from a list and watch), read as the
    /// same objects in a kubectl file would be; an object seen twice keeps its later version,
    /// and one of a kind the directory does not read is counted as skipped. `departed` pods
    /// (deleted, kept for a grace period so late packets still get their names) rank as
    /// finished pods: an address a live pod took over goes to the live pod.
    public init(objects: some Sequence<KubernetesObject>, departed: some Sequence<KubernetesObject> = []) {
        self.init()
        for object in objects {
            guard let kind = object.resourceKind else { skip(); continue }
            absorb(object.item, as: kind)
        }
        for object in departed {
            guard let kind = object.resourceKind else { skip(); continue }
            var item = object.item
            if kind == .pod {
                if item.pod?.status == nil { item.pod?.status = RawPod.Status() }
                item.pod?.status?.phase = "Succeeded"
            }
            absorb(item, as: kind)
        }
        rebuildIndices()
    }
}

