/// A capture file written in memory: classic pcap (microsecond or nanosecond magic) or
/// pcapng (one interface, with a chosen `if_tsresol`), little-endian.
///
/// Timestamps are taken as raw 64-bit nanoseconds and written the way each format stores
/// them, truncating on purpose: a pcap second is 32 bits, a pcapng timestamp 64 bits of
/// the interface's unit, so extreme values (and wrap-arounds) reach libpcap as they are.
struct CaptureFile {
    enum Format: CaseIterable {
        case pcapMicroseconds, pcapNanoseconds, pcapngMicroseconds, pcapngNanoseconds, pcapngSeconds, pcapngBinary30
    }

    let format: Format
    private(set) var bytes: [UInt8] = []
    private(set) var frames = 0

    init(format: Format, linkType: UInt16, snapshotLength: UInt32) {
        self.format = format
        switch format {
        case .pcapMicroseconds, .pcapNanoseconds:
            append32(format == .pcapMicroseconds ? 0xA1B2_C3D4 : 0xA1B2_3C4D)
            append16(2)
            append16(4)
            append32(0)  // thiszone
            append32(0)  // sigfigs
            append32(snapshotLength)
            append32(UInt32(linkType))
        case .pcapngMicroseconds, .pcapngNanoseconds, .pcapngSeconds, .pcapngBinary30:
            // Section header block: byte-order magic, version 1.0, section length unknown.
            block(type: 0x0A0D_0D0A) { body in
                body.append32(0x1A2B_3C4D)
                body.append16(1)
                body.append16(0)
                body.append64(UInt64.max)
            }
            let resolution: UInt8? = switch format {
            case .pcapngNanoseconds: 9
            case .pcapngSeconds: 0
            case .pcapngBinary30: 0x80 | 30
            default: nil  // default: microseconds
            }
            block(type: 1) { body in
                body.append16(linkType)
                body.append16(0)
                body.append32(snapshotLength)
                if let resolution {
                    body.append16(9)  // if_tsresol
                    body.append16(1)
                    body.bytes += [resolution, 0, 0, 0]
                    body.append16(0)  // opt_endofopt
                    body.append16(0)
                }
            }
        }
    }

    /// Nanoseconds per unit of the file's timestamps.
    private var unitNanoseconds: UInt64 {
        switch format {
        case .pcapMicroseconds, .pcapngMicroseconds: 1000
        case .pcapNanoseconds, .pcapngNanoseconds: 1
        case .pcapngSeconds: 1_000_000_000
        case .pcapngBinary30: 1  // about a nanosecond per unit: the raw value is written as is
        }
    }

    /// Appends one frame at `nanoseconds` (raw: negative values wrap), cut to `snapshot` bytes.
    mutating func add(nanoseconds: Int64, frame: [UInt8], snapshot: Int) {
        frames += 1
        let kept = Array(frame.prefix(max(0, snapshot)))
        let raw = UInt64(bitPattern: nanoseconds)
        switch format {
        case .pcapMicroseconds, .pcapNanoseconds:
            append32(UInt32(truncatingIfNeeded: raw / 1_000_000_000))
            append32(UInt32(truncatingIfNeeded: (raw % 1_000_000_000) / unitNanoseconds))
            append32(UInt32(kept.count))
            append32(UInt32(truncatingIfNeeded: frame.count))
            bytes += kept
        default:
            let units = raw / unitNanoseconds
            block(type: 6) { body in
                body.append32(0)
                body.append32(UInt32(truncatingIfNeeded: units >> 32))
                body.append32(UInt32(truncatingIfNeeded: units))
                body.append32(UInt32(kept.count))
                body.append32(UInt32(truncatingIfNeeded: frame.count))
                body.bytes += kept
                body.bytes += [UInt8](repeating: 0, count: (4 - kept.count % 4) % 4)
            }
        }
    }

    private mutating func block(type: UInt32, _ fill: (inout CaptureFile) -> Void) {
        var body = CaptureFile(empty: format)
        fill(&body)
        let length = UInt32(12 + body.bytes.count)
        append32(type)
        append32(length)
        bytes += body.bytes
        append32(length)
    }

    private init(empty format: Format) { self.format = format }

    mutating func append16(_ value: UInt16) { bytes += [UInt8(value & 0xFF), UInt8(value >> 8)] }
    mutating func append32(_ value: UInt32) {
        append16(UInt16(value & 0xFFFF))
        append16(UInt16(value >> 16))
    }
    mutating func append64(_ value: UInt64) {
        append32(UInt32(value & 0xFFFF_FFFF))
        append32(UInt32(value >> 32))
    }
}
