#if canImport(Glibc)
import Glibc
#endif
import Evidence
import Foundation
import FuzzSupport

/// Writes a fresh copy of the template bundle and its input capture, then edits it as the
/// fuzzer bytes say. Input layout (after the target's first byte, bit 0: check inputs),
/// up to 16 operations, all optional:
///
///     op      1 byte   bits 0-3 what (below); the bytes after it choose how
///       0  manifest field   which field 1, value 1 (names, paths, hashes, sizes, wrong types)
///       1  manifest bytes   position 2, byte 1 (after the manifest is serialised; 0xFF cuts there)
///       2  file → symlink   which file 1, target 1 (outside, ../.., /dev/zero, the FIFO, a bundle file, itself)
///       3  file → other     which file 1, what 1 (FIFO, directory, deleted, cut, grown, flipped, sparse 1 TB)
///       4  manifest.json    what 1 (symlink outside or to /dev/zero or the FIFO, FIFO, directory, deleted,
///                           sparse, a copy of the outside manifest)
///       5  extra entry      name 1, kind 1
///       6  input capture    what 1 (FIFO, symlink to /dev/zero, deleted, changed, sparse)
///       7  input path       value 1 (the manifest's first input)
///       8+ nothing
struct BundleMutation {
    let template: BundleTemplate
    var manifest: [String: Any]
    var rawEdits: [(position: Int, byte: UInt8)] = []
    /// What was done, for the message of a broken invariant.
    private(set) var log: [String] = []
    /// Set by `apply` from what is on disk then: the manifest differs from the template's.
    private(set) var manifestChanged = false
    /// A file of the bundle (not the manifest) differs, vanished or was added.
    private(set) var contentChanged = false
    /// The input capture at the recorded path is no longer the template's.
    private(set) var inputChanged = false
    /// Names in the outside directory that the manifest's inputs point at: verify may
    /// read those when asked to check inputs.
    private(set) var outsideInputNames = Set<String>()
    private var manifestReplaced = false

    init(template: BundleTemplate) {
        self.template = template
        manifest = template.manifest
        let manager = FileManager.default
        _ = try? manager.removeItem(atPath: template.work)
        do {
            try manager.createDirectory(atPath: template.bundle, withIntermediateDirectories: true)
            try manager.createDirectory(atPath: template.inputDirectory, withIntermediateDirectories: true)
            try Data(template.captureBytes).write(to: URL(fileURLWithPath: template.input))
            unlink(template.outside + "/hardlinked")
            try Data("a file outside, hard-linked into the bundle\n".utf8)
                .write(to: URL(fileURLWithPath: template.outside + "/hardlinked"))
            for file in template.files {
                try Data(file.bytes).write(to: URL(fileURLWithPath: template.bundle + "/" + file.name))
            }
        } catch {
            fuzzExpect(false, "cannot copy the template bundle: \(error)")
        }
    }

    func cleanUp() { _ = try? FileManager.default.removeItem(atPath: template.work) }

    /// Values a manifest string or number field is set to.
    var values: [Any] {
        let outside = template.outside
        return [
            "../../outside/secret", outside + "/secret", "/dev/zero", outside + "/fifo", "..", ".", "", "manifest.json",
            "a/b", "x\u{0}y", "evidence.pcapng", ".manifest.json.partial", String(repeating: "n", count: 300),
            "report.json/", "ghost", "/proc/self/fd/0", outside + "/capture.pcap", "\u{1B}[2Jfz\nFAKE",
            String(repeating: "0", count: 64), String(repeating: "F", count: 64), "sha256", "../bundle/report.json",
            -1, 0, 1, Int.max, Int.min, 1 << 53 + 1, 1e300, -0.5, 18_446_744_073_709_551_615.0, true, NSNull(),
            [Any](), [String: Any](), "12",
        ]
    }

    var fileNames: [String] { template.files.map(\.name) }

    mutating func apply(_ input: inout FuzzInput) {
        for _ in 0..<16 where !input.isAtEnd {
            switch input.byte() & 0x0F {
            case 0: setManifestField(input.byte(), input.byte())
            case 1:
                rawEdits.append((Int(input.uint16()), input.byte()))
                manifestEdited = true
                log.append("manifest byte \(rawEdits[rawEdits.count - 1])")
            case 2: symlinkFile(input.byte(), input.byte())
            case 3: replaceFile(input.byte(), input.byte())
            case 4: replaceManifest(input.byte())
            case 5: addEntry(input.byte(), input.byte())
            case 6: replaceInput(input.byte())
            case 7:
                let value = values[Int(input.byte()) % values.count]
                var inputs = manifest["inputs"] as? [[String: Any]] ?? []
                if inputs.isEmpty { inputs.append(["sha256": String(repeating: "0", count: 64), "bytes": 0]) }
                inputs[0]["path"] = value
                manifest["inputs"] = inputs
                noteInputPath(value)
                manifestEdited = true
                log.append("input path = \(value)")
            default: break
            }
        }
        writeManifest()
        measureChanges()
    }

