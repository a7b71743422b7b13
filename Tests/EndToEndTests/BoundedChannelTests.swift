@testable import Pipeline
import Testing

/// The channel between the parallel pipeline's threads: order, bounds, never-waiting sends.
@Suite struct BoundedChannelTests {
    @Test func elementsArriveInOrderAcrossThreads() {
        let channel = BoundedChannel<Int>(capacity: 3)
        let producer = WorkerThread {
            for value in 0..<10_000 { channel.send(value) }
        }
        var received: [Int] = []
        for _ in 0..<10_000 { received.append(channel.receive()) }
        producer.join()
        #expect(received == Array(0..<10_000))
    }

    @Test func trySendRefusesWhenFullAndTryReceiveWhenEmpty() {
        let channel = BoundedChannel<Int>(capacity: 2)
        #expect(channel.tryReceive() == nil)
        #expect(channel.trySend(1) && channel.trySend(2))
        #expect(!channel.trySend(3))
        #expect(channel.receive() == 1)
        #expect(channel.trySend(4))
        #expect(channel.tryReceive() == 2 && channel.tryReceive() == 4 && channel.tryReceive() == nil)
    }

    /// libdispatch traps when a semaphore goes below the value it was created with: a
    /// channel released with elements in it did (the spare batches of a parallel run).
    @Test func channelReleasedWithElementsInIt() {
        for _ in 0..<100 {
            let channel = BoundedChannel<[Int]>(capacity: 4)
            channel.send([1, 2, 3])
            _ = channel.trySend([4])
        }
    }
}
