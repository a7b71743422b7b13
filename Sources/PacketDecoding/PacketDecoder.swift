import WireCore

/// What the decoder learned about one frame that carries a DNS payload. It is filled in
/// place for every frame (no allocation); `payload` borrows the frame's bytes and is valid
/// only as long as they are.
public struct DecodedPacket {
    /// Interface index from a Linux cooked v2 header, or -1 when the link type has none.
    public var interfaceIndex: Int32 = -1
    /// 802.1Q / 802.1ad VLAN IDs, outermost first (at most `PacketDecoder.maximumVLANTags`).
    public var vlanIDs: VLANIDs = VLANIDs()
    public var source = IPAddress(ipv4: 0)
    public var destination = IPAddress(ipv4: 0)
    public var transport: Transport = .udp
    public var sourcePort: UInt16 = 0
    public var destinationPort: UInt16 = 0
    /// The UDP payload or TCP segment data, clamped to the lengths the headers declare.
    public var payload = UnsafeRawBufferPointer(start: nil, count: 0)
    /// True when the capture's snaplen cut the payload short of what the headers declare.
    public var payloadIsCut = false
    /// TCP header fields (meaningful only when `transport == .tcp`).
    public var tcpSequence: UInt32 = 0
    public var tcpAcknowledgement: UInt32 = 0
    public var tcpFlags: TCPFlags = TCPFlags(rawValue: 0)
    /// IPv4 identification of the (innermost) IP header; nil for IPv6.
    public var ipIdentification: UInt32?
    /// Set when `decode` returned `.ipFragment`: the fragment, for reassembly.
    public var fragment = IPFragment()
    /// The outermost tunnel the DNS message travelled in (VXLAN, Geneve, IP-in-IP, GRE),
    /// with the node (underlay) addresses; nil when it was not encapsulated.
    public var underlay: Underlay?
    /// Tunnels opened so far in this frame (bounded by `PacketDecoder.maximumEncapsulations`).
    var encapsulationDepth = 0
    /// Set when the frame is an ICMP error quoting a DNS message: then addresses, ports,
    /// transport and payload describe the *quoted* message, and this says who sent the
    /// error and why.
    public var icmpError: ICMPError?

    public init() {}
}

/// An overlay that carried a DNS message between nodes: the outer addresses are the nodes',
/// the inner ones (in `DecodedPacket`) the pods'.
public struct Underlay: Hashable, Sendable {
    public enum Encapsulation: String, Sendable {
        case vxlan, geneve, ipInIP = "ipip", ipv6InIPv4 = "ipv6-in-ipv4", gre, erspan
    }

    public var encapsulation: Encapsulation
    public var source: IPAddress
    public var destination: IPAddress
    /// VXLAN/Geneve network identifier, or GRE key, when present.
    public var networkIdentifier: UInt32?

    public init(encapsulation: Encapsulation, source: IPAddress, destination: IPAddress, networkIdentifier: UInt32?) {
        self.encapsulation = encapsulation
        self.source = source
        self.destination = destination
        self.networkIdentifier = networkIdentifier
    }
}

/// An ICMP or ICMPv6 Destination Unreachable (RFC 792, RFC 4443 §3.1) about a DNS message.
public struct ICMPError: Hashable, Sendable {
    public var isIPv6: Bool
    public var type: UInt8
    public var code: UInt8
    /// Who sent the error: a router or firewall (REJECT), or the host itself (no listener).
    public var sender: IPAddress

    public init(isIPv6: Bool, type: UInt8, code: UInt8, sender: IPAddress) {
        self.isIPv6 = isIPv6
        self.type = type
        self.code = code
        self.sender = sender
    }

    /// A short name for the code, as reports print it.
    public var reason: String {
        if isIPv6 {
            switch code {
            case 0: return "no-route"
            case 1: return "administratively-prohibited"
            case 2: return "beyond-scope"
            case 3: return "address-unreachable"
            case 4: return "port-unreachable"
            case 5: return "source-policy-failed"
            case 6: return "reject-route"
            default: return "code-\(code)"
            }
        }
        switch code {
        case 0: return "net-unreachable"
        case 1: return "host-unreachable"
        case 2: return "protocol-unreachable"
        case 3: return "port-unreachable"
        case 9: return "net-prohibited"
        case 10: return "host-prohibited"
        case 13: return "administratively-prohibited"
        default: return "code-\(code)"
        }
    }
}

