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

/// Copies the frames named in `comments` from `inputs` — read in run order, frame numbers
/// continuing across files exactly as the analysis numbered them — into a pcapng file,
/// each packet with its comment (the finding it is evidence for). One pcapng interface per
/// link type met. Returns how many packets were written.
public func writeEvidenceCapture(
    inputs: [String], comments: [Int: String], to path: String, toolVersion: String, sectionComment: String?
) throws(EvidenceCaptureError) -> Int {
    let writer: PcapngWriter
    do {
        writer = try PcapngWriter(path: path, toolVersion: toolVersion, sectionComment: sectionComment)
    } catch {
        throw .evidence(error)
    }
    var interfaces: [LinkType: Int] = [:]
    var written = 0
    var nextFrame = 1
    for input in inputs {
        let capture: OfflineCapture
        do {
            capture = try OfflineCapture(path: input, firstFrameNumber: nextFrame)
        } catch {
            throw .capture(error)
        }
        var frames = 0
        reading: while true {
            switch capture.next() {
            case .frame(let frame):
                frames += 1
                guard let comment = comments[frame.number] else { continue }
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
                                     bytes: frame.bytes, comment: comment)
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
