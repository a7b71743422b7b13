import Testing
@testable import WireCore

/// `RFC3339Formatter` writes bytes and caches the text of the last second: it must spell
/// every time exactly as the `String`-building implementation it replaced did.
struct RFC3339FormatterTests {
    @Test func matchesTheStringImplementationOnManyTimes() {
        var random = SplitMix64(seed: 0x5eed)
        var formatter = RFC3339Formatter()
        var times: [Int64] = [0, -1, 1, 999_999_999, 1_000_000_000, -999_999_999, -1_000_000_000, -1_000_000_001,
                              951_782_400_000_000_000, 951_868_799_999_999_999, 4_107_542_399_999_999_999,
                              Int64.max, Int64.min + 1_000_000_000]
        // Second boundaries, in and out of order, around the present and around 1970.
        for base in [Int64(0), 1_758_496_289, -86_400, 1_709_164_800, 946_684_799] {
            for offset in Int64(-2)...2 {
                let second = (base + offset) * 1_000_000_000
                times += [second - 1, second, second + 1, second + 999_999_999]
            }
        }
        for _ in 0..<20_000 {
            times.append(Int64(bitPattern: random.next()) / 2)
            times.append(1_700_000_000_000_000_000 + Int64(random.next() % 10_000_000_000))
            times.append(-Int64(random.next() % 100_000_000_000_000_000))
        }
        for nanoseconds in times {
            var bytes: [UInt8] = []
            formatter.append(Timestamp(nanoseconds: nanoseconds), to: &bytes)
            let expected = legacyRFC3339(nanoseconds)
            #expect(String(decoding: bytes, as: UTF8.self) == expected, "\(nanoseconds)")
            #expect(Timestamp(nanoseconds: nanoseconds).rfc3339 == expected, "\(nanoseconds)")
        }
    }

    /// Consecutive times in one second reuse the cached prefix; the next second replaces it.
    @Test func crossesSecondBoundariesWithTheCache() {
        var formatter = RFC3339Formatter()
        var bytes: [UInt8] = []
        for nanoseconds: Int64 in [1_758_496_289_999_999_998, 1_758_496_289_999_999_999, 1_758_496_290_000_000_000,
                                   1_758_496_289_000_000_001, -1, 0] {
            formatter.append(Timestamp(nanoseconds: nanoseconds), to: &bytes)
            bytes.append(UInt8(ascii: " "))
        }
        #expect(String(decoding: bytes, as: UTF8.self) == "2025-09-21T23:11:29.999999998Z 2025-09-21T23:11:29.999999999Z "
            + "2025-09-21T23:11:30.000000000Z 2025-09-21T23:11:29.000000001Z 1969-12-31T23:59:59.999999999Z "
            + "1970-01-01T00:00:00.000000000Z ")
    }

    /// The earliest time an Int64 holds: the old implementation trapped on it (its floor
    /// division overflowed); the formatter spells it.
    @Test func earliestRepresentableTime() {
        #expect(Timestamp(nanoseconds: .min).rfc3339 == "1677-09-21T00:12:43.145224192Z")
        #expect(Timestamp(nanoseconds: .max).rfc3339 == "2262-04-11T23:47:16.854775807Z")
    }
}

/// The implementation `RFC3339Formatter` replaced, kept as the reference.
private func legacyRFC3339(_ nanoseconds: Int64) -> String {
    func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value < 0 ? -value : value)
        let padded = digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        return value < 0 ? "-" + padded : padded
    }
    let seconds = nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
    let fraction = nanoseconds - seconds * 1_000_000_000
    var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    let secondOfDay = seconds - days * 86_400
    days += 719_468
    let era = (days >= 0 ? days : days - 146_096) / 146_097
    let dayOfEra = days - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
    var year = yearOfEra + era * 400
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    if month <= 2 { year += 1 }
    return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T"
        + "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        + ".\(pad(fraction, 9))Z"
}

/// A small deterministic generator (SplitMix64), so failures reproduce.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
