// Runnable models, one file per architecture, bound strictly to checkpoint tensors.
import WeightArchitecture
import WeightCompute
import WeightFormats
