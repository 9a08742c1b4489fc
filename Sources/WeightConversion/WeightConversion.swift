// Streaming conversion between checkpoint formats (issue 3).
import WeightArchitecture
import WeightFormats
