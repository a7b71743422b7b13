/// A live run's cumulative capture figures, as its status tick has them: the metrics
/// derived from them are counters, advanced by the difference to the previous tick.
public struct MetricsStatus: Sendable, Equatable {
    /// Frames captured and analysed so far (`PacketStatistics.frames`).
    public var packets: Int
    /// Packets the kernel dropped because the capture buffer was full (pcap_stats `ps_drop`).
    public var kernelDropped: UInt64
    /// Packets the interface or its driver dropped (pcap_stats `ps_ifdrop`).
    public var interfaceDropped: UInt64
    /// DNS messages a live run on several threads dropped because its pairing threads fell
    /// behind (`PipelineDrops.messages`; 0 with one thread).
    public var pipelineDropped: UInt64
    /// Payloads on a DNS port whose header or question did not parse, by reason
    /// (`PacketStatistics.malformedDNS`).
    public var malformed: [String: Int]
    /// Queries sent and not yet answered nor past their deadline.
    public var inFlight: Int

    public init(packets: Int, kernelDropped: UInt64 = 0, interfaceDropped: UInt64 = 0, pipelineDropped: UInt64 = 0,
                malformed: [String: Int] = [:], inFlight: Int) {
        self.packets = packets
        self.pipelineDropped = pipelineDropped
        self.kernelDropped = kernelDropped
        self.interfaceDropped = interfaceDropped
        self.malformed = malformed
        self.inFlight = inFlight
    }
}
