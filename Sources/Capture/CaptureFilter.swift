import CPcap
import WireCore

/// The BPF expression dnstrail captures with by default, for Ethernet captures: everything
/// the decoder can analyse as DNS, and little else.
///
/// It keeps, directly on the link and inside one or two VLAN tags (802.1Q, 802.1ad, QinQ):
/// - **DNS**: TCP and UDP on `ports`, either direction (an empty list keeps all TCP and UDP);
/// - **fragments**: IPv4 fragments except the unfragmented case (`ip[6:2] & 0x3fff != 0`:
///   MF or an offset, DF excluded), IPv6 packets whose first extension header is a
///   Fragment header, and IPv6 packets starting with a hop-by-hop, routing, destination
///   options or AH header (libpcap's `port` does not walk extension headers; the decoder does);
/// - **ICMP errors**: every ICMP Destination Unreachable (type 3) and ICMPv6 Destination
///   Unreachable (type 1): the decoder pairs those quoting a query (REJECT, no listener);
/// - **overlays**: VXLAN (UDP destination 4789, 8472), Geneve (6081), IP-in-IP (protocol
///   4) and IPv6-in-IP (41), over IPv4 or IPv6, when the inner packet may carry DNS: DNS
///   on `ports`, an inner IP fragment, an inner ICMP/ICMPv6 Destination Unreachable, a
///   further tunnel (inner protocol 4, 41, 47 or UDP to an overlay port), an inner IPv6
///   packet with extension headers, or an inner Ethernet frame that is neither IPv4, IPv6
///   nor ARP (inner VLAN tags, MPLS…). Overlay traffic that is provably not DNS (inner
///   TCP/UDP on other ports, inner ARP, other ICMP) is left out, so an uplink full of
///   pod-to-pod traffic does not flood the capture. Kept whole (no inner check): GRE (47);
///   Geneve with options other than none or one 8-byte word, or with an IP payload;
///   IP-in-IP and IPv6-in-IP whose outer IPv4 header has options; inside one VLAN tag,
///   every overlay but VXLAN and IP-in-IP; inside two tags, every overlay.
///
/// Not kept: DNS inside PPPoE or MPLS on the link itself, which the decoder reads: libpcap's
/// `pppoes` and `mpls`, like `vlan`, shift the offsets of the rest of the expression and
/// cannot be combined with the VLAN clauses. Capture those with an explicit `--filter`
/// (e.g. `pppoes and port 53`), or `--filter ''` for everything.
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
    defaultCaptureFilters(ports: ports, linkType: linkType).first ?? ""
}

/// The variants of the default filter libpcap compiles for `linkType`, most selective
/// first (then overlays kept whole inside VLAN tags, then no VLAN clause); empty when
/// none does. A live capture takes the first that fits the kernel's program size limit.
public func defaultCaptureFilters(ports: [UInt16], linkType: LinkType) -> [String] {
    var compiled: [String] = []
    for candidate in CaptureFilterExpression(ports: ports).candidates
    where !compiled.contains(candidate) && (try? PacketFilter(expression: candidate, linkType: linkType)) != nil {
        compiled.append(candidate)
    }
    return compiled
}

/// Builds the default filter's expression (see `defaultCaptureFilter(ports:)`). Inner
/// headers of overlays are reached by byte offsets from libpcap's `udp[]`, `ip[]` and
/// `ip6[]` accessors, including the variable IPv4 header length and Geneve option length.
struct CaptureFilterExpression {
    /// UDP destination ports the decoder opens as VXLAN (IANA 4789, Flannel 8472).
    static let vxlanPorts: [UInt16] = [4789, 8472]
    static let genevePort: UInt16 = 6081

    var withoutVLAN: String
    var withVLAN: String

