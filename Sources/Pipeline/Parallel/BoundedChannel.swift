import DequeModule
import Dispatch
import Synchronization

/// A bounded queue from one producer thread to one consumer thread.
///
/// The elements are handed over under a `Mutex` (what ThreadSanitizer sees as the
/// happens-before edge); two counting semaphores only put a thread to sleep: the consumer
/// while the queue is empty, the producer while it is full (`send`), or never (`trySend`, for
/// a live capture thread that must not wait: a full queue is the caller's to count as a drop).
/// Elements are batches (hundreds of frames), so the cost per frame is a fraction of a lock.
final class BoundedChannel<Element: Sendable>: Sendable {
    private let queue = Mutex(Deque<Element>())
    /// Counts the elements the consumer may take.
    private let filled = DispatchSemaphore(value: 0)
    /// Counts the free places the producer may fill.
    private let free: DispatchSemaphore
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        // Created at 0 and raised: libdispatch traps when a semaphore is released below the
        // value it was created with, as `free` is when the channel goes with elements in it.
        free = DispatchSemaphore(value: 0)
        for _ in 0..<self.capacity { free.signal() }
    }

    /// Appends `element`, waiting while the channel is full.
    func send(_ element: Element) {
        free.wait()
        queue.withLock { $0.append(element) }
        filled.signal()
    }

    /// Appends `element` unless the channel is full; false (and the element dropped) if it is.
    func trySend(_ element: Element) -> Bool {
        guard free.wait(timeout: .now()) == .success else { return false }
        queue.withLock { $0.append(element) }
        filled.signal()
        return true
    }

    /// Takes the oldest element if there is one, without waiting.
    func tryReceive() -> Element? {
        guard filled.wait(timeout: .now()) == .success else { return nil }
        let element = queue.withLock { $0.removeFirst() }
        free.signal()
        return element
    }

    /// Takes the oldest element, waiting while the channel is empty.
    func receive() -> Element {
        filled.wait()
        // `filled` counted one element in: the queue cannot be empty here.
        let element = queue.withLock { $0.removeFirst() }
        free.signal()
        return element
    }
}
