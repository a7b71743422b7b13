/// Small integer slots for keys in order of first sight, so that per-key state can live in
/// arrays and be changed in place. A key is found by a scan while there are a few (cheaper
/// than hashing it) and by a dictionary beyond that; the dictionary always holds every key.
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
        slots[key] = slot
        return slot
    }
}
