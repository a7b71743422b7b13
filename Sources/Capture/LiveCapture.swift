import CPcap
import Glibc
import WireCore

/// Captures from a network interface (or "any") with a BPF filter applied in the kernel.
///
/// Set-up order matters and follows libpcap's rules: options before `pcap_activate`;
/// the link type (SLL2 on "any") after it; the filter compiled last, because BPF offsets
/// depend on the link type. `next()` returns `.timeout` after `timeoutMilliseconds` of
/// silence.
///
/// Not in immediate mode: libpcap 1.10 on Linux then uses TPACKET_V3, whose ring packs
/// frames into blocks at their captured size, where immediate mode's TPACKET_V2 gives every
/// frame a slot of the interface's MTU. Measured with a 32 MiB buffer: V2 mapped 64 MiB and
/// held about 0.8 s of 20,000 queries/s on a veth (40,000 frames/s of ~100 bytes in 2 KiB
/// slots), and dropped frames when the capture thread lost the CPU for less than that; V3
/// maps 32 MiB and holds several seconds, with no drop in the same run. A block is handed
/// over when full or after `timeoutMilliseconds` (the kernel's block timeout), so a frame
/// arrives at most that much later than in immediate mode.
///
/// The wait is ours, not libpcap's: its blocking read polls again after each expired
/// timeout, so `pcap_next_ex` may never return 0 on a quiet interface (measured in
/// immediate mode: a quiet `lo` blocked for minutes). The handle is therefore non-blocking
/// and `next()` waits with `poll(2)` on its selectable descriptor; a signal interrupting
/// that wait also yields `.timeout`, so a Ctrl-C handler that sets a flag is seen at once.
///
/// The capture starts when its filter is in force: frames stamped while libpcap set it up
/// are skipped and counted (`framesBeforeFilter`; see `SetUpWindow` for why).
///
/// Invariant: `next()` does not allocate; a frame is valid until the following `next()`.
/// After `.damaged` or `.end`, `next()` returns `.end`.
public final class LiveCapture {
    public let interface: String
    /// The BPF expression in force (for the `dnsPorts:` initialiser, the one chosen for
    /// the link type).
    public let filter: String
    public let linkType: LinkType
    public let snapshotLength: Int
    /// The kernel's limit on a classic BPF program (BPF_MAXINSNS); beyond it libpcap
    /// filters in user space, copying every packet out of the kernel.
    public static let maximumKernelInstructions: UInt32 = 4096

    /// Whether the kernel runs the filter (libpcap falls back to filtering in user space,
    /// with a warning on stderr, when the kernel refuses the program).
    public var filterInKernel: Bool {
        var length = socklen_t(0)
        return getsockopt(descriptor, SOL_SOCKET, SO_GET_FILTER, nil, &length) == 0 && length > 0
    }

    /// libpcap's warning from activation (e.g. promiscuous mode unsupported), if any.
    public let activationWarning: String?
    /// Frames returned so far by `next()`.
    public private(set) var framesRead = 0
    /// Frames skipped at the start, stamped before the filter was in force.
    public var framesBeforeFilter: Int { setUp.skipped }

    private let handle: OpaquePointer
    private let descriptor: Int32
    private let timeoutMilliseconds: Int32
    private let firstFrameNumber: Int
    private let fractionScale: Int64
    private var finished = false
    private var statisticsWidener = StatisticsWidener()
    private var setUp: SetUpWindow

    /// Captures what `filter` (a BPF expression; empty for everything) accepts.
    public convenience init(
        interface: String, filter: String, snapshotLength: Int = 262_144, bufferSize: Int = 32 << 20,
        promiscuous: Bool = false, timeoutMilliseconds: Int = 100, firstFrameNumber: Int = 1
    ) throws(CaptureError) {
        try self.init(
            interface: interface, filterChoice: { _ in [filter] }, snapshotLength: snapshotLength,
            bufferSize: bufferSize, promiscuous: promiscuous, timeoutMilliseconds: timeoutMilliseconds,
            firstFrameNumber: firstFrameNumber)
    }

