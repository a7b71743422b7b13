import Foundation
import Testing
@testable import Attribution

/// Issue 14.3: `--pods` is bounded: a file past `FileInput.maximumBytes` (or `/dev/zero`)
/// stops with one line instead of growing until the allocator fails, and JSON nested
/// 100,000 deep is called too deep, not "not JSON".
struct SizeLimitTests {
    @Test func podsFileLargerThanTheLimitIsOneLineError() throws {
        let url = try temporaryDirectory().appendingPathComponent("big.json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(repeating: UInt8(ascii: " "), count: 300_000).write(to: url)
        let error = attributionError { () throws(AttributionError) in
            _ = try FileInput.read(path: url.path, maximumBytes: 200_000)
        }
        #expect(error == .tooLarge(path: url.path, limit: 200_000))
        #expect(error?.description.isOneLine == true)
        // Just under the limit reads whole.
        let data = try? FileInput.read(path: url.path, maximumBytes: 300_000)
        #expect(data?.count == 300_000)
    }

    @Test func devZeroStopsAtTheLimit() throws {
        let error = attributionError { () throws(AttributionError) in _ = try ClusterDirectory.load(path: "/dev/zero") }
        #expect(error == .tooLarge(path: "/dev/zero", limit: FileInput.maximumBytes))
        #expect(error?.description.hasPrefix("kubectl JSON file '/dev/zero' is larger than 64 MB") == true)
    }

    @Test func arrayNestedHundredThousandDeepIsTooDeep() throws {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = attributionError { () throws(AttributionError) in _ = try ClusterDirectory(kubectlJSON: Data(text.utf8)) }
        guard case .tooDeep(_, let detail) = error else {
            Issue.record("expected tooDeep, got \(String(describing: error))")
            return
        }
        #expect(detail == "more than 512 levels at line 1, column 513")
        #expect(error?.description.contains("nested too deep") == true)
        #expect(error?.description.isOneLine == true)
    }

    @Test func nestingWithinTheLimitIsNotTooDeep() throws {
        let text = "{\"kind\":\"List\",\"items\":[],\"x\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
        _ = try readDirectory(text)
    }

    /// A 600 MB pod name took 6.2 GB: a name, namespace or label past
    /// `maximumStringBytes` is one line naming the field.
    @Test func overlongPodNameIsOneLineError() {
        let name = String(repeating: "a", count: 5_000)
        let text = "{\"kind\":\"List\",\"items\":[{\"kind\":\"Pod\",\"metadata\":{\"name\":\"\(name)\",\"namespace\":\"x\"},"
            + "\"status\":{\"podIP\":\"10.244.1.11\"}}]}"
        let error = attributionError { () throws(AttributionError) in _ = try ClusterDirectory(kubectlJSON: Data(text.utf8)) }
        #expect(error == .stringTooLong(source: "kubectl JSON input", field: "metadata.name", length: 5_000,
                                        limit: KubectlDocumentReader.maximumStringBytes))
        #expect(error?.description.isOneLine == true)
        #expect(error?.description.hasPrefix("kubectl JSON input has a metadata.name of 5000 bytes, longer than the 1024 kept") == true)
    }

    @Test func overlongLabelValueIsOneLineError() {
        let value = String(repeating: "v", count: 2_000)
        let text = "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"x\",\"labels\":{\"app\":\"\(value)\"}},"
            + "\"status\":{\"podIP\":\"10.244.1.11\"}}"
        let error = attributionError { () throws(AttributionError) in _ = try ClusterDirectory(kubectlJSON: Data(text.utf8)) }
        #expect(error == .stringTooLong(source: "kubectl JSON input", field: "label app", length: 2_000,
                                        limit: KubectlDocumentReader.maximumStringBytes))
    }
}
