"""Evaluation of quantized models: linear-probe accuracy on real labelled sentences (``probe``) and
speed (``speed``), both taking torch models, lowbit QuantizedModels and ONNX Runtime sessions alike."""

from lowbit.eval.probe import mean_cosine, probe_accuracy
from lowbit.eval.speed import latency_ms, throughput

__all__ = ["latency_ms", "mean_cosine", "probe_accuracy", "throughput"]
