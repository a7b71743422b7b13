import WireCore

/// One frame as libpcap delivered it: a view into libpcap's buffer plus its record header.
///
/// Invariant: `bytes` is valid only until the next `next()` on the capture that returned
/// it (libpcap reuses its buffer); copy what must live longer. `bytes.count ==
/// capturedLength`, and `originalLength > capturedLength` means the snapshot length cut
/// the frame (decode what is there, flag it as truncated, do not call it malformed).
public struct CapturedFrame {
    /// 1-based, continuing across the files of one run (the caller passes the first number).
    public var number: Int
    /// Nanoseconds since the epoch; files are opened with nanosecond precision, so
    /// microsecond captures arrive with three trailing zero digits.
    public var timestamp: Timestamp
    public var capturedLength: Int
    public var originalLength: Int
    public var bytes: UnsafeRawBufferPointer
    public var linkType: LinkType

    @inlinable
    public init(
        number: Int, timestamp: Timestamp, capturedLength: Int, originalLength: Int,
        bytes: UnsafeRawBufferPointer, linkType: LinkType
    ) {
        self.number = number
        self.timestamp = timestamp
        self.capturedLength = capturedLength
        self.originalLength = originalLength
        self.bytes = bytes
        self.linkType = linkType
    }

    /// True when the snapshot length cut the frame short.
    @inlinable
    public var isTruncatedBySnapshotLength: Bool { originalLength > capturedLength }
}

/// The outcome of one read from a capture.
public enum CaptureRead {
    case frame(CapturedFrame)
    /// Live only: the read timeout expired with no packet (check a stop flag, print status).
    case timeout
    /// End of the file (offline), or the capture was stopped (live).
    case end
    /// The source failed mid-way, e.g. a file cut in the middle of a record. One line,
    /// naming the last good frame. Frames already returned stay valid results; every
    /// later `next()` returns `.end`.
    case damaged(String)
}

/// Counters from `pcap_stats`, widened to 64 bits across 32-bit wrap-around.
public struct CaptureStatistics: Sendable, Equatable {
    /// Packets the kernel handed to the capture (after the BPF filter, on Linux).
    public var received: UInt64
    /// Packets dropped because the capture buffer was full: dnstrail read too slowly.
    public var dropped: UInt64
    /// Packets the interface or its driver dropped (not every driver reports this).
    public var interfaceDropped: UInt64

    public init(received: UInt64, dropped: UInt64, interfaceDropped: UInt64) {
        self.received = received
        self.dropped = dropped
        self.interfaceDropped = interfaceDropped
    }
}
