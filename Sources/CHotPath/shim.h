#ifndef DNSTRAIL_CHOTPATH_SHIM_H
#define DNSTRAIL_CHOTPATH_SHIM_H

/// Asks the CPU to start loading the cache line holding `address`, which the caller is
/// about to read or change (`__builtin_prefetch`: a hint, never a fault, whatever the
/// address). Swift has no spelling for it; header-only, inlined where it is called.
static inline __attribute__((always_inline)) void dnstrail_prefetch(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