/// One IP fragment as the decoder found it (RFC 791 §3.2, RFC 8200 §4.5). `data` borrows
/// the frame's bytes: the fragment's share of the original payload, after the IP header
/// (IPv4) or the Fragment header (IPv6).
public struct IPFragment {
    public var identification: UInt32 = 0
    /// The protocol of the reassembled payload (IPv4 protocol; IPv6 Fragment header's next header).
    public var protocolNumber: UInt8 = 0
    public var isIPv6 = false
    /// Byte offset of `data` in the original payload.
    public var offset = 0
    public var moreFragments = false
    public var data = UnsafeRawBufferPointer(start: nil, count: 0)

    public init() {}
}

/// Up to two VLAN IDs (QinQ) held inline.
public struct VLANIDs: Hashable, Sendable {
    public private(set) var count: UInt8 = 0
    public private(set) var outer: UInt16 = 0
    public private(set) var inner: UInt16 = 0

    public init() {}

    public init(_ ids: [UInt16]) {
        for id in ids.prefix(2) { append(id) }
    }

    @usableFromInline
    mutating func append(_ id: UInt16) {
        if count == 0 { outer = id } else { inner = id }
        count += 1
    }

    public var array: [UInt16] {
        switch count {
        case 0: []
        case 1: [outer]
        default: [outer, inner]
        }
    }
}

/// TCP flags (RFC 9293 §3.1), open for the reserved bits.
public struct TCPFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
}

/// Decodes link layer, VLAN tags, IPv4/IPv6 and UDP/TCP headers in place over the frame's
/// bytes and says whether the frame carries a DNS payload.
///
/// Invariant: every read goes through `ByteReader`, and each layer is clamped to its own
/// length field with `readSlice`, so no input can make the decoder read outside the frame
/// or trap. Ethernet padding after an IP packet is ignored because of that clamping.
public struct PacketDecoder: Sendable {
    /// VLAN tags followed before giving up (QinQ plus one spare).
    public static let maximumVLANTags = 3
    /// Tunnels opened inside one frame before giving up (a VXLAN inside a GRE is two).
    public static let maximumEncapsulations = 3
    /// UDP ports of the overlays Kubernetes CNIs use: VXLAN (IANA 4789, Calico, Cilium),
    /// Flannel's VXLAN (8472, the Linux default), Geneve (6081, Cilium, OVN).
    public static let vxlanPorts: Set<UInt16> = [4789, 8472]
    public static let genevePort: UInt16 = 6081
    /// MPLS labels followed before giving up.
    public static let maximumMPLSLabels = 8
    /// IPv6 extension headers walked before giving up.
    public static let maximumIPv6ExtensionHeaders = 8

    /// One bit per UDP/TCP port: 65,536 bits, set for the ports treated as DNS.
    private var dnsPortBits: [UInt64]
    public let dnsPorts: [UInt16]

    /// `ports`: the DNS ports (53 by default; 5353 mDNS and 5355 LLMNR recognised too).
    public init(ports: [UInt16] = [53, 5353, 5355]) {
        dnsPorts = ports
        dnsPortBits = Array(repeating: 0, count: 1024)
        for port in ports { dnsPortBits[Int(port >> 6)] |= 1 << UInt64(port & 63) }
    }

    @inline(__always)
    public func isDNSPort(_ port: UInt16) -> Bool {
        dnsPortBits[Int(port >> 6)] & (1 << UInt64(port & 63)) != 0
    }

    /// Decodes one frame. Returns nil when `packet` now describes a DNS payload, or the
    /// reason the frame carries none. `isCut` says the capture cut the frame (caplen < len).
    public func decode(
        _ bytes: UnsafeRawBufferPointer, linkType: LinkType, isCut: Bool, into packet: inout DecodedPacket
    ) -> SkipReason? {
        if linkType == .ethernet, !isCut, decodeEthernetUDPv4(bytes, into: &packet) { return nil }
        return decodeFrame(bytes, linkType: linkType, isCut: isCut, into: &packet)
    }