    /// Captures DNS on `dnsPorts` with `defaultCaptureFilter(ports:linkType:)`, built for
    /// the interface's actual link type (no VLAN clause on "any", where libpcap has none);
    /// with a long port list, the first variant whose program the kernel accepts
    /// (`maximumKernelInstructions`).
    public convenience init(
        interface: String, dnsPorts: [UInt16], snapshotLength: Int = 262_144, bufferSize: Int = 32 << 20,
        promiscuous: Bool = false, timeoutMilliseconds: Int = 100, firstFrameNumber: Int = 1
    ) throws(CaptureError) {
        try self.init(
            interface: interface, filterChoice: { defaultCaptureFilters(ports: dnsPorts, linkType: $0) },
            snapshotLength: snapshotLength, bufferSize: bufferSize, promiscuous: promiscuous,
            timeoutMilliseconds: timeoutMilliseconds, firstFrameNumber: firstFrameNumber)
    }

    private init(
        interface: String, filterChoice: (LinkType) -> [String], snapshotLength: Int, bufferSize: Int,
        promiscuous: Bool, timeoutMilliseconds: Int, firstFrameNumber: Int
    ) throws(CaptureError) {
        self.interface = interface
        self.firstFrameNumber = firstFrameNumber
        let created = Pcap.withErrorBuffer { pcap_create(interface, $0) }
        guard let handle = created.result else {
            throw .liveCaptureFailed(interface: interface, detail: created.message)
        }
        // From here on, every failure must close the handle.
        var handleOwned = true
        defer { if handleOwned { pcap_close(handle) } }

        pcap_set_snaplen(handle, Int32(clamping: snapshotLength))
        pcap_set_promisc(handle, promiscuous ? 1 : 0)
        pcap_set_timeout(handle, Int32(clamping: max(1, timeoutMilliseconds)))
        pcap_set_immediate_mode(handle, 0)
        pcap_set_buffer_size(handle, Int32(clamping: bufferSize))
        // PCAP_ERROR_TSTAMP_PRECISION_NOTSUP leaves microseconds; fractionScale copes.
        _ = pcap_set_tstamp_precision(handle, Int32(PCAP_TSTAMP_PRECISION_NANO))

        let activated = wallClock()
        let activation = pcap_activate(handle)
        if activation < 0 {
            throw Self.activationError(code: activation, handle: handle, interface: interface)
        }
        activationWarning = activation > 0 ? Pcap.lastError(handle) : nil

        // "any" (and other cooked interfaces) default to LINUX_SLL; SLL2 adds the
        // interface index. Keep SLL if this kernel or libpcap refuses.
        if pcap_datalink(handle) == Int32(DLT_LINUX_SLL) {
            _ = pcap_set_datalink(handle, Int32(DLT_LINUX_SLL2))
        }
        let linkType = LinkType(rawValue: pcap_datalink(handle))
        // Compiled on this handle: on Linux, `vlan` reads the first tag out of band, which
        // makes the program larger than `PacketFilter` (an offline handle) predicts.
        let choices = filterChoice(linkType)
        var expression = choices.last ?? ""
        var program = bpf_program()
        for choice in choices {
            var candidate = bpf_program()
            guard pcap_compile(handle, &candidate, choice, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
                if choice == choices.last { throw .invalidFilter(expression: choice, detail: Pcap.lastError(handle)) }
                continue
            }
            if candidate.bf_len <= LiveCapture.maximumKernelInstructions || choice == choices.last {
                expression = choice
                program = candidate
                break
            }
            pcap_freecode(&candidate)
        }
        if choices.isEmpty {
            guard pcap_compile(handle, &program, "", 1, PCAP_NETMASK_UNKNOWN) == 0 else {
                throw .invalidFilter(expression: "", detail: Pcap.lastError(handle))
            }
        }
        let setFilter = pcap_setfilter(handle, &program)
        pcap_freecode(&program)
        guard setFilter == 0 else {
            throw .liveCaptureFailed(interface: interface, detail: "cannot install the BPF filter: \(Pcap.lastError(handle))")
        }
        setUp = SetUpWindow(from: activated, until: wallClock())

        // Non-blocking, so that `next()` can bound the wait itself (see the type's comment).
        let nonBlocking = Pcap.withErrorBuffer { pcap_setnonblock(handle, 1, $0) }
        let descriptor = pcap_get_selectable_fd(handle)
        guard nonBlocking.result == 0, descriptor >= 0 else {
            throw .liveCaptureFailed(interface: interface, detail: "cannot wait for packets with poll(): \(nonBlocking.message)")
        }

        self.descriptor = descriptor
        self.timeoutMilliseconds = Int32(clamping: max(1, timeoutMilliseconds))
        self.filter = expression
        self.linkType = linkType
        self.snapshotLength = Int(pcap_snapshot(handle))
        self.fractionScale = pcap_get_tstamp_precision(handle) == Int32(PCAP_TSTAMP_PRECISION_NANO) ? 1 : 1000
        self.handle = handle
        handleOwned = false
    }

