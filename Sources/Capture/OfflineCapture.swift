import CPcap
import CZlib
import Glibc
import WireCore

/// The container format of a capture file, named by its first four bytes.
public enum CaptureFileFormat: Sendable, Equatable {
    /// Classic libpcap format; `nanosecond` for the a1b23c4d magic.
    case pcap(nanosecond: Bool)
    /// pcapng (block type 0x0a0d0d0a): time resolution is per interface.
    case pcapng
    /// A magic libpcap accepts that is neither of the above (e.g. Kuznetzov's a1b2cd34).
    case other(magic: UInt32)

    /// The 4 bytes as they appear in the file, read as a big-endian number.
    init(magic: UInt32) {
        switch magic {
        case 0xa1b2_c3d4, 0xd4c3_b2a1: self = .pcap(nanosecond: false)
        case 0xa1b2_3c4d, 0x4d3c_b2a1: self = .pcap(nanosecond: true)
        case 0x0a0d_0d0a: self = .pcapng
        default: self = .other(magic: magic)
        }
    }
}

/// Reads a capture file: pcap or pcapng, plain or gzip-compressed (recognised by the
/// 1f 8b magic, never by the name), from a regular file, a pipe, a FIFO, or standard input ("-").
///
/// Invariant: every timestamp is on the nanosecond clock (the file is opened with
/// `PCAP_TSTAMP_PRECISION_NANO`, so libpcap scales microsecond files up); `next()` does
/// not allocate, and the frame it returns is a view valid until the following `next()`.
/// After `.damaged` or `.end`, `next()` returns `.end` without touching libpcap again.
/// The input is read exactly once: `peekFirstTimestamp()` keeps the record it reads for
/// the first `next()`, so a stream can be ordered among other inputs without losing it.
public final class OfflineCapture {
    /// The name for reports and errors (`input.display`: invalid bytes escaped).
    public let path: String
    /// The name as the operating system knows it.
    public let input: CapturePath
    public let linkType: LinkType
    public let snapshotLength: Int
    public let fileFormat: CaptureFileFormat
    /// The file was gzip-compressed (decompressed on the fly by zlib).
    public let isCompressed: Bool
    /// True for a regular file opened by name: opening it again reads the same bytes from
    /// the start. False for standard input, pipes, FIFOs, sockets and character devices,
    /// which can be read only once.
    public let isReopenable: Bool
    /// For pcapng: the section comment and interface blocks at the start of the file.
    public let pcapngHead: PcapngHead?
    /// Frames returned so far by `next()`.
    ///
    /// The state `next()` changes for every frame is read and written without the runtime's
    /// exclusivity check (`@exclusivity(unchecked)`): two checks per frame were 170
    /// instructions, more than decoding its IP and UDP headers (bench/profile.md). A capture
    /// is read on one thread and no access to these overlaps another.
    @exclusivity(unchecked) public private(set) var framesRead = 0
    /// The size of the file as stored (compressed, for gzip); nil for a stream (pipe,
    /// FIFO, standard input), whose size is not known before its end.
    public let storedSize: Int64?
    /// How far into the stored file reading has got (compressed bytes for gzip, read ahead
    /// by the stdio buffer): for a progress display. Nil for a stream.
    public var storedBytesRead: Int64? {
        guard storedSize != nil else { return nil }
        let offset = lseek(descriptor, 0, SEEK_CUR)
        return offset < 0 ? nil : Int64(offset)
    }
    /// The number of the first frame; later frames continue from it. May be set until the
    /// first `next()` (a peeked first record is numbered when it is returned).
    @exclusivity(unchecked) public var firstFrameNumber: Int

    /// True for a pcap file with the nanosecond magic (a1b23c4d). pcapng states its
    /// resolution per interface, which libpcap does not expose: false there, although
    /// libpcap still delivers each interface's full resolution (see `fileFormat`).
    public var isNanosecondFile: Bool { fileFormat == .pcap(nanosecond: true) }

    /// Linux cooked v2 interface names the file itself carries (pcapng comments); empty if none.
    public var interfaceNames: [Int32: String] { pcapngHead?.interfaceNames ?? [:] }

    private let handle: OpaquePointer
    /// The stream's stdio buffer, if dnstrail gave it one: released after `deinit` has
    /// closed the stream.
    private let streamBuffer: StreamBuffer?
    /// The descriptor under the stdio stream (owned by it): only its offset is read.
    private let descriptor: Int32
    /// Non-nil for the zlib path: lets `next()` tell a truncated gzip stream from a clean end.
    private let gzipReader: UnsafeMutablePointer<dnstrail_gz_reader>?
    private let fractionScale: Int64
    @exclusivity(unchecked) private var finished = false
    /// What `peekFirstTimestamp()` read, returned by the next `next()`. libpcap's buffer
    /// still holds its bytes: this handle is not read again before then.
    @exclusivity(unchecked) private var pending: RawRead?
    private var hasPeeked = false

