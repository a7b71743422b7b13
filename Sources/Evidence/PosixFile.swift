#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file descriptor with errors that name the path and the system's reason.
///
/// The only place in the module that calls the C library for file I/O; POSIX calls give
/// `errno` reasons ("Permission denied"), and never resolve anything over the network.
final class PosixFile {
    let path: String
    private var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        if descriptor >= 0 { _ = systemClose(descriptor) }
    }

    /// Creates `path` (or truncates it) for writing, mode 0644.
    static func create(path: String) throws(EvidenceError) -> PosixFile {
        let descriptor = systemOpen(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .cannotCreate(path: path, reason: lastErrorDescription()) }
        return PosixFile(path: path, descriptor: descriptor)
    }

    static func openForReading(path: String) throws(EvidenceError) -> PosixFile {
        let descriptor = systemOpen(path, O_RDONLY | O_CLOEXEC, 0)
        guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: lastErrorDescription()) }
        return PosixFile(path: path, descriptor: descriptor)
    }

    /// Opens `name` for reading only if it is a regular file, and returns it with its size.
    ///
    /// Made for hostile bundles: `O_NONBLOCK` so that a FIFO cannot hang the open, `fstat`
    /// on the opened descriptor (no window between check and use), and with
    /// `followingSymbolicLinks` false `O_NOFOLLOW`, so a final symbolic link is refused.
    /// `directory` is a descriptor from `openDirectory` (names are then relative to it), or
    /// `AT_FDCWD`. Throws `.notRegularFile` with the kind found, or `.cannotOpen`.
    static func openRegular(
        in directory: Int32, name: String, path: String, followingSymbolicLinks: Bool
    ) throws(EvidenceError) -> (file: PosixFile, bytes: Int) {
        let flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (followingSymbolicLinks ? 0 : O_NOFOLLOW)
        let descriptor = openat(directory, name, flags)
        guard descriptor >= 0 else {
            if errno == ELOOP, !followingSymbolicLinks { throw .notRegularFile(path: path, kind: FileKind.symbolicLink.description) }
            if errno == ENXIO { throw .notRegularFile(path: path, kind: FileKind.other.description) }
            throw .cannotOpen(path: path, reason: lastErrorDescription())
        }
        let file = PosixFile(path: path, descriptor: descriptor)
        var information = stat()
        guard fstat(descriptor, &information) == 0 else { throw .cannotOpen(path: path, reason: lastErrorDescription()) }
        let kind = FileKind(mode: information.st_mode)
        guard kind == .regular else { throw .notRegularFile(path: path, kind: kind.description) }
        return (file, Int(information.st_size))
    }

    /// A descriptor for the directory at `path` (following a symbolic link: the caller named it).
    static func openDirectory(path: String) throws(EvidenceError) -> Int32 {
        let descriptor = systemOpen(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard descriptor >= 0 else { throw .cannotListDirectory(path: path, reason: lastErrorDescription()) }
        return descriptor
    }

    /// Writes all of `bytes`, retrying short writes and interrupted calls.
    func write(_ bytes: UnsafeRawBufferPointer) throws(EvidenceError) {
        guard descriptor >= 0 else { throw .writeFailed(path: path, reason: "file is closed") }
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let written = systemWrite(descriptor, base + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path: path, reason: lastErrorDescription())
            }
            offset += written
        }
    }

    /// Writes all of `bytes`. (`Array.withUnsafeBytes` does not pass typed throws through,
    /// so the error is carried out by hand.)
    func write(_ bytes: [UInt8]) throws(EvidenceError) {
        let failure: EvidenceError? = bytes.withUnsafeBytes { buffer in
            do throws(EvidenceError) {
                try write(buffer)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// Reads up to `buffer.count` bytes; 0 means end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(EvidenceError) -> Int {
        guard descriptor >= 0 else { throw .readFailed(path: path, reason: "file is closed") }
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let count = systemRead(descriptor, base, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw .readFailed(path: path, reason: lastErrorDescription())
        }
    }

    /// Reads the whole file, failing if it is longer than `limit` bytes.
    func readAll(limit: Int) throws(EvidenceError) -> [UInt8] {
        var contents: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { chunk.deallocate() }
        while true {
            let count = try read(into: chunk)
            if count == 0 { return contents }
            guard contents.count + count <= limit else {
                throw .readFailed(path: path, reason: "longer than the \(limit)-byte limit")
            }
            contents.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[..<count]))
        }
    }

    /// Flushes to stable storage (when `synchronize`) and closes; the file is unusable after.
    func close(synchronize: Bool) throws(EvidenceError) {
        guard descriptor >= 0 else { return }
        let closing = descriptor
        descriptor = -1
        if synchronize, systemFsync(closing) != 0, errno != EINVAL, errno != EROFS {
            let reason = lastErrorDescription()
            _ = systemClose(closing)
            throw .writeFailed(path: path, reason: reason)
        }
        if systemClose(closing) != 0, errno != EINTR {
            throw .writeFailed(path: path, reason: lastErrorDescription())
        }
    }
}

