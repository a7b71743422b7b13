import FuzzSupport
import PacketDecoding
import WireCore

/// Link types the first input byte selects from: every one `PacketDecoder` supports, and
/// one it does not (LINKTYPE_IEEE802_11, 105) to keep that path covered.
let linkTypes: [LinkType] = [
    .ethernet, .null, .loop, .raw, .rawAlternate12, .rawAlternate14, .ipv4, .ipv6,
    .linuxSLL, .linuxSLL2, .fddi, LinkType(rawValue: 105),
]

let decoder = PacketDecoder()

/// First byte: link type (modulo the list above); the rest: one frame.
///
/// The frame is decoded as complete and as cut by the snaplen. Neither may trap, and every
/// view handed out (payload, fragment data) must lie inside the frame. Two differential
/// checks:
/// - `isCut` only relaxes length checks, so a frame that decodes as complete must decode
///   the same way when said to be cut;
/// - the analyzer reuses one `DecodedPacket` for every frame, so decoding into a packet
///   that held another frame must give what decoding into a fresh one gives, in every
///   field the analyzer reads.
/// A fragment's data is then decoded as a reassembled datagram, as the pipeline does when
/// a fragment completes one by itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPacketDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    let selector = Int(input.byte())
    let linkType = linkTypes[selector % linkTypes.count]
    let frame = input.rest()

    var fresh = DecodedPacket()
    let complete = decoder.decode(frame, linkType: linkType, isCut: false, into: &fresh)
    check(complete, fresh, frame: frame, isCut: false)

    // The same packet, used first for the frame as another link type (stale state).
    var reused = DecodedPacket()
    _ = decoder.decode(frame, linkType: linkTypes[(selector + 1) % linkTypes.count], isCut: true, into: &reused)
    let again = decoder.decode(frame, linkType: linkType, isCut: false, into: &reused)
    fuzzExpect(again == complete, "reused packet: \(String(describing: again)) vs \(String(describing: complete))")
    if complete == nil || complete == .ipFragment { expectSame(reused, fresh, complete, "reused packet") }

    var cutPacket = DecodedPacket()
    let cut = decoder.decode(frame, linkType: linkType, isCut: true, into: &cutPacket)
    check(cut, cutPacket, frame: frame, isCut: true)
    if complete == nil || complete == .ipFragment {
        fuzzExpect(cut == complete, "cut: \(String(describing: cut)), complete: \(String(describing: complete))")
        expectSame(cutPacket, fresh, complete, "decoded as cut")
    }

    for (reason, packet) in [(complete, fresh), (cut, cutPacket)] where reason == .ipFragment {
        let fragment = packet.fragment
        fuzzExpect(isWithin(fragment.data, frame), "fragment data outside the frame")
        fuzzExpect(fragment.offset >= 0 && fragment.offset <= 0x1FFF * 8, "fragment offset \(fragment.offset)")
        // The pipeline copies fragments before reassembly; decode a copy likewise.
        let copy = [UInt8](fragment.data)
        copy.withUnsafeBytes { datagram in
            var reassembled = packet
            let reason = decoder.decodeReassembled(
                datagram, protocolNumber: fragment.protocolNumber, isIPv6: fragment.isIPv6, into: &reassembled)
            check(reason, reassembled, frame: datagram, isCut: false)
            // A fragment again is possible: an IP-in-IP tunnel inside the datagram.
            if reason == .ipFragment {
                fuzzExpect(isWithin(reassembled.fragment.data, datagram), "inner fragment data outside the datagram")
            }
        }
    }
    return 0
}

func check(_ reason: SkipReason?, _ packet: DecodedPacket, frame: UnsafeRawBufferPointer, isCut: Bool) {
    _ = reason?.description
    guard reason == nil else { return }
    fuzzExpect(isWithin(packet.payload, frame), "payload outside the frame")
    fuzzExpect(!packet.payloadIsCut || isCut || packet.icmpError != nil, "payload cut in a frame that was not")
    if packet.icmpError == nil {
        fuzzExpect(decoder.isDNSPort(packet.sourcePort) || decoder.isDNSPort(packet.destinationPort),
                   "DNS payload on ports \(packet.sourcePort) > \(packet.destinationPort)")
    }
    _ = packet.source.description
    _ = packet.destination.description
    _ = packet.icmpError?.reason
    _ = packet.vlanIDs.array
}

/// The fields `Analyzer` reads after a successful decode (or a fragment) are equal.
func expectSame(_ packet: DecodedPacket, _ expected: DecodedPacket, _ reason: SkipReason?, _ what: String) {
    func same(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Bool {
        left.count == right.count && (left.count == 0 || left.baseAddress == right.baseAddress)
    }
    if reason == .ipFragment {
        let (left, right) = (packet.fragment, expected.fragment)
        fuzzExpect(left.identification == right.identification && left.protocolNumber == right.protocolNumber
                       && left.isIPv6 == right.isIPv6 && left.offset == right.offset
                       && left.moreFragments == right.moreFragments && same(left.data, right.data)
                       && packet.payloadIsCut == expected.payloadIsCut,
                   "\(what): fragment differs")
    } else {
        fuzzExpect(same(packet.payload, expected.payload), "\(what): payload differs")
        fuzzExpect(packet.payloadIsCut == expected.payloadIsCut, "\(what): payloadIsCut differs")
        fuzzExpect(packet.transport == expected.transport && packet.sourcePort == expected.sourcePort
                       && packet.destinationPort == expected.destinationPort, "\(what): transport or ports differ")
        fuzzExpect(packet.icmpError == expected.icmpError, "\(what): ICMP error differs")
        if packet.transport == .tcp {
            fuzzExpect(packet.tcpSequence == expected.tcpSequence && packet.tcpFlags == expected.tcpFlags
                           && packet.tcpAcknowledgement == expected.tcpAcknowledgement, "\(what): TCP fields differ")
        }
    }
    fuzzExpect(packet.source == expected.source && packet.destination == expected.destination,
               "\(what): addresses differ")
    fuzzExpect(packet.interfaceIndex == expected.interfaceIndex, "\(what): interface index differs")
    fuzzExpect(packet.vlanIDs == expected.vlanIDs, "\(what): VLAN IDs \(packet.vlanIDs) vs \(expected.vlanIDs)")
    fuzzExpect(packet.ipIdentification == expected.ipIdentification, "\(what): IP identification differs")
    fuzzExpect(packet.underlay == expected.underlay, "\(what): underlay differs")
}