    /// One `pcap_next_ex` result, before it becomes a `CaptureRead`.
    private enum RawRead {
        case record(pcap_pkthdr, UnsafePointer<UInt8>?)
        case stop(Int32)
    }

    public convenience init(path: String, firstFrameNumber: Int = 1) throws(CaptureError) {
        try self.init(input: CapturePath(path), firstFrameNumber: firstFrameNumber)
    }

    public init(input: CapturePath, firstFrameNumber: Int = 1) throws(CaptureError) {
        self.input = input
        self.path = input.display
        self.firstFrameNumber = firstFrameNumber
        let source = try CaptureFileSource.open(input: input)
        let opened = Pcap.withErrorBuffer { errorBuffer in
            pcap_fopen_offline_with_tstamp_precision(source.file, UInt32(PCAP_TSTAMP_PRECISION_NANO), errorBuffer)
        }
        guard let handle = opened.result else {
            let error = source.headerError(libpcapMessage: opened.message, path: input.display)
            fclose(source.file)  // libpcap leaves the FILE to us when it fails.
            throw error
        }
        self.handle = handle
        self.streamBuffer = source.buffer
        // Only the thread reading frames touches the stream (one at a time): stdio's lock,
        // taken twice per record once the process has a second thread, is left out.
        __fsetlocking(pcap_file(handle), Int32(FSETLOCKING_BYCALLER))
        self.descriptor = source.descriptor
        self.storedSize = source.isRegularFile && !input.isStandardInput ? source.storedSize : nil
        self.gzipReader = source.gzipReader
        self.isCompressed = source.isCompressed
        self.isReopenable = source.isRegularFile && !input.isStandardInput
        self.pcapngHead = source.pcapngHead
        self.fileFormat = CaptureFileFormat(magic: source.magic)
        self.linkType = LinkType(rawValue: pcap_datalink(handle))
        self.snapshotLength = Int(pcap_snapshot(handle))
        self.fractionScale = pcap_get_tstamp_precision(handle) == Int32(PCAP_TSTAMP_PRECISION_NANO) ? 1 : 1000
    }

    deinit {
        pcap_close(handle)  // also closes the FILE and, through it, the zlib reader.
    }

    /// The time of the first record, read ahead and kept for the first `next()`; nil when
    /// the capture has no record (empty, or damaged before the first one), or when frames
    /// were already returned.
    public func peekFirstTimestamp() -> Timestamp? {
        guard framesRead == 0, !finished else { return nil }
        if !hasPeeked {
            hasPeeked = true
            pending = readRecord()
        }
        if case .record(let header, _)? = pending { return Pcap.timestamp(header.ts, fractionScale: fractionScale) }
        return nil
    }

    /// The next frame, `.end` at the end of the file, or `.damaged` once if the file
    /// breaks off or is corrupt after the frames already returned.
    public func next() -> CaptureRead {
        if let pending {
            self.pending = nil
            return deliver(pending)
        }
        if finished { return .end }
        return deliver(readRecord())
    }

    private func readRecord() -> RawRead {
        var header: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        let status = pcap_next_ex(handle, &header, &data)
        if status == 1, let header { return .record(header.pointee, data) }
        return .stop(status)
    }

    private func deliver(_ read: RawRead) -> CaptureRead {
        switch read {
        case let .record(header, data):
            framesRead += 1
            return .frame(Pcap.frame(header: header, data: data, number: firstFrameNumber &+ framesRead &- 1,
                                     fractionScale: fractionScale, linkType: linkType))
        case .stop(let status):
            finished = true
            return endOfFile(status: status)
        }
    }

    private func endOfFile(status: Int32) -> CaptureRead {
        if status == PCAP_ERROR_BREAK || status == 0 {
            // A clean end of the decompressed data can still hide a gzip stream cut short.
            if let gzipReader, dnstrail_gz_reader_ended_early(gzipReader) != 0 {
                return .damaged(singleLine("truncated compressed capture \(position): gzip: \(gzipProblem ?? "unexpected end of file")"))
            }
            return .end
        }
        let message = Pcap.lastError(handle)
        if message.contains("different from the type of the first interface")
            || message.contains("different from the snapshot length of the first interface") {
            // Not damage: libpcap reads one link type and snaplen per pcapng file.
            return .damaged(singleLine("pcapng file mixes interfaces libpcap cannot read together, stopped \(position) "
                + "(\(message)); split it per interface (e.g. `tshark -r F -w G -Y frame.interface_id==N`) to read the rest"))
        }
        let kind = message.contains("truncated") ? "truncated capture file" : "damaged capture file"
        var text = "\(kind) \(position): \(message)"
        if let gzipProblem { text += " (gzip: \(gzipProblem))" }
        return .damaged(singleLine(text))
    }

