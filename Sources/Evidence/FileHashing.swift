import Crypto
import Foundation

/// Bytes read per step when hashing: captures can be many gigabytes, so a file is never
/// held in memory whole.
public let sha256ChunkSize = 1 << 20

/// The SHA-256 of a file's contents (lowercase hex, as `sha256sum` prints it) and its size,
/// read in `sha256ChunkSize` chunks.
public func sha256(fileAt url: URL) throws(EvidenceError) -> (hex: String, bytes: Int) {
    try sha256(path: url.path)
}

func sha256(path: String) throws(EvidenceError) -> (hex: String, bytes: Int) {
    try sha256(file: try PosixFile.openForReading(path: path), limit: Int.max - 1)
}

/// The SHA-256 of at most `limit` bytes of `file`, and how many bytes it holds, counting at
/// most `limit + 1` (one more tells the caller the file grew), then closes it.
func sha256(file: PosixFile, limit: Int) throws(EvidenceError) -> (hex: String, bytes: Int) {
    let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: sha256ChunkSize, alignment: 16)
    defer { chunk.deallocate() }
    var hasher = SHA256()
    var total = 0
    while total <= limit {
        let wanted = min(chunk.count, limit + 1 - total)
        let count = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: chunk[..<wanted]))
        if count == 0 { break }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: chunk[..<count]))
        total += count
    }
    try file.close(synchronize: false)
    return (lowercaseHex(hasher.finalize()), total)
}

func lowercaseHex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}
