import Foundation
import Glibc

/// Builds a little-endian pcapng file byte by byte (pcapng §4): a Section Header Block,
/// Interface Description Blocks and Enhanced Packet Blocks with the options dnstrail reads
/// (comment 1, if_name 2). Test data in the real format, read back by the real libpcap.
struct PcapngFileBuilder {
    private(set) var bytes: [UInt8] = []

    init(sectionComment: String? = nil) {
        var body: [UInt8] = []
        body += le32(0x1a2b_3c4d) + le16(1) + le16(0) + [UInt8](repeating: 0xff, count: 8)
        body += Self.options([(1, sectionComment)])
        appendBlock(type: 0x0a0d_0d0a, body: body)
    }

    mutating func appendInterface(linkType: UInt16, name: String? = nil, comment: String? = nil, snapshotLength: UInt32 = 262_144) {
        let body = le16(linkType) + le16(0) + le32(snapshotLength) + Self.options([(2, name), (1, comment)])
        appendBlock(type: 1, body: body)
    }

    /// An Enhanced Packet Block; `microseconds` since the epoch (the default resolution).
    mutating func appendPacket(interface: UInt32 = 0, microseconds: UInt64, frame: [UInt8]) {
        var body = le32(interface) + le32(UInt32(microseconds >> 32)) + le32(UInt32(microseconds & 0xffff_ffff))
        body += le32(UInt32(frame.count)) + le32(UInt32(frame.count)) + frame
        body += [UInt8](repeating: 0, count: (4 - frame.count % 4) % 4)
        appendBlock(type: 6, body: body)
    }

    private mutating func appendBlock(type: UInt32, body: [UInt8]) {
        let length = UInt32(12 + body.count)
        bytes += le32(type) + le32(length) + body + le32(length)
    }

    private static func options(_ options: [(code: UInt16, value: String?)]) -> [UInt8] {
        var bytes: [UInt8] = []
        for option in options {
            guard let value = option.value else { continue }
            let utf8 = Array(value.utf8)
            bytes += le16(option.code) + le16(UInt16(utf8.count)) + utf8
            bytes += [UInt8](repeating: 0, count: (4 - utf8.count % 4) % 4)
        }
        return bytes.isEmpty ? [] : bytes + le16(0) + le16(0)
    }
}

private func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }
private func le32(_ value: UInt32) -> [UInt8] {
    [UInt8(value & 0xff), UInt8((value >> 8) & 0xff), UInt8((value >> 16) & 0xff), UInt8(value >> 24)]
}

/// A real pipe whose write end a background thread fills with `bytes` and then closes;
/// `path` (`/dev/fd/N`) opens its read end, as a shell's process substitution does.
final class FilledPipe: @unchecked Sendable {
    let readDescriptor: Int32
    var path: String { "/dev/fd/\(readDescriptor)" }
    private let done = DispatchSemaphore(value: 0)

    init(_ bytes: [UInt8]) throws {
        signal(SIGPIPE, SIG_IGN)  // A reader that stops early must fail the test, not kill it.
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else { throw POSIXError(.EMFILE) }
        readDescriptor = descriptors[0]
        let writeDescriptor = descriptors[1]
        let done = done
        Thread {
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(writeDescriptor, $0.baseAddress, $0.count) }
                if written <= 0 { break }  // The reader closed early: EPIPE.
                offset += written
            }
            Glibc.close(writeDescriptor)
            done.signal()
        }.start()
    }

    /// Waits for the writer to finish and closes the read end.
    func close() {
        done.wait()
        Glibc.close(readDescriptor)
    }
}
