#if canImport(Glibc)
import Glibc
#endif

/// Buffered writes to a file descriptor (standard output by default), flushed in large
/// blocks: NDJSON output of millions of lines must not cost a system call per line.
public final class OutputBuffer {
    public static let flushThreshold = 1 << 16
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    /// Set once a write fails (for example a closed pipe); later output is discarded.
    public private(set) var failed = false
    /// The `errno` of the failed write (`EPIPE`, `ENOSPC`, ...), 0 while none failed.
    public private(set) var failureErrno: Int32 = 0

    private let closeWhenDone: Bool
    private var closed = false

    public init(descriptor: Int32 = 1, closeWhenDone: Bool = false) {
        self.descriptor = descriptor
        self.closeWhenDone = closeWhenDone
        buffer.reserveCapacity(OutputBuffer.flushThreshold * 2)
    }

    deinit { close() }

    /// Flushes, and closes the descriptor if this buffer owns it. Later writes are discarded.
    public func close() {
        guard !closed else { return }
        flush()
        closed = true
        if closeWhenDone, Glibc.close(descriptor) != 0, !failed, errno != EINTR {
            failed = true
            failureErrno = errno
        }
    }

    /// Why output was lost, one line ("No space left on device"), or nil while none was.
    public var failureReason: String? {
        guard failed else { return nil }
        return String(cString: strerror(failureErrno))
    }

    /// True when the reader went away (a closed pipe: `| head`), which is not an error to report.
    public var readerClosed: Bool { failed && failureErrno == EPIPE }

    public func write(_ text: String) {
        guard !closed else { return }
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= OutputBuffer.flushThreshold { flush() }
    }

    public func writeLine(_ text: String) {
        guard !closed else { return }
        buffer.append(contentsOf: text.utf8)
        buffer.append(0x0a)
        if buffer.count >= OutputBuffer.flushThreshold { flush() }
    }

    /// Writes `bytes` (UTF-8 text) and a newline.
    public func writeLine(_ bytes: UnsafeRawBufferPointer) {
        guard !closed else { return }
        buffer.append(contentsOf: bytes)
        buffer.append(0x0a)
        if buffer.count >= OutputBuffer.flushThreshold { flush() }
    }

    public func flush() {
        defer { buffer.removeAll(keepingCapacity: true) }
        guard !failed else { return }
        var offset = 0
        buffer.withUnsafeBytes { bytes in
            while offset < bytes.count, let base = bytes.baseAddress {
                let written = Glibc.write(descriptor, base + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failed = true
                    failureErrno = errno
                    return
                }
                offset += written
            }
        }
    }
}
