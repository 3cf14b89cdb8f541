"""Three sides agree on networks with an rnn: hand-derived = JAX = finite differences.

Networks drawn with rnn allowed (a ``(T, n_in)`` input, an rnn emitting its last state or every
state, a flatten where it emits every one, then dense layers), in float64 and float32: the
hand-derived backpropagation through time matches ``jax.value_and_grad`` of the reference
forward to the dtype's rounding of the terms each entry sums, and the float64 finite
differences (the whole recurrence rerun for every perturbed copy) within their own error
estimate, entry by entry and along random directions.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_three_sides_agree
from hypothesis import given, settings

from gradcheck.generate.strategies import Case, networks, sample_networks
from gradcheck.hand import hand_grads
from gradcheck.oracles.fd_directional import directional_finite_difference

SEQUENCES = ("dense", "flatten", "rnn")
RTOL = {"float64": 1e-9, "float32": 2e-3}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_hand_jax_and_finite_differences_agree_on_planned_sequence_networks(dtype: str) -> None:
    cases = sample_networks(2, 4, kinds=SEQUENCES, dtypes=(dtype,), batch_size=(2, 3))
    assert "rnn" in cases[0].spec.kinds  # the plan's first case has a sequence stem
    for case in cases:
        assert_three_sides_agree(case)


@settings(max_examples=3, deadline=None)
@given(networks(kinds=SEQUENCES, depth=(1, 2), dtypes=("float64", "float32")))
def test_hand_jax_and_finite_differences_agree_on_drawn_sequence_networks(case: Case) -> None:
    assert_three_sides_agree(case)


def test_a_directional_difference_reruns_the_recurrence() -> None:
    """Along a random direction the net of an rnn moves nonlinearly; the oracle's stencil
    reruns it, so ``<grad, v>`` matches the directional difference."""
    (case,) = sample_networks(1, 4, kinds=SEQUENCES, dtypes=("float64",), weight_scale=(1.0, 2.0))
    assert "rnn" in case.spec.kinds
    found = directional_finite_difference(*case, seed=5)
    hand = hand_grads(*case)
    for i, layer in enumerate(hand):
        for group, grad in layer.items():
            projected = float(np.sum(grad * found.directions[i][group]))
            slack = 3.0 * found.errors[i][group] + RTOL["float64"] * float(
                np.sum(found.scales[i][group])
            )
            assert abs(projected - found.values[i][group]) <= slack, (i, group)
