import Foundation
import Testing
import Attribution
import PacketDecoding

/// Parses an address written in a test; a typo fails the test instead of crashing it.
func address(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> IPAddress {
    try #require(IPAddress(text), "not an address: \(text)", sourceLocation: sourceLocation)
}

func readDirectory(_ json: String) throws -> ClusterDirectory {
    try ClusterDirectory(kubectlJSON: Data(json.utf8))
}

/// The error `body` throws, or nil (and a recorded issue) when it does not throw.
func attributionError(_ body: () throws(AttributionError) -> Void,
                      sourceLocation: SourceLocation = #_sourceLocation) -> AttributionError? {
    do {
        try body()
    } catch {
        return error
    }
    Issue.record("expected an AttributionError", sourceLocation: sourceLocation)
    return nil
}

/// A fresh temporary directory removed by the caller.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("dnstrail-attribution-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

extension String {
    var isOneLine: Bool { !contains("\n") && !contains("\r") && !isEmpty }
}