    init(ports: [UInt16]) {
        var unique: [UInt16] = []
        for port in ports where !unique.contains(port) { unique.append(port) }
        let inner = InnerPacket(ports: unique)
        let transport = unique.isEmpty
            ? "(udp or tcp)"
            : "((udp or tcp) and (" + unique.map { "port \($0)" }.joined(separator: " or ") + "))"
        let ipv4Fragment = "(ip[6:2] & 0x3fff != 0)"
        let ipv6Fragment = "(ip6[6] == 44)"
        // Hop-by-hop, routing, destination options, AH: libpcap's `port` stops there.
        let ipv6Extensions = "(ip6[6] == 0 or ip6[6] == 43 or ip6[6] == 60 or ip6[6] == 51)"
        let icmpErrors = "(icmp[0] == 3) or (icmp6[0] == 1)"
        let udp = Accessor("udp")
        let vxlan = "((" + Self.vxlanPorts.map { "udp dst port \($0)" }.joined(separator: " or ") + ") and "
            + inner.ethernet(udp, at: "16") + ")"
        // Geneve with Ethernet inside and no options (Cilium) or one 8-byte option (OVN);
        // other option lengths and inner IP payloads (AWS GWLB) are kept whole.
        let geneve = "(udp dst port \(Self.genevePort) and ((udp[8] & 0x3f == 0 and udp[10:2] == 0x6558 and "
            + inner.ethernet(udp, at: "16") + ") or (udp[8] & 0x3f == 2 and udp[10:2] == 0x6558 and "
            + inner.ethernet(udp, at: "24") + ") or (udp[8] & 0x3f != 0 and udp[8] & 0x3f != 2)"
            + " or udp[10:2] == 0x0800 or udp[10:2] == 0x86dd))"
        // The inner checks assume an outer IPv4 header without options (0x45); with options
        // the packet is kept whole. Offsets nested two deep (outer and inner header length)
        // make libpcap 1.10.3's optimiser read scratch memory it never wrote once a `vlan`
        // follows, and the kernel refuses such a program.
        let ipInIP = "(ip proto 4 and (ip[0] != 0x45 or \(inner.ipv4(Accessor("ip"), at: "20"))))"
        let ipv6InIP = "(ip proto 41 and (ip[0] != 0x45 or \(inner.ipv6(Accessor("ip"), at: "20"))))"
        let ipInIPv6 = "(ip6 proto 4 and \(inner.ipv4(Accessor("ip6"), at: "40")))"
        let ipv6InIPv6 = "(ip6 proto 41 and \(inner.ipv6(Accessor("ip6"), at: "40")))"
        // GRE's header length depends on three flags: offsets past it cost too many BPF
        // instructions, so GRE is kept whole.
        let gre = "(ip proto 47 or ip6 proto 47)"
        let plain = [transport, ipv4Fragment, ipv6Fragment, ipv6Extensions, icmpErrors]
        let vxlanWhole = Self.vxlanPorts.map { "udp dst port \($0)" }
        let othersWhole = ["udp dst port \(Self.genevePort)", "ip proto 41", "ip6 proto 4", "ip6 proto 41"]
        let wholeOverlays = "(" + (vxlanWhole + othersWhole + ["ip proto 4"]).joined(separator: " or ") + ")"
        let otherOverlaysWhole = "(" + othersWhole.joined(separator: " or ") + ")"
        withoutVLAN = (plain + [vxlan, geneve, ipInIP, ipv6InIP, ipInIPv6, ipv6InIPv6, gre]).joined(separator: " or ")
        // Inside tags every load goes through libpcap's run-time VLAN offset (Linux hands
        // the first tag out of band), which roughly quadruples the program: the kernel's
        // limit (BPF_MAXINSNS, 4,096) leaves room for VXLAN and IP-in-IP with their inner
        // checks inside one tag; other overlays there, and all inside two, are kept whole.
        let oneTag = (plain + [vxlan, ipInIP, otherOverlaysWhole, gre]).joined(separator: " or ")
        let twoTags = (plain + [wholeOverlays, gre]).joined(separator: " or ")
        // Each `vlan` moves the offsets of the rest of the expression by one tag.
        withVLAN = "\(withoutVLAN) or (vlan and (\(oneTag) or (vlan and (\(twoTags)))))"
        withVLANOverlaysWhole = "\(withoutVLAN) or (vlan and (\(twoTags) or (vlan and (\(twoTags)))))"
    }

