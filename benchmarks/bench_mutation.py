"""Mutation score of gradcheck's own hand-derived backprop under the default verification.

Target (issue 10): at least 95% of the non-equivalent mutants of ``gradcheck/hand/*.py`` killed
by what ``gradcheck verify`` checks by default: the built-in networks plus 10 generated ones
(seed 0). The candidate is ``gradcheck.hand:hand_grads``; every module of ``gradcheck.hand`` is
mutated, one expression at a time, and each mutant is imported afresh from its mutated source
(``gradcheck.hand`` and its modules re-imported around it), so ``hand_grads`` runs the mutated
code. Equivalent mutants (gradients equal to the original's on every network, to rounding) are
counted apart: dead code for gradients (``training.py``, the loss values, softmax's displayed
derivative) and true identities.

    python benchmarks/bench_mutation.py [--jobs 2] [--examples 10] [--limit N] [--check]

Prints the killed / survived / equivalent counts, the score, the time, each surviving mutant with
its diff, and the equivalent ones per file (``--show-equivalent``: each with its diff).
``--check`` exits 1 when the score is under the target.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter

import jax

TARGET = 0.95
CANDIDATE = "gradcheck.hand:hand_grads"
MODULES = ("gradcheck.hand",)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--examples", type=int, default=10, help="generated networks (verify's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--dense",
        action="store_true",
        help="generated networks of dense layers only (default: every kind, as verify draws)",
    )
    parser.add_argument("--limit", type=int, help="a random sample of this many mutants")
    parser.add_argument("--show-equivalent", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 below the target")
    args = parser.parse_args()

    jax.config.update("jax_enable_x64", True)  # as the CLI verifies
    from gradcheck.checking.mutation import mutation_score
    from gradcheck.generate.strategies import sample_networks
    from gradcheck.spec import builtin_networks_dir, load_specs

    given = load_specs([builtin_networks_dir()])
    networks = [(s, s.initial_params(), s.inputs(), s.targets()) for s in given]
    drawn = {"kinds": ("dense",)} if args.dense else {}
    networks += sample_networks(args.examples, args.seed, **drawn)
    start = time.perf_counter()
    report = mutation_score(
        CANDIDATE,
        networks,
        modules=MODULES,
        limit=args.limit,
        seed=args.seed,
        jobs=args.jobs,
    )
    seconds = time.perf_counter() - start
    checked = len(report.results)
    killed, survived = report.count("killed"), report.count("survived")
    equivalent = report.count("equivalent")
    score = report.score or 0.0
    sample = f" (a sample of {report.found})" if checked < report.found else ""
    print(f"mutants of {', '.join(report.modules)} ({CANDIDATE})")
    print(f"  mutants         {checked}{sample}")
    drawn_kinds = "dense" if args.dense else "every-kind"
    print(
        f"  networks        {len(given)} built-in + {args.examples} {drawn_kinds} generated "
        f"(seed {args.seed})"
    )
    print(f"  killed          {killed}")
    print(f"  survived        {survived}")
    print(f"  equivalent      {equivalent} ({report.not_reached} on lines no network ran)")
    print(f"  mutation score  {100 * score:.1f}% ({killed} of {checked - equivalent})")
    print(f"  target          >= {100 * TARGET:.0f}%: {'met' if score >= TARGET else 'MISSED'}")
    print(f"  time            {seconds:.1f} s on {report.jobs} jobs ({checked / seconds:.1f}/s)")
    per_operator = Counter(r.mutant.operator for r in report.results if r.status == "killed")
    print("  killed per operator: " + ", ".join(f"{k} {n}" for k, n in per_operator.items()))
    for status in ("survived", "equivalent"):
        found = [r for r in report.results if r.status == status]
        files = Counter(r.mutant.path for r in found)
        print(f"\n{status} ({len(found)}): " + ", ".join(f"{f} {n}" for f, n in files.items()))
        if status == "equivalent" and not args.show_equivalent:
            continue
        for r in found:
            m = r.mutant
            print(f"  {m.path}:{m.line} {m.operator}: {m.description}")
            for line in m.changed_lines():
                print(f"       {line.strip()[:1]} {line[1:].strip()}")
            if status == "survived":
                print(f"       {r.reason}")
    return 1 if args.check and score < TARGET else 0


if __name__ == "__main__":  # the guard spawned worker processes need
    sys.exit(main())
