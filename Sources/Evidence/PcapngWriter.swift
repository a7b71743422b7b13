import WireCore

/// Writes a pcapng file (draft-ietf-opsawg-pcapng): one Section Header Block, then
/// Interface Description Blocks and Enhanced Packet Blocks, each packet optionally
/// carrying a comment that Wireshark shows as `frame.comment`.
///
/// Invariants: a block is checked before its first byte is buffered, so a refused packet
/// leaves no partial block behind; every block's length is a multiple of 4 and its
/// trailing Block Total Length repeats the leading one (§3.1); every field is
/// little-endian, which the byte-order magic announces to readers on any host. After a
/// failed write (disk full) the file is abandoned rather than extended past a torn block.
///
/// libpcap (tcpdump) reads a pcapng file only when all its interfaces share one link type
/// and one snapshot length; Wireshark reads any mix. `isReadableByLibpcap` tells which.
public final class PcapngWriter {
    /// An interface as described by its Interface Description Block.
    public struct Interface: Equatable, Sendable {
        public var linkType: LinkType
        public var snapshotLength: Int
        public var name: String?
        /// Timestamps in nanoseconds (`if_tsresol` = 9) rather than microseconds (the default).
        public var timestampResolutionNanoseconds: Bool
    }

    /// Largest packet written: libpcap's `MAXIMUM_SNAPLEN`; Wireshark and libpcap reject
    /// longer records for Ethernet and cooked captures.
    public static let maximumCapturedLength = 262_144
    /// An option's value length is a 16-bit field (§3.5).
    public static let maximumOptionValueLength = Int(UInt16.max)
    /// Buffered bytes that trigger a write to the file.
    static let flushThreshold = 1 << 20

    public let path: String
    public private(set) var interfaces: [Interface] = []
    public private(set) var packetCount = 0
    private var file: PosixFile?
    private var buffer: [UInt8] = []
    /// The write error that ended the file: once a block may be half on disk, nothing
    /// more is appended (it would land after a torn block), and every call repeats it.
    private var failure: EvidenceError?

    /// Creates (or truncates) `path` and writes the Section Header Block, with
    /// `shb_userappl` "dnstrail <toolVersion>", `shb_comment` when given, and a second
    /// comment `dnstrail-interfaces: 2=eth0 6=veth1abc` (`InterfaceNamesComment`) when
    /// `interfaceNames` maps Linux cooked v2 interface indexes to names.
    public init(
        path: String, toolVersion: String, sectionComment: String? = nil, interfaceNames: [Int32: String] = [:]
    ) throws(EvidenceError) {
        var options: [(code: UInt16, value: [UInt8])] = []
        if let sectionComment { options.append((OptionCode.comment, Array(sectionComment.utf8))) }
        if let names = InterfaceNamesComment.format(interfaceNames) {
            options.append((OptionCode.comment, Array(names.utf8)))
        }
        options.append((OptionCode.sectionUserApplication, Array("dnstrail \(toolVersion)".utf8)))
        try Self.checkOptions(options)
        self.path = path
        self.file = try PosixFile.create(path: path)
        buffer.reserveCapacity(Self.flushThreshold + 4096)

        // §4.1 Section Header Block.
        let start = beginBlock(type: BlockType.sectionHeader)
        appendUInt32(0x1A2B_3C4D)               // Byte-Order Magic
        appendUInt16(1)                         // Major Version
        appendUInt16(0)                         // Minor Version
        appendUInt64(UInt64.max)                // Section Length: -1, not specified
        appendOptions(options)
        endBlock(startingAt: start)
    }

    deinit {
        // Best effort for a writer never closed: keep what was written rather than drop it.
        if let file {
            try? file.write(buffer)
            try? file.close(synchronize: false)
        }
    }

    /// True when libpcap can read the file: no interface, or all with the first one's link
    /// type and snapshot length (libpcap 1.10 `sf-pcapng.c` refuses any other IDB).
    public var isReadableByLibpcap: Bool {
        guard let first = interfaces.first else { return true }
        return interfaces.allSatisfy { $0.linkType == first.linkType && $0.snapshotLength == first.snapshotLength }
    }

    /// Writes an Interface Description Block and returns the interface's id for `write`.
    /// `snapshotLength` 0 means no limit (§4.2).
    public func addInterface(
        linkType: LinkType, snapshotLength: Int, name: String?, timestampResolutionNanoseconds: Bool = true
    ) throws(EvidenceError) -> Int {
        try checkOpen()
        guard (0...Int32(UInt16.max)).contains(linkType.rawValue) else { throw .linkTypeOutOfRange(linkType) }
        guard snapshotLength >= 0, snapshotLength <= Int(UInt32.max) else {
            throw .snapshotLengthOutOfRange(snapshotLength)
        }
        var options: [(code: UInt16, value: [UInt8])] = []
        if let name { options.append((OptionCode.interfaceName, Array(name.utf8))) }
        // §4.2 if_tsresol: the most significant bit clear, the rest a negative power of 10.
        if timestampResolutionNanoseconds { options.append((OptionCode.interfaceTimestampResolution, [9])) }
        try Self.checkOptions(options)

        let start = beginBlock(type: BlockType.interfaceDescription)
        appendUInt16(UInt16(linkType.rawValue))  // LinkType
        appendUInt16(0)                          // Reserved
        appendUInt32(UInt32(snapshotLength))     // SnapLen
        appendOptions(options)
        endBlock(startingAt: start)
        interfaces.append(Interface(
            linkType: linkType, snapshotLength: snapshotLength, name: name,
            timestampResolutionNanoseconds: timestampResolutionNanoseconds))
        try flushIfFull()
        return interfaces.count - 1
    }

