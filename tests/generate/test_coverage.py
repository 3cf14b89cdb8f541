"""The default set of generated networks reaches every path: ``gradcheck verify``'s default
``--examples`` networks hold every layer kind (each but rnn with a trainable layer below it, so
that its input gradient is checked), activation, loss, dtype and bias mode, softmax
under every loss that allows it, soft and one-hot cross-entropy targets, frozen weights and
biases, batches of two or more and of one, and networks with and without a weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradcheck.cli import verify_command
from gradcheck.generate.case import Case
from gradcheck.generate.images import IMAGE_KINDS
from gradcheck.generate.strategies import sample_networks
from gradcheck.layers import ACTIVATIONS, KINDS, LOSSES


def _default_examples() -> int:
    (option,) = [p for p in verify_command.verify_command.params if p.name == "examples"]
    return int(option.default)  # type: ignore[arg-type]


def _paths(cases: list[Case]) -> set[tuple[str, Any]]:
    """Every path a list of networks takes, as (what, which) pairs."""
    hit: set[tuple[str, Any]] = set()
    for case in cases:
        spec = case.spec
        hit |= {("activation", a) for a in spec.activations} | {("kind", k) for k in spec.kinds}
        hit |= {("loss", spec.loss), ("dtype", spec.model.dtype)}
        hit |= {("bias", mode) for mode in spec.bias_modes}
        hit |= {("frozen", group) for layer in spec.frozen_params() for group in layer}
        if spec.activations[-1] == "softmax":
            hit.add(("softmax under", spec.loss))
        hit.add(("weight decay", "some" if spec.weight_decay > 0 else "none"))
        hit.add(("batch", "one" if case.inputs.shape[0] == 1 else "two or more"))
        below = [bool(layer) for layer in case.params]  # trainable groups per layer
        hit |= {("input gradient", k) for i, k in enumerate(spec.kinds) if any(below[:i])}
        if spec.loss == "softmax_cross_entropy":
            t = case.targets
            one_hot = bool(np.all((t == 0) | (t == 1)) and np.all(t.sum(axis=1) == 1))
            hit.add(("cross-entropy targets", "one-hot" if one_hot else "soft"))
    return hit


EVERY_PATH = (
    {("activation", a) for a in ACTIVATIONS}
    | {("kind", k) for k in KINDS}  # every kind unless fewer are asked for
    | {("loss", x) for x in LOSSES}
    | {("dtype", d) for d in ("float64", "float32")}
    | {("bias", m) for m in ("none", "shared", "per_neuron")}
    | {("frozen", g) for g in ("W", "b")}
    # softmax under every loss that leaves the output activation free (one that forces another,
    # binary_cross_entropy's sigmoid, can never have it)
    | {
        ("softmax under", x)
        for x, loss in LOSSES.items()
        if loss.output_activation in (None, "softmax")
    }
    | {("cross-entropy targets", k) for k in ("one-hot", "soft")}
    | {("weight decay", k) for k in ("none", "some")}
    | {("batch", k) for k in ("one", "two or more")}
    # each kind's input gradient reaching a trainable layer below it (a pool or dropout right
    # above the input is never asked for it): all but rnn, which is always a sequence stem
    | {("input gradient", k) for k in KINDS if k != "rnn"}
)


@pytest.mark.parametrize("seed", range(5))
def test_the_default_examples_reach_every_path(seed: int) -> None:
    cases = sample_networks(_default_examples(), seed)
    assert EVERY_PATH - _paths(cases) == set()
    assert sum(c.inputs.shape[0] >= 2 for c in cases) > len(cases) / 2  # batches, mostly


@pytest.mark.parametrize("kinds", [None, ("dense",)])
def test_the_plan_takes_every_loss_with_a_batch_of_two_or_more_then_of_one(
    kinds: tuple[str, ...] | None,
) -> None:
    # a trial's binary cross-entropy that counted np.squeeze(t)'s rows went wrong in a batch of
    # one only, and 30 networks held none with that loss
    cases = sample_networks(30, 0, **({"kinds": kinds} if kinds else {}))
    batches = [c.inputs.shape[0] for c in cases]
    first = batches.index(1)  # the first round: two or more each
    assert first >= len(LOSSES) and min(batches[:first]) >= 2
    assert {c.spec.loss for c in cases[:first]} == set(LOSSES)
    second = [c.spec.loss for c, b in zip(cases[first:], batches[first:], strict=True) if b == 1]
    assert set(second[:first]) == set(LOSSES)


def test_the_default_examples_hold_stems_of_the_right_shapes() -> None:
    cases = sample_networks(_default_examples(), 0)
    # an image stem reads (C, H, W) samples, a sequence stem (an rnn) (T, n_in) ones; norms and
    # residual blocks may sit in dense stacks
    for c in cases:
        assert c.spec.kinds[-1] == "dense"
        if "rnn" in c.spec.kinds:
            assert len(c.spec.shapes[0]) == 2
        elif set(c.spec.kinds) & set(IMAGE_KINDS):
            assert len(c.spec.shapes[0]) == 3


def test_dense_only_bounds_draw_dense_layers_only() -> None:
    cases = sample_networks(_default_examples(), 0, kinds=("dense",))
    assert {k for c in cases for k in c.spec.kinds} == {"dense"}


def test_the_plan_stays_inside_narrowed_bounds() -> None:
    cases = sample_networks(
        12, 0, activations=("tanh", "relu"), losses=("mse",), dtypes=("float32",), kinds=("dense",)
    )
    assert {a for c in cases for a in c.spec.activations} == {"tanh", "relu"}
    assert {(c.spec.loss, c.spec.model.dtype) for c in cases} == {("mse", "float32")}


def test_a_softmax_output_gets_two_units_where_the_bounds_allow() -> None:
    cases = sample_networks(30, 0, activations=("softmax", "tanh"), n_outputs=(1, 3))
    assert all(c.spec.sizes[-1] >= 2 for c in cases if c.spec.activations[-1] == "softmax")
    one = sample_networks(3, 0, activations=("softmax", "tanh"), n_outputs=1, depth=2)
    assert all(c.spec.sizes[-1] == 1 for c in one)  # n_outputs=1 is kept when asked for


def test_the_plan_takes_both_ends_of_a_weight_decay_range_and_stays_inside_it() -> None:
    cases = sample_networks(12, 0, weight_decay=(0.05, 0.2))
    decays = [c.spec.weight_decay for c in cases]
    assert all(0.05 <= lam <= 0.2 for lam in decays)
    assert {0.05, 0.2} <= set(decays[:4])  # the plan's first cases take both ends
    fixed = sample_networks(6, 0, weight_decay=0.0)
    assert {c.spec.weight_decay for c in fixed} == {0.0}


def test_drawn_stems_put_their_other_stages_above_a_conv_and_pool_over_wide_windows() -> None:
    """A stage right above the input is never asked for its input gradient; a square window
    never tells a pool's rows from its columns (a trial's swapped unravel passed 100 networks)."""
    cases = sample_networks(200, 3)
    stems = [c.spec for c in cases if "conv2d" in c.spec.kinds]
    above = {s.kinds[s.kinds.index("conv2d") + 1] for s in stems}
    assert {"max_pool2d", "avg_pool2d", "dropout"} <= above
    windows = [
        tuple(dict(c.spec.options[i])["kernel"])
        for c in cases
        for i, kind in enumerate(c.spec.kinds)
        if kind.endswith("pool2d")
    ]
    assert any(h < w for h, w in windows) and any(h == w for h, w in windows)


def test_two_padded_conv_stages_fit_the_words_drawn_for_what_follows_them() -> None:
    """Two 1x1 conv stages padded by 1 grow a 6x6 image to 10x10: a norm after them and the
    first dense layer draw their words for that many values (a draw raised on 8x9 once)."""
    cases = sample_networks(400, 4)
    assert sum(c.spec.kinds[:2] == ("conv2d", "conv2d") for c in cases) > 10


@pytest.mark.parametrize("kinds", [("residual", "dense"), None])
def test_the_plan_keeps_a_depth_of_one(kinds: tuple[str, ...] | None) -> None:
    """The residual case asks for a dense layer below its block only where the depth allows
    two (it asked for depth (2, 1), and the draw raised)."""
    cases = sample_networks(12, 0, depth=(1, 1), **({"kinds": kinds} if kinds else {}))
    assert all(c.spec.kinds.count("dense") == 1 for c in cases)
