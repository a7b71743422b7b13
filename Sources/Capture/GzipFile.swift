import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// Why a gzip file could not be written or read back: the path and the system's or zlib's reason.
public struct GzipFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "gzip file '\(path)': \(reason)" }
}

/// Writes a gzip file (RFC 1952) through zlib's gz* functions, buffered in 256 KB blocks,
/// for the evidence bundle's full transaction list. zlib is already linked for reading
/// compressed captures, so this adds no dependency; `gzip -t` and `zcat` read the result.
///
/// Invariant: once a write fails, every later call repeats that failure; `close()` must
/// succeed for the file to be complete (it writes the gzip trailer: CRC-32 and length).
public final class GzipFileWriter {
    public static let bufferSize: UInt32 = 1 << 18
    public let path: String
    private var gz: gzFile?
    private var failure: GzipFileError?

    /// Creates (or truncates) `path`, mode 0644. `level` is zlib's 1 (fastest) ... 9 (smallest).
    public init(path: String, level: Int = 6) throws(GzipFileError) {
        self.path = path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw GzipFileError(path: path, reason: String(cString: strerror(errno))) }
        guard let gz = gzdopen(descriptor, "wb\(min(max(level, 1), 9))") else {
            _ = Glibc.close(descriptor)
            throw GzipFileError(path: path, reason: "zlib cannot start a gzip stream")
        }
        _ = gzbuffer(gz, Self.bufferSize)
        self.gz = gz
    }

    deinit {
        if let gz { _ = gzclose_w(gz) }
    }

    /// Compresses `bytes` into the stream.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(GzipFileError) {
        if let failure { throw failure }
        guard let gz else { throw GzipFileError(path: path, reason: "already closed") }
        var offset = 0
        while offset < bytes.count, let base = bytes.baseAddress {
            let chunk = UInt32(min(bytes.count - offset, Int(Int32.max)))
            let written = gzwrite(gz, base + offset, chunk)
            guard written > 0 else {
                let error = GzipFileError(path: path, reason: zlibReason(gz))
                failure = error
                throw error
            }
            offset += Int(written)
        }
    }

    /// Flushes the compressor, writes the gzip trailer and closes the file.
    public func close() throws(GzipFileError) {
        if let failure { throw failure }
        guard let gz else { return }
        self.gz = nil
        let errorBeforeClose = errno
        let result = gzclose_w(gz)
        guard result == Z_OK else {
            let reason = result == Z_ERRNO ? String(cString: strerror(errno == 0 ? errorBeforeClose : errno))
                : "zlib error \(result)"
            let error = GzipFileError(path: path, reason: reason)
            failure = error
            throw error
        }
    }

    private func zlibReason(_ gz: gzFile) -> String {
        var code: Int32 = Z_OK
        let message = gzerror(gz, &code)
        if code == Z_ERRNO { return String(cString: strerror(errno)) }
        return message.map { String(cString: $0) } ?? "zlib error \(code)"
    }
}

/// Reads a gzip file (or a plain one: zlib copies it through) line by line.
public final class GzipLineReader {
    /// A longer line is an error rather than a reason to hold unbounded memory.
    public static let maximumLineLength = 16 << 20
    public let path: String
    private var gz: gzFile?
    private var buffer: [UInt8] = []

    public init(path: String) throws(GzipFileError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw GzipFileError(path: path, reason: String(cString: strerror(errno))) }
        guard let gz = gzdopen(descriptor, "rb") else {
            _ = Glibc.close(descriptor)
            throw GzipFileError(path: path, reason: "zlib cannot open the stream")
        }
        _ = gzbuffer(gz, GzipFileWriter.bufferSize)
        self.gz = gz
    }

    deinit {
        if let gz { _ = gzclose_r(gz) }
    }

    /// Calls `body` with each line (without its newline) until the end; a last line without
    /// a newline is passed too.
    public func forEachLine(_ body: (UnsafeRawBufferPointer) throws(GzipFileError) -> Void) throws(GzipFileError) {
        guard let gz else { return }
        let chunk = 1 << 18
        var lineStart = 0
        while true {
            // Keep the unfinished tail, read more after it.
            if lineStart > 0 {
                buffer.removeFirst(lineStart)
                lineStart = 0
            }
            let kept = buffer.count
            guard kept <= Self.maximumLineLength else {
                throw GzipFileError(path: path, reason: "a line longer than \(Self.maximumLineLength) bytes")
            }
            buffer.append(contentsOf: repeatElement(0, count: chunk))
            let count = buffer.withUnsafeMutableBytes { bytes in
                gzread(gz, bytes.baseAddress.map { $0 + kept }, UInt32(chunk))
            }
            guard count >= 0 else {
                var code: Int32 = Z_OK
                let message = gzerror(gz, &code)
                throw GzipFileError(path: path, reason: message.map { String(cString: $0) } ?? "read error")
            }
            buffer.removeLast(chunk - Int(count))
            if count == 0 {
                if !buffer.isEmpty {
                    let failure: GzipFileError? = buffer.withUnsafeBytes { bytes in
                        do throws(GzipFileError) { try body(bytes); return nil } catch { return error }
                    }
                    if let failure { throw failure }
                }
                buffer.removeAll()
                return
            }
            var failure: GzipFileError?
            buffer.withUnsafeBytes { bytes in
                var position = kept
                while position < bytes.count {
                    if bytes[position] == 0x0A {
                        do throws(GzipFileError) {
                            try body(UnsafeRawBufferPointer(rebasing: bytes[lineStart..<position]))
                        } catch {
                            failure = error
                            return
                        }
                        lineStart = position + 1
                    }
                    position += 1
                }
            }
            if let failure { throw failure }
        }
    }
}
