/// A point on the capture clock: nanoseconds since the Unix epoch, as recorded by libpcap.
///
/// dnstrail never reads the wall clock for analysis; every timeout and latency is measured
/// on this clock, so replaying a file always gives the same report.
public struct Timestamp: Hashable, Comparable, Sendable {
    public var nanoseconds: Int64

    @inlinable
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// Saturates at the ends of the Int64 range (years 1677 and 2262) instead of wrapping:
    /// a pcapng timestamp of any 64-bit value lands on the clock's edge, never elsewhere.
    @inlinable
    public init(seconds: Int64, nanoseconds: Int64) {
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self.nanoseconds = overflow ? (seconds < 0 ? .min : .max) : whole.saturatingAdd(nanoseconds)
    }

    @inlinable
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// Saturating: a deadline past the clock's end stays at its end (never wraps to 1677).
    @inlinable
    public static func + (lhs: Timestamp, rhs: Duration) -> Timestamp {
        Timestamp(nanoseconds: lhs.nanoseconds.saturatingAdd(rhs.nanoseconds))
    }

    /// Saturating: the span between two times at opposite ends of the clock is the longest
    /// Duration of its sign, never a wrapped one of the other sign.
    @inlinable
    public static func - (lhs: Timestamp, rhs: Timestamp) -> Duration {
        Duration(nanoseconds: lhs.nanoseconds.saturatingSubtract(rhs.nanoseconds))
    }

    /// RFC 3339 UTC with nine fractional digits: `2025-09-21T23:11:29.123456789Z`.
    public var rfc3339: String {
        var formatter = RFC3339Formatter()
        var text: [UInt8] = []
        formatter.append(self, to: &text)
        return String(decoding: text, as: UTF8.self)
    }
}

/// Writes capture times as RFC 3339 UTC text with nine fractional digits
/// (`2025-09-21T23:11:29.123456789Z`, RFC 3339 §5.6) straight into bytes.
///
/// Keeps the text of the last second it formatted: capture time moves forward, so
/// consecutive times mostly share their second and only the nine fraction digits are new.
public struct RFC3339Formatter: Sendable {
    /// Length of every text: Int64 nanoseconds span the years 1677 to 2262.
    public static let textLength = 30
    /// The second `dateAndTime` spells, or nil before the first call.
    private var cachedSecond: Int64?
    /// `YYYY-MM-DDTHH:MM:SS.` of `cachedSecond` (20 bytes).
    private var dateAndTime: [UInt8] = []

    public init() {}

    /// Appends the UTF-8 text of `time`.
    public mutating func append(_ time: Timestamp, to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(byteCount: RFC3339Formatter.textLength, alignment: 1) { buffer in
            let count = write(time, into: buffer)
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }

    /// Writes the UTF-8 text of `time` at the start of `buffer` and returns its length;
    /// writes nothing and returns 0 when `buffer` is shorter than `textLength`.
    public mutating func write(_ time: Timestamp, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard buffer.count >= RFC3339Formatter.textLength else { return 0 }
        // Floor division: the fraction is never negative, also before 1970.
        var seconds = time.nanoseconds / 1_000_000_000
        var fraction = time.nanoseconds % 1_000_000_000
        if fraction < 0 {
            seconds -= 1
            fraction += 1_000_000_000
        }
        if cachedSecond != seconds {
            dateAndTime.removeAll(keepingCapacity: true)
            RFC3339Formatter.appendDateAndTime(seconds: seconds, to: &dateAndTime)
            cachedSecond = seconds
        }
        let prefix = dateAndTime.count
        dateAndTime.withUnsafeBytes { buffer.copyMemory(from: $0) }
        var rest = fraction
        for index in stride(from: prefix + 8, through: prefix, by: -1) {
            buffer[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
        buffer[prefix + 9] = UInt8(ascii: "Z")
        return prefix + 10
    }

    /// `YYYY-MM-DDTHH:MM:SS.` for a second since the epoch.
    private static func appendDateAndTime(seconds: Int64, to bytes: inout [UInt8]) {
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            days -= 1
            secondOfDay += 86_400
        }
        // Civil-from-days (Howard Hinnant's algorithm), valid for the proleptic Gregorian calendar.
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
        // Int64 nanoseconds span the years 1677 to 2262: always four digits.
        appendDigits(year, count: 4, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(month, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(day, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: "T"))
        appendDigits(secondOfDay / 3600, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, count: 2, to: &bytes)
        bytes.append(UInt8(ascii: "."))
    }

    /// The last `count` decimal digits of a non-negative `value`, zero-padded.
    private static func appendDigits(_ value: Int64, count: Int, to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: count))
        var rest = value
        var index = start + count
        while rest > 0 && index > start {
            index -= 1
            bytes[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
        }
    }
}

/// A span on the capture clock, in nanoseconds.
public struct Duration: Hashable, Comparable, Sendable {
    public var nanoseconds: Int64

    @inlinable
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// Saturating at the Int64 range; NaN is zero.
    @inlinable
    public static func seconds(_ value: Double) -> Duration {
        let nanoseconds = value * 1e9
        guard !nanoseconds.isNaN else { return Duration(nanoseconds: 0) }
        // 2^63 is exactly representable; anything at or beyond it saturates.
        if nanoseconds >= 9_223_372_036_854_775_808.0 { return Duration(nanoseconds: .max) }
        if nanoseconds <= -9_223_372_036_854_775_808.0 { return Duration(nanoseconds: .min) }
        return Duration(nanoseconds: Int64(nanoseconds))
    }

    /// Saturating at the Int64 range.
    @inlinable
    public static func milliseconds(_ value: Int64) -> Duration {
        let (product, overflow) = value.multipliedReportingOverflow(by: 1_000_000)
        return Duration(nanoseconds: overflow ? (value < 0 ? .min : .max) : product)
    }

    /// Saturating sum.
    @inlinable
    public static func + (lhs: Duration, rhs: Duration) -> Duration {
        Duration(nanoseconds: lhs.nanoseconds.saturatingAdd(rhs.nanoseconds))
    }

    /// Saturating difference.
    @inlinable
    public static func - (lhs: Duration, rhs: Duration) -> Duration {
        Duration(nanoseconds: lhs.nanoseconds.saturatingSubtract(rhs.nanoseconds))
    }

    /// Distance from zero, saturating (the magnitude of `Int64.min` is `Int64.max`).
    @inlinable
    public var magnitude: Duration {
        Duration(nanoseconds: nanoseconds >= 0 ? nanoseconds : (nanoseconds == .min ? .max : -nanoseconds))
    }

    @inlinable
    public static func < (lhs: Duration, rhs: Duration) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public var milliseconds: Double { Double(nanoseconds) / 1e6 }
    public var seconds: Double { Double(nanoseconds) / 1e9 }
}

extension Int64 {
    /// `self + other`, clamped to the Int64 range instead of trapping or wrapping.
    @inlinable
    public func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// `self - other`, clamped to the Int64 range instead of trapping or wrapping.
    @inlinable
    public func saturatingSubtract(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other > 0 ? .min : .max) : difference
    }
}
