#if canImport(Glibc)
import Glibc
#endif
import Evidence
import Foundation
import FuzzSupport

/// `EvidenceBundle.verify` on a hostile bundle: a valid bundle (`BundleTemplate`, made once
/// per process) is copied, then edited as the fuzzer bytes say (`BundleMutation` documents
/// the layout): manifest fields and bytes rewritten, files swapped for symlinks in and out
/// of the bundle, FIFOs, `/dev/zero`, directories, sparse files of a terabyte, deleted
/// files, odd names, inputs pointed anywhere.
///
/// Verify must return or throw within `maximumVerifySeconds`, never hang (run with
/// `-timeout=10`), and never open or read a
/// file outside the bundle (an inotify watch on the outside directory), except an input
/// capture the manifest names when inputs are checked. Its verdict must be right where it is
/// known: an untouched bundle is valid; a bundle holding anything but regular files, or
/// whose files changed while the manifest did not, is not.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVerify(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let template = BundleTemplate.shared
    var input = FuzzInput(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    let checkInputs = input.byte() & 1 != 0
    var mutation = BundleMutation(template: template)
    mutation.apply(&input)
    _ = OutsideWatch.shared.drain()

    let started = monotonicSeconds()
    let outcome: Result<VerificationReport, any Error>
    do {
        outcome = .success(try EvidenceBundle.verify(directory: URL(fileURLWithPath: template.bundle), checkInputs: checkInputs))
    } catch {
        outcome = .failure(error)
    }
    let elapsed = monotonicSeconds() - started
    // A hang shows as a libFuzzer timeout, or as this: libFuzzer's alarm (every
    // timeout/2 + 1 s) interrupts a blocked open() of a FIFO, which verify then reports as
    // "Interrupted system call" as though nothing had happened.
    fuzzExpect(elapsed < maximumVerifySeconds,
               "verify took \(elapsed) s on a bundle of a few KB (\(mutation.log.joined(separator: "; ")))")

    let touched = OutsideWatch.shared.drain()
    let allowed = checkInputs ? mutation.outsideInputNames : []
    for name in touched where !allowed.contains(name) {
        fuzzExpect(false, "verify opened or read '\(name)' outside the bundle (\(mutation.log.joined(separator: "; ")))")
    }
    switch outcome {
    case .failure(let error):
        fuzzLog("verify threw: \(error) after \(mutation.log)")
    case .success(let report):
        fuzzLog("verify: \(report.isValid ? "valid" : "invalid") \(report.problemLines) after \(mutation.log)")
        if !mutation.contentChanged && !mutation.manifestChanged && !(checkInputs && mutation.inputChanged) {
            fuzzExpect(report.isValid, "an untouched bundle does not verify: \(report.problemLines) "
                       + "(\(mutation.log.joined(separator: "; ")))")
        }
        if report.isValid {
            fuzzExpect(!mutation.contentChanged || mutation.manifestChanged,
                       "verify accepts changed files under the original manifest (\(mutation.log.joined(separator: "; ")))")
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: template.bundle)) ?? [] {
                var information = stat()
                let isRegular = lstat(template.bundle + "/" + entry, &information) == 0
                    && information.st_mode & S_IFMT == S_IFREG
                fuzzExpect(isRegular, "verify accepts a bundle whose '\(entry)' is not a regular file "
                           + "(\(mutation.log.joined(separator: "; ")))")
            }
        }
    }
    mutation.cleanUp()
    return 0
}

/// Verify reads a bundle of a few kilobytes: anything near this long is a hang.
let maximumVerifySeconds = 4.0

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// An inotify watch on the directory outside the bundle: which of its files were opened or
/// read since the last drain.
final class OutsideWatch {
    nonisolated(unsafe) static let shared = OutsideWatch(directory: BundleTemplate.shared.outside)
    let descriptor: Int32

    init(directory: String) {
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        fuzzExpect(descriptor >= 0, "inotify_init1 failed")
        let watch = inotify_add_watch(descriptor, directory, UInt32(IN_OPEN | IN_ACCESS))
        fuzzExpect(watch >= 0, "inotify_add_watch failed")
    }

    /// Names of files (not the directory itself) opened or read since the last call.
    func drain() -> Set<String> {
        var names = Set<String>()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            var offset = 0
            while offset + 16 <= count {
                let mask = UInt32(buffer[offset + 4]) | UInt32(buffer[offset + 5]) << 8
                    | UInt32(buffer[offset + 6]) << 16 | UInt32(buffer[offset + 7]) << 24
                let length = Int(buffer[offset + 12]) | Int(buffer[offset + 13]) << 8
                    | Int(buffer[offset + 14]) << 16 | Int(buffer[offset + 15]) << 24
                let nameBytes = buffer[(offset + 16)..<min(count, offset + 16 + length)].prefix { $0 != 0 }
                if mask & UInt32(IN_ISDIR) == 0 { names.insert(String(decoding: nameBytes, as: UTF8.self)) }
                offset += 16 + length
            }
        }
        return names
    }
}
