#ifndef DNSTRAIL_CHOTPATH_SHIM_H
#define DNSTRAIL_CHOTPATH_SHIM_H

/// Asks the CPU to start loading the cache line holding `address`, which the caller is
/// about to read or change (`__builtin_prefetch`: a hint, never a fault, whatever the
/// address). Swift has no spelling for it; header-only, inlined where it is called.
static inline __attribute__((always_inline)) void dnstrail_prefetch(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

/// The first position in the ascending `values[0..<count]` whose value is not below `key`
/// (`count` when none is). Branch-free: the range halves the same way whatever a probe
/// finds, and each step is a conditional move (`__builtin_unpredictable` keeps the compiler
/// from turning it back into a branch, which mispredicts on every other step of a search
/// over uniformly used buckets).
static inline __attribute__((always_inline)) long dnstrail_lower_bound_u32(const unsigned int *values, long count,
                                                                           unsigned int key) {
    if (count <= 0) return 0;
    const unsigned int *base = values;
    long length = count;
    while (length > 1) {
        long half = length >> 1;
        base = __builtin_unpredictable(base[half] < key) ? base + half : base;
        length -= half;
    }
    return (base - values) + (*base < key);
}

#endif
