#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The directory an evidence bundle goes to: checked when the command starts, created
/// only when the first file is written (so a run that fails to open its inputs leaves
/// nothing behind), and emptied of what this run made when the run fails.
///
/// Invariant: `discard()` removes only the files this object handed out paths for and the
/// directories it created itself (innermost first, and only while empty): never a
/// directory that existed before, never anything it did not make.
public final class BundleDirectory {
    public let path: String
    /// Directories this run created, outermost first.
    private var createdDirectories: [String] = []
    /// Names of the files this run wrote (or may have started to write) in the bundle.
    private var createdFiles: [String] = []
    public private(set) var exists = false

    /// Checks that `path` is absent or an empty directory; creates nothing yet.
    public init(path: String) throws(EvidenceError) {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        self.path = String(trimmed)
        try checkUsable()
    }

    /// Creates the directory and its missing parents (once); later calls do nothing.
    public func create() throws(EvidenceError) {
        guard !exists else { return }
        try checkUsable()
        var missing: [String] = []
        var candidate = path
        while !candidate.isEmpty, try FileKind.of(path: candidate) == .absent {
            missing.append(candidate)
            guard let slash = candidate.utf8.lastIndex(of: UInt8(ascii: "/")) else { break }
            candidate = String(candidate[..<slash])
        }
        for directory in missing.reversed() {
            guard mkdir(directory, 0o755) == 0 else {
                let reason = lastErrorDescription()
                removeCreatedDirectories()
                throw .cannotCreate(path: directory, reason: reason)
            }
            createdDirectories.append(directory)
        }
        exists = true
    }

    /// The path of `name` in the bundle, creating the directory first; `discard()` will
    /// remove that file.
    public func file(_ name: String) throws(EvidenceError) -> String {
        try create()
        if !createdFiles.contains(name) { createdFiles.append(name) }
        return path + "/" + name
    }

    /// Stops tracking `name` (a temporary file the run removed itself).
    public func forget(_ name: String) {
        createdFiles.removeAll { $0 == name }
    }

    /// Undoes a failed run: removes the files it wrote, then the directories it created.
    public func discard() {
        guard exists else { return }
        for name in createdFiles + [EvidenceBundle.manifestFileName, EvidenceBundle.partialManifestFileName] {
            removeFileQuietly(path + "/" + name)
        }
        createdFiles = []
        removeCreatedDirectories()
        exists = false
    }

    private func removeCreatedDirectories() {
        for directory in createdDirectories.reversed() { _ = rmdir(directory) }
        createdDirectories = []
    }

    /// Absent, or an empty directory (a symbolic link to one counts, as `mkdir -p` would use it).
    private func checkUsable() throws(EvidenceError) {
        var information = stat()
        guard stat(path, &information) == 0 else {
            if errno == ENOENT { return }
            throw .cannotCreate(path: path, reason: lastErrorDescription())
        }
        guard information.st_mode & S_IFMT == S_IFDIR, try listDirectory(path: path).isEmpty else {
            throw .bundleDirectoryNotEmpty(path: path)
        }
    }
}
