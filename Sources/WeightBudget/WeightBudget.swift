// Parameter, memory, KV-cache and FLOP budgets from a ModelArchitecture (issue 4).
import WeightArchitecture
