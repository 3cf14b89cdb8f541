"""Throughput of ``gradcheck verify --examples N`` (networks verified in batches) against
``jax.test_util.check_grads``, and of one network per example under Hypothesis ``@given``.

Targets (issue 10): on small networks (depth <= 4, widths <= 8), ``verify --examples 10000`` at
>= 2,000 networks/s end to end and >= 20x check_grads' warm rate on the same networks, same run;
under ``@given``, generation included, >= 300 networks/s.

* end to end: ``sample_networks`` then ``verify_many`` (what the command runs between loading and
  printing), after a warm-up run on other networks of the same buckets (JAX compiles once per
  bucket and chunk size); the median of ``--repeats`` runs, each on fresh networks. ``--cli``
  also times the command itself in a subprocess, cold (interpreter start and compiles included).
* check_grads: the first ``--check-grads`` networks of the first run, through a plain jax.numpy
  loss (``bench_verify.jnp_loss``), timed on a second pass over them (its warm rate). The second
  pass is warm only while every compile of the first stays in JAX's caches: on 300 networks or
  more it compiled again and ran at the first pass's rate (1/s, not 35/s), which made the ratio
  look 30x better than it is; so the default is 100, and both passes' rates are printed.
* ``@given``: ``bench_verify.hypothesis_loop`` with one ``verify`` per example, median of runs.
* stages: this process's CPU time per network of each stage of ``verify_many`` (drawing,
  argument checks, the batched JAX oracle, finite differences, candidate and verdicts), and the
  rate their sum allows per core: a ceiling for any batching or process layout around them.

    python benchmarks/bench_verify_batched.py [--examples 10000] [--repeats 3] [--every-kind 60]
        [--cli]

Shared machines are noisy: the medians are printed with the spread and the load average, and
the end-to-end rate per CPU second of this process beside the wall-clock one.

Measured 2026-11-26 on the 2-core shared machine at load average 9-12 (so wall rates are several
times below an idle machine's), 2,000 small networks per run, pinned to 2 cores, one BLAS
thread, medians of 3 interleaved runs, before (fac79dc) -> after finite differences batched
across alike networks, Spec's per-layer tuples cached and FD results laid out as slices:
verify_many 238 -> 324 networks per CPU second (x1.36), generation 468 -> 597 (x1.28), end to
end 158 -> 210 per CPU second (x1.33), 64 -> 82 networks/s wall. Drawn default networks almost
never share exact sizes (about 1,600 distinct (sizes, batch) among 2,000), so the stacked FD
pass rarely holds more than one of them; the gain there is its lighter per-network path.

Measured 2026-11-27, same machine at load 0.2-2, e04f5f1 -> 91b11fd interleaved in one session
(medians of 3 runs of 2,000): verify_many 342-362 -> 367-392 networks/s, end to end 204-230 ->
253-254 per CPU second, the first 1,000 networks (8 buckets compiled) 26.5-29.7 s -> 13.4-13.9 s;
this script at --examples 4000: 221 /s end to end, check_grads 24.8 /s warm (8.9x), @given 143 /s.

Measured 2026-11-27 (a later session), same machine idle (load 0.5-2), this script at --examples
4000, c426e2c -> 7fbb092 (depth padded with pass-through layers: one program per dtype for these
networks instead of one per depth and dtype): warm-up on 2,000 networks 9.1 -> 5.7 s, end to end
495 -> 533 /s (single process), verify_many 741 -> 836 /s, @given 258 -> 265 /s (its spread
222-287), check_grads warm 64-68 /s (7.8x -> 7.9x). The one-network JAX call costs more warm
(383-464 -> 500-515 us, the depth-4 program for every depth) and much less cold: the first 100
fresh networks of a process verified in 4.3 s -> 1.4 s.

Measured 2026-11-27 (a third session), same machine at load 1-2, cff13f6 -> dffec68 interleaved:
drawing faster (validation cheaper, same draws), verdicts pickled with their groups packed and
without the spec of a network that verified, worker processes started before the given networks
are verified. ``gradcheck verify --examples 10000 --depth 1-4 --widths 1-8 --kinds dense --jobs
2`` (warm compile cache, two runs each): 14.4-15.5 s -> 11.7-12.2 s wall, the command's own CPU
5.0-5.2 s -> 2.5-2.7 s, its workers' 19.8-21.7 s -> 18.8-19.7 s. This script at --examples 4000
--given 1000: end to end 582 -> 597 /s, generation 1702 -> 2025 /s, verify_many 896 -> 890 /s;
check_grads warm 63 and 45 /s in the two runs (the machine's noise: its code did not change),
@given 222-250 -> 232-340 /s over three interleaved runs of bench_verify's loop.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import jax
import numpy as np
from bench_verify import check_grads_seconds, hypothesis_loop

from gradcheck.checking.batched import fd_results_many, jax_values_many, verify_many
from gradcheck.checking.candidates import CANDIDATE_FAILURES
from gradcheck.checking.verification import verify, verify_batch
from gradcheck.generate.strategies import Case, sample_networks
from gradcheck.hand import hand_grads
from gradcheck.oracles import check_arguments, jax_cache_info

# The targets are stated for small MLPs, dense layers only: a network of the other kinds (the
# default draws every kind) compiles a JAX program at its own exact shapes, so it is timed apart
# (``every_kind``).
SMALL: dict[str, Any] = {"depth": (1, 4), "widths": (1, 8), "kinds": ("dense",)}
TARGET_RATE, TARGET_RATIO, TARGET_GIVEN = 2000.0, 20.0, 300.0


def end_to_end(n: int, seed: int) -> tuple[float, float, list[Case], int, float]:
    """Seconds to draw ``n`` networks and to verify them in batches, the networks, failures,
    and the CPU seconds of both (this process's: steadier than wall time on a shared machine)."""
    began, cpu = time.perf_counter(), time.process_time()
    cases = sample_networks(n, seed, **SMALL)
    drawn = time.perf_counter()
    verdicts = verify_many(hand_grads, cases, catch=CANDIDATE_FAILURES)
    done = time.perf_counter()
    failed = sum(not v.ok for v in verdicts)
    return drawn - began, done - drawn, cases, failed, time.process_time() - cpu


def every_kind(n: int, seed: int) -> tuple[float, int, int]:
    """Networks per second of ``verify_many`` on ``n`` default (every-kind) networks, how many
    were dense only (those share the padded programs), and how many failed."""
    cases = sample_networks(n, seed)
    began = time.perf_counter()
    verdicts = verify_many(hand_grads, cases, catch=CANDIDATE_FAILURES)
    rate = n / (time.perf_counter() - began)
    return rate, sum(c.spec.is_dense for c in cases), sum(not v.ok for v in verdicts)


def stage_costs(n: int, seed: int) -> dict[str, float]:
    """CPU microseconds per network of each stage of ``verify_many`` on ``n`` small networks
    (after the warm-up): drawing, argument checks, the batched JAX oracle, the batched finite
    differences, and the candidate with the comparison and verdicts. Their sum bounds the rate
    one core can reach whatever the batching around them."""
    clock = time.process_time
    began = clock()
    cases = sample_networks(n, seed, **SMALL)
    batch = [(s, p, np.asarray(x), np.asarray(t)) for s, p, x, t in cases]
    drawn = clock()
    for arguments in batch:
        check_arguments(*arguments)
    checked = clock()
    values = jax_values_many(batch)
    jaxed = clock()
    fds = fd_results_many(batch, {})
    differenced = clock()
    verify_batch(hand_grads, batch, values, fds, catch=CANDIDATE_FAILURES)
    done = clock()
    marks = [began, drawn, checked, jaxed, differenced, done]
    names = ["drawing", "argument checks", "JAX oracle", "finite differences", "candidate+verdict"]
    spans = zip(names, marks, marks[1:], strict=False)  # five spans between six marks
    return {k: 1e6 * (b - a) / n for k, a, b in spans}


def cli_seconds(n: int) -> float:
    """Wall seconds of ``gradcheck verify --examples n`` on small networks, in a fresh process."""
    command = [sys.executable, "-m", "gradcheck", "verify", "--examples", str(n)]
    command += ["--depth", "1-4", "--widths", "1-8", "--kinds", "dense", "--json"]
    began = time.perf_counter()
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):8.1f}  (runs {', '.join(f'{v:.0f}' for v in values)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10000, help="networks per run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (median)")
    parser.add_argument("--warmup", type=int, default=2000, help="networks to warm up on")
    parser.add_argument("--check-grads", type=int, default=100, help="networks for check_grads")
    parser.add_argument("--given", type=int, default=300, help="examples per @given run")
    parser.add_argument("--every-kind", type=int, default=60, help="default networks timed")
    parser.add_argument("--cli", action="store_true", help="also time the command, cold")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)  # a script: float64 for both sides
    load = os.getloadavg()[0]

    warm = end_to_end(args.warmup, 100)
    traces = jax_cache_info()["traces"]
    runs = [end_to_end(args.examples, 1 + r) for r in range(args.repeats)]
    traces = jax_cache_info()["traces"] - traces
    e2e = [args.examples / (drawn + checked) for drawn, checked, *_ in runs]
    verify_only = [args.examples / checked for _, checked, *_ in runs]
    drawing = [args.examples / drawn for drawn, *_ in runs]
    per_cpu = [args.examples / r[4] for r in runs]
    failed = sum(r[3] for r in runs)

    sample = runs[0][2][: args.check_grads]
    first = check_grads_seconds(sample)[0]  # its compiles: one per primitive and shape
    seconds, rejected = check_grads_seconds(sample)
    baseline = 1.0 / seconds
    ratio = statistics.median(e2e) / baseline

    given: list[float] = []
    failures: list[str] = []

    def check(case: Case) -> None:
        if not verify(hand_grads, *case).ok:
            failures.append(case.spec.name)

    hypothesis_loop(args.given, 1, check)  # warm-up: the single-network programs compile
    for r in range(args.repeats):
        given.append(args.given / hypothesis_loop(args.given, 2 + r, check))

    kinds_rate, dense_only, kinds_failed = every_kind(args.every_kind, 50)
    costs = [stage_costs(min(args.examples, 2048), 40 + r) for r in range(args.repeats)]
    stages = {k: statistics.median(c[k] for c in costs) for k in costs[0]}
    per_network = sum(stages.values())

    median = statistics.median
    print(f"load average at start: {load:.1f} on {os.cpu_count()} cores (a shared machine)")
    print(
        f"networks: dense, depth 1-4, widths 1-8, both dtypes; warm-up {args.warmup} "
        f"{sum(warm[:2]):.1f} s"
    )
    print(f"verify --examples {args.examples}, end to end: {spread(e2e)} networks/s")
    print(f"  target >= {TARGET_RATE:.0f}")
    print(f"  per CPU second:    {spread(per_cpu)} networks")
    print(f"  generation alone:  {spread(drawing)} networks/s")
    print(f"  verify_many alone: {spread(verify_only)} networks/s")
    print(f"  {traces} JAX traces after warm-up; {failed} failed verdicts")
    print(
        "  CPU per network by stage (medians): "
        + ", ".join(f"{k} {v:.0f} us" for k, v in stages.items())
    )
    print(
        f"  sum {per_network:.0f} us: at most {1e6 / per_network:.0f} networks/s per core, "
        f"{(os.cpu_count() or 1) * 1e6 / per_network:.0f} on this machine's {os.cpu_count()} "
        "cores, before any process start, compile or message"
    )
    print(
        f"check_grads warm on {len(sample)} of them: {baseline:.1f} /s ({rejected} rejected; "
        f"first pass, compiling: {1.0 / first:.1f} /s)"
    )
    print(f"ratio end to end / check_grads: {ratio:6.1f}x   target >= {TARGET_RATIO:.0f}x")
    print(f"@given, one verify per example: {spread(given)} networks/s; {len(failures)} failed")
    print(f"  target >= {TARGET_GIVEN:.0f}")
    print(
        f"verify_many on {args.every_kind} default networks of every kind ({dense_only} dense "
        f"only): {kinds_rate:.1f} networks/s, one JAX compile each; {kinds_failed} failed"
    )
    if args.cli:
        wall = cli_seconds(args.examples)
        rate = args.examples / wall
        print(
            f"gradcheck verify --examples {args.examples}, cold process: {wall:.1f} s, {rate:.0f}/s"
        )
    missed = (
        median(e2e) < TARGET_RATE
        or ratio < TARGET_RATIO
        or median(given) < TARGET_GIVEN
        or failed
        or failures
    )
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