    /// `withVLAN` with every overlay kept whole inside tags: smaller, for long port lists.
    var withVLANOverlaysWhole: String

    /// The variants, most selective first.
    var candidates: [String] { [withVLAN, withVLANOverlaysWhole, withoutVLAN] }
}

/// A libpcap protocol accessor (`udp`, `ip`, `ip6`): `proto[offset:size]`, where the
/// offset is itself an expression (libpcap computes it, bounds-checked, per packet).
struct Accessor {
    let name: String
    init(_ name: String) { self.name = name }

    func load(_ offset: String, _ size: Int = 1) -> String {
        "\(name)[\(offset)\(size == 1 ? "" : ":\(size)")]"
    }
}

/// Clauses that hold when a packet starting at a given offset may carry DNS the decoder
/// analyses; false only when it provably does not (other TCP/UDP ports, ARP, other ICMP).
struct InnerPacket {
    let ports: [UInt16]

    private func isDNSPort(_ value: String) -> String {
        ports.isEmpty ? "1 == 1" : "(" + ports.map { "\(value) == \($0)" }.joined(separator: " or ") + ")"
    }

    private func isOverlayPort(_ value: String) -> String {
        "(" + (CaptureFilterExpression.vxlanPorts + [CaptureFilterExpression.genevePort])
            .map { "\(value) == \($0)" }.joined(separator: " or ") + ")"
    }

    /// An IPv4 header at `offset`: a fragment, a tunnel, an ICMP Destination Unreachable,
    /// TCP/UDP with a DNS port, or UDP to an overlay port.
    func ipv4(_ packet: Accessor, at offset: String) -> String {
        let header = "\(offset) + ((\(packet.load(offset)) & 0xf) << 2)"
        let proto = packet.load("\(offset) + 9")
        let source = packet.load(header, 2)
        let destination = packet.load("\(header) + 2", 2)
        return "(\(packet.load(offset)) & 0xf0 == 0x40 and (\(packet.load("\(offset) + 6", 2)) & 0x3fff != 0"
            + " or \(proto) == 4 or \(proto) == 41 or \(proto) == 47"
            + " or (\(proto) == 1 and \(packet.load(header)) == 3)"
            + " or ((\(proto) == 6 or \(proto) == 17) and (\(isDNSPort(source)) or \(isDNSPort(destination))))"
            + " or (\(proto) == 17 and \(isOverlayPort(destination)))))"
    }

    /// An IPv6 header at `offset`: any next header but TCP, UDP and ICMPv6 (extension
    /// headers, fragments, tunnels), an ICMPv6 Destination Unreachable, TCP/UDP with a DNS
    /// port, or UDP to an overlay port.
    func ipv6(_ packet: Accessor, at offset: String) -> String {
        let next = packet.load("\(offset) + 6")
        let source = packet.load("\(offset) + 40", 2)
        let destination = packet.load("\(offset) + 42", 2)
        return "(\(packet.load(offset)) & 0xf0 == 0x60 and ((\(next) != 6 and \(next) != 17 and \(next) != 58)"
            + " or (\(next) == 58 and \(packet.load("\(offset) + 40")) == 1)"
            + " or ((\(next) == 6 or \(next) == 17) and (\(isDNSPort(source)) or \(isDNSPort(destination))))"
            + " or (\(next) == 17 and \(isOverlayPort(destination)))))"
    }

    /// An Ethernet header at `offset`: IPv4 or IPv6 as above, or any other EtherType but
    /// ARP (inner VLAN tags, MPLS, PPPoE, LLC: left to the decoder).
    func ethernet(_ packet: Accessor, at offset: String) -> String {
        let type = packet.load("\(offset) + 12", 2)
        return "((\(type) == 0x0800 and \(ipv4(packet, at: "\(offset) + 14")))"
            + " or (\(type) == 0x86dd and \(ipv6(packet, at: "\(offset) + 14")))"
            + " or (\(type) != 0x0800 and \(type) != 0x86dd and \(type) != 0x0806))"
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