    /// zlib's message for the last error of the gzip stream, if any.
    private var gzipProblem: String? {
        guard let gzipReader, let message = dnstrail_gz_reader_error(gzipReader) else { return nil }
        return String(cString: message)
    }

    /// Where reading stopped, in the run's frame numbers: "after frame 41", "before frame 1".
    private var position: String {
        framesRead == 0 ? "before frame \(firstFrameNumber)" : "after frame \(firstFrameNumber + framesRead - 1)"
    }
}

/// An opened capture file as a stdio stream positioned at its start, ready for libpcap,
/// plus what its first bytes said. Owns `file` until it is handed to libpcap.
struct CaptureFileSource {
    var file: UnsafeMutablePointer<FILE>
    var magic: UInt32
    var isCompressed: Bool
    var gzipReader: UnsafeMutablePointer<dnstrail_gz_reader>?
    /// The input is a regular file (it can be read again from the start).
    var isRegularFile = false
    /// The descriptor the stream reads (the file's, under stdio or zlib), and the file's size.
    var descriptor: Int32 = -1
    var storedSize: Int64?
    /// For pcapng: what its first blocks say (read by dnstrail, see `PcapngHead`).
    var pcapngHead: PcapngHead?
    /// The stdio buffer of a plain regular file's stream (`streamBufferSize`), freed once the
    /// last holder of the source lets it go (after the stream is closed).
    var buffer: StreamBuffer?

    /// stdio buffer of a plain regular file's stream: libpcap reads each record with two
    /// small `fread`s, so a large buffer turns them into few system calls. Only there: such a
    /// file is open only while it is read (`orderByFirstPacket` reopens it at its turn),
    /// while streams (pipes, FIFOs, standard input) stay open with their first record
    /// peeked, possibly hundreds at once; and the buffer of a stream read through zlib or
    /// replayed (`ReplayStream`, both `fopencookie`) sets only how often its read function is
    /// called, not the system calls (stdio keeps its default buffer there).
    static let streamBufferSize = 1 << 18

    /// Opens `input`, rejecting what cannot be a capture (directory, empty, too short)
    /// before libpcap sees it. Regular plain files go to libpcap through `fdopen`; gzip
    /// files and pipes go through zlib (which passes non-gzip data through unchanged).
    /// A pcapng file's first blocks are read here too: with `pread` from a plain regular
    /// file, else from the stream, which is then replayed to libpcap (`ReplayStream`).
    static func open(input: CapturePath) throws(CaptureError) -> CaptureFileSource {
        var source = try openStream(input: input)
        guard CaptureFileFormat(magic: source.magic) == .pcapng else { return source }
        if source.isRegularFile && !source.isCompressed && fileno(source.file) >= 0 {
            source.pcapngHead = PcapngHead.parse(PcapngHead.readHead(descriptor: fileno(source.file)))
            return source
        }
        let head = PcapngHead.readHead(from: source.file)
        source.pcapngHead = PcapngHead.parse(head)
        guard let replay = ReplayStream.open(head: head, inner: source.file) else {
            let code = errno
            fclose(source.file)
            throw .cannotOpen(path: input.display, reason: Pcap.systemError(code))
        }
        source.file = replay
        return source
    }

