/// Why a capture could not be opened or set up. Each `description` is one line a user
/// understands without knowing libpcap, e.g.
/// `cannot read capture 'notes.txt': not a pcap or pcapng file (unknown magic 0x68656c6c)`.
public enum CaptureError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file could not be opened or read at all: `reason` is the system's text
    /// (`No such file or directory`, `Is a directory`, `Permission denied`).
    case cannotOpen(path: String, reason: String)
    /// The file was read but is not a capture libpcap understands (wrong magic, empty,
    /// too short, damaged header, unsupported version).
    case notACapture(path: String, reason: String)
    /// Live capture needs CAP_NET_RAW (measured on Linux 6.18 with libpcap 1.10: enough
    /// for one interface, "any" and promiscuous mode; CAP_NET_ADMIN is not needed), and this
    /// process does not have it; `detail` is libpcap's message.
    case permissionDenied(interface: String, detail: String)
    /// The kernel refused the packet socket although this process has CAP_NET_RAW (a
    /// user namespace that does not own the network namespace, a security module).
    case permissionDeniedDespiteCapability(interface: String, detail: String)
    /// The interface went away (deleted, or its namespace gone) during a live capture,
    /// after `frames` frames; `detail` is libpcap's message.
    case interfaceWentAway(interface: String, frames: Int, detail: String)
    /// `detail` lists the interfaces that do exist, when libpcap can enumerate them.
    case noSuchInterface(interface: String, detail: String)
    /// libpcap could not compile the BPF expression; `detail` is its message.
    case invalidFilter(expression: String, detail: String)
    /// Any other live-capture failure (interface down, kernel refused the filter, …).
    case liveCaptureFailed(interface: String, detail: String)

    public var description: String {
        let text: String
        switch self {
        case let .cannotOpen(path, reason), let .notACapture(path, reason):
            text = "cannot read capture '\(path)': \(reason)"
        case let .permissionDenied(interface, detail):
            text = "live capture on '\(interface)' needs CAP_NET_RAW, which this process lacks:"
                + " run it as root or grant it with `setcap cap_net_raw=ep`" + (detail.isEmpty ? "" : " (\(detail))")
        case let .permissionDeniedDespiteCapability(interface, detail):
            text = "live capture on '\(interface)' was refused although this process has CAP_NET_RAW"
                + " (a user namespace or security module denies it)" + (detail.isEmpty ? "" : " (\(detail))")
        case let .interfaceWentAway(interface, frames, detail):
            text = "the interface '\(interface)' went away during the capture (after \(frames) frames)"
                + (detail.isEmpty ? "" : " (\(detail))") + "; the report covers what was captured"
        case let .noSuchInterface(interface, detail):
            text = "no such network interface '\(interface)'" + (detail.isEmpty ? "" : " (\(detail))")
        case let .invalidFilter(expression, detail):
            text = "invalid BPF filter '\(expression)': \(detail)"
        case let .liveCaptureFailed(interface, detail):
            text = "live capture on '\(interface)' failed: \(detail)"
        }
        return singleLine(text)
    }
}

/// Replaces line breaks and other control characters (from paths or libpcap messages)
/// with spaces, so that a description always stays on one line.
func singleLine(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
        return text
    }
    var result = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        result.append(scalar.properties.generalCategory == .control ? " " : scalar)
    }
    return String(result)
}
