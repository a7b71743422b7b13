import DNSWire
import PacketDecoding
import Testing
@testable import Transactions

/// The engine looks its index tables up by `KeyFolds`' words, made once per message, and
/// by each key's own `folded` elsewhere (capture end, copies, the expired table): the two
/// must be the same word for every key, or a transaction indexed one way is not found the other.
struct KeyFoldsTests {
    @Test func everyFoldIsTheKeysOwn() {
        var generator = SystemRandomNumberGenerator()
        func address() -> IPAddress {
            Bool.random(using: &generator)
                ? IPAddress(ipv4: UInt32.random(in: .min ... .max, using: &generator))
                : IPAddress(ipv6High: UInt64.random(in: .min ... .max, using: &generator),
                            low: UInt64.random(in: .min ... .max, using: &generator))
        }
        for _ in 0..<10_000 {
            let client = Endpoint(ip: address(), port: UInt16.random(in: .min ... .max, using: &generator))
            let server = Endpoint(ip: address(), port: UInt16.random(in: .min ... .max, using: &generator))
            let transport: Transport = Bool.random(using: &generator) ? .udp : .tcp
            let id = UInt16.random(in: .min ... .max, using: &generator)
            let question: QuestionKey? = Int.random(in: 0..<4, using: &generator) == 0 ? nil
                : QuestionKey(nameHash: UInt64.random(in: .min ... .max, using: &generator),
                              type: DNSType(UInt16.random(in: .min ... .max, using: &generator)),
                              qclass: DNSClass(UInt16.random(in: 0 ... 0x7FFF, using: &generator)))
            let folds = TransactionEngine.KeyFolds(client: client, server: server, transport: transport, id: id,
                                                   question: question)
            #expect(folds.exchange == TransactionEngine.ExchangeKey(client: client, server: server, transport: transport,
                                                                    id: id).folded)
            #expect(folds.client == TransactionEngine.ClientKey(client: client, transport: transport, id: id).folded)
            #expect(folds.socket == TransactionEngine.SocketKey(client: client, server: server, transport: transport).folded)
            #expect(folds.retry == TransactionEngine.RetryKey(client: client.ip, server: server, transport: transport, id: id,
                                                              question: question).folded)
        }
    }
}
