"""Hypothesis shrinks a planted bug through whole-network ``verify`` to the smallest network.

The loss-level planted bugs run on dense networks, whose JAX programs are shared across shape
buckets, so their search and shrink take seconds: binary cross-entropy with the sigmoid's
derivative applied twice, and weight decay applied to biases. The layer kinds' bugs shrink the
same way (``benchmarks/shrink_planted_bugs.py`` prints all eleven: each new shape there costs a
JAX compile, a minute or two per bug, too slow for this suite).
"""

from __future__ import annotations

import planted_kinds
import pytest
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st

from gradcheck.checking.verification import verify
from gradcheck.generate.strategies import Case, networks
from gradcheck.hand import hand_grads
from gradcheck.spec import GradientFn

SEARCH = settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
# small networks: few shape buckets, so few JAX compiles (the search and the shrink are the same)
SMALL = {
    "depth": (1, 2),
    "widths": (1, 3),
    "n_inputs": (1, 3),
    "batch_size": (1, 3),
    "kinds": ("dense",),  # the two bugs live in dense layers (the script shrinks the others)
}
BUGS: dict[str, tuple[GradientFn, st.SearchStrategy[Case], str]] = {
    "bce_sigmoid_twice": (
        planted_kinds.bce_sigmoid_twice,
        networks(losses=("binary_cross_entropy",), output_activations=("sigmoid",), **SMALL),
        "layer 1 W[0,0]",
    ),
    "decay_on_biases": (
        planted_kinds.decay_on_biases,
        networks(weight_decay=(0.1, 1.0), bias_modes=("shared", "per_neuron"), **SMALL),
        "layer 1 b",
    ),
}


@pytest.mark.parametrize("name", list(BUGS))
def test_a_planted_bug_shrinks_to_one_neuron_one_sample_and_names_its_entry(name: str) -> None:
    candidate, strategy, entry = BUGS[name]
    smallest = find(strategy, lambda case: not verify(candidate, *case).ok, settings=SEARCH)
    assert smallest.spec.sizes == (1, 1) and len(smallest.inputs) == 1
    verdict = verify(candidate, *smallest)
    assert [(e.label, e.status) for e in verdict.failures] == [(entry, "backprop-bug")]
    assert verify(hand_grads, *smallest).ok  # the network is fine; the planted line is not
