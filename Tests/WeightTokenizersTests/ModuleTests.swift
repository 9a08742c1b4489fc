import Testing
import WeightFormats
@testable import WeightTokenizers

@Suite struct ModuleTests {
    @Test func fixturesDirectoryExists() {
        #expect(FileSystem.isDirectory(Fixture.path("tokenizers")))
    }
}
