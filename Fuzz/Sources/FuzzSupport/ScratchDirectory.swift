#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A directory of this process for files a target writes per input: `/dev/shm/<prefix>-<pid>`
/// (memory-backed; the system temporary directory if /dev/shm is not writable), made on
/// first use and removed at exit. Directories of the same prefix left by processes that
/// died (a crash, a timeout, a fork-mode child) are removed first, so they never pile up.
public func makeScratchDirectory(prefix: String) -> String {
    let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory()
    let manager = FileManager.default
    for name in (try? manager.contentsOfDirectory(atPath: base)) ?? [] where name.hasPrefix(prefix + "-") {
        guard let pid = Int32(name.dropFirst(prefix.count + 1)), pid != getpid() else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH { try? manager.removeItem(atPath: base + "/" + name) }
    }
    let path = "\(base)/\(prefix)-\(getpid())"
    try? manager.removeItem(atPath: path)
    mkdir(path, 0o700)
    scratchDirectories.append(path)
    if scratchDirectories.count == 1 { atexit { removeScratchDirectories() } }
    return path
}

nonisolated(unsafe) private var scratchDirectories: [String] = []

private func removeScratchDirectories() {
    for path in scratchDirectories { try? FileManager.default.removeItem(atPath: path) }
}
