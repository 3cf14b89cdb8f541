"""The verifier catches a residual block whose backward drops the skip, and only that.

``residual_skip_dropped`` (``tests/planted_kinds.py``) returns only the block's ``dE/dx``, not
the skip's ``delta`` added to it. The block's own gradients stay right, so the bug shows only
below the block: on the smallest network that can show it (one dense unit, then a block of one
dense unit) whole-network ``verify`` fails naming layer 1's entries, in per-entry and in
random-direction mode; the same candidate with the skip kept passes there (and on generated
residual networks: ``test_planted_kind_bugs``), and with nothing below the block the bug has
nothing to change.
"""

from __future__ import annotations

from typing import Any

import planted_kinds
import pytest

from gradcheck.checking.verification import verify
from gradcheck.spec import Spec, parse_spec


def _spec(layers: list[dict[str, Any]]) -> Spec:
    return parse_spec(
        {
            "name": "smallest-residual",
            "loss": "half_sse",
            "input": {"size": 1},
            "layers": layers,
            "samples": [{"input": [0.8], "target": [0.1]}, {"input": [-0.5], "target": [0.4]}],
        },
        "smallest-residual.toml",
    )


BLOCK = {"kind": "residual", "layers": [{"size": 1, "activation": "tanh", "weights": [[0.6]]}]}
BELOW = {"size": 1, "weights": [[0.7]], "bias": {"mode": "per_neuron", "value": [0.2]}}
SMALLEST = _spec([BELOW, BLOCK])


@pytest.mark.parametrize("mode", ["entries", "projection"])
def test_dropping_the_skip_fails_verify_naming_the_layer_below(mode: str) -> None:
    verdict = verify(planted_kinds.residual_skip_dropped, SMALLEST, mode=mode)
    assert not verdict.ok
    assert {e.layer for e in verdict.failures} == {0}, verdict.summary()
    assert {e.group for e in verdict.failures} <= {"W", "b"}
    assert all(e.label.startswith("layer 1 ") for e in verdict.failures)


@pytest.mark.parametrize("mode", ["entries", "projection"])
def test_the_skip_kept_passes_on_the_same_network(mode: str) -> None:
    assert verify(planted_kinds.hand_again, SMALLEST, mode=mode).ok


def test_with_nothing_below_the_block_the_skip_changes_no_gradient() -> None:
    assert verify(planted_kinds.residual_skip_dropped, _spec([BLOCK, BELOW])).ok
