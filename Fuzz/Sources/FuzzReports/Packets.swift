/// Frame builders for the report target: just enough Ethernet, IPv4/IPv6, UDP, TCP,
/// ICMP and DNS to make real transactions. Checksums are zero where the decoder does not
/// check them (UDP, TCP, ICMP), computed for the IPv4 header.

/// An address of either family (4 or 16 bytes).
struct Host: Equatable {
    var bytes: [UInt8]
    var isIPv6: Bool { bytes.count == 16 }

    static func v4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> Host { Host(bytes: [a, b, c, d]) }
    static func v6(prefix: UInt8, _ high: UInt8, _ low: UInt8) -> Host {
        Host(bytes: [0xFD, prefix] + [UInt8](repeating: 0, count: 12) + [high, low])
    }
}

enum IPProtocol: UInt8 {
    case tcp = 6, udp = 17, icmp = 1, icmpv6 = 58
}

enum Packets {
    /// LINKTYPE_ETHERNET and LINKTYPE_RAW.
    static let ethernet: UInt16 = 1
    static let raw: UInt16 = 101

    /// Wraps an IP packet for `linkType`.
    static func frame(_ packet: [UInt8], linkType: UInt16) -> [UInt8] {
        guard linkType == ethernet else { return packet }
        let type: [UInt8] = packet.first.map { $0 >> 4 == 6 } == true ? [0x86, 0xDD] : [0x08, 0x00]
        return [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2] + type + packet
    }

    static func ip(source: Host, destination: Host, protocol proto: IPProtocol, payload: [UInt8]) -> [UInt8] {
        if source.isIPv6 || destination.isIPv6 {
            let source = source.isIPv6 ? source.bytes : [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + source.bytes
            let destination = destination.isIPv6 ? destination.bytes
                : [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + destination.bytes
            let next = proto == .icmp ? IPProtocol.icmpv6.rawValue : proto.rawValue
            return [0x60, 0, 0, 0] + be16(payload.count) + [next, 64] + source + destination + payload
        }
        var header: [UInt8] = [0x45, 0] + be16(20 + payload.count) + [0x12, 0x34, 0x40, 0, 64, proto.rawValue, 0, 0]
            + source.bytes + destination.bytes
        var sum: UInt32 = 0
        for index in stride(from: 0, to: 20, by: 2) { sum += UInt32(header[index]) << 8 | UInt32(header[index + 1]) }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        header[10] = UInt8(checksum >> 8)
        header[11] = UInt8(checksum & 0xFF)
        return header + payload
    }

    static func udp(sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8]) -> [UInt8] {
        be16(Int(sourcePort)) + be16(Int(destinationPort)) + be16(8 + payload.count) + [0, 0] + payload
    }

    /// TCP flags.
    static let fin: UInt8 = 0x01, syn: UInt8 = 0x02, rst: UInt8 = 0x04, psh: UInt8 = 0x08, ack: UInt8 = 0x10

    static func tcp(sourcePort: UInt16, destinationPort: UInt16, sequence: UInt32, acknowledgement: UInt32,
                    flags: UInt8, payload: [UInt8]) -> [UInt8] {
        be16(Int(sourcePort)) + be16(Int(destinationPort)) + be32(sequence) + be32(acknowledgement)
            + [0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0] + payload
    }

    /// An ICMP (or ICMPv6) destination-unreachable error quoting `quoted`.
    static func icmpUnreachable(quoted: [UInt8], ipv6: Bool, code: UInt8) -> [UInt8] {
        (ipv6 ? [1, code] : [3, code]) + [0, 0, 0, 0, 0, 0] + quoted
    }

    /// A DNS message with one question and `answers` A records (or AAAA for qtype 28).
    static func dns(id: UInt16, response: Bool, flags: UInt8, rcode: UInt8, name: [[UInt8]], qtype: UInt16,
                    answers: Int) -> [UInt8] {
        let opcode = UInt16(flags >> 5 & 0x03) == 1 ? UInt16(4) : 0  // NOTIFY now and then
        var header: UInt16 = (response ? 0x8000 : 0) | opcode << 11 | UInt16(rcode & 0x0F) | 0x0100
        if flags & 0x01 != 0 { header |= 0x0200 }  // TC
        if response { header |= 0x0080 }
        var message = be16(Int(id)) + be16(Int(header)) + [0, 1] + be16(response ? answers : 0) + [0, 0, 0, 0]
        for label in name {
            let label = label.prefix(63)
            message.append(UInt8(label.count))
            message += label
        }
        message += [0] + be16(Int(qtype)) + [0, 1]
        if response {
            for index in 0..<answers {
                let data: [UInt8] = qtype == 28 ? [UInt8](repeating: 0x20, count: 15) + [UInt8(index)] : [10, 96, 0, UInt8(index)]
                message += [0xC0, 0x0C] + be16(qtype == 28 ? 28 : 1) + [0, 1, 0, 0, 0x0E, 0x10] + be16(data.count) + data
            }
        }
        return message
    }

    static func be16(_ value: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)] }
    static func be32(_ value: UInt32) -> [UInt8] { be16(Int(value >> 16)) + be16(Int(value & 0xFFFF)) }
}
