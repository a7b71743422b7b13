/// Why a kubectl JSON file could not be used. `description` is always one line.
public enum AttributionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file could not be opened or read (`reason` is the system's, e.g. `No such file or directory`).
    case unreadable(path: String, reason: String)
    /// The bytes are not JSON (empty, YAML, truncated, ...). `source` names the input
    /// (`'pods.json'`, or `kubectl JSON input` for in-memory data).
    case notJSON(source: String, detail: String)
    /// The file is larger than `limit` bytes (`FileInput.maximumBytes`).
    case tooLarge(path: String, limit: Int)
    /// A name, namespace or label longer than `KubectlDocumentReader.maximumStringBytes`.
    case stringTooLong(source: String, field: String, length: Int, limit: Int)
    /// JSON nested deeper than `JSONScanner.maximumDepth` (no kubectl document is).
    case tooDeep(source: String, detail: String)
    /// JSON, but not a kubectl List/Pod/Service document; `found` says what it is instead
    /// (`kind ConfigMap`, `a JSON array`, `no "kind" field`).
    case notKubectlDocument(source: String, found: String)

    public var description: String {
        let text = switch self {
        case .unreadable(let path, let reason):
            "cannot read kubectl JSON file '\(path.clipped)': \(reason.clipped)"
        case .tooLarge(let path, let limit):
            "kubectl JSON file '\(path.clipped)' is larger than \(limit >> 20) MB, the limit; pass only the pods and services needed"
        case .stringTooLong(let source, let field, let length, let limit):
            "\(source.clipped) has a \(field.clipped) of \(length) bytes, longer than the \(limit) kept; expected the output of `kubectl get pods,svc -A -o json`"
        case .tooDeep(let source, let detail):
            "\(source.clipped) is JSON nested too deep to read (\(detail.clipped)); expected the output of `kubectl get pods,svc -A -o json`"
        case .notJSON(let source, let detail):
            "\(source.clipped) is not JSON (\(detail.clipped)); expected the output of `kubectl get pods,svc -A -o json`"
        case .notKubectlDocument(let source, let found):
            "\(source.clipped) is not a kubectl List/Pod/Service document (\(found.clipped)); expected the output of `kubectl get pods,svc -A -o json`"
        }
        return text.oneLine
    }

    /// The same error naming `source` as the input.
    func from(source: String) -> AttributionError {
        switch self {
        case .unreadable, .tooLarge: self
        case .tooDeep(_, let detail): .tooDeep(source: source, detail: detail)
        case .stringTooLong(_, let field, let length, let limit):
            .stringTooLong(source: source, field: field, length: length, limit: limit)
        case .notJSON(_, let detail): .notJSON(source: source, detail: detail)
        case .notKubectlDocument(_, let found): .notKubectlDocument(source: source, found: found)
        }
    }
}

extension String {
    /// Control characters (newlines from file names or decoder messages) become spaces
    /// and runs of spaces collapse, so a message stays one line.
    var oneLine: String {
        var result = ""
        var lastWasSpace = false
        for scalar in unicodeScalars {
            let isSpace = scalar.properties.generalCategory == .control || scalar == " "
                || scalar.properties.generalCategory == .lineSeparator
                || scalar.properties.generalCategory == .paragraphSeparator
            if isSpace {
                if !lastWasSpace { result.unicodeScalars.append(" ") }
                lastWasSpace = true
            } else {
                result.unicodeScalars.append(scalar)
                lastWasSpace = false
            }
        }
        return result.trimmingSpaces
    }

    /// One line of at most 200 characters (a decoder message can quote a lot).
    var clipped: String {
        let line = oneLine
        return line.count > 200 ? String(line.prefix(199)) + "…" : line
    }

    var trimmingSpaces: String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice.removeFirst() }
        while slice.last?.isWhitespace == true { slice.removeLast() }
        return String(slice)
    }
}
