import PacketDecoding
import Testing
import WireCore
@testable import Reassembly

/// SplitMix64: a small, fixed, seedable generator, so a failure can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

    /// A value in `0..<bound` (bound > 0); modulo bias is irrelevant for tests.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Fisher–Yates with this generator, so the order does not depend on the standard
    /// library's shuffling algorithm.
    mutating func shuffle<T>(_ values: inout [T]) {
        guard values.count > 1 else { return }
        for index in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(index, below(index + 1))
        }
    }
}

/// Capture time `milliseconds` after a fixed origin (2025-09-21T23:11:29Z).
func at(_ milliseconds: Int64) -> Timestamp {
    Timestamp(nanoseconds: 1_758_496_289_000_000_000 + milliseconds * 1_000_000)
}

func ipv4(_ text: String) -> IPAddress {
    guard let address = IPAddress(text), !address.isIPv6 else {
        Issue.record("bad IPv4 test address \(text)")
        return IPAddress(ipv4: 0)
    }
    return address
}

func ipv6(_ text: String) -> IPAddress {
    guard let address = IPAddress(text), address.isIPv6 else {
        Issue.record("bad IPv6 test address \(text)")
        return IPAddress(ipv6High: 0, low: 0)
    }
    return address
}

/// `count` bytes that differ from their neighbours, so misplaced data shows.
func pattern(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed) &+ $0 / 256) }
}

// MARK: - DNS messages used as TCP payload

/// 43981+ A? example.com. (29): ID 0xabcd, RD, one question.
let queryA: [UInt8] = [
    0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00,
    0x00, 0x01, 0x00, 0x01,
]

/// 43982+ AAAA? example.com. (29): ID 0xabce.
let queryAAAA: [UInt8] = [
    0xab, 0xce, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00,
    0x00, 0x1c, 0x00, 0x01,
]

/// 43981 1/0/0 A 93.184.216.34 (45): the answer to `queryA`, TTL 300.
let responseA: [UInt8] = [
    0xab, 0xcd, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00,
    0x00, 0x01, 0x00, 0x01,
    0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04, 0x5d, 0xb8, 0xd8, 0x22,
]

/// RFC 7766 §8 framing: the 2-byte big-endian length, then the message.
func framed(_ message: [UInt8]) -> [UInt8] {
    [UInt8(message.count >> 8), UInt8(message.count & 0xff)] + message
}

// MARK: - Driving the TCP reassembler

let clientAddress = ipv4("10.244.1.10")
let serverAddress = ipv4("10.96.0.10")

func connectionKey(clientPort: UInt16 = 40000) -> TCPConnectionKey {
    TCPConnectionKey(client: clientAddress, clientPort: clientPort, server: serverAddress, serverPort: 53)
}

extension TCPFlags {
    static let synAck: TCPFlags = [.syn, .ack]
    static let pshAck: TCPFlags = [.psh, .ack]
    static let finAck: TCPFlags = [.fin, .ack]
    static let rstAck: TCPFlags = [.rst, .ack]
}

/// A reassembler plus every event it emitted, in order.
struct TCPHarness {
    var reassembler: TCPReassembler
    var events: [TCPEvent] = []

    init(_ reassembler: TCPReassembler = TCPReassembler()) {
        self.reassembler = reassembler
    }

    /// Feeds one segment; returns the events it produced (also appended to `events`).
    @discardableResult
    mutating func send(
        _ key: TCPConnectionKey = connectionKey(), fromClient: Bool, sequence: UInt32, acknowledgement: UInt32 = 0,
        flags: TCPFlags = .pshAck, _ payload: [UInt8] = [], frame: Int, time: Timestamp? = nil
    ) -> [TCPEvent] {
        var produced: [TCPEvent] = []
        payload.withUnsafeBytes { bytes in
            let segment = TCPSegment(
                key: key, fromClient: fromClient, sequence: sequence, acknowledgement: acknowledgement, flags: flags,
                payload: bytes, frame: frame, time: time ?? at(Int64(frame)))
            reassembler.add(segment) { produced.append($0) }
        }
        events += produced
        return produced
    }

    @discardableResult
    mutating func expire(now: Timestamp) -> [TCPEvent] {
        var produced: [TCPEvent] = []
        reassembler.expire(now: now) { produced.append($0) }
        events += produced
        return produced
    }

    @discardableResult
    mutating func finish() -> [TCPEvent] {
        var produced: [TCPEvent] = []
        reassembler.finish { produced.append($0) }
        events += produced
        return produced
    }

    /// Messages emitted so far, as (fromClient, bytes), for the randomized tests.
    var messages: [(fromClient: Bool, bytes: [UInt8])] {
        events.compactMap {
            if case .message(_, let fromClient, let bytes, _, _, _) = $0 { return (fromClient, bytes) }
            return nil
        }
    }
}

/// A message event with the test's default key.
func message(
    _ bytes: [UInt8], fromClient: Bool, frame: Int, firstFrame: Int? = nil, key: TCPConnectionKey = connectionKey(),
    time: Timestamp? = nil
) -> TCPEvent {
    .message(key: key, fromClient: fromClient, bytes: bytes, frame: frame, firstFrame: firstFrame ?? frame,
             time: time ?? at(Int64(frame)))
}

// MARK: - Driving the fragment reassembler

extension FragmentReassembler {
    mutating func add(_ key: FragmentKey, offset: Int, more: Bool, _ payload: [UInt8], frame: Int, time: Timestamp? = nil)
        -> FragmentResult {
        payload.withUnsafeBytes { bytes in
            add(key: key, offset: offset, moreFragments: more, payload: bytes, frame: frame, time: time ?? at(Int64(frame)))
        }
    }
}

/// One fragment of a test datagram: where it starts, whether more follow, its bytes.
struct TestFragment {
    var offset: Int
    var more: Bool
    var bytes: [UInt8]
}

/// Cuts `payload` into fragments of `size` bytes (a multiple of 8), the last one shorter.
func fragments(of payload: [UInt8], size: Int) -> [TestFragment] {
    stride(from: 0, to: payload.count, by: size).map { offset in
        let end = min(offset + size, payload.count)
        return TestFragment(offset: offset, more: end < payload.count, bytes: Array(payload[offset..<end]))
    }
}
