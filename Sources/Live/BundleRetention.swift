import Foundation

/// Keeps the bundles `--export-on-finding` wrote into a folder under a total size
/// (`--export-max-bytes`), removing the oldest first.
///
/// Only what is recognisably a dnstrail bundle is ever removed: a directory directly in the
/// folder whose name starts with `namePrefix` and that holds a manifest.json. Anything else
/// in the folder is left alone (and not counted). Names start with a UTC timestamp, so
/// their order is their age. The bundle just written (`keeping`) is never removed, even when
/// it alone exceeds the cap.
public enum BundleRetention {
    public static let namePrefix = "dnstrail-"

    public struct Bundle: Equatable, Sendable {
        public var name: String
        public var bytes: Int64
    }

    /// The bundles in `folder`, oldest first, with their sizes.
    public static func bundles(in folder: String) -> [Bundle] {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: folder) else { return [] }
        var result: [Bundle] = []
        for name in names.sorted() where name.hasPrefix(namePrefix) {
            let path = folder + "/" + name
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
                  manager.fileExists(atPath: path + "/manifest.json") else { continue }
            result.append(Bundle(name: name, bytes: size(of: path)))
        }
        return result
    }

    /// Removes the oldest bundles of `folder` until the rest take at most `maximumBytes`;
    /// returns the names removed.
    @discardableResult
    public static func enforce(folder: String, maximumBytes: Int64, keeping newest: String?) -> [String] {
        var bundles = bundles(in: folder)
        var total = bundles.reduce(Int64(0)) { $0 + $1.bytes }
        var removed: [String] = []
        while total > maximumBytes, let oldest = bundles.first(where: { $0.name != newest }) {
            bundles.removeAll { $0.name == oldest.name }
            guard (try? FileManager.default.removeItem(atPath: folder + "/" + oldest.name)) != nil else { break }
            total -= oldest.bytes
            removed.append(oldest.name)
        }
        return removed
    }

    /// Bytes of the regular files under `path` (symbolic links not followed).
    static func size(of path: String) -> Int64 {
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        while let relative = enumerator.nextObject() as? String {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + relative),
                  attributes[.type] as? FileAttributeType == .typeRegular,
                  let size = attributes[.size] as? NSNumber else { continue }
            total += size.int64Value
        }
        return total
    }
}
