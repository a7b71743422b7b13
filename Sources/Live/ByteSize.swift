/// A size given on the command line: a number of bytes, optionally with a binary suffix
/// (`64M`, `1G`, `512k`, `2GiB`). Nil for anything else, zero, or beyond Int64.
public func parseByteSize(_ text: String) -> Int64? {
    var digits = Substring(text)
    var multiplier: Int64 = 1
    let lowered = text.lowercased()
    for (suffixes, factor) in [(["k", "kb", "kib"], Int64(1) << 10), (["m", "mb", "mib"], Int64(1) << 20),
                               (["g", "gb", "gib"], Int64(1) << 30), (["t", "tb", "tib"], Int64(1) << 40)] {
        if let suffix = suffixes.first(where: { lowered.hasSuffix($0) && lowered.count > $0.count }) {
            digits = Substring(text.dropLast(suffix.count))
            multiplier = factor
        }
    }
    guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let value = Int64(digits), value > 0 else { return nil }
    let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
    return overflow ? nil : product
}
