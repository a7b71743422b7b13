import FuzzSupport
import PacketDecoding
import Reassembly
import WireCore

/// `FragmentReassembler` and `TCPReassembler` driven directly, with small caps so that
/// eviction, budgets and timeouts are reached, and with oracles for the bytes they return.
///
/// Fragment data and TCP stream bytes are not taken from the input: they are fixed
/// functions of the key and the position, so whatever order, overlap or duplication the
/// input chooses, a completed datagram must equal the pattern and every DNS message framed
/// from a stream must be the message the sender wrote at that place in the stream.
///
/// Input layout (missing bytes read as zeros):
///
///     limits   6 bytes  fragment datagrams, fragment bytes / 64, fragment timeout s,
///                       TCP connections, TCP bytes per direction / 32, TCP bytes / 64
///                       (0xFF: the default limit)
///     op*      1 byte   low 3 bits the kind, the rest its flags; then its operands
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReassembly(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    var harness = Harness(&input)
    while !input.isAtEnd {
        harness.step(&input)
        harness.checkBounds()
    }
    harness.finish()
    fuzzLog("datagrams checked \(harness.datagramsChecked), messages checked \(harness.messagesSeen), "
                + "ended keys \(harness.endedKeys.sorted()), \(harness.streams.statistics), \(harness.fragments.statistics)")
    return 0
}

/// Keys 0-1 are IPv4, 2-3 IPv6.
let addresses: [(IPAddress, IPAddress)] = [
    (IPAddress(ipv4: 0x0A00_0001), IPAddress(ipv4: 0x0A00_0002)),
    (IPAddress(ipv4: 0x0A00_0001), IPAddress(ipv4: 0x0A00_0035)),
    (IPAddress(ipv6High: 0xFD00_0000_0000_0000, low: 1), IPAddress(ipv6High: 0xFD00_0000_0000_0000, low: 2)),
    (IPAddress(ipv6High: 0xFD00_0000_0000_0000, low: 1), IPAddress(ipv6High: 0xFD00_0000_0000_0000, low: 0x35)),
]

let fragmentKeys: [FragmentKey] = (0..<4).map { index in
    FragmentKey(source: addresses[index].0, destination: addresses[index].1,
                identification: 0x1234, protocolNumber: 17, isIPv6: index >= 2)
}

let connectionKeys: [TCPConnectionKey] = (0..<4).map { index in
    TCPConnectionKey(client: addresses[index].0, clientPort: UInt16(40000 + index),
                     server: addresses[index].1, serverPort: 53)
}

/// Byte `position` of the original payload of the datagram with fragment key `key`.
@inline(__always)
func fragmentPattern(key: Int, position: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: position &* 7 &+ position >> 8 &+ key &* 13)
}

/// What one side of connection `key` sends: DNS messages with their 2-byte length
/// prefixes (RFC 7766 §8), lengths chosen so that prefixes and bodies straddle segments.
struct CanonicalStream {
    static let length = 6000
    var bytes: [UInt8] = []
    var messages: [[UInt8]] = []
    /// Stream offset just after each message (its prefix and body).
    var messageEnds: [Int] = []
    /// Initial sequence number; the first data byte is at ISN + 1. Some are close to 2^32
    /// so that the stream wraps.
    var initialSequence: UInt32

    init(key: Int, fromClient: Bool) {
        initialSequence = [0xFFFF_F000, 1_000, 0x7FFF_FFF0, 0xFFFF_FFFF][key] &+ (fromClient ? 0 : 0x1000_0000)
        var number = 0
        while bytes.count < Self.length {
            let length = 1 + (number &* 131 &+ key &* 17 &+ (fromClient ? 0 : 29)) % 700
            let body = (0..<length).map { UInt8(truncatingIfNeeded: $0 &+ number &* 31 &+ key) }
            bytes += [UInt8(length >> 8), UInt8(length & 0xFF)] + body
            messages.append(body)
            messageEnds.append(bytes.count)
            number += 1
        }
    }
}

