import Attribution
import DNSWire
import PacketDecoding
import Testing
import WireCore
@testable import Diagnosis
@testable import Transactions

/// ResolverThrottledRule: losses towards one resolver that rise with the query rate.
struct ResolverThrottledRuleTests {
    typealias Shapes = DiagnoserTests

    func findings(_ transactions: [Transaction]) -> [Finding] { Shapes().findings(transactions) }

    /// `perSecond` queries in each of `seconds` seconds from `start`; every `lostEvery`-th
    /// (0: none) unanswered.
    static func traffic(
        from client: String = "10.0.0.5", to server: String = "169.254.169.253", start: Int, seconds: Int, perSecond: Int,
        lostEvery: Int, firstID: Int
    ) -> [Transaction] {
        var transactions: [Transaction] = []
        for second in 0..<seconds {
            for index in 0..<perSecond {
                let number = firstID + second * perSecond + index
                let lost = lostEvery > 0 && index % lostEvery == 0
                let at = Int64((start + second) * 1000) + Int64(index * 900 / perSecond)
                transactions.append(Shapes.transaction(
                    client: client, port: UInt16(20000 + number % 40000), server: server, at: at, id: UInt16(number % 65536),
                    name: "q\(number).example.", outcome: lost ? .unanswered : .answered, frame: number * 3 + 1))
            }
        }
        return transactions
    }

    /// 10 queries a second all answered, then 300 a second with one in three lost (the
    /// limit exceeded), then quiet again: the Amazon resolver's throttling.
    @Test func lossesRisingWithTheRateAreThrottling() throws {
        let transactions = Self.traffic(start: 0, seconds: 5, perSecond: 10, lostEvery: 0, firstID: 0)
            + Self.traffic(start: 5, seconds: 3, perSecond: 300, lostEvery: 3, firstID: 1000)
            + Self.traffic(start: 8, seconds: 3, perSecond: 10, lostEvery: 0, firstID: 5000)
        let result = findings(transactions)
        #expect(result.map(\.kind) == [.resolverThrottled])
        let finding = try #require(result.first)
        #expect(finding.confidence == .high)
        #expect(finding.title == "Resolver 169.254.169.253 drops queries from 10.0.0.5 at high rates: 33.3% lost at 256/s or more, 0.0% below")
        #expect(finding.counts.first { $0.0 == "lost_attempts_at_high_rate" }?.1 == 300)
        #expect(finding.counts.first { $0.0 == "attempts_at_low_rate" }?.1 == 80)
        #expect(finding.counts.first { $0.0 == "peak_rate_per_second" }?.1 == 300)
        #expect(finding.explanation.contains("Query rate in the seconds with losses: 300/s (100 lost), 300/s (100 lost), 300/s (100 lost)."))
        #expect(finding.explanation.contains("169.254.169.253 is the Amazon VPC resolver's address; it drops DNS packets above 1024 per second"))
    }

    /// A blocked path loses everything at every rate: not throttling (egress-blocked says it).
    @Test func lossAtEveryRateIsNotThrottling() {
        let transactions = Self.traffic(start: 0, seconds: 5, perSecond: 10, lostEvery: 1, firstID: 0)
            + Self.traffic(start: 5, seconds: 3, perSecond: 300, lostEvery: 1, firstID: 1000)
        #expect(!findings(transactions).contains { $0.kind == .resolverThrottled })
    }

    /// The same small loss at low and high rates is plain loss, not a rate limit.
    @Test func lossIndependentOfTheRateIsNotThrottling() {
        let transactions = Self.traffic(start: 0, seconds: 10, perSecond: 20, lostEvery: 10, firstID: 0)
            + Self.traffic(start: 10, seconds: 3, perSecond: 300, lostEvery: 10, firstID: 1000)
        #expect(!findings(transactions).contains { $0.kind == .resolverThrottled })
    }

    /// Hours of traffic fold into rate bins: bounded memory, and the pattern still found.
    @Test func longCapturesFoldIntoRateBins() throws {
        var rule = ResolverThrottledRule()
        var observations = Observations()
        var number = 0
        for second in 0..<2_000 {
            let burst = second % 100 == 50
            let perSecond = burst ? 200 : 4
            for index in 0..<perSecond {
                let lost = burst && index % 2 == 0
                let transaction = Shapes.transaction(
                    client: "10.0.0.5", port: UInt16(20000 + number % 40000), server: "10.0.0.2",
                    at: Int64(second * 1000 + index * 900 / perSecond), id: UInt16(number % 65536),
                    name: "q\(number).example.", outcome: lost ? .unanswered : .answered, frame: number * 3 + 1)
                number += 1
                let slot = observations.add(transaction)
                #expect(slot != nil)
                rule.observe(transaction, source: slot ?? 0)
            }
        }
        #expect(rule.secondsHeld <= ResolverThrottledRule.maximumSecondsPerPair)
        let context = DiagnosisContext(timeout: .seconds(5))
        let found = rule.findings(ObservedState(observations, context: context), context)
        let finding = try #require(found.first)
        #expect(finding.counts.first { $0.0 == "lost_attempts_at_high_rate" }?.1 == 20 * 100)
        #expect(finding.confidence == .high)
        #expect(finding.explanation.contains("other resolvers have rate limits too"))
    }

    /// The seconds quoted as evidence are the first ones with losses, in time order, on every
    /// run: folding walked a dictionary, whose order changes from process to process, and
    /// quoted whichever folded seconds came first (two runs of one 16-million-frame capture
    /// gave two reports).
    @Test func quotedSecondsAreTheFirstWithLossesWhateverTheRun() throws {
        var transactions: [Transaction] = []
        var number = 0
        for second in 0..<2_000 {
            // Every other second a burst, at a rate of its own: a fold takes dozens of them.
            let burst = second % 2 == 0
            let perSecond = burst ? 200 + (second / 2) % 50 : 4
            for index in 0..<perSecond {
                transactions.append(Shapes.transaction(
                    client: "10.0.0.5", port: UInt16(20000 + number % 40000), server: "10.0.0.2",
                    at: Int64(second * 1000 + index * 900 / perSecond), id: UInt16(number % 65536),
                    name: "q\(number).example.", outcome: burst && index % 2 == 0 ? .unanswered : .answered,
                    frame: number * 3 + 1))
                number += 1
            }
        }
        let finding = try #require(findings(transactions).first { $0.kind == .resolverThrottled })
        let expected = (0..<ResolverThrottledRule.maximumQuotedSeconds).map { burst in
            "\(200 + burst)/s (\((200 + burst + 1) / 2) lost)"
        }.joined(separator: ", ")
        #expect(finding.explanation.contains("Query rate in the seconds with losses: \(expected), ..."), "\(finding.explanation)")
    }
}