/// What `lstat` says a path is, without following a final symbolic link.
enum FileKind: Equatable {
    case regular
    case directory
    case symbolicLink
    case other
    case absent

    var description: String {
        switch self {
        case .regular: "regular file"
        case .directory: "directory"
        case .symbolicLink: "symbolic link"
        case .other: "special file"
        case .absent: "missing file"
        }
    }

    static func of(path: String) throws(EvidenceError) -> FileKind {
        var information = stat()
        guard lstat(path, &information) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return .absent }
            throw .cannotOpen(path: path, reason: lastErrorDescription())
        }
        return FileKind(mode: information.st_mode)
    }

    init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .directory
        case S_IFLNK: self = .symbolicLink
        default: self = .other
        }
    }
}

/// Renames atomically within one file system.
func renameFile(from source: String, to destination: String) throws(EvidenceError) {
    guard rename(source, destination) == 0 else {
        throw .writeFailed(path: destination, reason: lastErrorDescription())
    }
}

func removeFileQuietly(_ path: String) {
    _ = unlink(path)
}

/// This machine's name from `gethostname(2)`: no resolver lookup, which matters on a node
/// whose DNS is the thing being investigated.
func localHostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return bytes.isEmpty ? "unknown" : String(decoding: bytes, as: UTF8.self)
}

func lastErrorDescription() -> String {
    let code = errno
    guard let message = strerror(code) else { return "error \(code)" }
    return String(cString: message)
}

// The C functions under names that do not clash with the methods above.
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
private func systemClose(_ descriptor: Int32) -> Int32 { close(descriptor) }
private func systemFsync(_ descriptor: Int32) -> Int32 { fsync(descriptor) }
private func systemWrite(_ descriptor: Int32, _ base: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, base, count)
}
private func systemRead(_ descriptor: Int32, _ base: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(descriptor, base, count)
}

/// Names in a directory, without "." and "..", in no particular order. A name that is not
/// valid UTF-8 is returned with `isUTF8` false (it cannot round-trip through a String).
/// More than `limit` entries is an error (a hostile bundle must not cost unbounded memory).
func listDirectory(path: String, limit: Int = Int.max) throws(EvidenceError) -> [(name: String, isUTF8: Bool)] {
    guard let stream = opendir(path) else {
        throw .cannotListDirectory(path: path, reason: lastErrorDescription())
    }
    defer { closedir(stream) }
    var names: [(name: String, isUTF8: Bool)] = []
    while true {
        errno = 0
        guard let entry = readdir(stream) else {
            if errno != 0 { throw .cannotListDirectory(path: path, reason: lastErrorDescription()) }
            return names
        }
        // Read the name in place, up to its NUL: glibc packs records by `d_reclen`, so
        // copying the whole 256-byte `d_name` reads past the last record's buffer.
        let raw: [UInt8] = withUnsafePointer(to: &entry.pointee.d_name) { name in
            let characters = UnsafeRawPointer(name).assumingMemoryBound(to: CChar.self)
            return Array(UnsafeRawBufferPointer(start: characters, count: strlen(characters)))
        }
        let name = String(decoding: raw, as: UTF8.self)
        if name == "." || name == ".." { continue }
        guard names.count < limit else {
            throw .cannotListDirectory(path: path, reason: "more than \(limit) entries")
        }
        names.append((name, Array(name.utf8) == raw))
    }
}
