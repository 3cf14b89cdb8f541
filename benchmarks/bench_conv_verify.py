"""Conv-net verification: gradcheck ``verify`` against torch's fast gradcheck, same net, same run.

A conv net with more than 10,000 parameters (3x16x16 -> conv2d 8@3x3 pad 1 relu -> max_pool2d 2
-> conv2d 16@3x3 pad 1 relu -> avg_pool2d 2 -> flatten -> dense 40 tanh -> dense 10 softmax with
cross-entropy; per-channel and per-neuron biases; batch 4; float64) is verified two ways, each
timed as the median of ``--repeat`` runs after a warm-up:

* ``gradcheck.verify(hand_grads, spec)`` in its automatic mode: every entry against JAX's
  ``grad`` of the independent forward, finite differences along random directions per group;
* ``torch.autograd.gradcheck(loss, params, fast_mode=True)`` on the same network, loss and
  numbers (skipped, with a note, when torch is not importable).

Target (issue 9): ``verify`` no slower than torch's fast mode, with per-entry localisation. It
then plants a one-entry bug (layer 3 ``W[5, 4, 1, 2]`` 1% too large) and prints the verdict,
which must name that layer and entry; torch's fast mode only says that some gradient is off.

    python benchmarks/bench_conv_verify.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from bench_large import against_torch

from gradcheck.checking.verification import verify
from gradcheck.hand import hand_grads
from gradcheck.spec import Array, Params, Spec, parse_spec

BATCH = 4
CLASSES = 10


def conv_spec() -> Spec:
    """The benchmark conv net: he / xavier initial weights, small biases, one-hot targets."""
    rng = np.random.default_rng(0)
    layers: list[dict[str, Any]] = [
        {"kind": "conv2d", "channels": 8, "kernel": 3, "padding": 1, "activation": "relu"},
        {"kind": "max_pool2d", "kernel": 2},
        {"kind": "conv2d", "channels": 16, "kernel": 3, "padding": 1, "activation": "relu"},
        {"kind": "avg_pool2d", "kernel": 2},
        {"kind": "flatten"},
        {"size": 40, "activation": "tanh"},
        {"size": CLASSES, "activation": "softmax"},
    ]
    for i, layer in enumerate(layers):
        if layer.get("kind", "dense") in ("conv2d", "dense"):
            rule = "he" if layer.get("kind") == "conv2d" else "xavier"
            layer["init"] = {"rule": rule, "seed": i}
            layer["bias"] = {"mode": "per_neuron", "value": 0.05}
    samples = [
        {
            "input": rng.normal(size=3 * 16 * 16).round(3).tolist(),
            "target": np.eye(CLASSES)[k].tolist(),
        }
        for k in range(BATCH)
    ]
    data = {
        "name": "conv-3x16x16",
        "loss": "softmax_cross_entropy",
        "optimizer": {"learning_rate": 0.1},
        "input": {"shape": [3, 16, 16]},
        "layers": layers,
        "samples": samples,
    }
    return parse_spec(data, "<benchmark>")


def torch_fast_gradcheck(spec: Spec) -> Callable[[], Any] | None:
    """``torch.autograd.gradcheck(loss, params, fast_mode=True)`` on the same network, or None
    when torch is not installed."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    x = torch.tensor(spec.inputs().reshape(BATCH, 3, 16, 16), dtype=torch.float64)
    t = torch.tensor(spec.targets(), dtype=torch.float64)
    flat = [
        torch.tensor(np.asarray(layer[group]), dtype=torch.float64, requires_grad=True)
        for layer in spec.initial_params()
        for group in ("W", "b")
        if group in layer
    ]

    def loss(w1: Any, b1: Any, w2: Any, b2: Any, w3: Any, b3: Any, w4: Any, b4: Any) -> Any:
        out = F.max_pool2d(torch.relu(F.conv2d(x, w1, b1, padding=1)), 2)
        out = F.avg_pool2d(torch.relu(F.conv2d(out, w2, b2, padding=1)), 2)
        out = torch.tanh(out.flatten(1) @ w3.T + b3) @ w4.T + b4
        return -(t * torch.log_softmax(out, dim=-1)).sum() / x.shape[0]

    return lambda: torch.autograd.gradcheck(loss, flat, fast_mode=True)


def planted(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
    """Correct gradients except layer 3 W[5, 4, 1, 2], 1% too large."""
    grads = hand_grads(spec, params, inputs, targets)
    grads[2]["W"][5, 4, 1, 2] *= 1.01
    return grads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timed repetitions (median)")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)  # a benchmark process, like the CLI

    spec = conv_spec()
    verdict = verify(hand_grads, spec)
    print(f"network: {spec.name}, {spec.n_params} parameters, batch {BATCH}, float64")
    print(f"shapes: {' -> '.join('x'.join(map(str, s)) for s in spec.shapes)}")
    print(f"verdict: {verdict.summary()}")
    against_torch(spec, verdict.mode, torch_fast_gradcheck(spec), args.repeat)

    bug = verify(planted, spec)
    print(f"planted bug in layer 3 W[5,4,1,2]: ok={bug.ok}")
    print(f"  {bug.summary()}")


if __name__ == "__main__":
    main()