    deinit {
        pcap_close(handle)
    }

    private static func activationError(code: Int32, handle: OpaquePointer, interface: String) -> CaptureError {
        let message = Pcap.lastError(handle)
        switch code {
        case PCAP_ERROR_PERM_DENIED, PCAP_ERROR_PROMISC_PERM_DENIED:
            // libpcap: "lo: You don't have permission to perform this capture on that
            // device\n(socket: Operation not permitted)"; the description already says
            // the first part, so keep the system's reason in the parentheses.
            let reason = Self.parenthesizedReason(message) ?? "permission denied"
            if hasEffectiveCapability(capNetRaw) == true {
                return .permissionDeniedDespiteCapability(interface: interface, detail: reason)
            }
            return .permissionDenied(interface: interface, detail: reason)
        case PCAP_ERROR_NO_SUCH_DEVICE:
            let known = availableInterfaces()
            return .noSuchInterface(
                interface: interface,
                detail: known.isEmpty ? message : "available: " + known.joined(separator: ", "))
        case PCAP_ERROR_IFACE_NOT_UP:
            return .liveCaptureFailed(interface: interface, detail: "the interface is down")
        default:
            let text = message.isEmpty ? String(cString: pcap_statustostr(code)) : message
            return .liveCaptureFailed(interface: interface, detail: text)
        }
    }

    /// The text inside a message's final parentheses ("socket: Operation not permitted"),
    /// else the whole message; nil for an empty one.
    static func parenthesizedReason(_ message: String) -> String? {
        if message.hasSuffix(")"), let open = message.lastIndex(of: "(") {
            let inside = message[message.index(after: open)..<message.index(before: message.endIndex)]
            if !inside.isEmpty { return String(inside) }
        }
        return message.isEmpty ? nil : message
    }

    /// Names of the interfaces libpcap can capture on, in its order (for error messages).
    static func availableInterfaces() -> [String] {
        var list: UnsafeMutablePointer<pcap_if_t>? = nil
        let found = Pcap.withErrorBuffer { pcap_findalldevs(&list, $0) }
        guard found.result == 0 else { return [] }
        defer { pcap_freealldevs(list) }
        var names: [String] = []
        var cursor = list
        while let device = cursor {
            if let name = device.pointee.name { names.append(String(cString: name)) }
            cursor = device.pointee.next
        }
        return names
    }

    /// Why the capture failed after it started (set with the `.damaged` read):
    /// `.interfaceWentAway` when the interface no longer exists, else `.liveCaptureFailed`.
    public private(set) var failure: CaptureError?

    /// The next frame; `.timeout` when `timeoutMilliseconds` passed with nothing to
    /// deliver (or a signal interrupted the wait); `.damaged` once if the capture fails
    /// (interface gone: see `failure`), then `.end`.
    public func next() -> CaptureRead {
        if finished { return .end }
        var header: UnsafeMutablePointer<pcap_pkthdr>? = nil
        var data: UnsafePointer<UInt8>? = nil
        var status: Int32
        repeat {
            status = pcap_next_ex(handle, &header, &data)
            if status == 0 {
                var waitFor = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&waitFor, 1, timeoutMilliseconds) > 0 else { return .timeout }
                status = pcap_next_ex(handle, &header, &data)
                if status == 0 { return .timeout }
            }
        } while status == 1 && skipsSetUpFrame(header)
        if status == 1, let header {
            framesRead += 1
            return .frame(Pcap.frame(header: header.pointee, data: data, number: firstFrameNumber &+ framesRead &- 1,
                                     fractionScale: fractionScale, linkType: linkType))
        }
        finished = true
        if status == PCAP_ERROR_BREAK { return .end }
        // libpcap 1.10 says "The interface disappeared" (ENODEV) or "The interface went
        // down" (ENETDOWN, also sent when the interface is deleted): ask the kernel.
        let detail = Pcap.lastError(handle)
        let error: CaptureError = interface != "any" && if_nametoindex(interface) == 0
            ? .interfaceWentAway(interface: interface, frames: framesRead, detail: detail)
            : .liveCaptureFailed(interface: interface, detail: "after \(framesRead) frames: \(detail)")
        failure = error
        return .damaged(error.description)
    }

    /// Whether the frame of `header` was stamped during the set-up (skipped, counted).
    @inline(__always)
    private func skipsSetUpFrame(_ header: UnsafeMutablePointer<pcap_pkthdr>?) -> Bool {
        guard setUp.isOpen, let header else { return false }
        return setUp.skips(Pcap.timestamp(header.pointee.ts, fractionScale: fractionScale))
    }

    /// libpcap's counters since the capture started, or nil if libpcap cannot give them.
    /// Call at least once per 2³² packets for the 64-bit widening to stay exact.
    public func statistics() -> CaptureStatistics? {
        var raw = pcap_stat()
        guard pcap_stats(handle, &raw) == 0 else { return nil }
        return statisticsWidener.widen(received: raw.ps_recv, dropped: raw.ps_drop, interfaceDropped: raw.ps_ifdrop)
    }
}