    private var manifestEdited = false

    /// Sets the change flags from the bundle as it now is (edits may cancel out).
    mutating func measureChanges() {
        let bundle = template.bundle
        manifestChanged = contents(bundle + "/" + EvidenceBundle.manifestFileName) != template.manifestBytes
        let present = Set((try? FileManager.default.contentsOfDirectory(atPath: bundle)) ?? [])
        contentChanged = present != Set(fileNames + [EvidenceBundle.manifestFileName])
            || template.files.contains { contents(bundle + "/" + $0.name) != $0.bytes }
        inputChanged = contents(template.input) != template.captureBytes
    }

    /// The bytes of a regular file (not through a symlink) of at most 16 MB, else nil.
    func contents(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var information = stat()
        guard fstat(descriptor, &information) == 0, information.st_mode & S_IFMT == S_IFREG,
              information.st_size <= 16 << 20 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(information.st_size))
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        return count == bytes.count ? bytes : nil
    }

    func isRegular(_ path: String) -> Bool {
        var information = stat()
        return lstat(path, &information) == 0 && information.st_mode & S_IFMT == S_IFREG
    }

    /// Inputs named by an absolute path into the outside directory may be read.
    mutating func noteInputPath(_ value: Any) {
        guard let path = value as? String, path.hasPrefix(template.outside + "/") else { return }
        outsideInputNames.insert(String(path.dropFirst(template.outside.count + 1)))
    }

    mutating func setManifestField(_ which: UInt8, _ valueChoice: UInt8) {
        let value = values[Int(valueChoice) % values.count]
        manifestEdited = true
        let index = Int(which >> 4)
        switch which & 0x0F {
        case 0...2:
            var files = manifest["files"] as? [[String: Any]] ?? []
            guard !files.isEmpty else { return }
            let key = ["name", "sha256", "bytes"][Int(which & 0x0F)]
            files[index % files.count][key] = value
            manifest["files"] = files
            log.append("files[\(index % files.count)].\(key) = \(value)")
        case 3, 4:
            let key = which & 0x0F == 3 ? "sha256" : "bytes"
            var inputs = manifest["inputs"] as? [[String: Any]] ?? []
            guard !inputs.isEmpty else { return }
            inputs[0][key] = value
            manifest["inputs"] = inputs
            log.append("inputs[0].\(key) = \(value)")
        case 5:
            var files = manifest["files"] as? [[String: Any]] ?? []
            files.append(["name": value, "sha256": String(repeating: "0", count: 64), "bytes": 0])
            manifest["files"] = files
            log.append("files += \(value)")
        case 6:
            var files = manifest["files"] as? [[String: Any]] ?? []
            guard !files.isEmpty else { return }
            files.remove(at: index % files.count)
            manifest["files"] = files
            log.append("files[\(index)] removed")
        case 7:
            var inputs = manifest["inputs"] as? [[String: Any]] ?? []
            inputs.append(["path": value, "sha256": String(repeating: "0", count: 64), "bytes": 0])
            manifest["inputs"] = inputs
            noteInputPath(value)
            log.append("inputs += \(value)")
        default:
            let keys = ["manifest_version", "tool", "command_line", "created", "host", "capture_time_range", "inputs", "files"]
            let key = keys[Int(which) % keys.count]
            manifest[key] = which & 0x80 != 0 ? nil : value
            log.append("\(key) = \(which & 0x80 != 0 ? "removed" : "\(value)")")
        }
    }

    /// Targets of a symlink replacing a file: outside (absolute and relative), devices,
    /// the FIFO, a loop, another bundle file.
    func linkTarget(_ choice: UInt8, selfName: String) -> String {
        let targets = [template.outside + "/secret", "../../outside/secret", "/dev/zero", template.outside + "/fifo",
                       template.outside + "/manifest.json", selfName, fileNames[0], "/dev/urandom", "nowhere",
                       template.outside, "../../outside/capture.pcap", "/proc/self/mem"]
        return targets[Int(choice) % targets.count]
    }

    mutating func symlinkFile(_ which: UInt8, _ target: UInt8) {
        let name = fileNames[Int(which) % fileNames.count]
        let path = template.bundle + "/" + name
        let destination = linkTarget(target, selfName: name)
        unlink(path)
        symlink(destination, path)
        log.append("\(name) -> \(destination)")
    }

    mutating func replaceFile(_ which: UInt8, _ what: UInt8) {
        let name = fileNames[Int(which) % fileNames.count]
        let path = template.bundle + "/" + name
        switch what % 8 {
        case 0:
            unlink(path)
            mkfifo(path, 0o600)
            log.append("\(name) is a FIFO")
        case 1:
            unlink(path)
            mkdir(path, 0o700)
            log.append("\(name) is a directory")
        case 2:
            unlink(path)
            log.append("\(name) deleted")
        case 3:
            if isRegular(path) { truncate(path, off_t(what >> 3)) }
            log.append("\(name) cut to \(what >> 3) bytes")
        case 4:
            appendBytes(path, [what])
            log.append("\(name) grown by a byte")
        case 5:
            if isRegular(path) { flipByte(path, at: Int(what >> 3)) }
            log.append("\(name) byte \(what >> 3) flipped")
        case 6:
            if isRegular(path) { truncate(path, off_t(1) << 40 + 13) }
            log.append("\(name) sparse 1 TB")
        default:
            // A hard link to a file outside: a regular file in the bundle, same bytes as the secret.
            unlink(path)
            link(template.outside + "/hardlinked", path)
            log.append("\(name) hard link to outside/hardlinked")
        }
    }

    mutating func replaceManifest(_ what: UInt8) {
        let path = template.bundle + "/" + EvidenceBundle.manifestFileName
        manifestReplaced = true
        unlink(path)
        switch what % 9 {
        case 0: symlink(template.outside + "/manifest.json", path)
        case 1: symlink("../../outside/manifest.json", path)
        case 2: symlink("/dev/zero", path)
        case 3: symlink(template.outside + "/fifo", path)
        case 4: mkfifo(path, 0o600)
        case 5: mkdir(path, 0o700)
        case 6: break  // deleted
        case 7:
            writeBytes(path, template.manifestBytes)
            truncate(path, off_t(1) << 40 + 13)
        default:
            symlink(template.outside + "/secret", path)
        }
        log.append("manifest.json replaced (\(what % 9))")
    }

    mutating func addEntry(_ nameChoice: UInt8, _ kind: UInt8) {
        let names = ["extra", "...", ".hidden", "name\nnewline", "\u{1B}[2J", ".manifest.json.partial", "-", " "]
        let name = names[Int(nameChoice) % names.count]
        let path = template.bundle + "/" + name
        switch kind % 5 {
        case 0: writeBytes(path, [kind])
        case 1: mkfifo(path, 0o600)
        case 2: symlink("/dev/zero", path)
        case 3: symlink(template.outside + "/secret", path)
        default: mkdir(path, 0o700)
        }
        log.append("added '\(name)' (\(kind % 5))")
    }

    mutating func replaceInput(_ what: UInt8) {
        let path = template.input
        switch what % 6 {
        case 0:
            unlink(path)
            mkfifo(path, 0o600)
        case 1:
            unlink(path)
            symlink("/dev/zero", path)
        case 2: unlink(path)
        case 3: if isRegular(path) { flipByte(path, at: Int(what >> 3)) }
        case 4: if isRegular(path) { truncate(path, off_t(1) << 40 + 13) }
        default:
            unlink(path)
            symlink(template.outside + "/capture.pcap", path)
            outsideInputNames.insert("capture.pcap")
        }
        log.append("input capture replaced (\(what % 6))")
    }

    /// Writes the (edited) manifest unless manifest.json was replaced by something else.
    mutating func writeManifest() {
        guard !manifestReplaced else { return }
        var bytes = template.manifestBytes
        if manifestEdited {
            if let data = try? JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys]) {
                bytes = Array(data)
            }
            for edit in rawEdits where !bytes.isEmpty {
                let position = edit.position % bytes.count
                if edit.byte == 0xFF { bytes.removeSubrange(position...) } else { bytes[position] = edit.byte }
            }
        }
        writeBytes(template.bundle + "/" + EvidenceBundle.manifestFileName, bytes)
    }

    func writeBytes(_ path: String, _ bytes: [UInt8]) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK, 0o600)
        guard descriptor >= 0 else { return }
        bytes.withUnsafeBytes { buffer in _ = write(descriptor, buffer.baseAddress, buffer.count) }
        close(descriptor)
    }

    func appendBytes(_ path: String, _ bytes: [UInt8]) {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else { return }
        bytes.withUnsafeBytes { buffer in _ = write(descriptor, buffer.baseAddress, buffer.count) }
        close(descriptor)
    }

    func flipByte(_ path: String, at position: Int) {
        let descriptor = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else { return }
        var byte: UInt8 = 0
        if pread(descriptor, &byte, 1, off_t(position)) == 1 {
            byte ^= 0xFF
            _ = pwrite(descriptor, &byte, 1, off_t(position))
        }
        close(descriptor)
    }
}
