#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a whole file with POSIX calls, so failures carry the system's reason
/// (`No such file or directory`, `Permission denied`, `Is a directory`).
enum FileInput {
    /// Largest `--pods` input read (per file): `kubectl get pods,svc -A -o json` of a
    /// cluster of about 8,000 pods. Decoding takes about ten times the text at peak, so
    /// this bounds a `--pods` file to about 650 MB while it is read (freed before the
    /// capture is analysed); `/dev/zero` or a runaway file stops here with one line.
    static let maximumBytes = 64 << 20

    static func read(path: String, maximumBytes: Int = FileInput.maximumBytes) throws(AttributionError) -> Data {
        let isStandardInput = path == "-"
        let descriptor = isStandardInput ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .unreadable(path: path, reason: systemError()) }
        defer { if !isStandardInput { close(descriptor) } }
        var result = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { raw in
                Glue.read(descriptor, raw.baseAddress, raw.count)
            }
            if count > 0 {
                guard result.count + count <= maximumBytes else {
                    throw .tooLarge(path: path, limit: maximumBytes)
                }
                result.append(contentsOf: buffer[0..<count])
            } else if count == 0 {
                return result
            } else if errno != EINTR {
                throw .unreadable(path: path, reason: systemError())
            }
        }
    }

    static func systemError() -> String {
        let code = errno
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}

/// The C `read`, named apart from `FileInput.read`.
private enum Glue {
    static func read(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
        Glibc.read(descriptor, buffer, count)
        #elseif canImport(Musl)
        Musl.read(descriptor, buffer, count)
        #else
        Darwin.read(descriptor, buffer, count)
        #endif
    }
}
