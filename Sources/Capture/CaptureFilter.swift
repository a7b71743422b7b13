import CPcap
import WireCore

/// The BPF expression dnstrail captures with by default, for Ethernet captures.
///
/// It keeps: TCP and UDP on `ports` (either direction); every IPv4 fragment except the
/// unfragmented case, i.e. non-first fragments (offset ≠ 0, they carry no port) and first
/// fragments with MF set (`ip[6:2] & 0x3fff != 0`: MF bit plus offset, DF excluded);
/// IPv6 packets whose first extension header is a Fragment header (`ip6[6] == 44`); and
/// the same traffic inside one VLAN tag (802.1Q, 802.1ad) or two (QinQ).
/// An empty `ports` list keeps all TCP and UDP.
///
/// `vlan` must come last: in libpcap it shifts the offsets of everything parsed after
/// it. libpcap has no `vlan` for cooked (SLL/SLL2) or raw-IP link types and refuses the
/// whole expression there ("no VLAN support for Linux cooked v2"); use
/// `defaultCaptureFilter(ports:linkType:)` when the link type is known.
public func defaultCaptureFilter(ports: [UInt16]) -> String {
    CaptureFilterExpression(ports: ports).withVLAN
}

/// `defaultCaptureFilter(ports:)` for a given link type: the VLAN clause is kept only if
/// libpcap can compile it for `linkType` (Ethernet and a few others), so the result
/// always compiles — e.g. for `.linuxSLL2`, the link type of a live capture on "any".
///
/// Where libpcap cannot filter on IP at all (NFLOG, PKTAP: "link-layer type filtering
/// not implemented"), the result is "" — no filter, every frame kept — since such
/// captures are already selected elsewhere (e.g. by the nftables rule feeding NFLOG).
public func defaultCaptureFilter(ports: [UInt16], linkType: LinkType) -> String {
    let expression = CaptureFilterExpression(ports: ports)
    for candidate in [expression.withVLAN, expression.withoutVLAN]
    where (try? PacketFilter(expression: candidate, linkType: linkType)) != nil {
        return candidate
    }
    return ""
}

struct CaptureFilterExpression {
    var withoutVLAN: String
    var withVLAN: String

    init(ports: [UInt16]) {
        var unique: [UInt16] = []
        for port in ports where !unique.contains(port) { unique.append(port) }
        let transport = unique.isEmpty
            ? "(udp or tcp)"
            : "((udp or tcp) and (" + unique.map { "port \($0)" }.joined(separator: " or ") + "))"
        let ipv4Fragment = "(ip[6:2] & 0x3fff != 0)"
        let ipv6Fragment = "(ip6[6] == 44)"
        let dns = "\(transport) or \(ipv4Fragment) or \(ipv6Fragment)"
        withoutVLAN = dns
        // One tag, then a second one nested: each `vlan` moves the offsets by 4 bytes.
        withVLAN = "\(dns) or (vlan and (\(dns) or (vlan and (\(dns)))))"
    }
}

/// A compiled BPF program applied to frames in user space (`pcap_offline_filter`), for
/// a given link type. Used to check filter expressions without a live interface.
///
/// Invariant: `matches` reads only the bytes it is given (libpcap's BPF interpreter
/// bounds-checks every load against the captured length and rejects on overrun).
public final class PacketFilter {
    public let expression: String
    public let linkType: LinkType
    /// Number of BPF instructions after libpcap's optimiser.
    public var instructionCount: Int { Int(program.pointee.bf_len) }

    private let program: UnsafeMutablePointer<bpf_program>

    public init(expression: String, linkType: LinkType, snapshotLength: Int = 262_144) throws(CaptureError) {
        self.expression = expression
        self.linkType = linkType
        let snapshot = Int32(clamping: max(1, snapshotLength))
        guard let dead = pcap_open_dead(Pcap.dataLinkType(for: linkType), snapshot) else {
            throw .invalidFilter(expression: expression, detail: "libpcap cannot open a handle for link type \(linkType)")
        }
        defer { pcap_close(dead) }
        let program = UnsafeMutablePointer<bpf_program>.allocate(capacity: 1)
        program.initialize(to: bpf_program())
        guard pcap_compile(dead, program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            let detail = Pcap.lastError(dead)
            program.deallocate()
            throw .invalidFilter(expression: expression, detail: detail)
        }
        self.program = program
    }

    deinit {
        pcap_freecode(program)
        program.deallocate()
    }

    /// Whether the filter accepts a frame of `bytes` (captured) that was `originalLength`
    /// long on the wire (defaults to the captured length).
    public func matches(_ bytes: UnsafeRawBufferPointer, originalLength: Int? = nil) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        var header = pcap_pkthdr()
        header.caplen = UInt32(clamping: bytes.count)
        header.len = UInt32(clamping: max(originalLength ?? bytes.count, bytes.count))
        return pcap_offline_filter(program, &header, base.assumingMemoryBound(to: UInt8.self)) != 0
    }
}
