import Foundation

/// An incident evidence bundle: a flat directory of regular files (captures, reports)
/// and a `manifest.json` giving the size and SHA-256 of each, so that anyone receiving
/// the bundle can check that nothing was altered, lost or slipped in.
public enum EvidenceBundle {
    public static let manifestFileName = "manifest.json"
    public static let toolName = "dnstrail"
    /// Larger manifests are refused unread: a real one lists a handful of files.
    public static let maximumManifestBytes = 4 << 20
    /// Most files a manifest may list, and entries a bundle directory may hold, for `verify`.
    public static let maximumFiles = 1024
    /// Most input captures a manifest may list (a long rotated capture has hundreds).
    public static let maximumInputs = 16384
    /// Where `writeManifest` writes before renaming, so a crash never leaves half a manifest.
    static let partialManifestFileName = ".manifest.json.partial"

    /// Hashes every file of `directory` but `manifest.json` (sorted by name) and every
    /// input capture, then writes `manifest.json` atomically and returns what it wrote.
    ///
    /// `created` is the wall-clock time of the bundle (the only wall time dnstrail records);
    /// `host` defaults to `gethostname(2)`. Throws `.unsupportedBundleEntry` if the
    /// directory holds anything but regular files, which a manifest could not cover.
    /// Call it last, once every file of the bundle (the pcapng writer's too) is closed.
    @discardableResult
    public static func writeManifest(
        directory: URL, inputs: [URL], commandLine: [String], timeRange: (first: String, last: String)?,
        toolVersion: String, created: Date = Date(), host: String? = nil
    ) throws(EvidenceError) -> EvidenceManifest {
        let directoryPath = directory.path
        let partialPath = directoryPath + "/" + partialManifestFileName
        removeFileQuietly(partialPath)

        var files: [EvidenceManifest.File] = []
        for entry in try listDirectory(path: directoryPath).sorted(by: { byUTF8($0.name, $1.name) })
        where entry.name != manifestFileName {
            guard entry.isUTF8 else { throw .unsupportedBundleEntry(name: entry.name, kind: "file whose name is not UTF-8") }
            let path = directoryPath + "/" + entry.name
            let kind = try FileKind.of(path: path)
            guard kind == .regular else { throw .unsupportedBundleEntry(name: entry.name, kind: kind.description) }
            let digest = try sha256(path: path)
            files.append(EvidenceManifest.File(name: entry.name, sha256: digest.hex, bytes: digest.bytes))
        }
        var inputRecords: [EvidenceManifest.Input] = []
        for input in inputs {
            let path = input.absoluteURL.standardizedFileURL.path
            let digest = try sha256(path: path)
            inputRecords.append(EvidenceManifest.Input(path: path, sha256: digest.hex, bytes: digest.bytes))
        }

        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.formatOptions = [.withInternetDateTime]
        let manifest = EvidenceManifest(
            tool: EvidenceManifest.Tool(name: toolName, version: toolVersion),
            commandLine: commandLine,
            created: formatter.string(from: created),
            host: host ?? localHostName(),
            captureTimeRange: timeRange.map { EvidenceManifest.TimeRange(first: $0.first, last: $0.last) },
            inputs: inputRecords,
            files: files)

        let encoded = try encode(manifest)
        let file = try PosixFile.create(path: partialPath)
        do throws(EvidenceError) {
            try file.write(encoded)
            try file.close(synchronize: true)
            try renameFile(from: partialPath, to: directoryPath + "/" + manifestFileName)
        } catch {
            removeFileQuietly(partialPath)
            throw error
        }
        return manifest
    }

    /// Reads and decodes `directory/manifest.json`, refusing unknown manifest versions, a
    /// manifest that is not a regular file (a symbolic link is refused, never followed),
    /// larger than `maximumManifestBytes`, or listing more than `maximumFiles` files or
    /// `maximumInputs` inputs.
    public static func readManifest(directory: URL) throws(EvidenceError) -> EvidenceManifest {
        let descriptor = try PosixFile.openDirectory(path: directory.path)
        defer { _ = close(descriptor) }
        return try readManifest(directoryDescriptor: descriptor, path: directory.path + "/" + manifestFileName)
    }

