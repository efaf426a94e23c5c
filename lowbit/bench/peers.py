"""What a user would pick instead of lowbit, set up once per shape, each returning a callable to time.

numpy's fp32 matmul runs in a child process with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (this
machine sets them for old OpenBLAS builds and they halve numpy's speed); the child reports which BLAS
kernel threadpoolctl saw.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import numpy as np


def torch_peers(a_u8: np.ndarray, w_s8: np.ndarray, threads: int) -> dict[str, Callable[[], object]]:
    import torch

    torch.set_num_threads(threads)
    m, k = a_u8.shape
    n = w_s8.shape[0]
    peers: dict[str, Callable[[], object]] = {}
    a_s8 = torch.from_numpy((a_u8.astype(np.int16) - 128).astype(np.int8))
    b_s8 = torch.from_numpy(np.ascontiguousarray(w_s8.T))
    try:
        torch._int_mm(a_s8[:, :], b_s8)
        peers["torch-int-mm"] = lambda: torch._int_mm(a_s8, b_s8)
    except RuntimeError:
        pass  # _int_mm refuses some shapes on CPU; then it is not a peer there
    x = torch.randn(m, k)
    for engine in ("x86", "fbgemm", "onednn"):
        if engine not in torch.backends.quantized.supported_engines:
            continue
        torch.backends.quantized.engine = engine
        lin = torch.nn.Linear(k, n, bias=False)
        q = torch.ao.quantization.quantize_dynamic(
            torch.nn.Sequential(lin), {torch.nn.Linear}, dtype=torch.qint8
        )

        def run(q=q, engine=engine):
            torch.backends.quantized.engine = engine
            with torch.inference_mode():
                return q(x)

        peers[f"torch-{engine}"] = run
    wf = torch.from_numpy(w_s8.astype(np.float32).T.copy())
    peers["torch-fp32"] = lambda: torch.mm(x, wf)
    return peers


def ort_peer(a_u8: np.ndarray, w_s8: np.ndarray, threads: int) -> Callable[[], object] | None:
    try:
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    m, k = a_u8.shape
    b = numpy_helper.from_array(np.ascontiguousarray(w_s8.T), "B")
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B"], ["C"])],
        "mmi",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, [m, k])],
        [helper.make_tensor_value_info("C", TensorProto.INT32, [m, w_s8.shape[0]])],
        [b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(
        onnx._serialize(model) if hasattr(onnx, "_serialize") else model.SerializeToString(),
        opts,
        providers=["CPUExecutionProvider"],
    )
    feed = {"A": a_u8}
    return lambda: sess.run(None, feed)


_NUMPY_CHILD = r"""
import json, sys, time
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits
shapes, threads, repeats = json.loads(sys.argv[1])
out = {"blas": [{k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                for i in threadpool_info()], "ms": []}
with threadpool_limits(threads):
    for m, k, n in shapes:
        a = np.random.default_rng(0).standard_normal((m, k)).astype(np.float32)
        b = np.random.default_rng(1).standard_normal((k, n)).astype(np.float32)
        a @ b
        samples = []
        for _ in range(repeats):
            t0, reps = time.perf_counter(), 0
            while time.perf_counter() - t0 < 0.02:
                a @ b
                reps += 1
            samples.append((time.perf_counter() - t0) / reps)
        out["ms"].append(sorted(samples)[len(samples) // 2] * 1e3)
print(json.dumps(out))
"""


def numpy_fp32_ms(shapes: list[tuple[int, int, int]], threads: int, repeats: int) -> tuple[list[float], list]:
    """Median ms of numpy float32 matmul per shape, timed in a child without the OpenBLAS overrides."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    res = subprocess.run(
        [sys.executable, "-c", _NUMPY_CHILD, json.dumps([shapes, threads, repeats])],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(res.stdout)
    return data["ms"], data["blas"]
