import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A bounded ring from one producer thread to one consumer thread.
///
/// The elements lie in a fixed ring of slots; the producer alone writes the slot at `tail`
/// and then publishes it (an `Atomic` store with release ordering), the consumer alone takes
/// the slot at `head` after reading `tail` (acquire) and then frees it the same way: those
/// atomic pairs are the happens-before edges, and ThreadSanitizer sees them (it did not see
/// `Mutex`'s on Linux, whose futex it does not intercept, and reported the channel's
/// `Deque` as raced). Two counting semaphores only put a thread to sleep: the consumer while
/// the ring is empty, the producer while it is full (`send`), or never (`trySend`, for a
/// thread that must not wait: a full ring is the caller's to count). Elements are batches
/// (hundreds of frames), so the cost per frame is a fraction of a handover.
final class BoundedChannel<Element: Sendable>: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<Element?>
    let capacity: Int
    /// Elements taken so far (written by the consumer only).
    private let head = Atomic<Int>(0)
    /// Elements put so far (written by the producer only).
    private let tail = Atomic<Int>(0)
    /// Counts the elements the consumer may take.
    private let filled = DispatchSemaphore(value: 0)
    /// Counts the free slots the producer may fill.
    private let free: DispatchSemaphore

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        slots = .allocate(capacity: self.capacity)
        slots.initialize(repeating: nil, count: self.capacity)
        // Created at 0 and raised: libdispatch traps when a semaphore is released below the
        // value it was created with, as `free` is when the channel goes with elements in it.
        free = DispatchSemaphore(value: 0)
        for _ in 0..<self.capacity { free.signal() }
    }

    deinit {
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    /// Appends `element`, waiting while the channel is full.
    func send(_ element: consuming Element) {
        BoundedChannel.wait(free)
        put(consume element)
    }

    /// Appends `element` unless the channel is full; false (and the element dropped) if it is.
    func trySend(_ element: consuming Element) -> Bool {
        guard free.wait(timeout: .now()) == .success else { return false }
        put(consume element)
        return true
    }

    /// Reserves a free slot without waiting; true if there was one. A reservation is used by
    /// `sendReserved` or given back by `cancelReservation` (for a producer that sends to
    /// several channels all or none).
    func tryReserve() -> Bool {
        free.wait(timeout: .now()) == .success
    }

    /// Appends `element` into the slot `tryReserve` reserved.
    func sendReserved(_ element: consuming Element) {
        put(consume element)
    }

    /// Gives back a slot `tryReserve` reserved and that will not be used.
    func cancelReservation() {
        free.signal()
    }

    /// Takes the oldest element, waiting while the channel is empty.
    func receive() -> Element {
        BoundedChannel.wait(filled)
        return take()
    }

    /// Takes the oldest element if there is one, without waiting.
    func tryReceive() -> Element? {
        guard filled.wait(timeout: .now()) == .success else { return nil }
        return take()
    }

    /// Times a waiting thread gives up its core (`sched_yield`) and looks again before it
    /// sleeps on the semaphore. A thread that sleeps leaves its core idle until the kernel
    /// wakes it, and on a virtual machine an idle vCPU is slow to come back: with four
    /// pipeline threads on two cores, the cores were about 90 % busy with sleeping waits
    /// (5 M capture, 2 threads, interleaved runs: 1.98 -> 1.87 s over 7 runs each in one
    /// series, 1.5 % faster on average over 9 pairs in another). A yield with nothing else
    /// runnable returns at once: at most a fraction of a millisecond of looking before the
    /// sleep, once per round when a live capture is quiet.
    static var yieldsBeforeSleeping: Int { 200 }

    /// Waits for `semaphore`: yields the core while others can use it, then sleeps.
    private static func wait(_ semaphore: DispatchSemaphore) {
        for _ in 0..<yieldsBeforeSleeping {
            if semaphore.wait(timeout: .now()) == .success { return }
            sched_yield()
        }
        semaphore.wait()
    }

    /// The producer's side, once `free` granted a slot.
    private func put(_ element: consuming Element) {
        let position = tail.load(ordering: .relaxed)
        // The consumer freed this slot before the release store of `head` that `free` followed.
        _ = head.load(ordering: .acquiring)
        // Moved in: a copy left with the producer could still hold the element's buffers
        // when the consumer changes them (a copy on write of a whole chunk, seen).
        slots[position % capacity] = consume element
        tail.store(position + 1, ordering: .releasing)
        filled.signal()
    }

    /// The consumer's side, once `filled` granted an element.
    private func take() -> Element {
        let position = head.load(ordering: .relaxed)
        // The producer wrote this slot before the release store of `tail`.
        _ = tail.load(ordering: .acquiring)
        // `filled` counted the element in: the slot holds it (an internal invariant, not input).
        guard let element = slots[position % capacity].take() else {
            preconditionFailure("BoundedChannel: a counted element is missing")
        }
        head.store(position + 1, ordering: .releasing)
        free.signal()
        return element
    }
}
