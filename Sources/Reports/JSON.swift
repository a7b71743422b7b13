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
        var output = ""
        write(to: &output, pretty: pretty, indent: 0)
        return output
    }

    func write(to output: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .int(let value): output += String(value)
        case .double(let value): output += JSONValue.format(value)
        case .string(let value): JSONValue.appendQuoted(value, to: &output)
        case .array(let values):
            if values.isEmpty { output += "[]"; return }
            output += "["
            for (index, value) in values.enumerated() {
                if index > 0 { output += "," }
                if pretty { output += "\n" + String(repeating: "  ", count: indent + 1) }
                value.write(to: &output, pretty: pretty, indent: indent + 1)
            }
            if pretty { output += "\n" + String(repeating: "  ", count: indent) }
            output += "]"
        case .object(let members):
            if members.isEmpty { output += "{}"; return }
            output += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { output += "," }
                if pretty { output += "\n" + String(repeating: "  ", count: indent + 1) }
                JSONValue.appendQuoted(key, to: &output)
                output += pretty ? ": " : ":"
                value.write(to: &output, pretty: pretty, indent: indent + 1)
            }
            if pretty { output += "\n" + String(repeating: "  ", count: indent) }
            output += "}"
        }
    }

    /// Numbers with at most three decimals (milliseconds to the microsecond), no exponent.
    static func format(_ value: Double) -> String {
        var text: [UInt8] = []
        JSONValue.appendNumber(value, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// RFC 8259 §7 string escaping.
    static func appendQuoted(_ value: String, to output: inout String) {
        if !JSONValue.needsEscaping(value) {
            output += "\""
            output += value
            output += "\""
            return
        }
        var text: [UInt8] = []
        JSONValue.appendQuoted(value, to: &text)
        output += String(decoding: text, as: UTF8.self)
    }
}

// MARK: - Straight into bytes

extension JSONValue {
    /// `format(_:)` as UTF-8: at most three decimals, trailing zeros dropped, no exponent;
    /// `null` for infinities and NaN.
    static func appendNumber(_ value: Double, to bytes: inout [UInt8]) {
        guard value.isFinite else {
            appendLiteral("null", to: &bytes)
            return
        }
        let scaled = (value * 1000).rounded()
        if scaled < 0 { bytes.append(UInt8(ascii: "-")) }
        let magnitude = UInt64(abs(scaled))
        appendDecimal(magnitude / 1000, to: &bytes)
        var fraction = magnitude % 1000
        guard fraction != 0 else { return }
        bytes.append(UInt8(ascii: "."))
        var digits = 3
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        writeDigits(of: fraction, endingAt: start + digits, to: &bytes)
    }

    /// RFC 8259 §7 string escaping into UTF-8: `"`, `\` and control characters (below
    /// U+0020) escaped, everything else copied. Runs without any of them, which is nearly
    /// every DNS name, are copied whole.
    static func appendQuoted(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        let copied: Void? = value.utf8.withContiguousStorageIfAvailable { appendEscaped($0, to: &bytes) }
        if copied == nil { Array(value.utf8).withUnsafeBufferPointer { appendEscaped($0, to: &bytes) } }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Whether `appendQuoted` would escape anything in `value`.
    static func needsEscaping(_ value: String) -> Bool {
        value.utf8.withContiguousStorageIfAvailable { $0.contains(where: isEscaped) }
            ?? value.utf8.contains(where: isEscaped)
    }

    @inline(__always)
    private static func isEscaped(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    private static func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        var runStart = 0
        for index in utf8.indices where isEscaped(utf8[index]) {
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            let byte = utf8[index]
            bytes.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
            case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "t"))
            default:
                // \u00XX, lowercase hex.
                appendLiteral("u00", to: &bytes)
                bytes.append(hexDigit(byte >> 4))
                bytes.append(hexDigit(byte & 0xf))
            }
            runStart = index + 1
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ (nibble &- 10)
    }

    /// Text that needs no escaping (keys, fixed values), as UTF-8.
    @inline(__always)
    static func appendLiteral(_ text: StaticString, to bytes: inout [UInt8]) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// A string copied as it is, without quotes or escaping.
    static func appendUnescaped(_ text: String, to bytes: inout [UInt8]) {
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { bytes.append(contentsOf: $0) }
        if copied == nil { bytes.append(contentsOf: text.utf8) }
    }

    /// Decimal digits of `value`, as `String(value)` spells them.
    static func appendDecimal(_ value: UInt64, to bytes: inout [UInt8]) {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        writeDigits(of: value, endingAt: start + digits, to: &bytes)
    }

    static func appendDecimal(_ value: some BinaryInteger, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDecimal(UInt64(value.magnitude), to: &bytes)
    }

    /// Overwrites the bytes before `end` with the decimal digits of `value`, last digit last.
    private static func writeDigits(of value: UInt64, endingAt end: Int, to bytes: inout [UInt8]) {
        var rest = value
        var index = end
        while rest > 0 {
            index -= 1
            bytes[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
    }
}
