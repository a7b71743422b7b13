import Testing
@testable import DNSWire

/// Bytes from annotated hex: whitespace ignored, `;` starts a comment to the end of the line.
func hex(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [UInt8] {
    var digits: [UInt8] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        for character in line.prefix(while: { $0 != ";" }).utf8 {
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(character - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digits.append(character - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digits.append(character - UInt8(ascii: "A") + 10)
            case UInt8(ascii: " "), UInt8(ascii: "\t"): continue
            default: Issue.record("not a hex digit: \(Character(Unicode.Scalar(character)))", sourceLocation: sourceLocation)
            }
        }
    }
    if digits.count % 2 != 0 { Issue.record("odd number of hex digits", sourceLocation: sourceLocation) }
    return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}

/// A name from presentation format; records an issue (and returns the root) if invalid.
func name(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> DNSName {
    guard let name = DNSName(text) else {
        Issue.record("invalid test name \(text)", sourceLocation: sourceLocation)
        return .root
    }
    return name
}

/// Builds messages for the malformed cases, where the offsets matter more than the bytes:
/// each appender returns the offset it wrote at.
struct MessageBuilder {
    var bytes: [UInt8] = []

    var offset: Int { bytes.count }

    init(id: UInt16 = 0x1234, flags: UInt16 = 0x8180, counts: (UInt16, UInt16, UInt16, UInt16)) {
        uint16(id)
        uint16(flags)
        uint16(counts.0)
        uint16(counts.1)
        uint16(counts.2)
        uint16(counts.3)
    }

    @discardableResult mutating func uint8(_ value: UInt8) -> Int {
        bytes.append(value)
        return offset - 1
    }

    @discardableResult mutating func uint16(_ value: UInt16) -> Int {
        bytes += [UInt8(value >> 8), UInt8(value & 0xFF)]
        return offset - 2
    }

    @discardableResult mutating func uint32(_ value: UInt32) -> Int {
        uint16(UInt16(value >> 16))
        uint16(UInt16(value & 0xFFFF))
        return offset - 4
    }

    @discardableResult mutating func raw(_ values: [UInt8]) -> Int {
        bytes += values
        return offset - values.count
    }

    /// Labels from a dotted text (no escapes), then the root byte unless `pointer` is given.
    @discardableResult mutating func name(_ text: String, pointer: Int? = nil) -> Int {
        let start = offset
        for label in text.split(separator: ".") {
            uint8(UInt8(label.utf8.count))
            bytes += Array(label.utf8)
        }
        if let pointer { self.pointer(pointer) } else { uint8(0) }
        return start
    }

    @discardableResult mutating func pointer(_ target: Int) -> Int {
        uint16(0xC000 | UInt16(target))
    }

    @discardableResult mutating func question(_ text: String, type: UInt16 = 1, rawClass: UInt16 = 1) -> Int {
        let start = name(text)
        uint16(type)
        uint16(rawClass)
        return start
    }

    /// Type, class, TTL, RDLENGTH and RDATA after a name the caller already wrote.
    /// Returns the offset of the RDATA.
    @discardableResult mutating func recordTail(
        type: UInt16, rawClass: UInt16 = 1, ttl: UInt32 = 300, rdlength: Int? = nil, rdata: [UInt8]
    ) -> Int {
        uint16(type)
        uint16(rawClass)
        uint32(ttl)
        uint16(UInt16(rdlength ?? rdata.count))
        return raw(rdata)
    }

    /// An OPT record: root name, UDP size in CLASS, TTL fields, options.
    @discardableResult mutating func opt(
        udpSize: UInt16 = 1232, ttl: UInt32 = 0, options: [(UInt16, [UInt8])] = [], ownerRoot: Bool = true
    ) -> Int {
        let start = ownerRoot ? uint8(0) : name("example")
        var rdata: [UInt8] = []
        for (code, body) in options {
            rdata += [UInt8(code >> 8), UInt8(code & 0xFF), UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        }
        recordTail(type: 41, rawClass: udpSize, ttl: ttl, rdata: rdata)
        return start
    }
}

/// The `DNSParseError` that `body` throws, or `nil` (and an issue) if it throws nothing or
/// another error. (Closures do not infer typed throws yet, hence the untyped parameter.)
func parseError<T>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T) -> DNSParseError? {
    do {
        _ = try body()
        Issue.record("expected a DNSParseError", sourceLocation: sourceLocation)
        return nil
    } catch let error as DNSParseError {
        return error
    } catch {
        Issue.record("expected a DNSParseError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