    static func readManifest(directoryDescriptor: Int32, path: String) throws(EvidenceError) -> EvidenceManifest {
        let contents: [UInt8]
        do throws(EvidenceError) {
            let (file, bytes) = try PosixFile.openRegular(
                in: directoryDescriptor, name: manifestFileName, path: path, followingSymbolicLinks: false)
            guard bytes <= maximumManifestBytes else {
                throw EvidenceError.readFailed(path: path, reason: "\(bytes) bytes, more than the \(maximumManifestBytes)-byte limit")
            }
            contents = try file.readAll(limit: maximumManifestBytes)
            try file.close(synchronize: false)
        } catch {
            switch error {
            case let .cannotOpen(_, reason), let .readFailed(_, reason): throw .manifestUnreadable(path: path, reason: reason)
            case let .notRegularFile(_, kind):
                throw .manifestUnreadable(path: path, reason: "it is a \(kind); a bundle holds only regular files")
            default: throw error
            }
        }
        let manifest: EvidenceManifest
        do {
            manifest = try JSONDecoder().decode(EvidenceManifest.self, from: Data(contents))
        } catch let error as DecodingError {
            throw .manifestInvalid(path: path, reason: describe(error, contents: contents))
        } catch {
            throw .manifestInvalid(path: path, reason: String(describing: error))
        }
        guard manifest.manifestVersion == EvidenceManifest.currentVersion else {
            throw .manifestVersionUnsupported(
                path: path, version: manifest.manifestVersion, supported: EvidenceManifest.currentVersion)
        }
        guard manifest.files.count <= maximumFiles else {
            throw .manifestInvalid(path: path, reason: "lists \(manifest.files.count) files; at most \(maximumFiles) are read")
        }
        guard manifest.inputs.count <= maximumInputs else {
            throw .manifestInvalid(path: path, reason: "lists \(manifest.inputs.count) inputs; at most \(maximumInputs) are read")
        }
        return manifest
    }

    /// Re-hashes every file the manifest lists and reports each one missing, resized,
    /// altered or not a regular file, and each file of the bundle the manifest does not list.
    /// When `checkInputs`, input captures still at their recorded path are re-hashed too;
    /// the others are listed in `inputsNotFound`, which is not a problem (bundles travel).
    ///
    /// A bundle is hostile evidence: only regular files are opened (a FIFO or device is
    /// refused without blocking, a symbolic link is never followed out of the bundle), a
    /// listed name must be a plain name inside the bundle, a file is hashed only when its
    /// size is the recorded one (and never read past it), and input paths — absolute paths
    /// anyone could have written into the manifest — are read only when `checkInputs`.
    ///
    /// Throws only when the manifest itself cannot be read or decoded, or the directory
    /// cannot be listed; everything else is a `VerificationReport.Problem`.
    public static func verify(directory: URL, checkInputs: Bool = false) throws(EvidenceError) -> VerificationReport {
        let directoryPath = directory.path
        let descriptor = try PosixFile.openDirectory(path: directoryPath)
        defer { _ = close(descriptor) }
        let manifest = try readManifest(directoryDescriptor: descriptor, path: directoryPath + "/" + manifestFileName)
        var report = VerificationReport(manifest: manifest)
        var listed = Set<String>()

        for file in manifest.files {
            guard isPlainFileName(file.name) else {
                report.problems.append(.invalidName(name: file.name))
                continue
            }
            guard listed.insert(file.name).inserted else {
                report.problems.append(.duplicateEntry(name: file.name))
                continue
            }
            let path = directoryPath + "/" + file.name
            do throws(EvidenceError) {
                let (opened, bytes) = try PosixFile.openRegular(
                    in: descriptor, name: file.name, path: path, followingSymbolicLinks: false)
                guard bytes == file.bytes else {
                    report.filesChecked += 1
                    report.problems.append(.sizeMismatch(name: file.name, expected: file.bytes, actual: bytes))
                    continue
                }
                let digest = try sha256(file: opened, limit: file.bytes)
                report.filesChecked += 1
                if digest.bytes != file.bytes {
                    report.problems.append(.sizeMismatch(name: file.name, expected: file.bytes, actual: digest.bytes))
                } else if digest.hex != file.sha256.lowercased() {
                    report.problems.append(.sha256Mismatch(name: file.name, expected: file.sha256, actual: digest.hex))
                }
            } catch {
                switch error {
                case let .notRegularFile(_, kind): report.problems.append(.notRegularFile(name: file.name, kind: kind))
                case let .cannotOpen(_, reason) where reason == noSuchFile:
                    report.problems.append(.missing(name: file.name))
                default: report.problems.append(.unreadable(name: file.name, reason: error.description))
                }
            }
        }

        let present = try listDirectory(path: directoryPath, limit: maximumFiles).map(\.name).sorted(by: byUTF8)
        for name in present where name != manifestFileName && !listed.contains(name) {
            report.problems.append(.unexpected(name: name))
        }

        guard checkInputs else { return report }
        for input in manifest.inputs {
            do throws(EvidenceError) {
                guard try FileKind.of(path: input.path) != .absent else {
                    report.inputsNotFound.append(input.path)
                    continue
                }
                let (opened, bytes) = try PosixFile.openRegular(
                    in: AT_FDCWD, name: input.path, path: input.path, followingSymbolicLinks: true)
                report.inputsChecked.append(input.path)
                guard bytes == input.bytes else {
                    report.problems.append(.inputSizeMismatch(path: input.path, expected: input.bytes, actual: bytes))
                    continue
                }
                let digest = try sha256(file: opened, limit: input.bytes)
                if digest.bytes != input.bytes {
                    report.problems.append(
                        .inputSizeMismatch(path: input.path, expected: input.bytes, actual: digest.bytes))
                } else if digest.hex != input.sha256.lowercased() {
                    report.problems.append(
                        .inputSHA256Mismatch(path: input.path, expected: input.sha256, actual: digest.hex))
                }
            } catch {
                switch error {
                case let .notRegularFile(_, kind): report.problems.append(.inputNotRegularFile(path: input.path, kind: kind))
                default: report.problems.append(.inputUnreadable(path: input.path, reason: error.description))
                }
            }
        }
        return report
    }

