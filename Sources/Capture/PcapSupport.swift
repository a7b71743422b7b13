import CPcap
import Glibc
import WireCore

/// Small helpers shared by the libpcap wrappers. libpcap's own strings are copied out
/// immediately: `pcap_geterr` points into the handle, `errbuf` into the caller's stack.
enum Pcap {
    /// `PCAP_ERRBUF_SIZE`, as the macro imports as a plain integer.
    static let errorBufferSize = Int(PCAP_ERRBUF_SIZE)

    /// Runs `body` with a zeroed `PCAP_ERRBUF_SIZE` buffer and returns its result together
    /// with the message libpcap left there (empty when none).
    static func withErrorBuffer<Result>(
        _ body: (UnsafeMutablePointer<CChar>) -> Result
    ) -> (result: Result, message: String) {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: errorBufferSize + 1) { buffer in
            buffer.initialize(repeating: 0)
            let result = body(buffer.baseAddress.unsafelyUnwrapped)
            buffer[errorBufferSize] = 0  // libpcap always terminates; this makes sure of it.
            return (result, cleanMessage(String(cString: buffer.baseAddress.unsafelyUnwrapped)))
        }
    }

    /// The last error libpcap recorded on `handle`.
    static func lastError(_ handle: OpaquePointer) -> String {
        guard let message = pcap_geterr(handle) else { return "" }
        return cleanMessage(String(cString: message))
    }

    static func cleanMessage(_ message: String) -> String {
        singleLine(message).trimmingWhitespace()
    }

    static func systemError(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }

    /// The DLT value libpcap's compiler expects for a link type. Values that differ
    /// between LINKTYPE_ (files) and DLT_ (this platform) are mapped; others pass through.
    static func dataLinkType(for linkType: LinkType) -> Int32 {
        if linkType == .raw { return Int32(DLT_RAW) }
        return linkType.rawValue
    }

    /// The frame libpcap's last `pcap_next_ex` returned, as a view (no copy).
    static func frame(
        header: pcap_pkthdr, data: UnsafePointer<UInt8>?, number: Int, fractionScale: Int64, linkType: LinkType
    ) -> CapturedFrame {
        let capturedLength = data == nil ? 0 : Int(header.caplen)
        return CapturedFrame(
            number: number,
            timestamp: timestamp(header.ts, fractionScale: fractionScale),
            capturedLength: capturedLength,
            originalLength: Int(header.len),
            bytes: UnsafeRawBufferPointer(start: data, count: capturedLength),
            linkType: linkType)
    }

    /// A capture timestamp on the nanosecond clock. `fractionScale` is 1 when libpcap
    /// delivers nanoseconds in `tv_usec` (nanosecond precision), 1000 for microseconds.
    @inline(__always)
    static func timestamp(_ time: timeval, fractionScale: Int64) -> Timestamp {
        Timestamp(nanoseconds: Int64(time.tv_sec) &* 1_000_000_000 &+ Int64(time.tv_usec) &* fractionScale)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