    /// Writes an Enhanced Packet Block (§4.3) with `opt_comment` when `comment` is given.
    /// On a microsecond interface the timestamp is truncated to whole microseconds.
    public func write(
        interface: Int, timestamp: Timestamp, originalLength: Int, bytes: UnsafeRawBufferPointer, comment: String?
    ) throws(EvidenceError) {
        try checkOpen()
        guard interfaces.indices.contains(interface) else {
            throw .unknownInterface(interface, interfaceCount: interfaces.count)
        }
        let description = interfaces[interface]
        guard timestamp.nanoseconds >= 0 else { throw .timestampBeforeEpoch(timestamp) }
        let captured = bytes.count
        guard captured <= Self.maximumCapturedLength else {
            throw .capturedLengthExceedsMaximum(captured: captured, maximum: Self.maximumCapturedLength)
        }
        guard description.snapshotLength == 0 || captured <= description.snapshotLength else {
            throw .capturedLengthExceedsSnapshotLength(
                captured: captured, snapshotLength: description.snapshotLength, interface: interface)
        }
        guard originalLength >= 0, originalLength <= Int(UInt32.max) else {
            throw .originalLengthOutOfRange(originalLength)
        }
        guard originalLength >= captured else {
            throw .originalLengthShorterThanCaptured(original: originalLength, captured: captured)
        }
        var options: [(code: UInt16, value: [UInt8])] = []
        if let comment { options.append((OptionCode.comment, Array(comment.utf8))) }
        try Self.checkOptions(options)

        let units = UInt64(timestamp.nanoseconds) / (description.timestampResolutionNanoseconds ? 1 : 1000)
        let start = beginBlock(type: BlockType.enhancedPacket)
        appendUInt32(UInt32(interface))             // Interface ID
        appendUInt32(UInt32(units >> 32))           // Timestamp (Upper)
        appendUInt32(UInt32(units & 0xFFFF_FFFF))   // Timestamp (Lower)
        appendUInt32(UInt32(captured))              // Captured Packet Length
        appendUInt32(UInt32(originalLength))        // Original Packet Length
        appendPadded(bytes)                         // Packet Data
        appendOptions(options)
        endBlock(startingAt: start)
        packetCount += 1
        try flushIfFull()
    }

    /// Hands the buffered blocks to the file (for a reader following a live run).
    public func flush() throws(EvidenceError) {
        try checkOpen()
        try writeBuffer()
    }

    /// Writes what is buffered, syncs and closes; later calls to `write` throw `.writerClosed`.
    /// Closing twice is harmless; closing after a failed write throws that failure again.
    public func close() throws(EvidenceError) {
        if let failure { throw failure }
        guard let file else { return }
        try writeBuffer()
        self.file = nil
        try file.close(synchronize: true)
    }

    // MARK: - Encoding

    private enum BlockType {
        static let sectionHeader: UInt32 = 0x0A0D_0D0A
        static let interfaceDescription: UInt32 = 0x0000_0001
        static let enhancedPacket: UInt32 = 0x0000_0006
    }

    private enum OptionCode {
        static let endOfOptions: UInt16 = 0
        static let comment: UInt16 = 1
        static let sectionUserApplication: UInt16 = 4
        static let interfaceName: UInt16 = 2
        static let interfaceTimestampResolution: UInt16 = 9
    }

    private static func checkOptions(_ options: [(code: UInt16, value: [UInt8])]) throws(EvidenceError) {
        for option in options where option.value.count > maximumOptionValueLength {
            throw .optionTooLong(code: option.code, length: option.value.count, maximum: maximumOptionValueLength)
        }
    }

    private func checkOpen() throws(EvidenceError) {
        if let failure { throw failure }
        guard file != nil else { throw .writerClosed(path: path) }
    }

    private func flushIfFull() throws(EvidenceError) {
        if buffer.count >= Self.flushThreshold { try writeBuffer() }
    }

    private func writeBuffer() throws(EvidenceError) {
        guard let file, !buffer.isEmpty else { return }
        defer { buffer.removeAll(keepingCapacity: true) }
        do throws(EvidenceError) {
            try file.write(buffer)
        } catch {
            failure = error
            self.file = nil   // closes the descriptor
            throw error
        }
    }

    /// Appends Block Type and a placeholder Block Total Length; returns the block's offset.
    private func beginBlock(type: UInt32) -> Int {
        let start = buffer.count
        appendUInt32(type)
        appendUInt32(0)
        return start
    }

    /// Appends the trailing Block Total Length and patches the leading one.
    private func endBlock(startingAt start: Int) {
        let total = UInt32(buffer.count - start + 4)
        appendUInt32(total)
        for index in 0..<4 { buffer[start + 4 + index] = UInt8(truncatingIfNeeded: total >> (8 * index)) }
    }

    /// Options (§3.5), each padded to 32 bits, ended by opt_endofopt when there are any.
    private func appendOptions(_ options: [(code: UInt16, value: [UInt8])]) {
        guard !options.isEmpty else { return }
        for option in options {
            appendUInt16(option.code)
            appendUInt16(UInt16(option.value.count))
            option.value.withUnsafeBytes { appendPadded($0) }
        }
        appendUInt16(OptionCode.endOfOptions)
        appendUInt16(0)
    }

    private func appendPadded(_ bytes: UnsafeRawBufferPointer) {
        buffer.append(contentsOf: bytes)
        let padding = (4 - bytes.count % 4) % 4
        for _ in 0..<padding { buffer.append(0) }
    }

    private func appendUInt16(_ value: UInt16) {
        buffer.append(UInt8(truncatingIfNeeded: value))
        buffer.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    private func appendUInt32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { buffer.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }

    private func appendUInt64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { buffer.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
}
