#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A POSIX thread running one closure, joined before its results are read (`pthread_join`
/// is the happens-before edge ThreadSanitizer knows). The pipeline's threads block on their
/// channels; a thread of their own each keeps them off the shared dispatch pool, whose
/// threads a blocked worker would starve.
final class WorkerThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    #if canImport(Glibc)
    private var thread = pthread_t()
    #else
    private var thread: pthread_t?
    #endif
    private var started = false

    /// Starts `body` on a new thread; false when the system refused one (the caller then
    /// runs the work itself).
    init(_ body: @escaping () -> Void) {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            #if canImport(Glibc)
            let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
            #else
            let body = Unmanaged<Body>.fromOpaque(context).takeRetainedValue()
            #endif
            body.run()
            return nil
        }, context)
        if status == 0 {
            started = true
        } else {
            Unmanaged<Body>.fromOpaque(context).release()
        }
    }

    var isRunning: Bool { started }

    /// Waits for the thread to end.
    func join() {
        guard started else { return }
        started = false
        #if canImport(Glibc)
        pthread_join(thread, nil)
        #else
        if let thread { pthread_join(thread, nil) }
        #endif
    }
}
