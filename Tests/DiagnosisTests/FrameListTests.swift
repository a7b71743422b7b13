import Testing
@testable import Diagnosis

/// FrameList: evidence frame numbers in 4 bytes while they fit, the same sequence always.
struct FrameListTests {
    /// Frames past 2^32 (a capture of more than four billion frames) switch the list to full
    /// width without losing or reordering those already kept.
    @Test func framesBeyondThirtyTwoBitsKeepEveryFrameInOrder() {
        var list = FrameList()
        var expected: [Int] = []
        for frame in [1, 2, Int(UInt32.max), 7] {
            list.append(frame)
            expected.append(frame)
        }
        #expect(Array(list) == expected)
        list.append(contentsOf: [Int(UInt32.max) + 1, 3, 1 << 40])
        expected += [Int(UInt32.max) + 1, 3, 1 << 40]
        #expect(Array(list) == expected)
        #expect(list.count == 7 && list[4] == Int(UInt32.max) + 1 && list.last == 1 << 40)
    }

    /// `Diagnoser.appendFrames` keeps the first `maximumFramesPerSource`, as for an array.
    @Test func appendFramesStopsAtTheCapAsForAnArray() {
        var list = FrameList()
        var array: [Int] = []
        for start in stride(from: 0, to: 5_000, by: 3) {
            Diagnoser.appendFrames(Array(start..<(start + 3)), to: &list)
            Diagnoser.appendFrames(Array(start..<(start + 3)), to: &array)
        }
        #expect(list.count == Diagnoser.maximumFramesPerSource)
        #expect(Array(list) == array)
    }
}
