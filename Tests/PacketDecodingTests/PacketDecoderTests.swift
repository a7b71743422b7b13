import Testing
import WireCore
@testable import PacketDecoding

/// Frames built from real header layouts; each comment gives the tcpdump line it decodes as.
struct PacketDecoderTests {
    /// 10.244.1.10.40000 > 10.96.0.10.53: 4660+ A? a. (the UDP payload is a 19-byte query)
    static let ipv4UDP: [UInt8] = [
        0x45, 0x00, 0x00, 0x2f, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
        10, 244, 1, 10, 10, 96, 0, 10,
        0x9c, 0x40, 0x00, 0x35, 0x00, 0x1b, 0x00, 0x00,
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x61, 0x00, 0x00, 0x01, 0x00, 0x01,
    ]
    static let ethernetHeader: [UInt8] = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2]

    func decode(_ bytes: [UInt8], _ linkType: LinkType, ports: [UInt16] = [53], isCut: Bool = false)
        -> (SkipReason?, DecodedPacket, payload: [UInt8]) {
        var packet = DecodedPacket()
        let decoder = PacketDecoder(ports: ports)
        return bytes.withUnsafeBytes { raw in
            let reason = decoder.decode(raw, linkType: linkType, isCut: isCut, into: &packet)
            return (reason, packet, Array(packet.payload))
        }
    }

    @Test func ethernetIPv4UDP() {
        let (reason, packet, payload) = decode(Self.ethernetHeader + [0x08, 0x00] + Self.ipv4UDP, .ethernet)
        #expect(reason == nil)
        #expect(packet.source.description == "10.244.1.10")
        #expect(packet.destination.description == "10.96.0.10")
        #expect(packet.sourcePort == 40000)
        #expect(packet.destinationPort == 53)
        #expect(packet.transport == .udp)
        #expect(payload.count == 19)
        #expect(payload.prefix(2) == [0x12, 0x34])
        #expect(packet.vlanIDs.count == 0)
    }

    /// Ethernet pads short frames to 60 bytes: the padding must not become DNS payload.
    @Test func ethernetPaddingIsNotPayload() {
        let frame = Self.ethernetHeader + [0x08, 0x00] + Self.ipv4UDP + [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        let (reason, _, payload) = decode(frame, .ethernet)
        #expect(reason == nil)
        #expect(payload.count == 19)
    }

    /// 802.1Q tag 101 inside an 802.1ad tag 7 (QinQ), as on a trunk.
    @Test func qinqTagsAreKept() {
        let frame = Self.ethernetHeader + [0x88, 0xa8, 0x00, 0x07, 0x81, 0x00, 0x20, 0x65, 0x08, 0x00] + Self.ipv4UDP
        let (reason, packet, _) = decode(frame, .ethernet)
        #expect(reason == nil)
        #expect(packet.vlanIDs.array == [7, 101])
    }

    @Test func tooManyVLANTagsIsCounted() {
        let tag: [UInt8] = [0x81, 0x00, 0x00, 0x01]
        let frame = Self.ethernetHeader + tag + tag + tag + tag + [0x08, 0x00] + Self.ipv4UDP
        #expect(decode(frame, .ethernet).0 == .tooManyVLANTags)
    }

    @Test func linuxCookedV1AndV2() {
        // SLL: packet type 0 (to us), ARPHRD_ETHER 1, address length 6, address, protocol IPv4.
        let sll: [UInt8] = [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00]
        #expect(decode(sll + Self.ipv4UDP, .linuxSLL).0 == nil)
        // SLL2: protocol IPv4, reserved, interface index 7, ARPHRD_ETHER, packet type 4 (outgoing), length 6, address.
        let sll2: [UInt8] = [0x08, 0x00, 0, 0, 0, 0, 0, 7, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0]
        let (reason, packet, payload) = decode(sll2 + Self.ipv4UDP, .linuxSLL2)
        #expect(reason == nil)
        #expect(packet.interfaceIndex == 7)
        #expect(payload.count == 19)
    }

    @Test func bsdLoopbackInBothByteOrders() {
        #expect(decode([2, 0, 0, 0] + Self.ipv4UDP, .null).0 == nil)
        #expect(decode([0, 0, 0, 2] + Self.ipv4UDP, .null).0 == nil)
        #expect(decode([0, 0, 0, 2] + Self.ipv4UDP, .loop).0 == nil)
        #expect(decode([7, 0, 0, 0] + Self.ipv4UDP, .null).0 == .notIP)
    }

    @Test func rawIPLinkTypes() {
        #expect(decode(Self.ipv4UDP, .raw).0 == nil)
        #expect(decode(Self.ipv4UDP, .rawAlternate12).0 == nil)
        #expect(decode(Self.ipv4UDP, .ipv4).0 == nil)
        #expect(decode(Self.ipv4UDP, .ipv6).0 == .ipVersionMismatch)
    }

    @Test func unknownLinkTypeIsCounted() {
        #expect(decode(Self.ipv4UDP, LinkType(rawValue: 147)).0 == .unsupportedLinkType)
    }

    /// IPv4 with a 4-byte option (IHL 6): the UDP header starts after the option.
    @Test func ipv4OptionsAreSkipped() {
        var ip = Self.ipv4UDP
        ip[0] = 0x46
        ip[3] = 0x33
        ip.insert(contentsOf: [0x94, 0x04, 0x00, 0x00], at: 20)  // router alert
        let (reason, packet, payload) = decode(ip, .raw)
        #expect(reason == nil)
        #expect(packet.destinationPort == 53)
        #expect(payload.count == 19)
    }

    @Test func ipv4FragmentsAreCounted() {
        var ip = Self.ipv4UDP
        ip[6] = 0x20  // more fragments
        #expect(decode(ip, .raw).0 == .ipFragment)
        ip[6] = 0x00
        ip[7] = 0x10  // offset 16 × 8
        #expect(decode(ip, .raw).0 == .ipFragment)
    }

    @Test func otherPortsAndProtocols() {
        #expect(decode(Self.ipv4UDP, .raw, ports: [5353]).0 == .otherPort)
        var icmp = Self.ipv4UDP
        icmp[9] = 1
        #expect(decode(icmp, .raw).0 == .icmp)
        var esp = Self.ipv4UDP
        esp[9] = 50
        #expect(decode(esp, .raw).0 == .otherIPProtocol)
    }

    /// Outer IPv4 192.168.50.2 > 192.168.50.1 around `inner`, with protocol `proto`.
    static func outer(_ proto: UInt8, _ inner: [UInt8]) -> [UInt8] {
        let length = 20 + inner.count
        return [0x45, 0, UInt8(length >> 8), UInt8(length & 0xff), 0, 1, 0, 0, 64, proto, 0, 0,
                192, 168, 50, 2, 192, 168, 50, 1] + inner
    }

    static func outerUDP(port: UInt16, _ inner: [UInt8]) -> [UInt8] {
        let length = 8 + inner.count
        return outer(17, [0xc0, 0x00, UInt8(port >> 8), UInt8(port & 0xff), UInt8(length >> 8), UInt8(length & 0xff), 0, 0] + inner)
    }

    func expectInnerQuery(_ frame: [UInt8], _ encapsulation: Underlay.Encapsulation, id: UInt32?) {
        let (reason, packet, payload) = decode(frame, .raw)
        #expect(reason == nil)
        #expect(packet.source.description == "10.244.1.10")
        #expect(packet.destinationPort == 53)
        #expect(payload.count == 19)
        #expect(packet.underlay == Underlay(encapsulation: encapsulation, source: IPAddress("192.168.50.2")!,
                                            destination: IPAddress("192.168.50.1")!, networkIdentifier: id))
    }

    /// 192.168.50.2 > 192.168.50.1: IP-in-IP (protocol 4) around the pod's query, as Calico's tunl0.
    @Test func ipInIPIsDecapsulated() {
        expectInnerQuery(Self.outer(4, Self.ipv4UDP), .ipInIP, id: nil)
    }

    /// VXLAN (RFC 7348) on 4789 and Flannel's 8472, VNI 1.
    @Test(arguments: [UInt16(4789), 8472])
    func vxlanIsDecapsulated(port: UInt16) {
        let vxlan: [UInt8] = [0x08, 0, 0, 0, 0, 0, 1, 0]
        expectInnerQuery(Self.outerUDP(port: port, vxlan + Self.ethernetHeader + [0x08, 0x00] + Self.ipv4UDP), .vxlan, id: 1)
        // Without the I flag it is not VXLAN.
        var noFlag = Self.outerUDP(port: port, vxlan + Self.ethernetHeader + [0x08, 0x00] + Self.ipv4UDP)
        noFlag[28] = 0
        #expect(decode(noFlag, .raw).0 == .otherPort)
    }

    /// Geneve (RFC 8926) with one 4-byte option word, VNI 7, Ethernet inside.
    @Test func geneveIsDecapsulated() {
        let geneve: [UInt8] = [0x01, 0, 0x65, 0x58, 0, 0, 7, 0, 0xaa, 0xbb, 0xcc, 0xdd]
        expectInnerQuery(Self.outerUDP(port: 6081, geneve + Self.ethernetHeader + [0x08, 0x00] + Self.ipv4UDP), .geneve, id: 7)
    }

    /// GRE with a key carrying IPv4, and ERSPAN type II carrying Ethernet.
    @Test func greAndERSPANAreDecapsulated() {
        let gre: [UInt8] = [0x20, 0x00, 0x08, 0x00, 0, 0, 0, 42]
        expectInnerQuery(Self.outer(47, gre + Self.ipv4UDP), .gre, id: 42)
        let erspan: [UInt8] = [0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 9] + [0x10, 0x01, 0, 0, 0, 0, 0, 0]
        expectInnerQuery(Self.outer(47, erspan + Self.ethernetHeader + [0x08, 0x00] + Self.ipv4UDP), .erspan, id: nil)
    }

    /// Tunnels nested beyond the limit stop decoding instead of recursing on.
    @Test func nestedTunnelsAreBounded() {
        var frame = Self.ipv4UDP
        for _ in 0..<PacketDecoder.maximumEncapsulations { frame = Self.outer(4, frame) }
        #expect(decode(frame, .raw).0 == nil)
        #expect(decode(Self.outer(4, frame), .raw).0 == .tunnel)
    }

    @Test func badHeaderLengths() {
        var ip = Self.ipv4UDP
        ip[0] = 0x44  // IHL 4 < 5
        #expect(decode(ip, .raw).0 == .badIPv4Header)
        var long = Self.ipv4UDP
        long[3] = 0xff  // total length beyond the frame, not cut by snaplen
        #expect(decode(long, .raw).0 == .badIPv4Header)
        var udp = Self.ipv4UDP
        udp[25] = 4  // UDP length 4 < 8
        #expect(decode(udp, .raw).0 == .badUDPLength)
    }

    /// A frame cut by the snaplen decodes what is there and flags it.
    @Test func snaplenCutPayloadIsFlagged() {
        let cut = Array(Self.ipv4UDP.prefix(40))
        let (reason, packet, payload) = decode(cut, .raw, isCut: true)
        #expect(reason == nil)
        #expect(packet.payloadIsCut)
        #expect(payload.count == 12)
        #expect(decode(Array(Self.ipv4UDP.prefix(24)), .raw, isCut: true).0 == .snaplenCut)
    }

    /// 2001:db8::1.5353 > ff02::fb.5353 behind hop-by-hop and destination options headers.
    @Test func ipv6ExtensionHeadersAreWalked() {
        let udp: [UInt8] = [0x14, 0xe9, 0x14, 0xe9, 0x00, 0x0c, 0, 0, 0xde, 0xad, 0xbe, 0xef]
        let hopByHop: [UInt8] = [60, 0, 5, 2, 0, 0, 1, 0]  // next: destination options; router alert + padding
        let destination: [UInt8] = [17, 0, 1, 4, 0, 0, 0, 0]  // next: UDP
        let body = hopByHop + destination + udp
        var header: [UInt8] = [0x60, 0, 0, 0, 0, UInt8(body.count), 0, 64]
        header += [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]
        header += [0xff, 0x02] + Array(repeating: 0, count: 13) + [0xfb]
        let (reason, packet, payload) = decode(header + body, .raw, ports: [5353])
        #expect(reason == nil)
        #expect(packet.source.description == "2001:db8::1")
        #expect(packet.destination.description == "ff02::fb")
        #expect(payload == [0xde, 0xad, 0xbe, 0xef])
        var fragment = header + body
        fragment[6] = 44
        #expect(decode(fragment, .raw, ports: [5353]).0 == .ipFragment)
    }

    /// 10.96.0.10 > 10.244.1.10: ICMP 10.96.0.10 udp port 53 unreachable (quoting the query).
    @Test func icmpErrorQuotingAQueryDecodesTheQuote() {
        var outer: [UInt8] = [0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 10, 96, 0, 10, 10, 244, 1, 10]
        let icmp: [UInt8] = [3, 3, 0, 0, 0, 0, 0, 0] + Self.ipv4UDP
        outer[3] = UInt8(outer.count + icmp.count)
        let (reason, packet, payload) = decode(outer + icmp, .raw)
        #expect(reason == nil)
        #expect(packet.icmpError == ICMPError(isIPv6: false, type: 3, code: 3, sender: IPAddress("10.96.0.10")!))
        #expect(packet.icmpError?.reason == "port-unreachable")
        #expect(packet.source.description == "10.244.1.10")
        #expect(packet.destinationPort == 53)
        #expect(payload.prefix(2) == [0x12, 0x34])
        // An echo reply, and an error about an ICMP error, are not DNS.
        var echo = outer + icmp
        echo[20] = 0
        #expect(decode(echo, .raw).0 == .icmp)
        var nested = outer + [3, 3, 0, 0, 0, 0, 0, 0] + outer + icmp
        nested[3] = UInt8(truncatingIfNeeded: nested.count)
        #expect(decode(nested, .raw).0 == .icmp)
    }

    @Test func tcpHeaderIsDecoded() {
        var ip = Array(Self.ipv4UDP.prefix(20))
        ip[9] = 6
        ip[3] = 20 + 20 + 4
        let tcp: [UInt8] = [0x9c, 0x40, 0x00, 0x35, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]
        let (reason, packet, payload) = decode(ip + tcp + [0, 2, 0xab, 0xcd], .raw)
        #expect(reason == nil)
        #expect(packet.transport == .tcp)
        #expect(packet.tcpSequence == 1)
        #expect(packet.tcpFlags == [.psh, .ack])
        #expect(payload == [0, 2, 0xab, 0xcd])
    }

    /// Every prefix of every supported frame shape decodes or fails cleanly, never traps.
    @Test func everyPrefixIsSafe() {
        let frames: [([UInt8], LinkType)] = [
            (Self.ethernetHeader + [0x81, 0x00, 0x00, 0x05, 0x08, 0x00] + Self.ipv4UDP, .ethernet),
            ([0x08, 0x00, 0, 0, 0, 0, 0, 7, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0] + Self.ipv4UDP, .linuxSLL2),
            ([2, 0, 0, 0] + Self.ipv4UDP, .null),
        ]
        for (frame, linkType) in frames {
            for length in 0..<frame.count {
                _ = decode(Array(frame.prefix(length)), linkType)
                _ = decode(Array(frame.prefix(length)), linkType, isCut: true)
            }
            #expect(decode(frame, linkType).0 == nil)
        }
    }
}

