import Capture

/// One vantage point of a `--vantage` run: a name (a node's) and its capture, possibly
/// rotated into several files read in order as one capture with one clock.
public struct VantageInput: Sendable, Equatable {
    public var name: String
    public var files: [CapturePath]

    public init(name: String, files: [CapturePath]) {
        self.name = name
        self.files = files
    }

    /// Parses `NAME=FILE[,FILE...]`; nil with why when it is not that shape.
    public static func parse(_ argument: String) -> Result<VantageInput, VantageInputError> {
        guard let equals = argument.firstIndex(of: "=") else {
            return .failure(VantageInputError(description: "--vantage '\(argument)' is not NAME=FILE[,FILE...]"))
        }
        let name = String(argument[..<equals])
        let files = argument[argument.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false)
            .map(String.init)
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) }) else {
            return .failure(VantageInputError(
                description: "--vantage '\(argument)': the name must be letters, digits, '-', '_', '.' or ':'"))
        }
        guard !files.isEmpty, !files.contains(where: \.isEmpty) else {
            return .failure(VantageInputError(description: "--vantage '\(argument)' names an empty file"))
        }
        return .success(VantageInput(name: name, files: files.map(CapturePath.init)))
    }

    /// Checks a whole `--vantage` list: at least two, names distinct, standard input at most once.
    public static func validate(_ vantages: [VantageInput]) -> VantageInputError? {
        if vantages.count == 1 {
            return VantageInputError(description: "--vantage needs at least two vantage points (one capture: give the file itself)")
        }
        if vantages.count > VantageRun.maximumVantages {
            return VantageInputError(description: "--vantage takes at most \(VantageRun.maximumVantages) vantage points")
        }
        var seen: Set<String> = []
        for vantage in vantages where !seen.insert(vantage.name).inserted {
            return VantageInputError(description: "--vantage name '\(vantage.name)' is given twice")
        }
        return nil
    }
}

/// Why a `--vantage` argument is unusable: one line for `dnstrail: ...`.
public struct VantageInputError: Error, Equatable, CustomStringConvertible {
    public var description: String
}
