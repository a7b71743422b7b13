#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from capture files.

    seed-corpora.py OUTPUT_DIR CAPTURE...

Reads pcap and pcapng (gzip too) with the standard library only, and writes, under
OUTPUT_DIR/<target>/, files named seed-<sha1> (existing seed-* files are replaced; units
the fuzzer found, named by their own sha1 without the prefix, are left alone):

  FuzzDNSParser      every DNS message (UDP payload on a DNS port, TCP payload without
                     its 2-byte length), deduplicated;
  FuzzPacketDecoder  link-type selector byte + frame, for every frame;
  FuzzPipeline       consecutive frames of one capture in the target's framing
                     (header, time step, 2-byte length, bytes), cut into inputs of at most
                     MAX_PIPELINE bytes;
  FuzzReassembly     synthetic operation sequences (in-order, reversed, overlapping);
  FuzzReports        every capture's IP packets as raw-frame events of the target's capture
                     script (time steps kept), cut into inputs of at most MAX_REPORTS bytes,
                     plus hand-written scripts (answers, clock jumps of 27 days and to the
                     64-bit ends, bursts of distinct servers and sources, TCP, ICMP, mDNS);
  FuzzVerify         one sequence per kind of bundle edit (see the target's BundleMutation).

The byte layouts are the ones documented in each target's source in Fuzz/Sources.
"""
import gzip
import hashlib
import os
import random
import struct
import sys

DNS_PORTS = {53, 5353, 5355}
MAX_DNS = 4096
MAX_FRAME = 4096
MAX_PIPELINE = 8192
MAX_REPORTS = 8192
MAX_PER_TARGET = 6000
# Per capture, so that one big capture does not crowd out the rest.
MAX_PER_CAPTURE = 150

# Order of FuzzPacketDecoder's `linkTypes`: its first byte is an index into this list.
DECODER_LINK_TYPES = [1, 0, 108, 101, 12, 14, 228, 229, 113, 276, 10, 105]
# Order of FuzzPipeline's `linkTypes`.
PIPELINE_LINK_TYPES = {101: 0, 12: 0, 14: 0, 228: 0, 229: 0, 1: 1, 276: 2, 0: 3}


def read_capture(path):
    """Yields (link_type, seconds_float, frame_bytes, original_length)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic == b"\x0a\x0d\x0d\x0a":
        yield from read_pcapng(data)
        return
    for endian, scale in (("<", 1e-6), (">", 1e-6)):
        number = struct.unpack(endian + "I", magic)[0]
        if number in (0xA1B2C3D4, 0xA1B23C4D):
            scale = 1e-9 if number == 0xA1B23C4D else 1e-6
            break
    else:
        return
    link_type = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
    offset = 24
    while offset + 16 <= len(data):
        seconds, fraction, captured, original = struct.unpack(endian + "IIII", data[offset:offset + 16])
        offset += 16
        frame = data[offset:offset + captured]
        offset += captured
        yield link_type, seconds + fraction * scale, frame, original


def read_pcapng(data):
    offset = 0
    endian = "<"
    interfaces = []
    while offset + 12 <= len(data):
        block_type = struct.unpack(endian + "I", data[offset:offset + 4])[0]
        if block_type == 0x0A0D0D0A:
            endian = "<" if data[offset + 8:offset + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            interfaces = []
        length = struct.unpack(endian + "I", data[offset + 4:offset + 8])[0]
        if length < 12:
            return
        body = data[offset + 8:offset + length - 4]
        if block_type == 1:
            link_type = struct.unpack(endian + "H", body[:2])[0]
            resolution = 1e-6
            options = body[8:]
            while len(options) >= 4:
                code, size = struct.unpack(endian + "HH", options[:4])
                if code == 0:
                    break
                if code == 9 and size >= 1:
                    value = options[4]
                    resolution = 2.0 ** -(value & 0x7F) if value & 0x80 else 10.0 ** -value
                options = options[4 + (size + 3) // 4 * 4:]
            interfaces.append((link_type, resolution))
        elif block_type == 6 and len(body) >= 20:
            interface, high, low, captured, original = struct.unpack(endian + "IIIII", body[:20])
            if interface < len(interfaces):
                link_type, resolution = interfaces[interface]
                yield link_type, ((high << 32) | low) * resolution, body[20:20 + captured], original
        elif block_type == 3 and len(body) >= 4 and interfaces:
            original = struct.unpack(endian + "I", body[:4])[0]
            yield interfaces[0][0], 0.0, body[4:4 + original], original
        offset += length


def dns_messages(link_type, frame):
    """The DNS messages in one frame, as far as a small decoder can tell."""
    try:
        if link_type == 1:
            return ether(frame[12:14], frame[14:])
        if link_type == 113:
            return ether(frame[14:16], frame[16:])
        if link_type == 276:
            return ether(frame[0:2], frame[20:])
        if link_type == 10:
            return ether(b"\x00\x00", frame[13:])
        if link_type in (0, 108):
            family = struct.unpack("<I" if link_type == 0 else ">I", frame[:4])[0]
            if family > 0xFFFF:
                family = struct.unpack(">I" if link_type == 0 else "<I", frame[:4])[0]
            return ip(frame[4:]) if family in (2, 10, 24, 28, 30) else []
        if link_type in (101, 12, 14, 228, 229):
            return ip(frame)
    except (struct.error, IndexError):
        pass
    return []


def ether(ether_type, rest, depth=0):
    kind = struct.unpack(">H", ether_type)[0]
    while kind in (0x8100, 0x88A8, 0x9100):
        kind = struct.unpack(">H", rest[2:4])[0]
        rest = rest[4:]
    if kind <= 1500:
        if rest[:3] != b"\xaa\xaa\x03":
            return []
        kind = struct.unpack(">H", rest[6:8])[0]
        rest = rest[8:]
    return ip(rest, depth) if kind in (0x0800, 0x86DD) else []


def ip(packet, depth=0):
    if not packet or depth > 3:
        return []
    version = packet[0] >> 4
    if version == 4:
        header = (packet[0] & 0x0F) * 4
        total = struct.unpack(">H", packet[2:4])[0]
        if struct.unpack(">H", packet[6:8])[0] & 0x3FFF:
            return []  # a fragment
        return transport(packet[9], packet[header:total], depth)
    if version == 6:
        length = struct.unpack(">H", packet[4:6])[0]
        following, body = packet[6], packet[40:40 + length]
        while following in (0, 43, 60):
            following, body = body[0], body[(body[1] + 1) * 8:]
        if following == 44:
            return []
        return transport(following, body, depth)
    return []


def transport(protocol, body, depth):
    if protocol == 17 and len(body) >= 8:
        source, destination, length = struct.unpack(">HHH", body[:6])
        payload = body[8:length] if length >= 8 else body[8:]
        if source in DNS_PORTS or destination in DNS_PORTS:
            return [payload]
        if destination in (4789, 8472) and len(payload) >= 22:
            return ether(payload[20:22], payload[22:], depth + 1)
        return []
    if protocol == 6 and len(body) >= 20:
        source, destination = struct.unpack(">HH", body[:4])
        if source not in DNS_PORTS and destination not in DNS_PORTS:
            return []
        payload = body[(body[12] >> 4) * 4:]
        messages = []
        while len(payload) >= 2:
            length = struct.unpack(">H", payload[:2])[0]
            if length == 0 or length > len(payload) - 2:
                break
            messages.append(payload[2:2 + length])
            payload = payload[2 + length:]
        return messages
    if protocol in (4, 41):
        return ip(body, depth + 1)
    return []


def pipeline_frames(link_type, records):
    """The target's framing for consecutive frames: header, step, length, bytes."""
    selector = PIPELINE_LINK_TYPES.get(link_type)
    if selector is None and link_type != 113:
        return []
    units = []
    previous = None
    for _, seconds, frame, original in records:
        if link_type == 113:
            # Linux cooked v1: rewritten as Ethernet with zero addresses.
            selector, frame = 1, b"\x00" * 12 + frame[14:]
        step_seconds = 0.0 if previous is None else max(0.0, seconds - previous)
        previous = seconds
        milliseconds = round(step_seconds * 1000)
        step = milliseconds if milliseconds < 128 else min(255, 127 + max(1, round(step_seconds)))
        header = selector | (0x04 if original > len(frame) else 0)
        frame = frame[:MAX_FRAME]
        units.append(bytes([header, step]) + struct.pack(">H", len(frame)) + frame)
    return units


def reassembly_seeds():
    """Operation sequences for FuzzReassembly (see its source for the layout)."""
    seeds = []
    default_limits = b"\xff" * 6
    small_limits = bytes([2, 40, 5, 2, 40, 60])
    # Fragments of key k at offsets in 8-byte units: in order, reversed, duplicated.
    for key in range(4):
        pieces = [(0, 8, True), (8, 8, True), (16, 3, False)]
        ops = [bytes([0x20 | key << 3 if more else key << 3, offset, units]) + (b"" if more else bytes([5]))
               for offset, units, more in pieces]
        seeds.append(default_limits + b"".join(ops))
        seeds.append(default_limits + b"".join(reversed(ops)))
        seeds.append(small_limits + b"".join(ops[:2] + ops[:2] + ops[2:]))
    # TCP: a stream in order, in pieces, out of order, then closed with FINs.
    for key in range(4):
        for fromClient in (0x20, 0):
            cuts = [0, 1, 2, 300, 700, 1400, 2000]
            ops = []
            for start, end in zip(cuts, cuts[1:]):
                ops.append(bytes([0x04 | key << 3 | fromClient]) + struct.pack(">HH", start, end - start))
            fin = bytes([0x04 | key << 3 | fromClient | 0x40]) + struct.pack(">HH", 2000, 0)
            seeds.append(default_limits + b"".join(ops) + fin)
            shuffled = ops[:]
            random.Random(key * 2 + (fromClient >> 5)).shuffle(shuffled)
            seeds.append(default_limits + b"".join(shuffled))
            seeds.append(small_limits + b"".join(ops + ops[1:3]))
    # Time passing and expiry sweeps between fragments and segments.
    seeds.append(default_limits + bytes([0x00, 0, 8, 0xC7, 200]) + bytes([0x20, 8, 8, 0x04]) + struct.pack(">HH", 0, 100))
    return seeds


def ip_packet(link_type, frame):
    """The IP packet of a frame, or None (FuzzReports writes its raw frames as LINKTYPE_RAW)."""
    if link_type in (101, 12, 14, 228, 229):
        return frame
    if link_type == 1 and frame[12:14] in (b"\x08\x00", b"\x86\xdd"):
        return frame[14:]
    if link_type == 113 and frame[14:16] in (b"\x08\x00", b"\x86\xdd"):
        return frame[16:]
    if link_type == 276 and frame[0:2] in (b"\x08\x00", b"\x86\xdd"):
        return frame[20:]
    return None


def reports_units(records):
    """A capture's IP packets as FuzzReports raw-frame events (kind 12), time steps kept."""
    units, unit, previous = [], b"\x08\x00", None
    for link_type, seconds, frame, _ in records:
        packet = ip_packet(link_type, frame)
        if packet is None or len(packet) > 255:
            continue
        step_seconds = 0.0 if previous is None else seconds - previous
        previous = seconds
        milliseconds = round(abs(step_seconds) * 1000)
        step = milliseconds if milliseconds < 128 else min(255, 127 + max(1, round(abs(step_seconds))))
        event = bytes([0x0C | (0x80 if step_seconds < 0 else 0), step, len(packet)]) + packet
        if len(unit) + len(event) > MAX_REPORTS:
            units.append(unit)
            unit = b"\x08\x00"
        unit += event
    if len(unit) > 2:
        units.append(unit)
    return units


def reports_seeds():
    """Hand-written FuzzReports scripts (layout in Fuzz/Sources/FuzzReports/CaptureScript.swift)."""
    name = bytes([3, 0, 1, 2])  # www.example.com
    hostile = bytes([3, 9, 10, 11])  # <script>, "><svg>, an escape sequence
    def query(client=5, server=1, ident=0x1234, labels=name, step=1):
        return bytes([0x00, step, client]) + struct.pack(">HH", server, ident) + labels + bytes([0, 0])
    def answer(which=0, choice=0x20, step=5):
        return bytes([0x04, step, which, choice])
    jump = lambda which: bytes([0x09, 0, which])
    seeds = [
        b"\x00\x00" + query() + answer(),
        b"\x00\x00" + query() + answer() + jump(1) + query(ident=2) + answer(),  # 27 days back
        b"\x00\x00" + query() + jump(0) + query(ident=2) + answer(1) + answer(0),  # 27 days on
        b"\x03\x00" + query() + jump(15) + answer() + jump(16) + query(ident=3),  # pcapng ns, 64-bit ends
        b"\x04\x00" + query() + jump(17) + answer() + jump(18) + query(ident=3),
        b"\x00\x00" + query() + bytes([0x84, 0x20, 0, 0x20]),  # answered 32 ms before it was asked
        b"\x00\x00" + bytes([0x0A, 0, 0x8F, 0x03]) + b"\x00\x00",  # 4096 distinct servers, answered
        b"\x00\x00" + bytes([0x0A, 0, 0x8F, 0x00]) + b"\x00\x00",  # 4096 distinct sources
        b"\x10\x00" + query() + bytes([0x0B, 0]) + answer() + bytes([0x0B, 0]) + query(ident=9),  # two files
        b"\x00\x00" + query() + bytes([0x07, 1, 0, 0x03]),  # ICMP port unreachable
        b"\x00\x00" + query(client=0x85, server=0x8001) + bytes([0x07, 1, 0, 0x04]),  # IPv6, ICMPv6
        b"\x00\x00" + bytes([0x08, 1, 5]) + struct.pack(">HH", 1, 7) + name + bytes([0, 0x20]),  # TCP answered
        b"\x00\x00" + bytes([0x08, 1, 5]) + struct.pack(">HH", 1, 7) + name + bytes([0, 0x21]),  # no SYN-ACK
        b"\x00\x00" + bytes([0x08, 1, 5]) + struct.pack(">HH", 1, 7) + name + bytes([0, 0x24]),  # reset
        b"\x00\x00" + query() + bytes([0x0E, 0x10, 0]) + answer(),  # retried
        b"\x00\x00" + bytes([0x0D, 0, 5]) + struct.pack(">H", 1) + name,  # mDNS
        b"\x00\x00" + query(labels=hostile) + answer() + query(labels=hostile, ident=3),
        b"\x80\x00" + query() + bytes([0x00, 0xFF]) + b"\x06\x00\x01\x00\x00\x00\x00\x00",  # short timeout
        b"\x48\x00" + query() + answer(choice=0x70),  # raw IP, small snaplen, 3 answers
    ]
    return seeds


def verify_seeds():
    """FuzzVerify edit sequences (layout in Fuzz/Sources/FuzzVerify/BundleMutation.swift)."""
    seeds = [b"\x00", b"\x01"]
    for check in (0, 1):
        for op, arguments in ((0, [(0x01, 19), (0x02, 25), (0x00, 0), (0x05, 1), (0x06, 0), (0x08, 3), (0x04, 26)]),
                              (1, [(0, 10, 0x41), (0, 3, 0xFF)]),
                              (2, [(0, 0), (1, 1), (2, 2), (3, 3), (0, 5)]),
                              (3, [(0, 0), (1, 1), (2, 2), (3, 3), (0, 4), (1, 5), (2, 6), (3, 7)]),
                              (4, [(0,), (2,), (3,), (4,), (5,), (6,), (7,), (8,)]),
                              (5, [(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]),
                              (6, [(0,), (1,), (2,), (3,), (4,), (5,)]),
                              (7, [(2,), (3,), (16,), (17,), (0,)])):
            for argument in arguments:
                if op == 1:
                    seeds.append(bytes([check, op]) + struct.pack(">H", argument[1]) + bytes([argument[2]]))
                else:
                    seeds.append(bytes([check, op] + list(argument)))
    return seeds


def write_seeds(directory, units):
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.startswith("seed-"):
            os.remove(os.path.join(directory, name))
    seen = set()
    for unit in units:
        digest = hashlib.sha1(unit).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        with open(os.path.join(directory, "seed-" + digest), "wb") as handle:
            handle.write(unit)
        if len(seen) >= MAX_PER_TARGET:
            break
    return len(seen)


def main():
    output, paths = sys.argv[1], sys.argv[2:]
    dns, frames, pipeline, reports = [], [], [], []
    for path in paths:
        try:
            records = list(read_capture(path))
        except (OSError, EOFError, struct.error) as error:
            print(f"seed: skipping {path}: {error}", file=sys.stderr)
            continue
        reports += reports_units(records)[:MAX_PER_CAPTURE]
        by_link = {}
        first_dns, first_frames = len(set(dns)), len(frames)
        for record in records:
            link_type, _, frame, _ = record
            by_link.setdefault(link_type, []).append(record)
            for message in dns_messages(link_type, frame):
                if 12 <= len(message) <= MAX_DNS and len(set(dns)) - first_dns < MAX_PER_CAPTURE:
                    dns.append(message)
            if link_type in DECODER_LINK_TYPES and len(frames) - first_frames < MAX_PER_CAPTURE:
                frames.append(bytes([DECODER_LINK_TYPES.index(link_type)]) + frame[:MAX_FRAME])
        for link_type, group in by_link.items():
            unit = b"\x00"
            for piece in pipeline_frames(link_type, group):
                if len(unit) + len(piece) > MAX_PIPELINE:
                    pipeline.append(unit)
                    unit = b"\x00"
                unit += piece
            if len(unit) > 1:
                pipeline.append(unit)
    for target, units in (("FuzzDNSParser", dns), ("FuzzPacketDecoder", frames), ("FuzzPipeline", pipeline),
                          ("FuzzReassembly", reassembly_seeds()), ("FuzzReports", reports_seeds() + reports),
                          ("FuzzVerify", verify_seeds())):
        count = write_seeds(os.path.join(output, target), units)
        print(f"seed: {target}: {count} seed inputs", file=sys.stderr)


if __name__ == "__main__":
    main()