/// The frames a live capture skips at its start: those stamped from just before
/// `pcap_activate` until `pcap_setfilter` returned.
///
/// Until the filter is set, the new socket captures everything. libpcap then swaps filters
/// by way of one that rejects every packet (it drains what the old one let through), and
/// what arrives during the swap is lost without being counted as a drop: about 1 ms here
/// with the default filter, the kernel checking and translating a large program (measured
/// with tcpdump beside dnstrail on 10,000 packets/s: 4 to 7 packets missing at 75-110 ms
/// into every capture, after the filter's compilation; libpcap 1.10, `set_kernel_filter`).
/// A query captured before the swap could lose its answer in it and come out unanswered,
/// while its client had the answer: seen as a rare false `--fail-on-unanswered` at the
/// start of a short live run under steady traffic. The capture therefore starts when its
/// filter is in force. A response to a skipped query counts as unsolicited, as one to a
/// query sent before the capture opened always did.
///
/// Only leading frames are skipped: the first frame stamped outside the window ends it,
/// so a clock stepped back during the set-up keeps every frame, as before.
struct SetUpWindow {
    private let start: Int64
    private let end: Int64
    /// Frames skipped.
    private(set) var skipped = 0
    /// False once a frame was stamped outside the window.
    private(set) var isOpen = true

    init(from start: Timestamp, until end: Timestamp) {
        self.start = start.nanoseconds
        self.end = max(start.nanoseconds, end.nanoseconds)
    }

    /// Whether the frame stamped `time` is skipped (counted) rather than delivered.
    mutating func skips(_ time: Timestamp) -> Bool {
        guard isOpen else { return false }
        if time.nanoseconds >= start && time.nanoseconds < end {
            skipped += 1
            return true
        }
        isOpen = false
        return false
    }
}

/// Turns libpcap's wrapping 32-bit counters into 64-bit totals by adding the difference
/// (modulo 2³²) since the previous reading.
struct StatisticsWidener {
    private var last: (UInt32, UInt32, UInt32) = (0, 0, 0)
    private var total = CaptureStatistics(received: 0, dropped: 0, interfaceDropped: 0)

    mutating func widen(received: UInt32, dropped: UInt32, interfaceDropped: UInt32) -> CaptureStatistics {
        total.received &+= UInt64(received &- last.0)
        total.dropped &+= UInt64(dropped &- last.1)
        total.interfaceDropped &+= UInt64(interfaceDropped &- last.2)
        last = (received, dropped, interfaceDropped)
        return total
    }
}

/// CAP_NET_RAW's bit in the capability sets (linux/capability.h).
let capNetRaw = 13

/// Whether this process has capability `bit` in its effective set (from the `CapEff:`
/// line of /proc/self/status); nil when that cannot be read.
func hasEffectiveCapability(_ bit: Int) -> Bool? {
    guard let file = fopen("/proc/self/status", "r") else { return nil }
    defer { fclose(file) }
    var line: UnsafeMutablePointer<CChar>? = nil
    var capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0 {
        guard let line else { break }
        let text = String(cString: line)
        guard text.hasPrefix("CapEff:") else { continue }
        let hex = String(text.dropFirst("CapEff:".count)).trimmingWhitespace()
        guard let mask = UInt64(hex, radix: 16) else { return nil }
        return mask & (1 << UInt64(bit)) != 0
    }
    return nil
}
