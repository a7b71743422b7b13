/// A JSON syntax scanner for the error path: JSONDecoder only says "not valid JSON", this
/// says where (`line 3, column 9`), and splits text holding several documents one after
/// the other (`kubectl get pods -A -o json; kubectl get svc -A -o json` into one file).
/// Iterative, so deep nesting cannot overflow the stack.
enum JSONScanner {
    struct SyntaxError: Error, Equatable {
        var message: String
        /// The text nests deeper than `maximumDepth` (otherwise it is a syntax error).
        var isTooDeep = false
    }

    /// Deepest nesting of arrays and objects read, as Foundation's JSONDecoder (512): a
    /// kubectl document nests about 15 levels.
    static let maximumDepth = 512

    private enum State { case value, valueOrEnd, key, keyOrEnd, colon, after }

    /// The byte ranges of the top-level values, or the first syntax error.
    static func documents(in bytes: [UInt8]) -> Result<[Range<Int>], SyntaxError> {
        var ranges: [Range<Int>] = []
        var index = 0
        while true {
            skipSpace(bytes, &index)
            if index == bytes.count { return .success(ranges) }
            let start = index
            switch value(bytes, &index) {
            case .failure(let error): return .failure(error)
            case .success: ranges.append(start..<index)
            }
        }
    }

    private static func value(_ bytes: [UInt8], _ index: inout Int) -> Result<Void, SyntaxError> {
        var stack: [UInt8] = []
        var state = State.value
        while true {
            if state == .after && stack.isEmpty { return .success(()) }
            skipSpace(bytes, &index)
            guard index < bytes.count else {
                return .failure(SyntaxError(message: "unexpected end of input at \(position(bytes, index)) (truncated?)"))
            }
            let byte = bytes[index]
            switch state {
            case .valueOrEnd where byte == UInt8(ascii: "]"), .keyOrEnd where byte == UInt8(ascii: "}"):
                stack.removeLast()
                index += 1
                state = .after
            case .value, .valueOrEnd:
                switch byte {
                case UInt8(ascii: "{") where stack.count >= maximumDepth, UInt8(ascii: "[") where stack.count >= maximumDepth:
                    return .failure(SyntaxError(message: "more than \(maximumDepth) levels at \(position(bytes, index))",
                                                isTooDeep: true))
                case UInt8(ascii: "{"):
                    stack.append(byte); index += 1; state = .keyOrEnd
                case UInt8(ascii: "["):
                    stack.append(byte); index += 1; state = .valueOrEnd
                case UInt8(ascii: "\""):
                    if let error = string(bytes, &index) { return .failure(error) }
                    state = .after
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    number(bytes, &index); state = .after
                case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                    if let error = literal(bytes, &index) { return .failure(error) }
                    state = .after
                default:
                    return .failure(unexpected(bytes, index))
                }
            case .key, .keyOrEnd:
                guard byte == UInt8(ascii: "\"") else { return .failure(unexpected(bytes, index, expected: "a quoted key")) }
                if let error = string(bytes, &index) { return .failure(error) }
                state = .colon
            case .colon:
                guard byte == UInt8(ascii: ":") else { return .failure(unexpected(bytes, index, expected: "':'")) }
                index += 1
                state = .value
            case .after:
                let open = stack[stack.count - 1]
                if byte == UInt8(ascii: ",") {
                    index += 1
                    state = open == UInt8(ascii: "{") ? .key : .value
                } else if (open == UInt8(ascii: "{") && byte == UInt8(ascii: "}"))
                            || (open == UInt8(ascii: "[") && byte == UInt8(ascii: "]")) {
                    stack.removeLast()
                    index += 1
                } else {
                    let closer = open == UInt8(ascii: "{") ? "'}'" : "']'"
                    return .failure(unexpected(bytes, index, expected: "',' or \(closer)"))
                }
            }
        }
    }

    private static func skipSpace(_ bytes: [UInt8], _ index: inout Int) {
        while index < bytes.count, KubectlDocumentReader.isSpace(bytes[index]) { index += 1 }
    }

    private static func string(_ bytes: [UInt8], _ index: inout Int) -> SyntaxError? {
        let start = index
        index += 1
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                index += 1
                return nil
            case UInt8(ascii: "\\"):
                index += 2
            case 0..<0x20:
                return SyntaxError(message: "control character in a string at \(position(bytes, index))")
            default:
                index += 1
            }
        }
        return SyntaxError(message: "unterminated string starting at \(position(bytes, start)) (truncated?)")
    }

    private static func number(_ bytes: [UInt8], _ index: inout Int) {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"),
                 UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
                index += 1
            default:
                return
            }
        }
    }

    private static func literal(_ bytes: [UInt8], _ index: inout Int) -> SyntaxError? {
        for word in ["true", "false", "null"] {
            let utf8 = Array(word.utf8)
            if bytes[index...].starts(with: utf8) {
                index += utf8.count
                return nil
            }
        }
        return unexpected(bytes, index)
    }

    private static func unexpected(_ bytes: [UInt8], _ index: Int, expected: String? = nil) -> SyntaxError {
        let byte = bytes[index]
        let shown = (0x21..<0x7F).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
        let wanted = expected.map { ", expected \($0)" } ?? ""
        return SyntaxError(message: "unexpected \(shown) at \(position(bytes, index))\(wanted)")
    }

    /// `line L, column C` (1-based; the column counts bytes).
    static func position(_ bytes: [UInt8], _ index: Int) -> String {
        var line = 1
        var lineStart = 0
        for offset in 0..<min(index, bytes.count) where bytes[offset] == UInt8(ascii: "\n") {
            line += 1
            lineStart = offset + 1
        }
        return "line \(line), column \(index - lineStart + 1)"
    }
}
