import Capture
import Evidence
import WireCore

/// Why an evidence capture could not be written: reading an input or writing the pcapng.
public enum EvidenceCaptureError: Error, CustomStringConvertible {
    case capture(CaptureError)
    case evidence(EvidenceError)

    public var description: String {
        switch self {
        case .capture(let error): error.description
        case .evidence(let error): error.description
        }
    }
}

/// A capture the evidence packets are copied from, and how its packets' comments name it.
public struct EvidenceInput: Sendable, Equatable {
    public var path: String
    /// "egress-deny.pcap", "the live capture on any".
    public var label: String

    public init(path: String, label: String) {
        self.path = path
        self.label = label
    }

    /// A capture file, named by its last path component.
    public init(file path: String) {
        self.path = path
        label = path.split(separator: "/").last.map(String.init) ?? path
    }
}

/// Copies the frames named in `comments` from `inputs` — read in run order, frame numbers
/// continuing across files exactly as the analysis numbered them — into a pcapng file.
/// Each packet's comment starts with its frame number in the analysis and its input
/// ("frame 17 of egress-deny.pcap; ") before the finding it is evidence for, because the
/// pcapng file numbers its own packets 1...N. One pcapng interface per link type met;
/// `interfaceNames` (Linux cooked v2 indexes) goes into the section header as an
/// `InterfaceNamesComment` line. Returns how many packets were written.
public func writeEvidenceCapture(
    inputs: [EvidenceInput], comments: [Int: String], to path: String, toolVersion: String, sectionComment: String?,
    interfaceNames: [Int32: String] = [:]
) throws(EvidenceCaptureError) -> Int {
    let writer: PcapngWriter
    do {
        writer = try PcapngWriter(path: path, toolVersion: toolVersion, sectionComment: sectionComment,
                                  interfaceNames: interfaceNames)
    } catch {
        throw .evidence(error)
    }
    var interfaces: [LinkType: Int] = [:]
    var written = 0
    var nextFrame = 1
    for input in inputs {
        let capture: OfflineCapture
        do {
            capture = try OfflineCapture(path: input.path, firstFrameNumber: nextFrame)
        } catch {
            throw .capture(error)
        }
        var frames = 0
        reading: while true {
            switch capture.next() {
            case .frame(let frame):
                frames += 1
                guard let finding = comments[frame.number] else { continue }
                do {
                    let interface: Int
                    if let known = interfaces[frame.linkType] {
                        interface = known
                    } else {
                        interface = try writer.addInterface(linkType: frame.linkType, snapshotLength: capture.snapshotLength,
                                                            name: nil, timestampResolutionNanoseconds: true)
                        interfaces[frame.linkType] = interface
                    }
                    try writer.write(interface: interface, timestamp: frame.timestamp, originalLength: frame.originalLength,
                                     bytes: frame.bytes, comment: "frame \(frame.number) of \(input.label); \(finding)")
                    written += 1
                } catch {
                    throw .evidence(error)
                }
            case .end, .timeout, .damaged:
                break reading
            }
        }
        nextFrame += frames
    }
    do {
        try writer.close()
    } catch {
        throw .evidence(error)
    }
    return written
}
