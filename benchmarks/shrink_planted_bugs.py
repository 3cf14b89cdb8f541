"""Planted bugs shrunk through whole-network ``verify``: Hypothesis finds the smallest network.

Each planted bug of issue 9 (``tests/planted_kinds.py``, ``tests/planted_norms.py``: a one-line
change of gradcheck's own backprop) is searched for with ``hypothesis.find`` over generated
networks of the kinds it needs, the condition being that whole-network ``verify`` (hand against
JAX and finite differences) fails; Hypothesis then shrinks the failing network. The script prints,
per bug, the minimal network (layer kinds and shapes, batch), the entries ``verify`` names with
their diagnosis, the examples tried and the seconds taken. Every search is derandomized, so a run
prints the same networks.

Each new network shape costs a JAX compile, so the whole run takes minutes; the test suite keeps
the hand-built smallest networks (``tests/checking/test_planted_*``) and shrinks one bug
(``tests/checking/test_shrinking_planted_bugs.py``).

    python benchmarks/shrink_planted_bugs.py [--examples 200] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import jax
import planted_kinds
import planted_norms
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st

from gradcheck.checking.verification import verify
from gradcheck.generate.strategies import Case, networks
from gradcheck.spec import GradientFn

IMAGES = ("conv2d", "flatten", "dense")
# bug name -> (candidate, the generated networks it is searched in)
BUGS: dict[str, tuple[GradientFn, Callable[[], st.SearchStrategy[Case]]]] = {
    "batch_norm without the mean terms": (
        planted_norms.batch_norm_without_mean_terms,
        lambda: networks(kinds=("dense", "batch_norm"), batch_size=(2, 4)),
    ),
    "conv without the kernel flip": (
        planted_kinds.conv_without_flip,
        lambda: networks(kinds=IMAGES),
    ),
    "conv with the stride ignored": (
        planted_kinds.conv_stride_ignored,
        lambda: networks(kinds=IMAGES),
    ),
    "max-pool gradient to every window input": (
        planted_kinds.max_pool_to_every_input,
        lambda: networks(kinds=(*IMAGES, "max_pool2d")),
    ),
    "avg-pool gradient not divided by the window": (
        planted_kinds.avg_pool_not_divided,
        lambda: networks(kinds=(*IMAGES, "avg_pool2d")),
    ),
    "dropout mask not applied in backward": (
        planted_kinds.dropout_mask_not_in_backward,
        lambda: networks(kinds=(*IMAGES, "dropout")),
    ),
    "residual skip gradient dropped": (
        planted_kinds.residual_skip_dropped,
        lambda: networks(kinds=("dense", "residual")),
    ),
    "rnn without the through-time term": (
        planted_kinds.rnn_without_through_time,
        lambda: networks(kinds=("rnn", "dense")),
    ),
    "layer_norm over the batch": (
        planted_norms.layer_norm_over_the_batch,
        lambda: networks(kinds=("dense", "layer_norm"), batch_size=(2, 4)),
    ),
    "binary cross-entropy with sigma' twice": (
        planted_kinds.bce_sigmoid_twice,
        lambda: networks(losses=("binary_cross_entropy",), output_activations=("sigmoid",)),
    ),
    "weight decay applied to biases": (
        planted_kinds.decay_on_biases,
        lambda: networks(weight_decay=(0.1, 1.0), bias_modes=("shared", "per_neuron")),
    ),
}


def describe(case: Case) -> str:
    """``1x3x3 -conv2d-> 1x3x3 -flatten-> 9 -dense-> 1, batch 1, float64``."""
    spec = case.spec
    shapes = ["x".join(map(str, s)) for s in spec.shapes]
    steps = "".join(f" -{k}-> {s}" for k, s in zip(spec.kinds, shapes[1:], strict=True))
    return f"{shapes[0]}{steps}, batch {len(case.inputs)}, {spec.loss}, {spec.model.dtype}"


def shrink(candidate: GradientFn, strategy: st.SearchStrategy[Case], examples: int) -> Any:
    """The smallest generated network on which ``verify(candidate)`` fails, its verdict, and
    how many networks were tried (None when none failed within ``examples``)."""
    tried = [0]

    def fails(case: Case) -> bool:
        tried[0] += 1
        return not verify(candidate, *case).ok

    config = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    try:
        case = find(strategy, fails, settings=config)
    except Exception as exc:  # NoSuchExample, or Unsatisfiable
        return None, str(exc), tried[0]
    return case, verify(candidate, *case), tried[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200, help="search budget per bug")
    parser.add_argument("--only", nargs="*", default=None, help="bug names (substrings)")
    args = parser.parse_args()
    jax.config.update("jax_enable_x64", True)  # a script process, like the CLI
    chosen = [n for n in BUGS if not args.only or any(o in n for o in args.only)]
    caught = 0
    for name in chosen:
        candidate, strategy = BUGS[name]
        start = time.perf_counter()
        case, verdict, tried = shrink(candidate, strategy(), args.examples)
        seconds = time.perf_counter() - start
        print(f"{name}: {tried} networks tried, {seconds:.1f} s", flush=True)
        if case is None:
            print(f"  NOT FOUND: {verdict}")
            continue
        caught += 1
        print(f"  smallest: {describe(case)}")
        named = sorted({f"{e.label} [{e.status}]" for e in verdict.failures})
        print(f"  verify names {len(verdict.failures)}: {', '.join(named[:6])}")
    print(f"{caught} of {len(chosen)} planted bugs found and shrunk")


if __name__ == "__main__":
    main()
