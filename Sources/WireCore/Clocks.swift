import Glibc

/// A clock that never jumps, to measure how long work took (progress, evaluation costs).
public func monotonicClock() -> Timestamp {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Timestamp(seconds: Int64(spec.tv_sec), nanoseconds: Int64(spec.tv_nsec))
}

/// The system clock, used only to pace a live capture and its status line.
public func wallClock() -> Timestamp {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Timestamp(seconds: Int64(spec.tv_sec), nanoseconds: Int64(spec.tv_nsec))
}