/// Per key, [server side, client side]; built once for the whole run.
let canonicalStreams: [[CanonicalStream]] = (0..<4).map { key in
    [CanonicalStream(key: key, fromClient: false), CanonicalStream(key: key, fromClient: true)]
}

struct Harness {
    var fragments: FragmentReassembler
    var streams: TCPReassembler
    var time = Timestamp(seconds: 1_700_000_000, nanoseconds: 0)
    var frame = 0
    /// Fragment keys whose data was not the pattern: no oracle for their datagrams.
    var taintedFragmentKeys: Set<Int> = []
    var canonical: [[CanonicalStream]] { canonicalStreams }
    /// Messages framed so far per key and direction (index: fromClient ? 1 : 0).
    var messagesSeen = Array(repeating: [0, 0], count: 4)
    /// Keys whose connection ended at least once: a later one on the same key may start
    /// without a handshake, so its framing is not checked.
    var endedKeys: Set<Int> = []
    /// Stream data sent per key and side, as offsets from the first data byte, and the
    /// earliest FIN at or after that byte: what framing must have reached at the end.
    var sent = Array(repeating: [[Range<Int>](), [Range<Int>]()], count: 4)
    var earliestFIN = Array(repeating: [Int.max, Int.max], count: 4)
    /// Completed datagrams compared byte for byte with the pattern.
    var datagramsChecked = 0

    init(_ input: inout FuzzInput) {
        func limit(_ byte: UInt8, unit: Int, default value: Int) -> Int { byte == 0xFF ? value : Int(byte) * unit }
        let datagrams = input.byte()
        let fragmentBytes = input.byte()
        let fragmentTimeout = input.byte()
        let connections = input.byte()
        let perDirection = input.byte()
        let total = input.byte()
        fragments = FragmentReassembler(
            maximumDatagrams: limit(datagrams, unit: 1, default: 4096),
            maximumBufferedBytes: limit(fragmentBytes, unit: 64, default: 32 << 20),
            timeout: .seconds(Double(fragmentTimeout & 0x3F) + 1))
        streams = TCPReassembler(
            maximumConnections: limit(connections, unit: 1, default: 65_536),
            maximumBufferedBytesPerDirection: limit(perDirection, unit: 32, default: 128 << 10),
            maximumBufferedBytes: limit(total, unit: 64, default: 64 << 20),
            idleTimeout: .seconds(Double(fragmentTimeout >> 6) * 20 + 5))
        // Every connection starts with a handshake, so that framing is known from byte 0.
        for key in 0..<4 {
            segment(key: key, fromClient: true, sequence: canonical[key][1].initialSequence, flags: [.syn], payload: [])
            segment(key: key, fromClient: false, sequence: canonical[key][0].initialSequence, flags: [.syn, .ack],
                    payload: [])
        }
    }

