import Foundation
import Testing

/// The public captures beside the project (`../shared/captures-public`, or
/// `DNSTRAIL_PUBLIC_CAPTURES`): tests that read them are skipped where the folder is missing
/// (a clone outside this workplace), unless `DNSTRAIL_REQUIRE_PUBLIC_CAPTURES=1` (CI) makes
/// them run, and fail, instead.
public enum PublicCaptures {
    public static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["DNSTRAIL_PUBLIC_CAPTURES"] {
            return URL(fileURLWithPath: override)
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/captures-public")
    }()
    public static var isPresent: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
    public static var isRequired: Bool { ProcessInfo.processInfo.environment["DNSTRAIL_REQUIRE_PUBLIC_CAPTURES"] == "1" }
    /// Run the tests that read them: present, or required (then a missing folder fails them).
    public static var shouldRun: Bool { isPresent || isRequired }
    public static let skipReason: Comment = "needs ../shared/captures-public (not beside this clone)"
}
