import CZlib
import Glibc
import WireCore

/// One Interface Description Block of a pcapng file (pcapng §4.2), as far as dnstrail uses it.
public struct PcapngInterfaceDescription: Sendable, Equatable {
    public var linkType: LinkType
    /// `if_name` (option 2), when present and printable.
    public var name: String?
    /// The `opt_comment` options (option 1), joined by newlines.
    public var comment: String?

    public init(linkType: LinkType, name: String?, comment: String?) {
        self.linkType = linkType
        self.name = name
        self.comment = comment
    }
}

/// What the first blocks of a pcapng file say: the Section Header Block's comments and the
/// Interface Description Blocks that follow it, read by dnstrail itself because libpcap
/// exposes neither.
///
/// Invariant: built from at most `byteLimit` bytes at the start of the file, parsed with
/// bounds checks only (a damaged or oversized block ends the head, never the run); only the
/// first section is read, and only the blocks before the first packet.
public struct PcapngHead: Sendable, Equatable {
    /// The most bytes read ahead of libpcap: enough for a section header and dozens of
    /// interface blocks with comments, small enough to be free on every file.
    public static let byteLimit = 65_536

    public var sectionComment: String?
    public var interfaces: [PcapngInterfaceDescription] = []

    public init() {}

    static let sectionHeaderType: UInt32 = 0x0a0d_0d0a
    static let interfaceDescriptionType: UInt32 = 1
    static let byteOrderMagic: UInt32 = 0x1a2b_3c4d
    static let commentOption: UInt16 = 1
    static let interfaceNameOption: UInt16 = 2

    /// Linux cooked v2 interface indexes named by `dnstrail-interfaces:` lines in the
    /// section comment and the interface comments (see `InterfaceNameMap`); later lines win.
    public var interfaceNames: [Int32: String] {
        var names: [Int32: String] = [:]
        let comments = [sectionComment] + interfaces.map(\.comment)
        for comment in comments.compactMap({ $0 }) {
            names.merge(InterfaceNameMap.parseComment(comment)) { _, new in new }
        }
        return names
    }

    /// Parses the head of a pcapng file; whatever cannot be parsed ends it quietly.
    public static func parse(_ bytes: [UInt8]) -> PcapngHead {
        var head = PcapngHead()
        guard let type = word32(bytes, at: 0, bigEndian: true), type == sectionHeaderType,
              let magic = word32(bytes, at: 8, bigEndian: true) else { return head }
        let bigEndian: Bool
        switch magic {
        case byteOrderMagic: bigEndian = true
        case byteOrderMagic.byteSwapped: bigEndian = false
        default: return head
        }
        var offset = 0
        var isFirst = true
        while let blockType = word32(bytes, at: offset, bigEndian: bigEndian),
              let length = word32(bytes, at: offset + 4, bigEndian: bigEndian).map(Int.init),
              length >= 12, length % 4 == 0, length <= bytes.count - offset {
            let body = (offset + 8)..<(offset + length - 4)
            if isFirst {
                // Byte-order magic 4, version 2 + 2, section length 8: options start at 16.
                guard body.count >= 16 else { return head }
                let comments = options(bytes, in: (body.lowerBound + 16)..<body.upperBound, bigEndian: bigEndian)
                    .filter { $0.code == commentOption }.map(\.text)
                head.sectionComment = comments.isEmpty ? nil : comments.joined(separator: "\n")
                isFirst = false
            } else if blockType == interfaceDescriptionType {
                // Link type 2, reserved 2, snapshot length 4: options start at 8.
                guard body.count >= 8, let linkType = word16(bytes, at: body.lowerBound, bigEndian: bigEndian) else {
                    return head
                }
                let found = options(bytes, in: (body.lowerBound + 8)..<body.upperBound, bigEndian: bigEndian)
                let comments = found.filter { $0.code == commentOption }.map(\.text)
                let name = found.first { $0.code == interfaceNameOption }.map(\.text)
                head.interfaces.append(PcapngInterfaceDescription(
                    linkType: LinkType(rawValue: Int32(linkType)),
                    name: name.flatMap { isPrintable($0) ? $0 : nil },
                    comment: comments.isEmpty ? nil : comments.joined(separator: "\n")))
            } else {
                return head  // A packet, a second section, or anything else: the head is over.
            }
            offset += length
        }
        return head
    }

    /// The options of a block body (pcapng §3.5): code, length, value padded to 4 bytes,
    /// ended by opt_endofopt or the end of the body.
    private static func options(
        _ bytes: [UInt8], in range: Range<Int>, bigEndian: Bool
    ) -> [(code: UInt16, text: String)] {
        var found: [(code: UInt16, text: String)] = []
        var offset = range.lowerBound
        while offset + 4 <= range.upperBound,
              let code = word16(bytes, at: offset, bigEndian: bigEndian), code != 0,
              let length = word16(bytes, at: offset + 2, bigEndian: bigEndian).map(Int.init) {
            let value = (offset + 4)..<(offset + 4 + length)
            guard value.upperBound <= range.upperBound else { break }
            found.append((code, String(decoding: bytes[value], as: UTF8.self)))
            offset = value.upperBound + (4 - length % 4) % 4
        }
        return found
    }

