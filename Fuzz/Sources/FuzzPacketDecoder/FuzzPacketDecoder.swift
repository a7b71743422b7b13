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
/// view handed out (payload, fragment data) must lie inside the frame. A fragment's data is
/// then decoded as a reassembled datagram, as the pipeline does when a fragment completes
/// one by itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPacketDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    let linkType = linkTypes[Int(input.byte()) % linkTypes.count]
    let frame = input.rest()
    // One packet reused across both decodes, as the analyzer reuses one for every frame.
    var packet = DecodedPacket()
    for isCut in [false, true] {
        let reason = decoder.decode(frame, linkType: linkType, isCut: isCut, into: &packet)
        check(reason, packet, frame: frame, isCut: isCut)
        if reason == .ipFragment {
            let fragment = packet.fragment
            fuzzExpect(isWithin(fragment.data, frame), "fragment data outside the frame")
            fuzzExpect(fragment.offset >= 0 && fragment.offset <= 0x1FFF * 8, "fragment offset \(fragment.offset)")
            // The pipeline copies fragments before reassembly; decode a copy likewise.
            let copy = [UInt8](fragment.data)
            copy.withUnsafeBytes { datagram in
                var reassembled = packet
                let reason = decoder.decodeReassembled(
                    datagram, protocolNumber: fragment.protocolNumber, isIPv6: fragment.isIPv6, into: &reassembled)
                // (A fragment again is possible: an IP-in-IP tunnel inside the datagram.)
                if reason == .ipFragment {
                    fuzzExpect(isWithin(reassembled.fragment.data, datagram), "inner fragment data outside the datagram")
                }
                check(reason, reassembled, frame: datagram, isCut: false)
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
