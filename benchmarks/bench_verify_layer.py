"""Throughput of ``verify_layer("conv2d", ...)`` under Hypothesis, after warm-up.

Target: >= 100 checks per second on shapes up to 2x3x8x8 (the default conv2d draws: N <= 2,
C <= 3, H, W <= 8, F <= 3, kernels up to 4x4, stride 1-3, padding 0-2). A check is one drawn
case: the user's forward and backward, the JAX reference forward and vjp, and the
finite-difference check of the user's forward along a random direction (four more forward
calls). The layer checked is ``examples/course_layers.py``'s conv (vectorised NumPy), so the
time is mostly gradcheck's. The warm-up run compiles the reference's shape bucket (one per
dtype); each timed run then draws ``--examples`` fresh cases from its own seed.

    python benchmarks/bench_verify_layer.py [--examples 300] [--repeats 5] [--check]

Prints the median of the repeats; ``--check`` exits 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import jax

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import course_layers

from gradcheck import verify_layer

TARGET = 100.0  # checks per second


def rate(examples: int, seed: int, dtype: str) -> tuple[float, float]:
    """Checks per second of one ``verify_layer`` run over ``examples`` drawn cases: per second
    of wall-clock time and per second of this process's CPU time (what a loaded machine's
    wall clock hides)."""
    start, cpu = time.perf_counter(), time.process_time()
    verdict = verify_layer(
        "conv2d",
        course_layers.conv_forward,
        course_layers.conv_backward,
        examples=examples,
        seed=seed,
        dtype=dtype,
    )
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    if not verdict.ok:
        raise SystemExit(f"the correct conv failed: {verdict.summary()}")
    return verdict.examples / elapsed, verdict.examples / used


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)
    rate(50, seed=10_000, dtype=args.dtype)  # warm-up: compiles the bucket
    runs = [rate(args.examples, seed=k, dtype=args.dtype) for k in range(args.repeats)]
    rates, cpu_rates = [r for r, _ in runs], [c for _, c in runs]
    median = statistics.median(rates)
    print(
        f"verify_layer conv2d ({args.dtype}): median {median:.0f} checks/s over {args.repeats} "
        f"runs of {args.examples} cases (min {min(rates):.0f}, max {max(rates):.0f}); "
        f"{statistics.median(cpu_rates):.0f} per CPU-second; target >= {TARGET:.0f}"
    )
    return 1 if args.check and median < TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
