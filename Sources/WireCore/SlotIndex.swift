/// Small integer slots for keys in order of first sight, so that per-key state can live in
/// arrays and be changed in place. A key is found by a scan while there are a few (cheaper
/// than hashing it) and by a dictionary beyond that, made when the keys outgrow the scan
/// (most users hold a few: a client's servers, one per source): from then on it holds every key.
public struct SlotIndex<Key: Hashable> {
    /// Up to this many keys a linear scan finds a slot faster than one hash.
    public static var scannedKeys: Int { 8 }

    /// The keys, by slot.
    public var keys: [Key] { storedKeys }
    @usableFromInline var storedKeys: [Key] = []
    @usableFromInline var slots: [Key: Int] = [:]

    public init() {}

    public var count: Int { storedKeys.count }

    /// The slot of `key`, nil if it was never seen.
    @inlinable
    public func slot(of key: Key) -> Int? {
        storedKeys.count <= SlotIndex.scannedKeys ? storedKeys.firstIndex(of: key) : slots[key]
    }

    /// The slot of `key`, made on first sight (then the next free one, `count` before).
    @inlinable
    public mutating func slot(makingIfNew key: Key) -> Int {
        if let slot = slot(of: key) { return slot }
        let slot = storedKeys.count
        storedKeys.append(key)
        if storedKeys.count > SlotIndex.scannedKeys {
            if slots.isEmpty {
                for (index, known) in storedKeys.enumerated() { slots[known] = index }
            } else {
                slots[key] = slot
            }
        }
        return slot
    }
}

/// A key with a cheap, well-mixed word of its own (an address's `mixed`), for lookups that
/// cannot afford `Hasher` (SipHash, a few hundred instructions) on every transaction.
public protocol QuickHashable: Hashable {
    var quickHash: UInt64 { get }
}

/// `SlotIndex` with a direct-mapped cache of recent keys in front of its dictionary: a key
/// whose cache line holds it is found with one multiplication and one comparison. The
/// dictionary stays the truth (every key is in it); the cache only remembers, per line, the
/// slot last found there, so a collision costs one dictionary lookup, never a wrong slot.
public struct CachedSlotIndex<Key: QuickHashable> {
    /// Cache lines (a power of two): a few hundred sources or servers each keep their own.
    public static var lines: Int { 1 << lineBits }
    @usableFromInline static var lineBits: Int { 10 }

    @usableFromInline var index = SlotIndex<Key>()
    /// Per line, the slot plus one last found there (0: none).
    @usableFromInline var cache = [Int32](repeating: 0, count: CachedSlotIndex.lines)

    public init() {}

    public var keys: [Key] { index.keys }
    public var count: Int { index.count }

    @inlinable
    static func line(of key: Key) -> Int {
        Int(truncatingIfNeeded: (key.quickHash &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - lineBits))
    }

    /// The slot of `key`, nil if it was never seen. The cache's hit inlined where it is
    /// asked (once or twice per transaction), the dictionary's lookup called.
    @inlinable @inline(__always)
    public mutating func slot(of key: Key) -> Int? {
        let line = Self.line(of: key)
        let cached = Int(cache[line]) - 1
        if cached >= 0, index.storedKeys[cached] == key { return cached }
        return slot(missedInCache: key, line: line)
    }

    @inlinable @inline(never)
    mutating func slot(missedInCache key: Key, line: Int) -> Int? {
        guard let slot = index.slot(of: key) else { return nil }
        if slot < Int(Int32.max) { cache[line] = Int32(slot + 1) }
        return slot
    }

    /// The slot of `key`, made on first sight (then the next free one, `count` before).
    @inlinable
    public mutating func slot(makingIfNew key: Key) -> Int {
        if let slot = slot(of: key) { return slot }
        let slot = index.slot(makingIfNew: key)
        if slot < Int(Int32.max) { cache[Self.line(of: key)] = Int32(slot + 1) }
        return slot
    }
}