struct IPAddressTests {
    /// RFC 5952 §4 examples of the canonical text form.
    @Test(arguments: [
        ("2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"),
        ("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:DB8::AAAA", "2001:db8::aaaa"),
        ("::", "::"),
        ("::1", "::1"),
        ("fe80::", "fe80::"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ])
    func canonicalIPv6(input: String, expected: String) {
        #expect(IPAddress(input)?.description == expected)
    }

    @Test func ipv4RoundTripAndOrdering() {
        #expect(IPAddress("10.96.0.10")?.description == "10.96.0.10")
        #expect(IPAddress("256.1.1.1") == nil)
        #expect(IPAddress("1:2:3") == nil)
        #expect(IPAddress("1::2::3") == nil)
        #expect(IPAddress("10.0.0.2")! < IPAddress("10.0.0.10")!)
        #expect(IPAddress("10.0.0.2")! < IPAddress("::1")!)
        #expect(IPAddress("169.254.20.10")?.bytes == [169, 254, 20, 10])
    }
}

/// `decode` takes the common frame (Ethernet, IPv4 unfragmented, UDP on a DNS port) in one
/// pass (`decodeEthernetUDPv4`) and leaves every other to `decodeFrame`: for every single
/// byte of such a frame (with options, padding, a zero UDP length) changed to each of a set
/// of values, and cut short, both must give the same reason and the same packet.
struct FrameFastPathTests {
    static func fields(_ packet: DecodedPacket) -> String {
        "\(packet.interfaceIndex) \(packet.vlanIDs.array) \(packet.source) \(packet.destination) \(packet.transport) "
            + "\(packet.sourcePort) \(packet.destinationPort) \(Array(packet.payload)) \(packet.payloadIsCut) "
            + "\(String(describing: packet.ipIdentification)) \(String(describing: packet.underlay)) "
            + "\(String(describing: packet.icmpError)) \(packet.encapsulationDepth)"
    }

