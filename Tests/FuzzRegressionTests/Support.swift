import Pipeline
import Transactions
import WireCore

/// Builds an IPv4 header (no options, checksum left zero: nothing here checks it) before
/// `payload`.
func ipv4Packet(
    protocolNumber: UInt8, identification: UInt16 = 0x1234, flagsAndOffset: UInt16 = 0,
    source: [UInt8] = [10, 0, 0, 1], destination: [UInt8] = [10, 0, 0, 2], _ payload: [UInt8]
) -> [UInt8] {
    let total = 20 + payload.count
    return [0x45, 0, UInt8(total >> 8), UInt8(total & 0xFF),
            UInt8(identification >> 8), UInt8(identification & 0xFF),
            UInt8(flagsAndOffset >> 8), UInt8(flagsAndOffset & 0xFF),
            64, protocolNumber, 0, 0] + source + destination + payload
}

/// Runs frames of one link type through a fresh `Analyzer`; `finish` is left to the caller.
struct AnalyzerRun {
    var analyzer = Analyzer(options: AnalysisOptions())
    var transactions: [Transaction] = []
    var frame = 0

    mutating func process(_ bytes: [UInt8], at seconds: Double, originalLength: Int? = nil, linkType: LinkType = .raw) {
        frame += 1
        var emitted: [Transaction] = []
        bytes.withUnsafeBytes { buffer in
            analyzer.process(frame: frame, time: Timestamp(nanoseconds: Int64(seconds * 1e9)), bytes: buffer,
                             originalLength: originalLength ?? bytes.count, linkType: linkType) { emitted.append($0) }
        }
        transactions += emitted
    }

    mutating func finish() {
        var emitted: [Transaction] = []
        analyzer.finish { emitted.append($0) }
        transactions += emitted
    }
}

/// Bytes of a reproducer from hex text (whitespace ignored), as libFuzzer's artifacts
/// are dumped by `xxd -p`.
func bytes(hex: String) -> [UInt8] {
    let digits = hex.unicodeScalars.compactMap { UInt8(String($0), radix: 16) }
    return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
}
