import WireCore

/// Why writing or checking evidence failed: each case names the file or value at fault.
///
/// The descriptions are single lines meant for `dnstrail: <description>` on stderr.
public enum EvidenceError: Error, Equatable, Sendable, CustomStringConvertible {
    // File system.
    case cannotCreate(path: String, reason: String)
    case cannotOpen(path: String, reason: String)
    case readFailed(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case cannotListDirectory(path: String, reason: String)
    /// Refused unread: a FIFO, a device, a directory or a symbolic link where a regular file belongs.
    case notRegularFile(path: String, kind: String)
    /// A bundle may hold only regular files; a manifest would not cover anything else.
    case unsupportedBundleEntry(name: String, kind: String)
    /// The bundle goes to a new or empty directory, never over other files.
    case bundleDirectoryNotEmpty(path: String)

    // pcapng writer.
    case writerClosed(path: String)
    case linkTypeOutOfRange(LinkType)
    case snapshotLengthOutOfRange(Int)
    case unknownInterface(Int, interfaceCount: Int)
    case timestampBeforeEpoch(Timestamp)
    case capturedLengthExceedsSnapshotLength(captured: Int, snapshotLength: Int, interface: Int)
    case capturedLengthExceedsMaximum(captured: Int, maximum: Int)
    case originalLengthShorterThanCaptured(original: Int, captured: Int)
    case originalLengthOutOfRange(Int)
    case optionTooLong(code: UInt16, length: Int, maximum: Int)

    // Manifest.
    case manifestUnreadable(path: String, reason: String)
    case manifestInvalid(path: String, reason: String)
    case manifestVersionUnsupported(path: String, version: Int, supported: Int)
    case manifestEncodingFailed(reason: String)

    public var description: String {
        switch self {
        case let .cannotCreate(path, reason): "cannot create '\(path)': \(reason)"
        case let .cannotOpen(path, reason): "cannot open '\(path)': \(reason)"
        case let .readFailed(path, reason): "cannot read '\(path)': \(reason)"
        case let .writeFailed(path, reason): "cannot write '\(path)': \(reason)"
        case let .cannotListDirectory(path, reason): "cannot list directory '\(path)': \(reason)"
        case let .notRegularFile(path, kind): "'\(path)' is a \(kind), not a regular file"
        case let .unsupportedBundleEntry(name, kind):
            "bundle entry '\(name)' is a \(kind); an evidence bundle holds only regular files"
        case let .bundleDirectoryNotEmpty(path):
            "cannot write the bundle to '\(path)': it exists and is not an empty directory"
        case let .writerClosed(path): "pcapng writer for '\(path)' is already closed"
        case let .linkTypeOutOfRange(linkType):
            "link type \(linkType.rawValue) does not fit the 16-bit pcapng LinkType field"
        case let .snapshotLengthOutOfRange(length): "snapshot length \(length) is not within 0...\(UInt32.max)"
        case let .unknownInterface(id, count):
            "interface \(id) was never added (\(count) interface\(count == 1 ? "" : "s") so far)"
        case let .timestampBeforeEpoch(timestamp):
            "timestamp \(timestamp.nanoseconds) ns is before 1970; pcapng timestamps are unsigned"
        case let .capturedLengthExceedsSnapshotLength(captured, snapshotLength, interface):
            "packet of \(captured) bytes exceeds interface \(interface)'s snapshot length \(snapshotLength)"
        case let .capturedLengthExceedsMaximum(captured, maximum):
            "packet of \(captured) bytes exceeds the \(maximum)-byte maximum readers accept"
        case let .originalLengthShorterThanCaptured(original, captured):
            "original length \(original) is shorter than the \(captured) captured bytes"
        case let .originalLengthOutOfRange(length): "original length \(length) is not within 0...\(UInt32.max)"
        case let .optionTooLong(code, length, maximum):
            "pcapng option \(code) is \(length) bytes long; the maximum is \(maximum)"
        case let .manifestUnreadable(path, reason): "cannot read manifest '\(path)': \(reason)"
        case let .manifestInvalid(path, reason): "manifest '\(path)' is not a valid dnstrail manifest: \(reason)"
        case let .manifestVersionUnsupported(path, version, supported):
            "manifest '\(path)' has manifest_version \(version); this dnstrail reads version \(supported)"
        case let .manifestEncodingFailed(reason): "cannot encode manifest: \(reason)"
        }
    }
}
