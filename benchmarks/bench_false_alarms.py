"""False alarms of the default verification on gradcheck's own backprop, and how fast it runs.

    python benchmarks/bench_false_alarms.py [--per-seed N] [--kinked N] [--seeds 0-4] [--jobs J]

For each seed, ``N`` default generated networks (``sample_networks(N, seed)``: both dtypes, every
activation, loss, bias mode and frozen pattern) and ``N`` networks with exact relu kinks
(``target_kinks=True``: a unit whose pre-activation is exactly 0 for every sample, where FD
straddles the kink) are verified three ways against the hand-derived backprop, which is right
by construction: every verdict that is not ok is a false alarm. Prints the count per seed and
kind, each false alarm's replay file, and networks per second (each process pays its own JAX
compiles). Target: 0 false alarms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def _check(job: tuple[str, int, int]) -> dict[str, Any]:
    import jax

    jax.config.update("jax_enable_x64", True)
    from gradcheck.checking.batched import verify_many
    from gradcheck.generate.strategies import sample_networks
    from gradcheck.hand import hand_grads

    kind, seed, n = job
    extra: dict[str, Any] = {}
    if kind == "kinked":
        extra = {"target_kinks": True, "activations": ("relu", "leaky_relu", "tanh", "sigmoid")}
    began = time.perf_counter()
    alarms: list[str] = []
    cases = sample_networks(n, seed, **extra)
    verdicts = verify_many(hand_grads, cases)  # as gradcheck verify --examples runs them
    for k, (case, verdict) in enumerate(zip(cases, verdicts, strict=True)):
        if not verdict.ok:
            path = os.path.join(tempfile.gettempdir(), f"false-alarm-{kind}-seed{seed}-{k}.toml")
            with open(path, "w") as out:
                out.write(case.replay())
            alarms.append(f"{verdict.summary(limit=1)}\n      replay: {path}")
    return {
        "kind": kind,
        "seed": seed,
        "n": n,
        "float32": sum(c.spec.model.dtype == "float32" for c in cases),
        "alarms": alarms,
        "seconds": time.perf_counter() - began,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-seed", type=int, default=1000, help="default networks per seed")
    parser.add_argument("--kinked", type=int, default=200, help="kinked networks per seed")
    parser.add_argument("--seeds", default="0-4", help="a range, e.g. 0-4")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    low, _, high = args.seeds.partition("-")
    seeds = range(int(low), int(high or low) + 1)
    jobs = [("default", s, args.per_seed) for s in seeds]
    jobs += [("kinked", s, args.kinked) for s in seeds if args.kinked]
    began = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        results = list(pool.map(_check, jobs))
    wall = time.perf_counter() - began
    total = sum(r["n"] for r in results)
    alarms = sum(len(r["alarms"]) for r in results)
    for r in results:
        print(
            f"{r['kind']:8} seed {r['seed']}: {len(r['alarms'])} false alarms in {r['n']} "
            f"networks ({r['float32']} float32), {r['n'] / r['seconds']:.0f} networks/s"
        )
        for line in r["alarms"]:
            print(f"    {line}")
    print(
        f"total: {alarms} false alarms in {total} networks, {wall:.0f} s wall with {args.jobs} "
        f"processes ({total / wall:.0f} networks/s)   target 0: {'ok' if not alarms else 'FAILED'}"
    )
    sys.exit(1 if alarms else 0)


if __name__ == "__main__":
    main()
