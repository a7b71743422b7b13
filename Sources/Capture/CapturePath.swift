import Glibc

/// A capture file's name as the operating system knows it: raw bytes, which need not be
/// valid UTF-8 (a Linux file name is any bytes but NUL and '/'-separated).
///
/// Invariant: `bytes` holds no NUL, so it opens exactly the file the user named; `display`
/// is printable, single-line text that never carries raw invalid bytes or control characters.
/// "-" is standard input.
public struct CapturePath: Sendable, Hashable, CustomStringConvertible {
    /// The name's bytes, without a terminating NUL.
    public let bytes: [UInt8]

    /// A name that is valid Unicode text (anything Swift's `String` holds).
    public init(_ path: String) {
        bytes = Array(path.utf8).filter { $0 != 0 }
    }

    /// A name taken as raw bytes (e.g. from `CommandLine.unsafeArgv`); NUL bytes are dropped.
    public init(bytes: [UInt8]) {
        self.bytes = bytes.filter { $0 != 0 }
    }

    /// "-": read standard input.
    public var isStandardInput: Bool { bytes == [UInt8(ascii: "-")] }

    /// The name as text, when a later step can read the input again by it (an evidence
    /// bundle copies packets from its inputs and hashes them after the analysis); nil for
    /// standard input, a name that is not UTF-8, and anything that exists but is not a
    /// regular file (a pipe, a FIFO, `/dev/fd/N`), which is read once. A missing file keeps
    /// its name, so opening it reports the error.
    public var reopenableName: String? {
        guard !isStandardInput, let name = String(validating: bytes, as: UTF8.self) else { return nil }
        var status = stat()
        guard stat(name, &status) != 0 || status.st_mode & S_IFMT == S_IFREG else { return nil }
        return name
    }

    /// The name for reports and errors: the UTF-8 text as is, except that a backslash is
    /// doubled and each invalid byte and control character is written `\xFF`, so every name
    /// shows on one line and two different names never show the same.
    public var display: String { Self.escaped(bytes) }

    public var description: String { display }

    /// The name's text as `escaped` shows it; identical to the name for printable UTF-8
    /// without backslashes (every ordinary path), so existing reports do not change.
    static func escaped(_ bytes: [UInt8]) -> String {
        var text = ""
        text.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let length = validSequenceLength(bytes, at: index)
            if length == 0 {
                text += hexEscape(bytes[index])
                index += 1
                continue
            }
            let scalarText = String(decoding: bytes[index..<(index + length)], as: UTF8.self)
            if let scalar = scalarText.unicodeScalars.first, scalar.properties.generalCategory == .control {
                for byte in bytes[index..<(index + length)] { text += hexEscape(byte) }
            } else if scalarText == "\\" {
                text += "\\\\"
            } else {
                text += scalarText
            }
            index += length
        }
        return text
    }

    private static func hexEscape(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "\\x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0f)])
    }

    /// Length of the well-formed UTF-8 sequence starting at `index` (RFC 3629 §4: no
    /// overlong forms, no surrogates, nothing above U+10FFFF), or 0 if the byte there starts none.
    private static func validSequenceLength(_ bytes: [UInt8], at index: Int) -> Int {
        let lead = bytes[index]
        func continuation(_ offset: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
            index + offset < bytes.count && range.contains(bytes[index + offset])
        }
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: return continuation(1) ? 2 : 0
        case 0xE0: return continuation(1, 0xA0...0xBF) && continuation(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF: return continuation(1) && continuation(2) ? 3 : 0
        case 0xED: return continuation(1, 0x80...0x9F) && continuation(2) ? 3 : 0
        case 0xF0: return continuation(1, 0x90...0xBF) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF1...0xF3: return continuation(1) && continuation(2) && continuation(3) ? 4 : 0
        case 0xF4: return continuation(1, 0x80...0x8F) && continuation(2) && continuation(3) ? 4 : 0
        default: return 0
        }
    }

    /// `open(2)` on the raw bytes.
    func openDescriptor(flags: Int32) -> Int32 {
        (bytes + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { Glibc.open($0.baseAddress.unsafelyUnwrapped, flags) }
        }
    }
}

extension CapturePath {
    /// The raw bytes of the process's arguments (`argv[1...]`), before Swift's
    /// `CommandLine.arguments` repairs invalid UTF-8 into U+FFFD.
    public static func rawArguments() -> [[UInt8]] {
        var arguments: [[UInt8]] = []
        let count = Int(CommandLine.argc)
        var index = 1
        while index < count {
            if let argument = CommandLine.unsafeArgv[index] {
                let length = strlen(argument)
                arguments.append(argument.withMemoryRebound(to: UInt8.self, capacity: length) {
                    Array(UnsafeBufferPointer(start: $0, count: length))
                })
            }
            index += 1
        }
        return arguments
    }

    /// The paths the user typed for `parsed` (arguments as the parser saw them, in command
    /// line order): each is its raw argument when that differs only by repaired UTF-8.
    /// `raw` is `rawArguments()`; arguments are matched in order, so repeated names pair up.
    public static func matching(_ parsed: [String], raw: [[UInt8]]) -> [CapturePath] {
        var cursor = 0
        return parsed.map { argument in
            guard argument.unicodeScalars.contains("\u{FFFD}") else { return CapturePath(argument) }
            var index = cursor
            while index < raw.count {
                if String(decoding: raw[index], as: UTF8.self) == argument {
                    cursor = index + 1
                    return CapturePath(bytes: raw[index])
                }
                index += 1
            }
            return CapturePath(argument)
        }
    }
}
