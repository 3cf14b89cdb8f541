"""Large-network verification: random-direction checks against torch's fast gradcheck.

A 128-256-256-10 network (tanh, tanh, softmax + cross-entropy, per-neuron biases; 101,386
parameters, 8 samples) is verified three ways in one run, each timed as the median of several
repetitions after a warm-up:

* ``gradcheck.verify`` in its automatic mode (every entry against JAX, finite
  differences along one random direction per group);
* ``torch.autograd.gradcheck(..., fast_mode=True)`` on the same network and loss, float64
  (skipped, with a note, when torch is not importable);
* full per-entry finite differences, ``gradcheck.oracles.finite_difference`` (2 x 2P forward
  passes; once, skipped with ``--no-full``).

It prints the times and their ratios, then plants a bug in one entry of layer 2 and shows that
the verdict names that layer and entry. Run: ``python benchmarks/bench_large.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from gradcheck import oracles
from gradcheck.checking.verification import verify
from gradcheck.hand import hand_grads
from gradcheck.spec import Array, Params, Spec, parse_spec

SIZES = (128, 256, 256, 10)
ACTIVATIONS = ("tanh", "tanh", "softmax")
BATCH = 8


def large_spec() -> Spec:
    """The benchmark network as a spec: xavier weights, small random biases, one-hot targets."""
    rng = np.random.default_rng(0)
    layers = [
        {
            "size": n,
            "activation": act,
            "init": {"rule": "xavier", "seed": i},
            "bias": {"mode": "per_neuron", "value": rng.normal(0, 0.1, n).tolist()},
        }
        for i, (n, act) in enumerate(zip(SIZES[1:], ACTIVATIONS, strict=True))
    ]
    samples = [
        {"input": rng.normal(size=SIZES[0]).tolist(), "target": np.eye(SIZES[-1])[k].tolist()}
        for k in range(BATCH)
    ]
    data = {
        "name": "large-128-256-256-10",
        "loss": "softmax_cross_entropy",
        "optimizer": {"learning_rate": 0.1},
        "input": {"size": SIZES[0]},
        "layers": layers,
        "samples": samples,
    }
    return parse_spec(data, "<benchmark>")


def median_seconds(run: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``run()`` over ``repeat`` calls, after one warm-up call."""
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def torch_fast_gradcheck(spec: Spec) -> Callable[[], Any] | None:
    """``torch.autograd.gradcheck(loss, params, fast_mode=True)`` on the same network, or None
    when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    x = torch.tensor(spec.inputs(), dtype=torch.float64)
    t = torch.tensor(spec.targets(), dtype=torch.float64)
    flat = [
        torch.tensor(a, dtype=torch.float64, requires_grad=True)
        for layer in spec.initial_params()
        for a in (layer["W"], layer["b"])
    ]

    def loss(*params: Any) -> Any:
        out = x
        for i in range(len(SIZES) - 1):
            net = out @ params[2 * i].T + params[2 * i + 1]
            out = torch.tanh(net) if i < len(SIZES) - 2 else net
        return -(t * torch.log_softmax(out, dim=-1)).sum() / x.shape[0]

    return lambda: torch.autograd.gradcheck(loss, flat, fast_mode=True)


def against_torch(spec: Spec, mode: str, torch_run: Callable[[], Any] | None, repeat: int) -> float:
    """Print the median of ``verify`` on ``spec`` and of ``torch_run`` (None: torch missing) and
    the median of their ratios, the two timed in turn in each of ``repeat`` rounds (so a noisy
    neighbour slows both sides of a round alike); return verify's seconds."""
    ours: list[float] = []
    theirs: list[float] = []
    runs = [(lambda: verify(hand_grads, spec), ours)]
    if torch_run is not None:
        runs.append((torch_run, theirs))
    for run, _ in runs:  # warm-up
        run()
    for _ in range(repeat):
        for run, times in runs:
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    mine = statistics.median(ours)
    print(f"gradcheck verify ({mode} mode):   {mine * 1e3:9.2f} ms")
    if torch_run is None:
        print("torch fast_mode gradcheck:           (torch not installed: column skipped)")
    else:
        ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
        print(f"torch fast_mode gradcheck:           {statistics.median(theirs) * 1e3:9.2f} ms")
        print(
            f"ratio verify / torch fast_mode:      {statistics.median(ratios):9.2f} "
            f"(median of {repeat} rounds, quartiles {np.percentile(ratios, 25):.2f}-"
            f"{np.percentile(ratios, 75):.2f}; target <= 1)"
        )
    return mine


def planted(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """Correct gradients except layer 2 W[3, 4], 1% too large."""
    grads = hand_grads(spec, params, inputs, targets)
    grads[1]["W"][3, 4] *= 1.01
    return grads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed repetitions (median)")
    parser.add_argument("--no-full", action="store_true", help="skip full per-entry FD")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)  # a benchmark process, like the CLI

    spec = large_spec()
    p, x, t = spec.initial_params(), spec.inputs(), spec.targets()
    verdict = verify(hand_grads, spec)
    print(f"network: {spec.name}, {spec.n_params} parameters, batch {BATCH}, float64")
    print(f"verdict: {verdict.summary()}")
    ours = against_torch(spec, verdict.mode, torch_fast_gradcheck(spec), args.repeat)

    if not args.no_full:
        start = time.perf_counter()
        oracles.finite_difference(spec, p, x, t)
        full = time.perf_counter() - start
        print(f"full per-entry finite differences:   {full * 1e3:9.0f} ms (once)")
        print(f"ratio full FD / verify:              {full / ours:9.0f}")

    bug = verify(planted, spec)
    print(f"planted bug in layer 2 W[3,4]: ok={bug.ok}")
    print(f"  {bug.summary()}")


if __name__ == "__main__":
    main()
