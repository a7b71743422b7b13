#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Attribution

/// One line of a watch stream: `{"type":"ADDED","object":{...}}` (also MODIFIED, DELETED,
/// BOOKMARK with only `metadata.resourceVersion`, and ERROR whose object is a `Status`).
enum WatchEvent: Sendable {
    case added(KubernetesObject)
    case modified(KubernetesObject)
    case deleted(KubernetesObject)
    /// Nothing changed; the watch is current up to `resourceVersion`.
    case bookmark(resourceVersion: String?)
    /// The server ends the watch: 410 Gone (`code`) means the version is too old, list again.
    case error(APIStatus)

    /// Decodes one line; nil for a line that is not an event of a known type with a
    /// readable object (counted by the caller, the watch goes on).
    static func decode(_ line: [UInt8]) -> WatchEvent? {
        guard let raw = try? JSONDecoder().decode(RawEvent.self, from: Data(line)) else { return nil }
        return raw.event
    }

    private struct RawEvent: Decodable {
        var event: WatchEvent?

        private enum CodingKeys: String, CodingKey { case type, object }
        private struct BookmarkObject: Decodable {
            struct Metadata: Decodable { var resourceVersion: String? }
            var metadata: Metadata?
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let type = try container.decode(String.self, forKey: .type)
            switch type {
            case "ADDED": event = try .added(container.decode(KubernetesObject.self, forKey: .object))
            case "MODIFIED": event = try .modified(container.decode(KubernetesObject.self, forKey: .object))
            case "DELETED": event = try .deleted(container.decode(KubernetesObject.self, forKey: .object))
            case "BOOKMARK":
                let object = try? container.decode(BookmarkObject.self, forKey: .object)
                event = .bookmark(resourceVersion: object?.metadata?.resourceVersion)
            case "ERROR":
                event = .error((try? container.decode(APIStatus.self, forKey: .object)) ?? APIStatus())
            default:
                event = nil
            }
        }
    }
}

/// A `Status` object: what the API server says with an error (HTTP 410, a watch ERROR event).
struct APIStatus: Decodable, Sendable {
    var code: Int?
    var reason: String?
    var message: String?

    /// 410 Gone: the resource version asked for is older than the server keeps.
    var isGone: Bool { code == 410 || reason == "Expired" || reason == "Gone" }

    /// `410 Expired: too old resource version: 1 (120)`, one line, at most 300 characters.
    var summary: String {
        let parts = [code.map(String.init), reason].compactMap { $0 }.joined(separator: " ")
        let text = [parts, message ?? ""].filter { !$0.isEmpty }.joined(separator: ": ")
        return String(oneLine(text).prefix(300))
    }

    static func decode(_ bytes: [UInt8]) -> APIStatus? {
        try? JSONDecoder().decode(APIStatus.self, from: Data(bytes))
    }
}