    private static func isPrintable(_ text: String) -> Bool {
        !text.isEmpty && !text.unicodeScalars.contains { $0.properties.generalCategory == .control || $0 == "\u{FFFD}" }
    }

    private static func word16(_ bytes: [UInt8], at offset: Int, bigEndian: Bool) -> UInt16? {
        guard offset >= 0, offset <= bytes.count - 2 else { return nil }
        let value = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        return bigEndian ? value : value.byteSwapped
    }

    private static func word32(_ bytes: [UInt8], at offset: Int, bigEndian: Bool) -> UInt32? {
        guard offset >= 0, offset <= bytes.count - 4 else { return nil }
        let value = UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
        return bigEndian ? value : value.byteSwapped
    }

    /// Reads the section header and the interface blocks after it from `file`, one block at
    /// a time (so a live stream is never read past its first packet block's header), at
    /// most `byteLimit` bytes. Returns exactly the bytes consumed, to be replayed to libpcap.
    static func readHead(from file: UnsafeMutablePointer<FILE>) -> [UInt8] {
        var bytes: [UInt8] = []
        func read(_ count: Int) -> Bool {
            guard count > 0, bytes.count + count <= byteLimit else { return false }
            let start = bytes.count
            bytes += repeatElement(0, count: count)
            let got = bytes.withUnsafeMutableBytes { buffer in
                fread(buffer.baseAddress.unsafelyUnwrapped + start, 1, count, file)
            }
            bytes.removeLast(count - got)
            return got == count
        }
        // Block type, length, byte-order magic.
        guard read(12), let magic = word32(bytes, at: 8, bigEndian: true) else { return bytes }
        let bigEndian = magic == byteOrderMagic
        guard bigEndian || magic == byteOrderMagic.byteSwapped,
              let length = word32(bytes, at: 4, bigEndian: bigEndian).map(Int.init),
              length >= 28, length % 4 == 0, read(length - 12) else { return bytes }
        while read(8) {
            let blockStart = bytes.count - 8
            guard word32(bytes, at: blockStart, bigEndian: bigEndian) == interfaceDescriptionType,
                  let length = word32(bytes, at: blockStart + 4, bigEndian: bigEndian).map(Int.init),
                  length >= 20, length % 4 == 0, read(length - 8) else { break }
        }
        return bytes
    }

    /// The head of a plain regular file, read with `pread` (the file offset does not move).
    static func readHead(descriptor: Int32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: byteLimit)
        let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, byteLimit, 0) }
        bytes.removeLast(byteLimit - max(0, count))
        return bytes
    }
}

/// A read-only stdio stream that returns `head` and then the rest of `inner`: lets
/// dnstrail read a stream's first blocks itself and still hand libpcap the whole stream.
/// Closing it closes `inner`.
final class ReplayStream {
    private let head: [UInt8]
    private var position = 0
    private let inner: UnsafeMutablePointer<FILE>

    private init(head: [UInt8], inner: UnsafeMutablePointer<FILE>) {
        self.head = head
        self.inner = inner
    }

    /// The combined stream, or nil (and `inner` still the caller's) if glibc refuses.
    static func open(head: [UInt8], inner: UnsafeMutablePointer<FILE>) -> UnsafeMutablePointer<FILE>? {
        let cookie = Unmanaged.passRetained(ReplayStream(head: head, inner: inner)).toOpaque()
        let functions = dnstrail_cookie_io_functions(
            read: { cookie, buffer, size in
                guard let cookie, let buffer else { return -1 }
                return Unmanaged<ReplayStream>.fromOpaque(cookie).takeUnretainedValue().read(into: buffer, size: size)
            },
            write: nil, seek: nil,
            close: { cookie in
                guard let cookie else { return EOF }
                let stream = Unmanaged<ReplayStream>.fromOpaque(cookie).takeRetainedValue()
                return fclose(stream.inner)
            })
        guard let file = dnstrail_fopencookie(cookie, "r", functions) else {
            Unmanaged<ReplayStream>.fromOpaque(cookie).release()
            return nil
        }
        return file
    }

    private func read(into buffer: UnsafeMutablePointer<CChar>, size: Int) -> Int {
        if position < head.count {
            let count = min(size, head.count - position)
            head.withUnsafeBytes { source in
                UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress.unsafelyUnwrapped + position, byteCount: count)
            }
            position += count
            return count
        }
        let count = fread(buffer, 1, size, inner)
        if count == 0 && ferror(inner) != 0 {
            errno = EIO
            return -1
        }
        return count
    }
}
