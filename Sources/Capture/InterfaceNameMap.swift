import Glibc
import WireCore

/// Why an interface name file (`--interface-names`) cannot be used: one line, e.g.
/// `cannot use interface names 'links.txt': line 3 is not `ip -o link` output`.
public struct InterfaceNameMapError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var reason: String

    public var description: String { singleLine("cannot use interface names '\(path)': \(reason)") }
}

/// Names of Linux interfaces by index, for the interface indexes of Linux cooked v2
/// captures (`-i any`), from the two places they can come from offline:
///
/// - the output of `ip -o link` (or `ip link`, or `ip -j link`) taken on the node, given
///   with `--interface-names FILE`;
/// - a line in a pcapng section or interface comment, which dnstrail writes when it records
///   a live capture. Its format is one line, the prefix then space-separated `INDEX=NAME`
///   pairs: `dnstrail-interfaces: 2=eth0 6=veth1abc`. INDEX is a positive decimal number,
///   NAME a Linux interface name (1-15 bytes, no whitespace, '/' or ':'); pairs that are
///   not both are skipped.
///
/// Invariant: every name in a map is a valid Linux interface name, so it prints safely on
/// one line in any report.
public enum InterfaceNameMap {
    /// The prefix of the comment line that carries a map (`InterfaceNamesComment`, whose
    /// format the live recorder writes and this reader reads: one definition of it).
    public static let commentPrefix = InterfaceNamesComment.prefix
    /// The largest interface name file read: `ip -o link` gives about 300 bytes per
    /// interface, so this holds more than ten thousand.
    public static let maximumFileSize = 4 << 20
    /// Linux's IFNAMSIZ less the terminating NUL.
    public static let maximumNameLength = 15

    /// The comment line that carries `names`, in index order (what a recorder writes).
    public static func comment(for names: [Int32: String]) -> String {
        InterfaceNamesComment.format(names.filter { $0.key > 0 && isValidName($0.value) })
            ?? String(InterfaceNamesComment.prefix.dropLast())
    }

    /// The names in every `dnstrail-interfaces:` line of a comment (later lines win); pairs
    /// whose index is not positive or whose name is not a Linux interface name are skipped.
    public static func parseComment(_ comment: String) -> [Int32: String] {
        var names: [Int32: String] = [:]
        for line in comment.split(whereSeparator: \.isNewline) {
            let trimmed = String(line.drop { $0 == " " || $0 == "\t" })
            for pair in InterfaceNamesComment.pairs(of: trimmed) {
                guard let (index, name) = InterfaceNamesComment.parsePair(pair), index > 0, isValidName(name) else { continue }
                names[index] = name
            }
        }
        return names
    }

    private static func interfaceIndex(_ text: Substring) -> Int32? {
        guard !text.isEmpty, text.count <= 10, text.allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = Int32(text), value > 0 else { return nil }
        return value
    }

    /// Linux's rule (`dev_valid_name`): 1-15 bytes, not "." or "..", no '/', ':' or
    /// whitespace; dnstrail also refuses control characters and non-ASCII-looking damage.
    public static func isValidName<Text: StringProtocol>(_ name: Text) -> Bool {
        let length = name.utf8.count
        guard length >= 1, length <= maximumNameLength, name != ".", name != ".." else { return false }
        return !name.unicodeScalars.contains {
            $0 == "/" || $0 == ":" || $0 == "\u{FFFD}" || $0.properties.isWhitespace
                || $0.properties.generalCategory == .control
        }
    }


    /// Reads an interface name file (`ip -o link`, `ip link` or `ip -j link` output), at
    /// most `maximumFileSize` bytes; any file it cannot use fails with one line.
    public static func load(path: String) throws(InterfaceNameMapError) -> [Int32: String] {
        let bytes = try readBounded(path: path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw InterfaceNameMapError(path: path, reason: "not text (invalid UTF-8)")
        }
        return try parse(text, path: path)
    }

    /// Parses the text of an interface name file; `path` only names it in errors.
    public static func parse(_ text: String, path: String) throws(InterfaceNameMapError) -> [Int32: String] {
        let firstSignificant = text.unicodeScalars.first { !$0.properties.isWhitespace }
        let names = firstSignificant == "["
            ? try parseJSON(text, path: path)
            : try parseLines(text, path: path)
        guard !names.isEmpty else {
            throw InterfaceNameMapError(
                path: path, reason: "no interfaces in it (expected the output of `ip -o link` or `ip -j link`)")
        }
        return names
    }

