import Pipeline
import Testing
import WireCore

@Suite struct PipelineRegressionTests {
    /// Found while writing FuzzPipeline: `Analyzer` started with `lastSweep` at
    /// `Int64.min`, and `time - lastSweep` wrapped to a negative number for every capture
    /// time after 1970, so the once-a-second reassembly sweep never ran: incomplete
    /// fragment sets and idle TCP connections stayed until the end of the run.
    @Test func test_reassemblySweepRunsOnCaptureTime() {
        var run = AnalyzerRun()
        // The first of two IPv4 fragments of a UDP datagram (MF set, offset 0).
        run.process(ipv4Packet(protocolNumber: 17, flagsAndOffset: 0x2000, [UInt8](repeating: 0, count: 16)),
                    at: 1_700_000_000)
        #expect(run.analyzer.fragments.statistics.datagrams == 1)
        // Anything 31 s later (past the 30 s fragment timeout) sweeps it away.
        run.process(ipv4Packet(protocolNumber: 6, [UInt8](repeating: 0, count: 20)), at: 1_700_000_031)
        #expect(run.analyzer.fragments.statistics.incompleteExpired == 1)
        #expect(run.analyzer.fragments.statistics.datagrams == 0)
    }
}