    mutating func step(_ input: inout FuzzInput) {
        let op = input.byte()
        let key = Int(op >> 3 & 0x03)
        switch op & 0x07 {
        case 0, 1:
            // A fragment in 8-byte units, with the pattern's bytes.
            let offset = Int(input.byte()) * 8
            let more = op & 0x20 != 0
            let length = Int(input.byte()) * 8 + (more ? 0 : Int(input.byte() & 0x07))
            let payload = (offset..<(offset + length)).map { fragmentPattern(key: key, position: $0) }
            fragment(key: key, offset: offset, more: more, payload: payload)
        case 2:
            // Anywhere in the 16-bit range, any length: oversize, unaligned, negative-free.
            let offset = Int(input.uint16())
            let length = Int(input.uint16() % 2048)
            let more = op & 0x20 != 0
            let payload = (offset..<(offset + length)).map { fragmentPattern(key: key, position: $0) }
            fragment(key: key, offset: offset, more: more, payload: payload)
        case 3:
            // A fragment whose bytes come from the input: overlaps that differ.
            let offset = Int(input.byte()) * 8
            let payload = [UInt8](input.take(Int(input.byte())))
            taintedFragmentKeys.insert(key)
            fragment(key: key, offset: offset, more: op & 0x20 != 0, payload: payload)
        case 4, 5:
            // Stream bytes from anywhere in the canonical stream, maybe with a FIN.
            let fromClient = op & 0x20 != 0
            let stream = canonical[key][fromClient ? 1 : 0]
            let start = Int(input.uint16()) % CanonicalStream.length
            let length = min(Int(input.uint16() % 1500), CanonicalStream.length - start)
            var flags: TCPFlags = [.ack]
            if op & 0x40 != 0 { flags.insert(.fin) }
            if op & 0x80 != 0 { flags.insert(.psh) }
            segment(key: key, fromClient: fromClient, sequence: stream.initialSequence &+ 1 &+ UInt32(start),
                    flags: flags, payload: Array(stream.bytes[start..<(start + length)]))
        case 6:
            // A bare control segment: any flags, a sequence near the stream or anywhere.
            let fromClient = op & 0x20 != 0
            let flags = TCPFlags(rawValue: input.byte() & 0x1F)
            let stream = canonical[key][fromClient ? 1 : 0]
            let sequence = op & 0x40 != 0 ? input.uint32() : stream.initialSequence &+ UInt32(input.uint16())
            segment(key: key, fromClient: fromClient, sequence: sequence, flags: flags, payload: [])
        default:
            // Time moves (forwards, or back if bit 5), then maybe an expiry sweep.
            let step = input.byte()
            let delta = step < 128 ? Int64(step) * 1_000_000 : Int64(step - 127) * 1_000_000_000
            time.nanoseconds += op & 0x20 != 0 ? -delta : delta
            if op & 0x40 != 0 { fragments.expire(now: time) }
            if op & 0x80 != 0 {
                var events: [TCPEvent] = []
                streams.expire(now: time) { events.append($0) }
                handle(events)
            }
        }
    }

    mutating func fragment(key: Int, offset: Int, more: Bool, payload: [UInt8]) {
        frame += 1
        let result = payload.withUnsafeBytes { bytes in
            fragments.add(key: fragmentKeys[key], offset: offset, moreFragments: more, payload: bytes,
                          frame: frame, time: time)
        }
        guard case .complete(let datagram) = result else { return }
        fuzzExpect(!datagram.frames.isEmpty && datagram.frames == datagram.frames.sorted(), "frames \(datagram.frames)")
        fuzzExpect(datagram.frames.last == frame || datagram.frames.contains(frame), "completing frame missing")
        fuzzExpect(datagram.payload.count <= FragmentReassembler.maximumDatagramSize, "datagram too large")
        guard !taintedFragmentKeys.contains(key) else { return }
        datagramsChecked += 1
        for (position, byte) in datagram.payload.enumerated() where byte != fragmentPattern(key: key, position: position) {
            fuzzExpect(false, "datagram \(key) byte \(position) is \(byte), sent \(fragmentPattern(key: key, position: position))")
        }
    }

    mutating func segment(key: Int, fromClient: Bool, sequence: UInt32, flags: TCPFlags, payload: [UInt8]) {
        frame += 1
        let side = fromClient ? 1 : 0
        let start = sequence &+ (flags.contains(.syn) ? 1 : 0)
        let offset = Int(Int32(bitPattern: start &- (canonical[key][side].initialSequence &+ 1)))
        if offset >= 0 {
            if !payload.isEmpty { sent[key][side].append(offset..<(offset + payload.count)) }
            if flags.contains(.fin) { earliestFIN[key][side] = min(earliestFIN[key][side], offset + payload.count) }
        }
        var events: [TCPEvent] = []
        payload.withUnsafeBytes { bytes in
            let segment = TCPSegment(key: connectionKeys[key], fromClient: fromClient, sequence: sequence,
                                     acknowledgement: 0, flags: flags, payload: bytes, frame: frame, time: time)
            streams.add(segment) { events.append($0) }
        }
        handle(events)
    }