    @Test func fastPathAgreesWithTheLayeredDecoding() {
        let decoder = PacketDecoder(ports: [53, 5353])
        let header = PacketDecoderTests.ethernetHeader + [0x08, 0x00]
        var withOptions = PacketDecoderTests.ipv4UDP
        withOptions[0] = 0x46
        withOptions[3] += 4
        withOptions.insert(contentsOf: [1, 1, 1, 0], at: 20)
        var zeroLength = PacketDecoderTests.ipv4UDP
        zeroLength[24] = 0
        zeroLength[25] = 0
        let frames = [header + PacketDecoderTests.ipv4UDP, header + PacketDecoderTests.ipv4UDP + Array(repeating: 0, count: 11),
                      header + withOptions, header + zeroLength]
        var fast = 0
        var compared = 0
        for frame in frames {
            for index in frame.indices {
                let byte = frame[index]
                for value in Set([0, 1, 4, 5, 6, 8, 17, 20, 0x20, 0x35, 0x40, 0x45, 0x81, 0xFF, byte &+ 1, byte &- 1]) {
                    var bytes = frame
                    bytes[index] = value
                    for cut in Set([bytes.count, bytes.count - 1, index + 1, 42]) where cut <= bytes.count {
                        Array(bytes[..<cut]).withUnsafeBytes { raw in
                            var quick = DecodedPacket()
                            var layered = DecodedPacket()
                            if decoder.decodeEthernetUDPv4(raw, into: &quick) { fast += 1 }
                            var viaDecode = DecodedPacket()
                            let reason = decoder.decode(raw, linkType: .ethernet, isCut: false, into: &viaDecode)
                            let expected = decoder.decodeFrame(raw, linkType: .ethernet, isCut: false, into: &layered)
                            #expect(reason == expected, "byte \(index) = \(value), cut \(cut)")
                            if expected == nil {
                                #expect(Self.fields(viaDecode) == Self.fields(layered), "byte \(index) = \(value), cut \(cut)")
                            }
                            compared += 1
                        }
                    }
                }
            }
        }
        #expect(fast > 1_000)
        #expect(compared > 5_000)
    }
}