    /// `ip -o link` / `ip link`: `2: eth0: <BROADCAST,...> ...`, `7: veth1abc@if2: <...>`
    /// (the `@...` part names the peer and is dropped); indented continuation lines of
    /// `ip link` are skipped.
    private static func parseLines(_ text: String, path: String) throws(InterfaceNameMapError) -> [Int32: String] {
        var names: [Int32: String] = [:]
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy(\.isWhitespace) || line.first == " " || line.first == "\t" { continue }
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, let index = interfaceIndex(fields[0][...]) else {
                throw InterfaceNameMapError(path: path, reason: "line \(lineNumber) is not `ip -o link` output")
            }
            var name = fields[1].drop { $0 == " " }
            if let at = name.firstIndex(of: "@") { name = name[..<at] }
            guard isValidName(name) else {
                throw InterfaceNameMapError(path: path, reason: "line \(lineNumber): not a valid interface name")
            }
            names[index] = String(name)
        }
        return names
    }

    /// `ip -j link`: an array of objects, each with `"ifindex": N` and `"ifname": "..."`
    /// (only keys of the array's own objects are read, not of nested ones).
    private static func parseJSON(_ text: String, path: String) throws(InterfaceNameMapError) -> [Int32: String] {
        var names: [Int32: String] = [:]
        let scalars = Array(text.unicodeScalars)
        var position = 0
        var depth = 0
        var index: Int32?
        var name: String?
        var lastKey: String?
        var expectingValue = false
        func fail(_ reason: String) -> InterfaceNameMapError { InterfaceNameMapError(path: path, reason: reason) }
        while position < scalars.count {
            let scalar = scalars[position]
            switch scalar {
            case "{", "[":
                depth += 1
                guard depth <= 64 else { throw fail("JSON nested too deep") }
                if depth == 2 { index = nil; name = nil }
                expectingValue = false
                position += 1
            case "}", "]":
                if depth == 2, let index, let name {
                    guard isValidName(name) else { throw fail("interface \(index): not a valid interface name") }
                    names[index] = name
                }
                depth -= 1
                expectingValue = false
                position += 1
            case "\"":
                var value = ""
                position += 1
                while position < scalars.count, scalars[position] != "\"" {
                    if scalars[position] == "\\" {
                        position += 1
                        guard position < scalars.count else { break }
                        value.unicodeScalars.append(unescaped(scalars, at: &position))
                    } else {
                        value.unicodeScalars.append(scalars[position])
                        position += 1
                    }
                }
                guard position < scalars.count else { throw fail("not JSON (a string is not closed)") }
                position += 1
                if expectingValue {
                    if depth == 2, lastKey == "ifname" { name = value }
                    expectingValue = false
                } else {
                    lastKey = value
                }
            case ":":
                expectingValue = true
                position += 1
            case ",":
                expectingValue = false
                position += 1
            default:
                if expectingValue, depth == 2, lastKey == "ifindex", scalar.properties.numericType != nil {
                    var digits = ""
                    while position < scalars.count, scalars[position].properties.numericType != nil,
                          scalars[position].isASCII {
                        digits.unicodeScalars.append(scalars[position])
                        position += 1
                    }
                    guard let value = interfaceIndex(Substring(digits)) else { throw fail("\"ifindex\" \(digits) is not an interface index") }
                    index = value
                    expectingValue = false
                } else {
                    position += 1
                }
            }
            guard depth >= 0 else { throw fail("not JSON (unbalanced brackets)") }
        }
        return names
    }

    /// The character a JSON escape stands for (RFC 8259 §7); `position` is just after the
    /// backslash and ends after the escape. A malformed `\\u` gives U+FFFD, which no name accepts.
    private static func unescaped(_ scalars: [Unicode.Scalar], at position: inout Int) -> Unicode.Scalar {
        let letter = scalars[position]
        position += 1
        switch letter {
        case "n": return "\n"
        case "t": return "\t"
        case "r": return "\r"
        case "b": return "\u{8}"
        case "f": return "\u{C}"
        case "u":
            guard position + 4 <= scalars.count,
                  let value = UInt32(String(String.UnicodeScalarView(scalars[position..<(position + 4)])), radix: 16) else {
                return "\u{FFFD}"
            }
            position += 4
            return Unicode.Scalar(value) ?? "\u{FFFD}"
        default: return letter
        }
    }

    private static func readBounded(path: String) throws(InterfaceNameMapError) -> [UInt8] {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw InterfaceNameMapError(path: path, reason: Pcap.systemError(errno)) }
        defer { close(descriptor) }
        var status = stat()
        if fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
            throw InterfaceNameMapError(path: path, reason: Pcap.systemError(EISDIR))
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw InterfaceNameMapError(path: path, reason: Pcap.systemError(errno))
            }
            if count == 0 { return bytes }
            bytes += chunk[..<count]
            guard bytes.count <= maximumFileSize else {
                throw InterfaceNameMapError(path: path, reason: "larger than \(maximumFileSize >> 20) MiB, not `ip link` output")
            }
        }
    }
}