    private static func openStream(input: CapturePath) throws(CaptureError) -> CaptureFileSource {
        let path = input.display
        // "-" is standard input, as for tcpdump -r - (a duplicate: closing ours leaves fd 0 open).
        let descriptor = input.isStandardInput
            ? fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0) : input.openDescriptor(flags: O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw .cannotOpen(path: path, reason: Pcap.systemError(errno))
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let code = errno
            close(descriptor)
            throw .cannotOpen(path: path, reason: Pcap.systemError(code))
        }
        let fileType = status.st_mode & S_IFMT
        if fileType == S_IFDIR {
            close(descriptor)
            throw .cannotOpen(path: path, reason: Pcap.systemError(EISDIR))
        }
        if fileType == S_IFREG {
            var first4: UInt32 = 0
            let count = withUnsafeMutableBytes(of: &first4) { pread(descriptor, $0.baseAddress, 4, 0) }
            guard count >= 0 else {
                let code = errno
                close(descriptor)
                throw .cannotOpen(path: path, reason: Pcap.systemError(code))
            }
            let magic = UInt32(bigEndian: first4)
            let isGzip = count >= 2 && magic >> 16 == 0x1f8b
            if !isGzip {
                guard count == 4 else {
                    close(descriptor)
                    throw .notACapture(path: path, reason: tooShortReason(count: count, compressed: false))
                }
                guard let file = fdopen(descriptor, "r") else {
                    let code = errno
                    close(descriptor)
                    throw .cannotOpen(path: path, reason: Pcap.systemError(code))
                }
                return CaptureFileSource(file: file, magic: magic, isCompressed: false, gzipReader: nil, isRegularFile: true,
                                         descriptor: descriptor, storedSize: Int64(status.st_size),
                                         buffer: StreamBuffer(for: file, size: streamBufferSize))
            }
        }
        var source = try openThroughZlib(descriptor: descriptor, path: path)
        source.isRegularFile = fileType == S_IFREG
        source.descriptor = descriptor
        source.storedSize = fileType == S_IFREG ? Int64(status.st_size) : nil
        return source
    }

    private static func openThroughZlib(descriptor: Int32, path: String) throws(CaptureError) -> CaptureFileSource {
        guard let reader = dnstrail_gz_reader_open(descriptor) else {
            close(descriptor)
            throw .cannotOpen(path: path, reason: Pcap.systemError(ENOMEM))
        }
        let compressed = dnstrail_gz_reader_is_compressed(reader) != 0
        if reader.pointee.read_error != 0 || (compressed && reader.pointee.prefix_length < 4
            && dnstrail_gz_reader_error(reader) != nil) {
            let detail = dnstrail_gz_reader_error(reader).map { String(cString: $0) } ?? "read error"
            dnstrail_gz_reader_discard(reader)
            throw compressed
                ? .notACapture(path: path, reason: "gzip-compressed, but cannot decompress it: \(detail)")
                : .cannotOpen(path: path, reason: detail)
        }
        let count = Int(reader.pointee.prefix_length)
        guard count == 4 else {
            dnstrail_gz_reader_discard(reader)
            throw .notACapture(path: path, reason: tooShortReason(count: count, compressed: compressed))
        }
        let prefix = reader.pointee.prefix
        let magic = UInt32(prefix.0) << 24 | UInt32(prefix.1) << 16 | UInt32(prefix.2) << 8 | UInt32(prefix.3)
        guard let file = dnstrail_gz_reader_fopen(reader) else {
            let code = errno
            dnstrail_gz_reader_discard(reader)
            throw .cannotOpen(path: path, reason: Pcap.systemError(code))
        }
        return CaptureFileSource(file: file, magic: magic, isCompressed: compressed, gzipReader: reader)
    }

    private static func tooShortReason(count: Int, compressed: Bool) -> String {
        let what = compressed ? "the decompressed data" : "the file"
        return count == 0
            ? "not a pcap or pcapng file (\(what) is empty)"
            : "not a pcap or pcapng file (\(what) has only \(count) byte\(count == 1 ? "" : "s"),"
                + " too short for a capture header)"
    }

    /// Maps libpcap's refusal of the file header to a user-facing error.
    func headerError(libpcapMessage message: String, path: String) -> CaptureError {
        let compressedNote = isCompressed ? "gzip-compressed, but " : ""
        var gzipSuffix = ""
        if let gzipReader, let gzipMessage = dnstrail_gz_reader_error(gzipReader) {
            gzipSuffix = " (gzip: \(String(cString: gzipMessage)))"
        }
        if message == "unknown file format" {
            let hex = String(magic, radix: 16)
            let padded = String(repeating: "0", count: max(0, 8 - hex.count)) + hex
            return .notACapture(path: path, reason: "\(compressedNote)not a pcap or pcapng file (unknown magic 0x\(padded))")
        }
        if message.hasPrefix("error reading dump file") {
            return .cannotOpen(path: path, reason: message + gzipSuffix)
        }
        return .notACapture(path: path, reason: "\(compressedNote)unreadable capture header: \(message)\(gzipSuffix)")
    }
}

/// A stdio buffer given to a capture stream, freed when the last holder lets it go: after the
/// stream is closed (`OfflineCapture` closes its stream in `deinit`, before its stored
/// properties are released; a source that failed to open is closed before it is dropped).
final class StreamBuffer: @unchecked Sendable {  // Its one pointer never changes.
    private let pointer: UnsafeMutableRawPointer

    /// Gives `file` a buffer of `size` bytes; nil if it cannot (the stream keeps stdio's).
    /// glibc ignores the size `setvbuf` is given without a buffer and keeps its own of 4 KB:
    /// a `read` system call per 4 KB, 150,000 for a 600 MB capture (strace), where this
    /// makes 2,400.
    init?(for file: UnsafeMutablePointer<FILE>, size: Int) {
        guard let pointer = malloc(size) else { return nil }
        guard setvbuf(file, pointer.assumingMemoryBound(to: CChar.self), _IOFBF, size) == 0 else {
            free(pointer)
            return nil
        }
        self.pointer = pointer
    }

    deinit {
        free(pointer)
    }
}