    mutating func handle(_ events: [TCPEvent]) {
        for event in events {
            switch event {
            case .message(let connection, let fromClient, let bytes, let messageFrame, let firstFrame, _):
                guard let key = connectionKeys.firstIndex(of: connection) else {
                    fuzzExpect(false, "message on unknown connection \(connection)")
                    return
                }
                fuzzExpect(firstFrame <= messageFrame && messageFrame <= frame, "frames \(firstFrame)…\(messageFrame)")
                fuzzExpect(!bytes.isEmpty, "empty DNS message framed")
                guard !endedKeys.contains(key) else { continue }
                let side = fromClient ? 1 : 0
                let number = messagesSeen[key][side]
                messagesSeen[key][side] += 1
                let expected = canonical[key][side].messages
                fuzzExpect(number < expected.count && bytes == expected[number],
                           "connection \(key) \(fromClient ? "client" : "server") message \(number): \(bytes.count) bytes, "
                               + "expected \(number < expected.count ? expected[number].count : -1)")
            case .connectionEnded(let summary):
                guard let key = connectionKeys.firstIndex(of: summary.key) else {
                    fuzzExpect(false, "unknown connection ended \(summary.key)")
                    return
                }
                endedKeys.insert(key)
            }
        }
    }

    /// A connection that lived from its handshake to the end of the capture, on a side not
    /// damaged midway (a hole or a partial message at the end is fine): every message wholly
    /// inside the contiguous data sent, up to the earliest FIN, was framed; none beyond it.
    /// (A FIN before data already framed is a retransmission and is ignored, hence a range.)
    func checkComplete(key: Int, side: Int, damage: StreamDamage?) {
        switch damage {
        case nil, .unfilledGap?, .truncatedMessage?: break
        default: return
        }
        var contiguous = 0
        for range in sent[key][side].sorted(by: { $0.lowerBound < $1.lowerBound }) {
            guard range.lowerBound <= contiguous else { break }
            contiguous = max(contiguous, range.upperBound)
        }
        let ends = canonical[key][side].messageEnds
        let atLeast = ends.prefix { $0 <= min(contiguous, earliestFIN[key][side]) }.count
        let atMost = ends.prefix { $0 <= contiguous }.count
        let seen = messagesSeen[key][side]
        fuzzLog("connection \(key) side \(side): \(seen) framed, \(atLeast)…\(atMost) expected")
        fuzzExpect(atLeast <= seen && seen <= atMost,
                   "connection \(key) \(side == 1 ? "client" : "server"): \(seen) messages framed, expected "
                       + "\(atLeast)…\(atMost) (contiguous \(contiguous) bytes, FIN at \(earliestFIN[key][side]))")
    }

    func checkBounds() {
        let tcp = streams.statistics
        fuzzExpect(tcp.bufferedBytes >= 0 && tcp.bufferedBytes <= streams.maximumBufferedBytes,
                   "TCP buffered \(tcp.bufferedBytes) of \(streams.maximumBufferedBytes)")
        fuzzExpect(tcp.connections <= streams.maximumConnections, "connections \(tcp.connections)")
        let ip = fragments.statistics
        fuzzExpect(ip.bufferedBytes >= 0 && ip.bufferedBytes <= fragments.maximumBufferedBytes,
                   "fragment buffered \(ip.bufferedBytes) of \(fragments.maximumBufferedBytes)")
        fuzzExpect(ip.datagrams <= fragments.maximumDatagrams, "datagrams \(ip.datagrams)")
    }

    mutating func finish() {
        var events: [TCPEvent] = []
        streams.finish { events.append($0) }
        let endedBefore = endedKeys
        handle(events)
        for case .connectionEnded(let summary) in events {
            guard let key = connectionKeys.firstIndex(of: summary.key), !endedBefore.contains(key) else { continue }
            checkComplete(key: key, side: 1, damage: summary.clientDamage)
            checkComplete(key: key, side: 0, damage: summary.serverDamage)
        }
        fragments.finish()
        checkBounds()
        fuzzExpect(streams.statistics.bufferedBytes == 0, "TCP bytes left: \(streams.statistics.bufferedBytes)")
        fuzzExpect(streams.statistics.connections == 0, "TCP connections left")
        fuzzExpect(fragments.statistics.bufferedBytes == 0, "fragment bytes left: \(fragments.statistics.bufferedBytes)")
        fuzzExpect(fragments.statistics.datagrams == 0, "datagrams left")
    }
}
