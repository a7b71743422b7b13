import Attribution
import PacketDecoding
import WireCore

/// What the diagnosis needs besides the transactions: who is who, and how complete the
/// capture was.
public struct DiagnosisContext: Sendable {
    public var directory: ClusterDirectory
    public var timeout: Duration
    /// The time of the capture's last packet: how long a query still in flight had waited.
    public var captureEnd: Timestamp?
    public var kernelDropped: UInt64 = 0
    public var interfaceDropped: UInt64 = 0
    /// DNS messages a live run on several threads dropped because its pairing threads fell
    /// behind (`PipelineDrops.messages`): lost as surely as packets the kernel dropped.
    public var pipelineDroppedMessages = 0
    /// Inputs that ended in damage (cut mid-record), with the reason.
    public var damagedInputs: [String] = []
    /// DNS messages cut by the snaplen, TCP directions with a gap, fragment sets never completed.
    public var cutDNSMessages = 0
    public var damagedTCPDirections = 0
    public var incompleteFragmentSets = 0
    /// Interface names by index (Linux cooked v2 captures), to name where a query was last seen.
    public var interfaceNames: [Int32: String] = [:]

    public init(directory: ClusterDirectory = ClusterDirectory(), timeout: Duration, captureEnd: Timestamp? = nil) {
        self.directory = directory
        self.timeout = timeout
        self.captureEnd = captureEnd
    }

    /// Lost or damaged packets: every finding built on silence is weaker for it.
    var isIncomplete: Bool {
        kernelDropped > 0 || interfaceDropped > 0 || pipelineDroppedMessages > 0 || !damagedInputs.isEmpty
    }

    /// Interface `index` by name when known, else `interface N`.
    func interface(_ index: Int32) -> String { interfaceNames[index] ?? "interface \(index)" }

    /// `ip` with who it is, as findings name it.
    func name(_ ip: IPAddress) -> NamedAddress { NamedAddress(ip, in: directory) }
}
