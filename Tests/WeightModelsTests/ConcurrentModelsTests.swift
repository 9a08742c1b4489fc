import Foundation
import Testing
import WeightCompute
import WeightFormats
@testable import WeightModels

/// Each model owns its compute context (worker team, scratch memory, kernel tier), so two
/// models can run at the same time on two threads without sharing anything mutable.
@Suite struct ConcurrentModelsTests {
    /// Two different families, each with its own prompt from its reference file.
    static let pair = ["qwen3-tiny", "gemma2-tiny"]

    static func logits(_ name: String) throws -> [Float] {
        let reference = try Fixture.json("models/\(name)/reference.json")
        let prompt = try requiredInts(reference["prompt"], "prompt")
        let model = try ModelRegistry.load(Fixture.path("models/\(name)"), context: ComputeContext(threads: 2))
        var all: [Float] = []
        // Several passes, so that the two threads overlap for a while.
        for _ in 0..<16 { all = try model.logits(for: prompt) }
        return all
    }

    @Test("two models on two threads at once give the same bits as each alone")
    func twoModelsAtOnce() throws {
        let solo = try Self.pair.map(Self.logits)
        #expect(solo.allSatisfy { !$0.isEmpty })
        let results = Results(count: Self.pair.count)
        let group = DispatchGroup()
        for (index, name) in Self.pair.enumerated() {
            group.enter()
            Thread.detachNewThread {
                results.set(index, Result { try Self.logits(name) })
                group.leave()
            }
        }
        group.wait()
        for (index, name) in Self.pair.enumerated() {
            let together = try #require(results.get(index)).get()
            #expect(together == solo[index], "\(name): concurrent logits differ from the solo run")
        }
    }

    /// Results written by the threads, read after they finish.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Result<[Float], any Error>?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ index: Int, _ value: Result<[Float], any Error>) { lock.withLock { values[index] = value } }
        func get(_ index: Int) -> Result<[Float], any Error>? { lock.withLock { values[index] } }
    }
}
