/// What `EvidenceBundle.verify` found: the manifest, what it re-hashed, and every problem.
public struct VerificationReport: Equatable, Sendable {
    /// One discrepancy between the manifest and the files; `description` is one line.
    public enum Problem: Equatable, Sendable, CustomStringConvertible {
        /// Listed in the manifest, absent from the bundle.
        case missing(name: String)
        case sizeMismatch(name: String, expected: Int, actual: Int)
        /// Same size, different contents.
        case sha256Mismatch(name: String, expected: String, actual: String)
        /// In the bundle, not listed in the manifest.
        case unexpected(name: String)
        case notRegularFile(name: String, kind: String)
        case unreadable(name: String, reason: String)
        /// A listed name that is not a plain file name inside the bundle ("../x", "a/b").
        case invalidName(name: String)
        case duplicateEntry(name: String)
        case inputSizeMismatch(path: String, expected: Int, actual: Int)
        case inputSHA256Mismatch(path: String, expected: String, actual: String)
        case inputUnreadable(path: String, reason: String)
        /// With --check-inputs, an input path that is now a FIFO, a device or a directory: not read.
        case inputNotRegularFile(path: String, kind: String)

        public var description: String {
            switch self {
            case let .missing(name):
                "\(quoted(name)): missing (listed in the manifest, absent from the bundle)"
            case let .sizeMismatch(name, expected, actual):
                "\(quoted(name)): size mismatch (manifest \(expected) bytes, file \(actual) bytes)"
            case let .sha256Mismatch(name, expected, actual):
                "\(quoted(name)): sha256 mismatch (manifest \(quoted(expected)), file \(actual))"
            case let .unexpected(name):
                "\(quoted(name)): unexpected (in the bundle, not listed in the manifest)"
            case let .notRegularFile(name, kind):
                "\(quoted(name)): not a regular file (\(kind))"
            case let .unreadable(name, reason):
                "\(quoted(name)): unreadable (\(quoted(reason, marks: false)))"
            case let .invalidName(name):
                "\(quoted(name)): invalid name in the manifest (not a plain file name inside the bundle)"
            case let .duplicateEntry(name):
                "\(quoted(name)): listed more than once in the manifest"
            case let .inputSizeMismatch(path, expected, actual):
                "input \(quoted(path)) changed: size mismatch (manifest \(expected) bytes, file \(actual) bytes)"
            case let .inputSHA256Mismatch(path, expected, actual):
                "input \(quoted(path)) changed: sha256 mismatch (manifest \(quoted(expected)), file \(actual))"
            case let .inputUnreadable(path, reason):
                "input \(quoted(path)): unreadable (\(quoted(reason, marks: false)))"
            case let .inputNotRegularFile(path, kind):
                "input \(quoted(path)): not a regular file (\(kind)), not read"
            }
        }
    }

    public var manifest: EvidenceManifest
    /// In manifest order, then unexpected files by name, then inputs.
    public var problems: [Problem] = []
    /// Listed files that were found and re-hashed.
    public var filesChecked = 0
    /// Input captures re-hashed (those still at their recorded path).
    public var inputsChecked: [String] = []
    /// Input captures no longer at their recorded path: not checked, not a problem.
    public var inputsNotFound: [String] = []

    public init(manifest: EvidenceManifest) {
        self.manifest = manifest
    }

    public var isValid: Bool { problems.isEmpty }

    /// The problems, one line each, as `dnstrail verify` prints them.
    public var problemLines: [String] { problems.map(\.description) }
}

/// A manifest value made safe for one line: wrapped in single quotes (unless `marks` is
/// false), with control characters, quotes and backslashes escaped. Names and hashes come
/// from a file anyone could have edited.
func quoted(_ text: String, marks: Bool = true) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": result += "\\\\"
        case "'" where marks: result += "\\'"
        case "\n": result += "\\n"
        case "\t": result += "\\t"
        case "\r": result += "\\r"
        default:
            if scalar.properties.generalCategory == .control || scalar.properties.generalCategory == .format {
                result += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return marks ? "'\(result)'" : result
}
