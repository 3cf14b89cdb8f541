"""Throughput of three-way verification on small random networks, against jax check_grads.

Target: small networks (<= 4 layers, widths <= 8) drawn by Hypothesis and verified three ways
(hand-derived vs JAX vs finite differences, ``gradcheck.verify``) at >= 300 networks per
second after warm-up, and >= 5x the throughput of ``jax.test_util.check_grads`` on the same
networks in the same run.

The verified rate is measured end to end inside a Hypothesis ``@given`` loop (generation,
shrink-free, plus verify). ``check_grads`` then gets the very networks that loop drew, timed
alone (no Hypothesis cost on its side), through a plain jax.numpy loss of the params: the
way a JAX user would check a network without gradcheck.

    python benchmarks/bench_verify.py [--examples 400] [--warmup 400] [--check]

``--check`` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings
from jax.test_util import check_grads

from gradcheck.checking.verification import verify
from gradcheck.generate.strategies import Case, networks
from gradcheck.hand import hand_grads
from gradcheck.oracles import jax_cache_info
from gradcheck.spec import Spec

TARGET_RATE = 300.0
TARGET_RATIO = 5.0
# The targets are stated for small MLPs: dense layers only (the default draws every kind, and a
# network with other kinds compiles a JAX program at its own exact shapes; bench_verify_batched
# prints that rate apart).
SMALL = networks(depth=(1, 4), widths=(1, 8), kinds=("dense",))

_ACT: dict[str, Callable[[Any, float], Any]] = {
    "identity": lambda z, s: z,
    "sigmoid": lambda z, s: jax.nn.sigmoid(z),
    "tanh": lambda z, s: jnp.tanh(z),
    "relu": lambda z, s: jax.nn.relu(z),
    "leaky_relu": lambda z, s: jnp.where(z > 0, z, s * z),
    "softplus": lambda z, s: jax.nn.softplus(z),
    "elu": lambda z, s: jax.nn.elu(z),
    "softmax": lambda z, s: jax.nn.softmax(z, axis=-1),
}


def jnp_loss(spec: Spec, inputs: Any, targets: Any) -> Callable[[Any], Any]:
    """``E(params)`` as plain jax.numpy, for check_grads (frozen groups are constants)."""
    frozen = spec.frozen_params()

    def loss(params: Any) -> Any:
        out = inputs
        net = out
        decay = 0.0
        for i, (act, slope) in enumerate(zip(spec.activations, spec.slopes, strict=True)):
            layer = {**frozen[i], **params[i]}
            decay += sum(jnp.sum(layer[g] ** 2) for g in spec.decayed[i] & set(layer))
            net = out @ layer["W"].T + layer.get("b", 0.0)
            out = _ACT[act](net, slope)
        return data_loss(net, out) + spec.weight_decay / 2 * decay

    def data_loss(net: Any, out: Any) -> Any:
        batch = targets.shape[0]
        if spec.loss in ("half_sse", "sse"):
            return (0.5 if spec.loss == "half_sse" else 1.0) * jnp.sum((targets - out) ** 2)
        if spec.loss == "mse":
            return jnp.mean((out - targets) ** 2)
        if spec.loss == "binary_cross_entropy":
            return jnp.sum(jnp.logaddexp(net, 0.0) - targets * net) / batch
        if spec.loss == "svm":
            margins = out - jnp.sum(out * targets, axis=-1, keepdims=True) + 1.0
            return jnp.sum((1.0 - targets) * jnp.maximum(margins, 0.0)) / batch
        return -jnp.sum(targets * jax.nn.log_softmax(net, axis=-1)) / batch

    return loss


def check_grads_seconds(cases: list[Case]) -> tuple[float, int]:
    """Seconds per network for ``jax.test_util.check_grads`` (first order, reverse mode), and
    how many it rejected (its step of about 1e-4 can straddle a relu kink). Networks with
    nothing trainable are skipped: check_grads cannot take an empty argument."""
    rejected = checked = 0
    start = time.perf_counter()
    for case in cases:
        if not any(case.params):
            continue
        checked += 1
        f = jnp_loss(case.spec, jnp.asarray(case.inputs), jnp.asarray(case.targets))
        params = [{k: jnp.asarray(a) for k, a in layer.items()} for layer in case.params]
        try:
            check_grads(f, (params,), order=1, modes=("rev",))
        except AssertionError:
            rejected += 1
    return (time.perf_counter() - start) / max(checked, 1), rejected


def hypothesis_loop(n: int, at_seed: int, on_case: Callable[[Case], None]) -> float:
    """Seconds for a generate-only Hypothesis run of ``n`` examples calling ``on_case``."""

    @seed(at_seed)
    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(SMALL)
    def run(case: Case) -> None:
        on_case(case)

    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="networks in the timed run")
    parser.add_argument("--warmup", type=int, default=400, help="networks to warm up on")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)  # a script: float64 for both sides

    failures: set[str] = set()

    def verify_into(kept: list[Case]) -> Callable[[Case], None]:
        def check(case: Case) -> None:
            kept.append(case)
            verdict = verify(hand_grads, *case)
            if not verdict.ok:
                failures.add(verdict.summary())

        return check

    # Both sides warm up on the same networks (seed 1) and are timed on fresh ones (seed 2),
    # each met once, as in a test run.
    warm_cases: list[Case] = []
    warm = hypothesis_loop(args.warmup, 1, verify_into(warm_cases))
    traces_before = jax_cache_info()["traces"]
    # Best of three runs over the same networks, as timeit does: the machine may be shared.
    generation = min(hypothesis_loop(args.examples, 2, lambda case: None) for _ in range(3))
    runs: list[list[Case]] = [[], [], []]
    total = min(hypothesis_loop(args.examples, 2, verify_into(kept)) for kept in runs)
    cases = runs[0]
    traces = jax_cache_info()["traces"] - traces_before
    rate = len(cases) / total

    check_grads_seconds(warm_cases)
    seconds, rejected = check_grads_seconds(cases)
    baseline = 1.0 / seconds
    # check_grads runs eagerly and compiles each primitive per new shape; a second pass over
    # the same networks is its best case, shown for comparison.
    repeat = 1.0 / check_grads_seconds(cases)[0]
    frozen = sum(not any(c.params) for c in cases)
    ratio = rate / baseline

    layers = [len(c.spec.sizes) - 1 for c in cases]
    params = [c.spec.n_params for c in cases]
    print(
        f"networks: {len(cases)} dense drawn by Hypothesis, depth 1-4, widths 1-8 "
        f"({frozen} with nothing trainable, skipped by check_grads)"
    )
    print(f"  mean depth {np.mean(layers):.2f}, mean params {np.mean(params):.1f}")
    print(f"warm-up: {len(warm_cases)} networks in {warm:.2f} s (JAX compiles per shape bucket)")
    print(f"generation alone: {len(cases) / generation:8.1f} networks/s  (best of 3)")
    print(
        f"three-way verify: {rate:8.1f} networks/s  (best of 3; target >= {TARGET_RATE:.0f}); "
        f"{traces} JAX traces after warm-up; {len(failures)} failed"
    )
    print(
        f"check_grads:      {baseline:8.1f} networks/s  (same networks, rev mode); "
        f"it rejected {rejected} of them"
    )
    print(f"ratio:            {ratio:8.1f}x  (target >= {TARGET_RATIO:.0f}x)")
    print(
        f"  check_grads again on the same networks: {repeat:.1f} networks/s "
        f"(ratio {rate / repeat:.1f}x)"
    )
    for line in sorted(failures)[:5]:
        print(f"  FAILED {line}")
    missed = rate < TARGET_RATE or ratio < TARGET_RATIO or failures
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
