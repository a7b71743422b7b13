import DNSTrailTestSupport
import Capture
import Glibc
import Testing

/// `next()` must not allocate: frames are views into libpcap's buffer.
///
/// Counting allocations needs malloc interposed, so this runs only when the test process
/// was started with a counting library preloaded, built from this C source:
///
///     #include <stddef.h>
///     __thread unsigned long dnstrail_thread_allocations;
///     unsigned long *dnstrail_allocation_counter(void) { return &dnstrail_thread_allocations; }
///     extern void *__libc_malloc(size_t), *__libc_calloc(size_t, size_t),
///                 *__libc_realloc(void *, size_t), *__libc_memalign(size_t, size_t);
///     void *malloc(size_t n) { dnstrail_thread_allocations++; return __libc_malloc(n); }
///     void *calloc(size_t c, size_t n) { dnstrail_thread_allocations++; return __libc_calloc(c, n); }
///     void *realloc(void *p, size_t n) { dnstrail_thread_allocations++; return __libc_realloc(p, n); }
///     void *aligned_alloc(size_t a, size_t n) { dnstrail_thread_allocations++; return __libc_memalign(a, n); }
///     void *memalign(size_t a, size_t n) { dnstrail_thread_allocations++; return __libc_memalign(a, n); }
///     int posix_memalign(void **r, size_t a, size_t n) {
///         dnstrail_thread_allocations++; *r = __libc_memalign(a, n); return *r ? 0 : 12; }
///
///     clang -O2 -shared -fPIC -o /tmp/libmalloc_count.so malloc_count.c
///     swift build --scratch-path .build-capture --build-tests
///     LD_PRELOAD=/tmp/libmalloc_count.so .build-capture/debug/dnstrailPackageTests.xctest \
///         --testing-library swift-testing --filter AllocationTests
///
/// The counter is per thread, so tests running in parallel do not disturb it.
@Suite("Allocation-free reading")
struct AllocationTests {
    typealias CounterFunction = @convention(c) () -> UnsafeMutablePointer<UInt>

    static let isCounting = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "dnstrail_allocation_counter") != nil

    /// This thread's allocation counter (thread-local, so ask on the thread that counts).
    static func counterForThisThread() -> UnsafeMutablePointer<UInt>? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "dnstrail_allocation_counter") else { return nil }
        return unsafeBitCast(symbol, to: CounterFunction.self)()
    }

    /// libpcap's savefile reader starts with a record buffer of min(snapshot length, 2048)
    /// bytes and grows it (to the next power of two) for a record longer than any before:
    /// allocations on those calls are libpcap's, amortised, and allowed; on every other
    /// call, including the final `.end`, none at all.
    @Test(.enabled(if: isCounting, "needs the allocation-counting library in LD_PRELOAD"),
          .enabled(if: PublicCaptures.shouldRun, PublicCaptures.skipReason),
          arguments: ["ndpi_wechat.pcap", "chrissanders_dns_tcp.pcapng", "packetq_sample-rfc1035escape.pcap.gz"])
    func nextDoesNotAllocate(name: String) throws {
        let capture = try OfflineCapture(path: PublicCaptureTests.directory + "/" + name)
        guard case .frame(let first) = capture.next() else {
            Issue.record("no first frame")
            return
        }
        let counter = try #require(Self.counterForThisThread())
        var longest = max(first.capturedLength, 2048)
        var steadyCalls = 0
        var steadyAllocations: UInt = 0
        var bytes = 0
        var firstAllocatingCall = 0  // frame number, or -1 for the call that returned the end
        while true {
            let before = counter.pointee
            let read = capture.next()
            let allocations = counter.pointee &- before
            guard case .frame(let frame) = read else {
                steadyAllocations &+= allocations
                if allocations > 0 && firstAllocatingCall == 0 { firstAllocatingCall = -1 }
                break
            }
            bytes &+= frame.capturedLength &+ (frame.bytes.isEmpty ? 0 : Int(frame.bytes[0]))
            if frame.capturedLength > longest {
                longest = frame.capturedLength  // libpcap grew its buffer: allowed
            } else {
                steadyCalls += 1
                steadyAllocations &+= allocations
                if allocations > 0 && firstAllocatingCall == 0 { firstAllocatingCall = frame.number }
            }
        }
        #expect(steadyCalls > 0 && bytes > 0)
        #expect(steadyAllocations == 0, "\(steadyAllocations) allocations in \(steadyCalls) calls of next(), first at frame \(firstAllocatingCall)")
    }

    /// The live path too: frames queued in the kernel ring, then read, then a timeout.
    @Test(.enabled(if: isCounting && geteuid() == 0, "needs root and the allocation-counting library"))
    func liveNextDoesNotAllocate() throws {
        let capture = try LiveCapture(interface: "lo", filter: "udp port 53 and udp[8:2] == 0xa110",
                                      timeoutMilliseconds: 20)
        let payload: [UInt8] = [0xa1, 0x10] + Array(Packets.dnsQuery.dropFirst(2))
        for _ in 0..<20 { try LiveCaptureTests.sendUDP(payload) }
        // The first call may set up libpcap's ring state; count from the second.
        _ = capture.next()
        let counter = try #require(Self.counterForThisThread())
        var frames = 0
        var timeouts = 0
        var allocations: UInt = 0
        for _ in 0..<200 where timeouts < 3 {
            let before = counter.pointee
            let read = capture.next()
            allocations &+= counter.pointee &- before
            switch read {
            case .frame: frames += 1
            case .timeout: timeouts += 1
            case .end, .damaged: timeouts = 3
            }
        }
        #expect(frames >= 10)
        #expect(timeouts >= 1)
        #expect(allocations == 0, "\(allocations) allocations while reading \(frames) live frames and \(timeouts) timeouts")
    }
}
