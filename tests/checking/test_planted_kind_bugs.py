"""The verifier bites on the classic backward-pass bugs of the image kinds, and only on them.

Each planted bug (``tests/planted_kinds.py``) swaps one kind's backward pass for a wrong one:
a convolution's input gradient without the kernel flip or with the stride ignored, max pooling
sending the gradient to every input of its window, average pooling not dividing by the window,
dropout passing the gradient to the inputs it dropped.
On the smallest network that can show it (a parameterised layer below the buggy one, or there is
no input gradient to get wrong), whole-network ``verify`` fails and names the entries of the layer
below; the same candidate with the right backward passes (``hand_again``) passes there and on
generated image networks, so a failure is the bug and not the harness.
"""

from __future__ import annotations

from typing import Any

import planted_kinds
import pytest

from gradcheck.checking.verification import verify
from gradcheck.generate.strategies import sample_networks
from gradcheck.layers import KINDS
from gradcheck.spec import GradientFn, Spec, parse_spec

ONE_BY_ONE = {"kind": "conv2d", "channels": 1, "kernel": 1, "weights": [[[[0.7]]]]}
KERNEL_2x2 = [[[[0.3, -0.5], [0.9, 0.2]]]]


def _spec(shape: list[int], layers: list[dict[str, Any]], n_flat: int) -> Spec:
    n_in = shape[0] * shape[1] * shape[2]
    dense = {"size": 1, "weights": [[0.5 - 0.3 * k for k in range(n_flat)]]}
    return parse_spec(
        {
            "name": "smallest",
            "loss": "half_sse",
            "input": {"shape": shape},
            "layers": [*layers, {"kind": "flatten"}, dense],
            "samples": [
                {"input": [((7 * k) % 11) / 10 - 0.4 for k in range(n_in)], "target": [0.1]}
            ],
        },
        "smallest.toml",
    )


SMALLEST = {
    "conv_without_flip": _spec(
        [1, 3, 3],
        [ONE_BY_ONE, {"kind": "conv2d", "channels": 1, "kernel": 2, "weights": KERNEL_2x2}],
        4,
    ),
    "conv_stride_ignored": _spec(
        [1, 5, 5],
        [
            ONE_BY_ONE,
            {"kind": "conv2d", "channels": 1, "kernel": 2, "stride": 2, "weights": KERNEL_2x2},
        ],
        4,
    ),
    "max_pool_to_every_input": _spec(
        [1, 4, 4], [ONE_BY_ONE, {"kind": "max_pool2d", "kernel": 2}], 4
    ),
    "dropout_mask_not_in_backward": _spec(
        [1, 2, 2], [ONE_BY_ONE, {"kind": "dropout", "rate": 0.5, "seed": 1}], 4
    ),
    "avg_pool_not_divided": _spec([1, 4, 4], [ONE_BY_ONE, {"kind": "avg_pool2d", "kernel": 2}], 4),
}
BUGS: dict[str, GradientFn] = {name: getattr(planted_kinds, name) for name in SMALLEST}


@pytest.mark.parametrize("name", list(SMALLEST))
def test_each_planted_kind_bug_fails_verify_naming_the_layer_below(name: str) -> None:
    spec = SMALLEST[name]
    verdict = verify(BUGS[name], spec)
    assert not verdict.ok
    assert {(e.layer, e.group) for e in verdict.failures} == {(0, "W")}, verdict.summary()
    assert all(e.label.startswith("layer 1 W[") for e in verdict.failures)


@pytest.mark.parametrize("name", list(SMALLEST))
def test_the_right_backward_passes_pass_on_the_same_networks(name: str) -> None:
    assert verify(planted_kinds.hand_again, SMALLEST[name]).ok


def test_a_flip_a_stride_and_a_window_are_what_the_bugs_need() -> None:
    """Where the bug changes nothing, nothing fails: a 1x1 kernel flips to itself, a stride of 1
    is not ignored, a 1x1 window has one input and nothing to divide."""
    flat = _spec([1, 3, 3], [ONE_BY_ONE, {**ONE_BY_ONE, "weights": [[[[0.4]]]]}], 9)
    assert verify(planted_kinds.conv_without_flip, flat).ok
    assert verify(planted_kinds.conv_stride_ignored, flat).ok
    one = _spec([1, 3, 3], [ONE_BY_ONE, {"kind": "avg_pool2d", "kernel": 1}], 9)
    assert verify(planted_kinds.avg_pool_not_divided, one).ok


def test_the_right_backward_passes_pass_on_generated_image_networks() -> None:
    cases = [c for c in sample_networks(6, 5, kinds=tuple(KINDS)) if not c.spec.is_dense]
    assert len(cases) >= 3
    for case in cases:
        verdict = verify(planted_kinds.hand_again, *case)
        assert verdict.ok, verdict.summary()
