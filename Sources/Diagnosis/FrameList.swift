/// Frame numbers kept as evidence, in order: 4 bytes each while they fit in 32 bits (any
/// capture of fewer than 4 billion frames), 8 after. Per-source and per-pair lists of up to
/// `Diagnoser.maximumFramesPerSource` grow over long captures to most of their cap: kept as
/// `[Int]`, a thousand (source, server) pairs held 16 MB of frame numbers.
struct FrameList: RandomAccessCollection, Sendable, Equatable {
    private var narrow: [UInt32] = []
    /// Every frame, once one did not fit in 32 bits (then `narrow` is empty).
    private var wide: [Int]?

    init() {}

    var startIndex: Int { 0 }
    var endIndex: Int { wide?.count ?? narrow.count }

    subscript(position: Int) -> Int {
        if let wide { return wide[position] }
        return Int(narrow[position])
    }

    mutating func append(_ frame: Int) {
        if wide == nil, let small = UInt32(exactly: frame) {
            narrow.append(small)
            return
        }
        var all = wide ?? narrow.map { Int($0) }
        all.append(frame)
        wide = all
        narrow = []
    }

    mutating func append(contentsOf frames: some Sequence<Int>) {
        for frame in frames { append(frame) }
    }
}