    /// The frame most captures are made of, an untagged Ethernet frame with an unfragmented
    /// IPv4 datagram carrying UDP to or from a DNS port, decoded in one pass over fixed
    /// offsets with one length check: what `decodeFrame` finds for it, field for field.
    /// Returns false, `packet` untouched, for any other frame or any doubt (a length that
    /// does not add up, a fragment, another port), which `decodeFrame` then decodes or
    /// rejects with its reason. The layered path took about 300 instructions per frame.
    @inline(__always)
    func decodeEthernetUDPv4(_ bytes: UnsafeRawBufferPointer, into packet: inout DecodedPacket) -> Bool {
        let ip = 14
        guard bytes.count >= ip + 20 + 8, let base = bytes.baseAddress else { return false }
        func word(_ offset: Int) -> UInt16 { UInt16(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
        func address(_ offset: Int) -> IPAddress {
            IPAddress(ipv4: UInt32(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        }
        let versionAndLength = base.load(fromByteOffset: ip, as: UInt8.self)
        guard word(12) == EtherType.ipv4.rawValue, versionAndLength >> 4 == 4 else { return false }
        let headerLength = Int(versionAndLength & 0x0f) * 4
        let totalLength = Int(word(ip + 2))
        guard headerLength >= 20, totalLength >= headerLength + 8, totalLength <= bytes.count - ip,
              word(ip + 6) & 0x3fff == 0, IPProtocol(rawValue: base.load(fromByteOffset: ip + 9, as: UInt8.self)) == .udp
        else { return false }
        let udp = ip + headerLength
        let sourcePort = word(udp)
        let destinationPort = word(udp + 2)
        guard isDNSPort(sourcePort) || isDNSPort(destinationPort) else { return false }
        let length = Int(word(udp + 4))
        let available = totalLength - headerLength - 8
        // RFC 768: a zero length (jumbogram, or unset) takes what is there.
        let payloadLength = length == 0 ? available : length - 8
        guard length == 0 || (length >= 8 && payloadLength <= available) else { return false }
        PacketDecoder.startFrame(&packet)
        packet.source = address(ip + 12)
        packet.destination = address(ip + 16)
        packet.ipIdentification = UInt32(word(ip + 4))
        packet.transport = .udp
        packet.sourcePort = sourcePort
        packet.destinationPort = destinationPort
        packet.payload = UnsafeRawBufferPointer(rebasing: bytes[(udp + 8)..<(udp + 8 + payloadLength)])
        return true
    }

    /// What every decoding sets before it reads a frame: the fields a frame without a
    /// cooked header, VLAN tag, tunnel or ICMP error leaves as they are.
    @inline(__always)
    static func startFrame(_ packet: inout DecodedPacket) {
        packet.interfaceIndex = -1
        packet.vlanIDs = VLANIDs()
        packet.payloadIsCut = false
        packet.icmpError = nil
        packet.underlay = nil
        packet.encapsulationDepth = 0
    }

    /// `decode` layer by layer, for every link type and frame.
    func decodeFrame(
        _ bytes: UnsafeRawBufferPointer, linkType: LinkType, isCut: Bool, into packet: inout DecodedPacket
    ) -> SkipReason? {
        PacketDecoder.startFrame(&packet)
        var reader = ByteReader(bytes)
        do {
            switch linkType {
            case .ethernet:
                try reader.skip(12)
                let etherType = try reader.readUInt16()
                return decodeEtherType(EtherType(rawValue: etherType), &reader, isCut, &packet)
            case .fddi:
                // Frame control, destination, source; then LLC/SNAP as behind an 802.3 length.
                try reader.skip(13)
                return decodeEtherType(EtherType(rawValue: 0), &reader, isCut, &packet)
            case .linuxSLL:
                // packet type, ARPHRD type, address length, 8 address bytes, protocol.
                try reader.skip(14)
                let proto = try reader.readUInt16()
                return decodeEtherType(EtherType(rawValue: proto), &reader, isCut, &packet)
            case .linuxSLL2:
                // protocol, reserved, interface index, ARPHRD type, packet type, address length, 8 address bytes.
                let proto = try reader.readUInt16()
                try reader.skip(2)
                packet.interfaceIndex = Int32(bitPattern: try reader.readUInt32())
                try reader.skip(12)
                return decodeEtherType(EtherType(rawValue: proto), &reader, isCut, &packet)
            case .null:
                // The address family is in the byte order of the host that captured.
                var family = try reader.readUInt32LittleEndian()
                if family > 0xffff { family = family.byteSwapped }
                return decodeFamily(family, &reader, isCut, &packet)
            case .loop:
                let family = try reader.readUInt32()
                return decodeFamily(family, &reader, isCut, &packet)
            case .raw, .rawAlternate12, .rawAlternate14:
                let version = try reader.peekUInt8() >> 4
                if version == 4 { return decodeIPv4(&reader, isCut, &packet) }
                if version == 6 { return decodeIPv6(&reader, isCut, &packet) }
                return .notIP
            case .ipv4:
                return decodeIPv4(&reader, isCut, &packet)
            case .ipv6:
                return decodeIPv6(&reader, isCut, &packet)
            default:
                return .unsupportedLinkType
            }
        } catch {
            return .truncatedLinkHeader
        }
    }

    /// BSD address families: AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD,
    /// OpenBSD), 28 (FreeBSD) or 30 (macOS).
    private func decodeFamily(
        _ family: UInt32, _ reader: inout ByteReader, _ isCut: Bool, _ packet: inout DecodedPacket
    ) -> SkipReason? {
        switch family {
        case 2: decodeIPv4(&reader, isCut, &packet)
        case 10, 24, 28, 30: decodeIPv6(&reader, isCut, &packet)
        default: .notIP
        }
    }

    private func decodeEtherType(
        _ first: EtherType, _ reader: inout ByteReader, _ isCut: Bool, _ packet: inout DecodedPacket
    ) -> SkipReason? {
        var etherType = first
        var tags = 0
        do {
            while etherType.isVLANTag {
                tags += 1
                if tags > PacketDecoder.maximumVLANTags { return .tooManyVLANTags }
                let tci = try reader.readUInt16()
                packet.vlanIDs.append(tci & 0x0fff)
                etherType = EtherType(rawValue: try reader.readUInt16())
            }
            if etherType.rawValue <= 1500 {
                // IEEE 802.3 length field: IP only behind LLC/SNAP (AA AA 03, OUI, type).
                guard try reader.peekUInt16() == 0xaaaa, try reader.peekUInt8(at: 2) == 0x03 else { return .notIP }
                try reader.skip(6)
                etherType = EtherType(rawValue: try reader.readUInt16())
            }
        } catch {
            return .truncatedLinkHeader
        }
        switch etherType {
        case .ipv4: return decodeIPv4(&reader, isCut, &packet)
        case .ipv6: return decodeIPv6(&reader, isCut, &packet)
        case .pppoeSession: return decodePPPoE(&reader, isCut, &packet)
        case .mpls: return decodeMPLS(&reader, isCut, &packet)
        default: return .notIP
        }
    }

    /// RFC 2516 §4: a 6-byte PPPoE header, then the 2-byte PPP protocol (RFC 1661 §2):
    /// 0x0021 IPv4, 0x0057 IPv6.
    private func decodePPPoE(_ reader: inout ByteReader, _ isCut: Bool, _ packet: inout DecodedPacket) -> SkipReason? {
        let pppProtocol: UInt16
        do {
            try reader.skip(6)
            pppProtocol = try reader.readUInt16()
        } catch {
            return .truncatedLinkHeader
        }
        switch pppProtocol {
        case 0x0021: return decodeIPv4(&reader, isCut, &packet)
        case 0x0057: return decodeIPv6(&reader, isCut, &packet)
        default: return .notIP
        }
    }

    /// RFC 3032: 4-byte label stack entries up to the one with the bottom-of-stack bit; the
    /// payload's IP version is read from its first nibble.
    private func decodeMPLS(_ reader: inout ByteReader, _ isCut: Bool, _ packet: inout DecodedPacket) -> SkipReason? {
        do {
            for _ in 0..<PacketDecoder.maximumMPLSLabels {
                let entry = try reader.readUInt32()
                if entry & 0x100 != 0 {
                    switch try reader.peekUInt8() >> 4 {
                    case 4: return decodeIPv4(&reader, isCut, &packet)
                    case 6: return decodeIPv6(&reader, isCut, &packet)
                    default: return .notIP
                    }
                }
            }
            return .truncatedLinkHeader
        } catch {
            return .truncatedLinkHeader
        }
    }

    /// RFC 791 §3.1. Options are skipped by the header length; the packet is clamped to
    /// its total length.
    private func decodeIPv4(_ reader: inout ByteReader, _ isCut: Bool, _ packet: inout DecodedPacket) -> SkipReason? {
        let header: ByteReader
        var body: ByteReader
        let proto: IPProtocol
        var cut = false
        do {
            let versionAndLength = try reader.peekUInt8()
            guard versionAndLength >> 4 == 4 else { return .ipVersionMismatch }
            let headerLength = Int(versionAndLength & 0x0f) * 4
            guard headerLength >= 20 else { return .badIPv4Header }
            let totalLength = Int(try reader.peekUInt16(at: 2))
            guard totalLength >= headerLength else { return .badIPv4Header }
            let available = reader.remaining
            var clampedLength = totalLength
            if totalLength > available {
                // Fewer bytes than the header claims: the snaplen cut it, or it is damaged.
                guard isCut else { return .badIPv4Header }
                guard available >= headerLength else { return .snaplenCut }
                clampedLength = available
                cut = true
            }
            var packetReader = try reader.readSlice(count: clampedLength)
            header = try packetReader.readSlice(count: headerLength)
            body = packetReader
            let fragment = try header.peekUInt16(at: 6)
            proto = IPProtocol(rawValue: try header.peekUInt8(at: 9))
            packet.source = IPAddress(ipv4: try header.peekUInt32(at: 12))
            packet.destination = IPAddress(ipv4: try header.peekUInt32(at: 16))
            packet.ipIdentification = UInt32(try header.peekUInt16(at: 4))
            // More-fragments set or a non-zero offset: the caller reassembles.
            if fragment & 0x3fff != 0 {
                packet.fragment = IPFragment()
                packet.fragment.identification = UInt32(try header.peekUInt16(at: 4))
                packet.fragment.protocolNumber = proto.rawValue
                packet.fragment.offset = Int(fragment & 0x1fff) * 8
                packet.fragment.moreFragments = fragment & 0x2000 != 0
                packet.fragment.data = body.rest
                packet.payloadIsCut = cut
                return .ipFragment
            }
        } catch {
            return isCut ? .snaplenCut : .truncatedIPv4Header
        }
        return decodeTransport(proto, &body, cut, &packet)
    }

    /// RFC 8200 §4: walks hop-by-hop, routing, destination options and AH headers to the
    /// upper-layer header; a Fragment header hands the packet to reassembly.
    private func decodeIPv6(_ reader: inout ByteReader, _ isCut: Bool, _ packet: inout DecodedPacket) -> SkipReason? {
        var body: ByteReader
        var next: IPProtocol
        var cut = false
        do {
            guard try reader.peekUInt8() >> 4 == 6 else { return .ipVersionMismatch }
            var fixed = try reader.readSlice(count: 40)
            let payloadLength = Int(try fixed.peekUInt16(at: 4))
            next = IPProtocol(rawValue: try fixed.peekUInt8(at: 6))
            try fixed.skip(8)
            let sourceHigh = UInt64(try fixed.readUInt32()) << 32 | UInt64(try fixed.readUInt32())
            let sourceLow = UInt64(try fixed.readUInt32()) << 32 | UInt64(try fixed.readUInt32())
            let destinationHigh = UInt64(try fixed.readUInt32()) << 32 | UInt64(try fixed.readUInt32())
            let destinationLow = UInt64(try fixed.readUInt32()) << 32 | UInt64(try fixed.readUInt32())
            packet.source = IPAddress(ipv6High: sourceHigh, low: sourceLow)
            packet.destination = IPAddress(ipv6High: destinationHigh, low: destinationLow)
            packet.ipIdentification = nil
            // A payload length of zero is a jumbogram (RFC 2675): take what is there.
            var clampedLength = payloadLength == 0 ? reader.remaining : payloadLength
            if clampedLength > reader.remaining {
                guard isCut else { return .truncatedIPv6Header }
                clampedLength = reader.remaining
                cut = true
            }
            body = try reader.readSlice(count: clampedLength)
        } catch {
            return isCut ? .snaplenCut : .truncatedIPv6Header
        }
        return decodeIPv6Headers(next, &body, cut, &packet)
    }

    /// Walks IPv6 extension headers from `next` to the upper-layer header. A Fragment
    /// header hands the rest to the caller for reassembly (`packet.fragment`).
    private func decodeIPv6Headers(
        _ first: IPProtocol, _ body: inout ByteReader, _ cut: Bool, _ packet: inout DecodedPacket
    ) -> SkipReason? {
        var next = first
        var walked = 0
        do {
            while true {
                switch next {
                case .hopByHop, .ipv6Routing, .ipv6DestinationOptions:
                    walked += 1
                    guard walked <= PacketDecoder.maximumIPv6ExtensionHeaders else { return .badIPv6ExtensionHeaders }
                    next = IPProtocol(rawValue: try body.peekUInt8())
                    try body.skip((Int(try body.peekUInt8(at: 1)) + 1) * 8)
                case .authenticationHeader:
                    walked += 1
                    guard walked <= PacketDecoder.maximumIPv6ExtensionHeaders else { return .badIPv6ExtensionHeaders }
                    next = IPProtocol(rawValue: try body.peekUInt8())
                    try body.skip((Int(try body.peekUInt8(at: 1)) + 2) * 4)
                case .ipv6Fragment:
                    // RFC 8200 §4.5: next header, reserved, offset (13 bits, 8-byte units) + M, identification.
                    let fragmentNext = try body.readUInt8()
                    try body.skip(1)
                    let offsetAndFlags = try body.readUInt16()
                    let identification = try body.readUInt32()
                    packet.fragment = IPFragment()
                    packet.fragment.identification = identification
                    packet.fragment.protocolNumber = fragmentNext
                    packet.fragment.isIPv6 = true
                    packet.fragment.offset = Int(offsetAndFlags >> 3) * 8
                    packet.fragment.moreFragments = offsetAndFlags & 1 != 0
                    packet.fragment.data = body.rest
                    packet.payloadIsCut = cut
                    return .ipFragment
                default:
                    return decodeTransport(next, &body, cut, &packet)
                }
            }
        } catch {
            return cut ? .snaplenCut : .badIPv6ExtensionHeaders
        }
    }

    /// Decodes a reassembled IP payload (`protocolNumber` from the fragments) into
    /// `packet`, whose addresses the caller has set from the fragments' key.
    public func decodeReassembled(
        _ bytes: UnsafeRawBufferPointer, protocolNumber: UInt8, isIPv6: Bool, into packet: inout DecodedPacket
    ) -> SkipReason? {
        packet.payloadIsCut = false
        var body = ByteReader(bytes)
        if isIPv6 { return decodeIPv6Headers(IPProtocol(rawValue: protocolNumber), &body, false, &packet) }
        return decodeTransport(IPProtocol(rawValue: protocolNumber), &body, false, &packet)
    }

    private func decodeTransport(
        _ proto: IPProtocol, _ body: inout ByteReader, _ cut: Bool, _ packet: inout DecodedPacket
    ) -> SkipReason? {
        switch proto {
        case .udp: return decodeUDP(&body, cut, &packet)
        case .tcp: return decodeTCP(&body, cut, &packet)
        case .icmp: return decodeICMPError(isIPv6: false, &body, &packet)
        case .icmpv6: return decodeICMPError(isIPv6: true, &body, &packet)
        case .ipInIP:
            guard enterTunnel(.ipInIP, identifier: nil, &packet) else { return .tunnel }
            return decodeIPv4(&body, cut, &packet)
        case .ipv6InIP:
            guard enterTunnel(.ipv6InIPv4, identifier: nil, &packet) else { return .tunnel }
            return decodeIPv6(&body, cut, &packet)
        case .gre: return decodeGRE(&body, cut, &packet)
        default: return .otherIPProtocol
        }
    }

    /// Destination Unreachable (ICMP type 3, ICMPv6 type 1) quoting a UDP or TCP packet on
    /// a DNS port: the quoted packet is decoded in place of the frame's own (RFC 792 quotes
    /// the IP header and 8 bytes at least; Linux quotes up to 576 bytes, so the DNS header
    /// is usually there). Other ICMP is not DNS.
    private func decodeICMPError(isIPv6: Bool, _ body: inout ByteReader, _ packet: inout DecodedPacket) -> SkipReason? {
        // An error about an error is never sent (RFC 1122 §3.2.2); refusing to look inside a
        // second quote also bounds the recursion whatever the bytes say.
        guard packet.icmpError == nil else { return .icmp }
        let sender = packet.source
        let type: UInt8
        let code: UInt8
        do {
            type = try body.readUInt8()
            code = try body.readUInt8()
            try body.skip(6)  // checksum, unused
        } catch {
            return .icmp
        }
        guard type == (isIPv6 ? 1 : 3) else { return .icmp }
        var quoted = ByteReader(body.rest)
        packet.icmpError = ICMPError(isIPv6: isIPv6, type: type, code: code, sender: sender)
        // The quoted packet is cut by design: decode it as a snaplen-cut packet.
        let reason = isIPv6 ? decodeIPv6(&quoted, true, &packet) : decodeIPv4(&quoted, true, &packet)
        guard reason == nil else {
            packet.icmpError = nil
            return .icmp
        }
        return nil
    }

    /// Records the outermost tunnel (the node addresses, as decoded so far) and counts depth.
    private func enterTunnel(_ kind: Underlay.Encapsulation, identifier: UInt32?, _ packet: inout DecodedPacket) -> Bool {
        packet.encapsulationDepth += 1
        guard packet.encapsulationDepth <= PacketDecoder.maximumEncapsulations else { return false }
        if packet.underlay == nil {
            packet.underlay = Underlay(encapsulation: kind, source: packet.source, destination: packet.destination,
                                       networkIdentifier: identifier)
        }
        return true
    }

    /// RFC 7348 §5: flags (I bit 0x08 set), 3 reserved, 24-bit VNI, reserved; then Ethernet.
    private func decodeVXLAN(_ body: inout ByteReader, _ cut: Bool, _ packet: inout DecodedPacket) -> SkipReason? {
        do {
            let flags = try body.readUInt8()
            guard flags & 0x08 != 0 else { return .otherPort }
            try body.skip(3)
            let identifier = try body.readUInt32() >> 8
            guard enterTunnel(.vxlan, identifier: identifier, &packet) else { return .tunnel }
            try body.skip(12)
            let etherType = EtherType(rawValue: try body.readUInt16())
            return decodeEtherType(etherType, &body, cut, &packet)
        } catch {
            return cut ? .snaplenCut : .truncatedLinkHeader
        }
    }

    /// RFC 8926 §3.4: version and option length (4-byte words), flags, protocol type,
    /// 24-bit VNI, reserved, options; protocol 0x6558 is Ethernet.
    private func decodeGeneve(_ body: inout ByteReader, _ cut: Bool, _ packet: inout DecodedPacket) -> SkipReason? {
        do {
            let versionAndLength = try body.readUInt8()
            guard versionAndLength >> 6 == 0 else { return .otherPort }
            try body.skip(1)
            let protocolType = try body.readUInt16()
            let identifier = try body.readUInt32() >> 8
            try body.skip(Int(versionAndLength & 0x3f) * 4)
            guard enterTunnel(.geneve, identifier: identifier, &packet) else { return .tunnel }
            return decodeTunnelPayload(protocolType, &body, cut, &packet)
        } catch {
            return cut ? .snaplenCut : .truncatedLinkHeader
        }
    }

    /// RFC 2784/2890 GRE: checksum, key and sequence fields by flag; ERSPAN type II
    /// (0x88BE, 8-byte header) and type III (0x22EB, 12 bytes plus an optional 8) carry
    /// mirrored Ethernet frames.
    private func decodeGRE(_ body: inout ByteReader, _ cut: Bool, _ packet: inout DecodedPacket) -> SkipReason? {
        do {
            let flags = try body.readUInt16()
            let protocolType = try body.readUInt16()
            guard flags & 0x0007 == 0 else { return .tunnel }  // GRE version 0 only (not PPTP)
            if flags & 0x8000 != 0 { try body.skip(4) }
            var key: UInt32?
            if flags & 0x2000 != 0 { key = try body.readUInt32() }
            let sequenced = flags & 0x1000 != 0
            if sequenced { try body.skip(4) }
            switch protocolType {
            case 0x88be:
                guard enterTunnel(.erspan, identifier: key, &packet) else { return .tunnel }
                if sequenced { try body.skip(8) }  // ERSPAN type II header (type I has none)
                return decodeTunnelPayload(0x6558, &body, cut, &packet)
            case 0x22eb:
                guard enterTunnel(.erspan, identifier: key, &packet) else { return .tunnel }
                let optional = try body.peekUInt8(at: 11) & 0x01 != 0
                try body.skip(12 + (optional ? 8 : 0))
                return decodeTunnelPayload(0x6558, &body, cut, &packet)
            default:
                guard enterTunnel(.gre, identifier: key, &packet) else { return .tunnel }
                return decodeTunnelPayload(protocolType, &body, cut, &packet)
            }
        } catch {
            return cut ? .snaplenCut : .truncatedLinkHeader
        }
    }

    /// Inner payload by EtherType-style protocol number: 0x6558 transparent Ethernet
    /// bridging, IPv4, IPv6.
    private func decodeTunnelPayload(_ protocolType: UInt16, _ body: inout ByteReader, _ cut: Bool, _ packet: inout DecodedPacket) -> SkipReason? {
        do {
            switch protocolType {
            case 0x6558:
                try body.skip(12)
                let etherType = EtherType(rawValue: try body.readUInt16())
                return decodeEtherType(etherType, &body, cut, &packet)
            case EtherType.ipv4.rawValue: return decodeIPv4(&body, cut, &packet)
            case EtherType.ipv6.rawValue: return decodeIPv6(&body, cut, &packet)
            default: return .tunnel
            }
        } catch {
            return cut ? .snaplenCut : .truncatedLinkHeader
        }
    }

    /// RFC 768. The payload is clamped to the UDP length (trailing bytes are padding).
    private func decodeUDP(_ body: inout ByteReader, _ cut: Bool, _ packet: inout DecodedPacket) -> SkipReason? {
        do {
            let sourcePort = try body.readUInt16()
            let destinationPort = try body.readUInt16()
            let length = Int(try body.readUInt16())
            try body.skip(2)
            guard isDNSPort(sourcePort) || isDNSPort(destinationPort) else {
                if PacketDecoder.vxlanPorts.contains(destinationPort) { return decodeVXLAN(&body, cut, &packet) }
                if destinationPort == PacketDecoder.genevePort { return decodeGeneve(&body, cut, &packet) }
                return .otherPort
            }
            packet.transport = .udp
            packet.sourcePort = sourcePort
            packet.destinationPort = destinationPort
            var payloadLength = length - 8
            if length == 0 {
                payloadLength = body.remaining  // jumbogram or unset length: take what is there
            } else if length < 8 {
                return .badUDPLength
            } else if payloadLength > body.remaining {
                guard cut else { return .badUDPLength }
                payloadLength = body.remaining
                packet.payloadIsCut = true
            }
            packet.payload = try body.readBytes(payloadLength)
            return nil
        } catch {
            return cut ? .snaplenCut : .truncatedUDPHeader
        }
    }

    /// RFC 9293 §3.1: the data offset skips options; the payload is the rest of the IP packet.
    private func decodeTCP(_ body: inout ByteReader, _ cut: Bool, _ packet: inout DecodedPacket) -> SkipReason? {
        do {
            let sourcePort = try body.readUInt16()
            let destinationPort = try body.readUInt16()
            guard isDNSPort(sourcePort) || isDNSPort(destinationPort) else { return .otherPort }
            packet.tcpSequence = try body.readUInt32()
            packet.tcpAcknowledgement = try body.readUInt32()
            let offsetAndFlags = try body.readUInt16()
            let headerLength = Int(offsetAndFlags >> 12) * 4
            guard headerLength >= 20 else { return .badTCPHeader }
            try body.skip(headerLength - 14)
            packet.transport = .tcp
            packet.sourcePort = sourcePort
            packet.destinationPort = destinationPort
            packet.tcpFlags = TCPFlags(rawValue: UInt8(truncatingIfNeeded: offsetAndFlags))
            packet.payloadIsCut = cut
            packet.payload = body.rest
            return nil
        } catch {
            return cut ? .snaplenCut : .truncatedTCPHeader
        }
    }
}
