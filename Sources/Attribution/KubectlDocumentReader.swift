#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns bytes into the items of a kubectl document, or a one-line error.
enum KubectlDocumentReader {
    struct Item {
        var item: RawItem
        var kind: ResourceKind
    }

    struct Document {
        var items: [Item]
        /// List entries that are not even JSON objects.
        var unreadableCount = 0
    }

    static let source = "kubectl JSON input"

    static func read(_ data: Data) throws(AttributionError) -> Document {
        let bytes = try jsonBytes(data)
        do {
            return try decode(bytes)
        } catch .notJSON(let source, let detail) {
            // Say where the syntax breaks; several documents in a row are read one by one.
            switch JSONScanner.documents(in: Array(bytes)) {
            case .failure(let error) where error.isTooDeep:
                throw .tooDeep(source: source, detail: error.message)
            case .failure(let error):
                throw .notJSON(source: source, detail: error.message)
            case .success(let ranges) where ranges.count > 1:
                var merged = Document(items: [])
                for range in ranges {
                    let part = try decode(Data(bytes[bytes.startIndex + range.lowerBound..<bytes.startIndex + range.upperBound]))
                    merged.items += part.items
                    merged.unreadableCount += part.unreadableCount
                }
                return merged
            case .success:
                throw .notJSON(source: source, detail: detail)
            }
        }
    }

    static func decode(_ bytes: Data) throws(AttributionError) -> Document {
        let raw: RawDocument
        do {
            raw = try JSONDecoder().decode(RawDocument.self, from: bytes)
        } catch let error as DecodingError {
            throw classify(error, firstByte: bytes.first(where: { !isSpace($0) }))
        } catch {
            throw .notJSON(source: source, detail: String(describing: error))
        }
        return try classify(raw)
    }

    /// The JSON text: without a UTF-8 byte order mark, and without lines before the first
    /// `{` line when something (a kubectl `Warning:` sent to the same file) precedes it.
    static func jsonBytes(_ data: Data) throws(AttributionError) -> Data {
        var bytes = data
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = Data(bytes.dropFirst(3)) }
        guard let first = bytes.first(where: { !isSpace($0) }) else {
            throw .notJSON(source: source, detail: bytes.isEmpty ? "the input is empty" : "the input is blank")
        }
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") { return bytes }
        let array = Array(bytes)
        for index in array.indices.dropLast() where array[index] == UInt8(ascii: "\n") && array[index + 1] == UInt8(ascii: "{") {
            return Data(array[(index + 1)...])
        }
        if looksLikeYAML(array) {
            throw .notJSON(source: source, detail: "it looks like YAML; use `-o json`, not `-o yaml`")
        }
        if looksLikeTable(array) {
            throw .notJSON(source: source, detail: "it looks like kubectl's table output; add `-o json`")
        }
        return bytes   // let the decoder say what is wrong
    }

    /// Longest name, namespace, node name, label key or value kept (Kubernetes allows 253
    /// bytes for names, 63 for label values): a longer one is not from kubectl, and would be
    /// printed in every finding that names its pod.
    static let maximumStringBytes = 1024

    /// Throws `.stringTooLong` for the first string of `item` the directory would keep that
    /// is longer than `maximumStringBytes`.
    static func checkStringLengths(_ item: RawItem) throws(AttributionError) {
        var fields: [(String, String?)] = []
        for metadata in [item.pod?.metadata, item.service?.metadata, item.endpointSlice?.metadata,
                         item.endpoints?.metadata, item.node?.metadata] {
            guard let metadata else { continue }
            fields += [("metadata.name", metadata.name), ("metadata.namespace", metadata.namespace)]
            for (key, value) in metadata.labels { fields += [("a label key", key), ("label \(key.prefix(40))", value)] }
        }
        fields.append(("spec.nodeName", item.pod?.spec?.nodeName))
        for case let (field, value?) in fields where value.utf8.count > maximumStringBytes {
            throw .stringTooLong(source: source, field: field, length: value.utf8.count, limit: maximumStringBytes)
        }
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    static func looksLikeYAML(_ bytes: [UInt8]) -> Bool {
        let head = String(decoding: bytes.prefix(4096), as: UTF8.self)
        return head.hasPrefix("---") || head.split(separator: "\n").contains { line in
            line.hasPrefix("apiVersion:") || line.hasPrefix("kind:") || line.hasPrefix("items:")
        }
    }

    static func looksLikeTable(_ bytes: [UInt8]) -> Bool {
        let head = String(decoding: bytes.prefix(512), as: UTF8.self)
        return head.hasPrefix("NAME ") || head.hasPrefix("NAMESPACE ")
    }

    static func classify(_ error: DecodingError, firstByte: UInt8?) -> AttributionError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            let detail = context.underlyingError.map { String(describing: $0) } ?? context.debugDescription
            return .notJSON(source: source, detail: detail)
        case .typeMismatch(_, let context) where context.codingPath.isEmpty:
            return .notKubectlDocument(source: source, found: describeTopLevel(firstByte))
        default:
            return .notKubectlDocument(source: source, found: "unreadable structure")
        }
    }

    static func describeTopLevel(_ byte: UInt8?) -> String {
        switch byte {
        case UInt8(ascii: "["): "a JSON array"
        case UInt8(ascii: "\""): "a JSON string"
        default: "a JSON value that is not an object"
        }
    }

    static func classify(_ raw: RawDocument) throws(AttributionError) -> Document {
        let implied: ResourceKind?
        switch raw.kind {
        case "List"?:
            implied = nil
        case let kind? where kind.hasSuffix("List"):
            guard let listKind = ResourceKind(listKind: kind) else {
                throw .notKubectlDocument(source: source, found: "kind \(kind)")
            }
            implied = listKind
        case let kind?:
            guard let single = ResourceKind(rawValue: kind) else {
                throw .notKubectlDocument(source: source, found: "kind \(kind)")
            }
            guard let item = raw.single else { return Document(items: []) }
            try checkStringLengths(item)
            return Document(items: [Item(item: item, kind: single)])
        case nil:
            guard raw.hasItemsKey else { throw .notKubectlDocument(source: source, found: "no \"kind\" field") }
            implied = nil
        }
        if raw.hasItemsKey && raw.items == nil && !raw.itemsIsNull {
            throw .notKubectlDocument(source: source, found: "\"items\" is not an array")
        }
        var items: [Item] = []
        var unreadable = 0
        for entry in raw.items ?? [] {
            guard let item = entry.value else { unreadable += 1; continue }
            guard let kind = item.resolvedKind(listImplies: implied) else { continue }
            try checkStringLengths(item)
            items.append(Item(item: item, kind: kind))
        }
        return Document(items: items, unreadableCount: unreadable)
    }
}