    /// strerror(ENOENT), which `cannotOpen` carries for a file that is not there.
    static var noSuchFile: String { String(cString: strerror(ENOENT)) }

    // MARK: - Helpers

    /// Pretty JSON, keys sorted, slashes unescaped, ending in a newline.
    static func encode(_ manifest: EvidenceManifest) throws(EvidenceError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(manifest)) + [UInt8(ascii: "\n")]
        } catch {
            throw .manifestEncodingFailed(reason: String(describing: error))
        }
    }

    /// A name the manifest may list: one path component inside the bundle, never the
    /// manifest itself. Names come from a file anyone could have edited, so "../x" or
    /// "/etc/passwd" must not make `verify` read outside the bundle.
    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && name != manifestFileName
            && !name.utf8.contains(UInt8(ascii: "/")) && !name.utf8.contains(0)
    }

    static func byUTF8(_ left: String, _ right: String) -> Bool {
        left.utf8.lexicographicallyPrecedes(right.utf8)
    }

    /// One line saying what is wrong and where: "missing key 'files'", "expected Int at files[0].bytes",
    /// "not valid JSON (Unexpected end of file during JSON parse)".
    static func describe(_ error: DecodingError, contents: [UInt8]) -> String {
        func location(_ path: [any CodingKey]) -> String {
            var text = ""
            for key in path {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + key.stringValue
                }
            }
            return text.isEmpty ? "top level" : text
        }
        switch error {
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty, let syntax = jsonSyntaxError(contents) {
                return "not valid JSON (\(syntax))"
            }
            return "invalid value at \(location(context.codingPath)): \(context.debugDescription)"
        case let .keyNotFound(key, context):
            let parent = context.codingPath.isEmpty ? "" : " in \(location(context.codingPath))"
            return "missing key '\(key.stringValue)'\(parent)"
        case let .typeMismatch(type, context):
            return "expected \(type) at \(location(context.codingPath))"
        case let .valueNotFound(type, context):
            return "expected \(type) at \(location(context.codingPath)), found null"
        @unknown default:
            return String(describing: error)
        }
    }

    /// Where the JSON syntax breaks, which `JSONDecoder` does not say on Linux; nil when
    /// the text parses.
    static func jsonSyntaxError(_ contents: [UInt8]) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: Data(contents), options: [.fragmentsAllowed])
            return nil
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            let text = (detail ?? error.localizedDescription).split(whereSeparator: \.isNewline).joined(separator: " ")
            return text.hasSuffix(".") ? String(text.dropLast()) : text
        }
    }
}
