/// A JSON value whose objects keep their key order, so reports read top-down and diff
/// cleanly. Serialised by hand because key order is part of the documented schema.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        lhs.serialized() == rhs.serialized()
    }

    /// Compact (one line) or indented by two spaces.
    public func serialized(pretty: Bool = false) -> String {
        // Into bytes, then one string: appending to a String made a string per indentation
        // and per number (~140 instructions per byte of a 1.3 MB report; bench/profile.md).
        let text = TextBuffer(capacity: 4096)
        write(to: text, pretty: pretty, indent: 0)
        return String(decoding: text.bytes, as: UTF8.self)
    }

    func write(to text: TextBuffer, pretty: Bool, indent: Int) {
        switch self {
        case .null: text.append("null")
        case .bool(let value): text.append(value ? "true" : "false")
        case .int(let value): text.appendDecimal(value)
        case .double(let value): JSONValue.appendNumber(value, to: text)
        case .string(let value): JSONValue.appendQuoted(value, to: text)
        case .array(let values):
            if values.isEmpty { text.append("[]"); return }
            text.append(UInt8(ascii: "["))
            for index in values.indices {
                if index > 0 { text.append(UInt8(ascii: ",")) }
                if pretty { JSONValue.appendNewline(indent: indent + 1, to: text) }
                values[index].write(to: text, pretty: pretty, indent: indent + 1)
            }
            if pretty { JSONValue.appendNewline(indent: indent, to: text) }
            text.append(UInt8(ascii: "]"))
        case .object(let members):
            if members.isEmpty { text.append("{}"); return }
            text.append(UInt8(ascii: "{"))
            for index in members.indices {
                if index > 0 { text.append(UInt8(ascii: ",")) }
                if pretty { JSONValue.appendNewline(indent: indent + 1, to: text) }
                JSONValue.appendQuoted(members[index].0, to: text)
                if pretty { text.append(": ") } else { text.append(UInt8(ascii: ":")) }
                members[index].1.write(to: text, pretty: pretty, indent: indent + 1)
            }
            if pretty { JSONValue.appendNewline(indent: indent, to: text) }
            text.append(UInt8(ascii: "}"))
        }
    }

    /// A line break and two spaces per level.
    private static func appendNewline(indent: Int, to text: TextBuffer) {
        text.append(UInt8(ascii: "\n"))
        for _ in 0..<indent { text.append("  ") }
    }

    /// Numbers with at most three decimals (milliseconds to the microsecond), no exponent.
    static func format(_ value: Double) -> String {
        let text = TextBuffer(capacity: 32)
        JSONValue.appendNumber(value, to: text)
        return String(decoding: text.bytes, as: UTF8.self)
    }
}

// MARK: - Straight into bytes

extension JSONValue {
    /// `format(_:)` as UTF-8: at most three decimals, trailing zeros dropped, no exponent;
    /// `null` for infinities and NaN.
    static func appendNumber(_ value: Double, to text: TextBuffer) {
        guard value.isFinite else {
            text.append("null")
            return
        }
        let scaled = (value * 1000).rounded()
        if scaled < 0 { text.append(UInt8(ascii: "-")) }
        let magnitude = UInt64(abs(scaled))
        text.appendDecimal(magnitude / 1000)
        var fraction = magnitude % 1000
        guard fraction != 0 else { return }
        text.append(UInt8(ascii: "."))
        var digits = 3
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        text.appendDigits(fraction, count: digits)
    }

    /// RFC 8259 §7 string escaping into UTF-8: `"`, `\\` and control characters (below
    /// U+0020) escaped, everything else copied. Runs without any of them, which is nearly
    /// every DNS name, are copied whole.
    static func appendQuoted(_ value: String, to text: TextBuffer) {
        text.append(UInt8(ascii: "\""))
        let copied: Void? = value.utf8.withContiguousStorageIfAvailable { appendEscaped($0, to: text) }
        if copied == nil { Array(value.utf8).withUnsafeBufferPointer { appendEscaped($0, to: text) } }
        text.append(UInt8(ascii: "\""))
    }

    @inline(__always)
    private static func isEscaped(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    private static func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, to text: TextBuffer) {
        var runStart = 0
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            guard isEscaped(byte) else {
                index += 1
                continue
            }
            text.append(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            text.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): text.append(byte)
            case UInt8(ascii: "\n"): text.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): text.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): text.append(UInt8(ascii: "t"))
            default:
                // \u00XX, lowercase hex.
                text.append("u00")
                text.append(hexDigit(byte >> 4))
                text.append(hexDigit(byte & 0xf))
            }
            index += 1
            runStart = index
        }
        text.append(UnsafeBufferPointer(rebasing: utf8[runStart...]))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ (nibble &- 10)
    }
}
