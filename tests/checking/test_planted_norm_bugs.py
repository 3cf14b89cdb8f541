"""The verifier bites on the classic norm bugs in whole networks, and only on them.

``batch_norm_without_mean_terms`` (``dx = dx_hat / std``) and ``layer_norm_over_the_batch``
(statistics over the batch, not the features; ``tests/planted_norms.py``). On the smallest
network that shows each, whole-network ``verify`` fails and names the entries the bug reaches in
the layers' own terms (``layer 1 W[0,0]``, ``layer 2 gamma[1]``); the right backward
(``norms_again``) passes there and on generated networks with norms, so a failure is the bug and
not the harness.
"""

from __future__ import annotations

from typing import Any

import planted_norms
import pytest

from gradcheck.checking.verification import verify
from gradcheck.generate.norms import NORM_KINDS
from gradcheck.generate.strategies import sample_networks
from gradcheck.spec import GradientFn, Spec, parse_spec


def _spec(width: int, norm: dict[str, Any], inputs: list[float]) -> Spec:
    """``1 -> dense(width) -> norm``, half-SSE on the norm's outputs, one sample per input."""
    dense = {"size": width, "weights": [[0.8 - 0.5 * k] for k in range(width)]}
    return parse_spec(
        {
            "name": "smallest",
            "loss": "half_sse",
            "input": {"size": 1},
            "layers": [dense, norm],
            "samples": [
                {"input": [x], "target": [0.3 * k - 0.2 for k in range(width)]} for x in inputs
            ],
        },
        "smallest.toml",
    )


# batch_norm: one feature, three samples (with two, a norm's outputs are +-1 whatever the inputs
# and every input gradient is nearly 0); layer_norm: three features of one sample (normalised over
# a batch of one, every output is beta whatever the inputs, so the bug sends W no gradient).
SMALLEST = {
    "batch_norm_without_mean_terms": _spec(
        1, {"kind": "batch_norm", "gamma": {"value": [1.5]}}, [0.2, -0.7, 1.1]
    ),
    "layer_norm_over_the_batch": _spec(
        3, {"kind": "layer_norm", "gamma": {"value": [1.5, -0.5, 0.9]}}, [0.6]
    ),
}
BLAMED = {
    "batch_norm_without_mean_terms": {(0, "W")},  # gamma's and beta's gradients stay right
    # the wrong forward moves the outputs, so every delta and every gradient
    "layer_norm_over_the_batch": {(0, "W"), (1, "gamma"), (1, "beta")},
}
BUGS: dict[str, GradientFn] = {name: getattr(planted_norms, name) for name in SMALLEST}


@pytest.mark.parametrize("name", list(SMALLEST))
def test_each_planted_norm_bug_fails_verify_naming_the_entries_it_reaches(name: str) -> None:
    verdict = verify(BUGS[name], SMALLEST[name])
    assert not verdict.ok
    assert {(e.layer, e.group) for e in verdict.failures} == BLAMED[name], verdict.summary()
    labels = {e.label.split("[")[0] for e in verdict.failures}
    assert labels == {f"layer {layer + 1} {group}" for layer, group in BLAMED[name]}


@pytest.mark.parametrize("name", list(SMALLEST))
def test_the_right_norm_backward_passes_on_the_same_networks(name: str) -> None:
    assert verify(planted_norms.norms_again, SMALLEST[name]).ok


def test_the_right_norm_backward_passes_on_generated_networks_with_norms() -> None:
    cases = sample_networks(len(NORM_KINDS), 3, kinds=("dense", *NORM_KINDS))
    assert {k for c in cases for k in c.spec.kinds} >= set(NORM_KINDS)
    for case in cases:
        verdict = verify(planted_norms.norms_again, *case)
        assert verdict.ok, verdict.summary()
