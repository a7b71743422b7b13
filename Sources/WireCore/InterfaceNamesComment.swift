/// The pcapng comment line that carries a Linux cooked v2 capture's interface index → name
/// map, so a file written by `dnstrail live --export` can show `seen_on` by name when it
/// is read back: `dnstrail-interfaces: 2=eth0 6=veth1abc`.
///
/// Format: the prefix, then `INDEX=NAME` pairs separated by single spaces, in increasing
/// index order. INDEX is a decimal Int32. In NAME, `%`, `=`, space and every byte below
/// 0x21 or equal to 0x7F are written `%XX` (two uppercase hex digits of the UTF-8 byte),
/// so a pair never holds a space and its first `=` ends the index. One line, no newline.
public enum InterfaceNamesComment {
    public static let prefix = "dnstrail-interfaces: "

    /// The comment for `names`, or nil when the map is empty.
    public static func format(_ names: [Int32: String]) -> String? {
        guard !names.isEmpty else { return nil }
        let pairs = names.keys.sorted().map { index in "\(index)=\(escape(names[index] ?? ""))" }
        return prefix + pairs.joined(separator: " ")
    }

    /// The map in `comment`, or nil when it is not such a line or any pair is malformed
    /// (a reader then ignores it rather than guessing).
    public static func parse(_ comment: String) -> [Int32: String]? {
        guard comment.hasPrefix(prefix) else { return nil }
        var names: [Int32: String] = [:]
        for pair in pairs(of: comment) {
            guard let (index, name) = parsePair(pair) else { return nil }
            names[index] = name
        }
        return names
    }

    /// The `INDEX=NAME` fields of a comment line (empty when it is not such a line).
    public static func pairs(of comment: String) -> [Substring] {
        guard comment.hasPrefix(prefix) else { return [] }
        return comment.dropFirst(prefix.count).split(separator: " ", omittingEmptySubsequences: true)
    }

    /// One `INDEX=NAME` field, unescaped; nil when malformed.
    public static func parsePair(_ pair: Substring) -> (index: Int32, name: String)? {
        guard let equals = pair.firstIndex(of: "="), let index = Int32(pair[..<equals]),
              let name = unescape(pair[pair.index(after: equals)...]) else { return nil }
        return (index, name)
    }

    static func escape(_ name: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        for byte in name.utf8 {
            if byte <= 0x20 || byte == 0x7F || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "=") {
                bytes += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func unescape(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
