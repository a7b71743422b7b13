/// The contents of an evidence bundle's `manifest.json`: what made the bundle, from which
/// captures, and the size and SHA-256 of every other file in it.
///
/// Written as pretty JSON with sorted keys, so two manifests of the same bundle differ
/// only where the bundle does (and in `created`).
public struct EvidenceManifest: Codable, Equatable, Sendable {
    /// Bumped when a field changes meaning; `verify` refuses versions it does not know.
    public static let currentVersion = 1

    public struct Tool: Codable, Equatable, Sendable {
        public var name: String
        public var version: String

        public init(name: String, version: String) {
            self.name = name
            self.version = version
        }
    }

    /// First and last capture timestamps, as the caller formatted them (RFC 3339 usually).
    public struct TimeRange: Codable, Equatable, Sendable {
        public var first: String
        public var last: String

        public init(first: String, last: String) {
            self.first = first
            self.last = last
        }
    }

    /// A capture the bundle was made from, by absolute path at the time.
    public struct Input: Codable, Equatable, Sendable {
        public var path: String
        public var sha256: String
        public var bytes: Int

        public init(path: String, sha256: String, bytes: Int) {
            self.path = path
            self.sha256 = sha256
            self.bytes = bytes
        }
    }

    /// A file of the bundle, by name within the bundle directory.
    public struct File: Codable, Equatable, Sendable {
        public var name: String
        public var sha256: String
        public var bytes: Int

        public init(name: String, sha256: String, bytes: Int) {
            self.name = name
            self.sha256 = sha256
            self.bytes = bytes
        }
    }

    public var manifestVersion: Int
    public var tool: Tool
    public var commandLine: [String]
    /// When the bundle was made, RFC 3339 UTC: the one wall-clock time dnstrail records.
    public var created: String
    public var host: String
    /// Absent when the captures held no packet.
    public var captureTimeRange: TimeRange?
    public var inputs: [Input]
    /// Every file of the bundle but `manifest.json`, sorted by name (byte order of UTF-8).
    public var files: [File]

    public init(
        manifestVersion: Int = EvidenceManifest.currentVersion, tool: Tool, commandLine: [String], created: String,
        host: String, captureTimeRange: TimeRange?, inputs: [Input], files: [File]
    ) {
        self.manifestVersion = manifestVersion
        self.tool = tool
        self.commandLine = commandLine
        self.created = created
        self.host = host
        self.captureTimeRange = captureTimeRange
        self.inputs = inputs
        self.files = files
    }

    enum CodingKeys: String, CodingKey {
        case manifestVersion = "manifest_version"
        case tool
        case commandLine = "command_line"
        case created
        case host
        case captureTimeRange = "capture_time_range"
        case inputs
        case files
    }
}
