/// The capture itself lost or cut packets: unanswered may not mean dropped.
struct CaptureIncompleteRule: DiagnosisRule {
    static let kind = FindingKind.captureIncomplete

    func findings(_ observed: ObservedState, _ context: DiagnosisContext) -> [Finding] {
        guard context.isIncomplete || context.cutDNSMessages > 0 || context.damagedTCPDirections > 0
            || context.incompleteFragmentSets > 0 else { return [] }
        let unanswered = observed.sources.values.reduce(0) { $0 + $1.counts.unanswered }
        var reasons: [String] = []
        if context.kernelDropped > 0 || context.interfaceDropped > 0 {
            reasons.append("the kernel dropped \(counted(Int(context.kernelDropped), "packet", "packets")) "
                           + "(interface: \(context.interfaceDropped))")
        }
        if context.pipelineDroppedMessages > 0 {
            reasons.append("the analysis dropped " + counted(context.pipelineDroppedMessages, "DNS message", "DNS messages")
                           + " because its pairing threads fell behind")
        }
        reasons += context.damagedInputs
        if context.cutDNSMessages > 0 {
            reasons.append(counted(context.cutDNSMessages, "DNS message was", "DNS messages were") + " cut by the snaplen")
        }
        if context.damagedTCPDirections > 0 {
            reasons.append(counted(context.damagedTCPDirections, "TCP stream had", "TCP streams had") + " gaps")
        }
        if context.incompleteFragmentSets > 0 {
            reasons.append(counted(context.incompleteFragmentSets, "fragmented datagram", "fragmented datagrams") + " never completed")
        }
        var counts = [("kernel_dropped", Int(context.kernelDropped)), ("interface_dropped", Int(context.interfaceDropped)),
                      ("cut_dns_messages", context.cutDNSMessages), ("damaged_tcp_directions", context.damagedTCPDirections),
                      ("incomplete_fragment_sets", context.incompleteFragmentSets)]
        // Only when there were any: a count no offline run can have.
        if context.pipelineDroppedMessages > 0 { counts.append(("pipeline_dropped_messages", context.pipelineDroppedMessages)) }
        return [Finding(
            kind: Self.kind, confidence: context.isIncomplete ? .high : .medium,
            title: "The capture is incomplete: " + reasons.joined(separator: "; "),
            explanation: "The capture lost or cut packets, so \(unanswered) unanswered quer\(unanswered == 1 ? "y" : "ies") may "
                + "have been answered without the capture seeing it. Findings above are weaker for it.",
            counts: counts,
            sources: [], servers: [], examples: [],
            remediation: "Capture again with a larger buffer (dnstrail live uses 32 MiB; tcpdump -B 65536), a full snaplen "
                + "(-s 0), and a filter limited to DNS, on a less loaded moment or interface."
                + (context.pipelineDroppedMessages > 0
                    ? " For the messages dnstrail itself dropped: give `live` more --threads (cores), or write the capture "
                        + "to a file (tcpdump -w, or --export-on-finding) and analyse it offline, where nothing is dropped."
                    : ""),
            frames: [])]
    }
}
