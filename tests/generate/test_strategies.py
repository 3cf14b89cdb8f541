"""gradcheck.generate.strategies: bounds checked at build time, drawn cases valid and in bounds,
replays exact, shrinking minimal, sample_networks deterministic."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from helpers import assert_params_equal
from hypothesis import find, given, settings
from hypothesis.errors import InvalidArgument, NoSuchExample

from gradcheck.generate.strategies import KINK_MARGIN, Case, networks, sample_networks
from gradcheck.hand import forward
from gradcheck.layers import ACTIVATIONS as DECLARED_ACTIVATIONS
from gradcheck.layers import LOSSES as DECLARED_LOSSES
from gradcheck.spec import Spec

BAD_ARGUMENTS: list[dict[str, Any]] = [
    {"depth": 0},
    {"depth": (3, 2)},
    {"depth": (1, 2, 3)},
    {"depth": 1.5},
    {"widths": (0, 4)},
    {"widths": True},
    {"n_inputs": (2, 1)},
    {"n_outputs": 0},
    {"activations": ()},
    {"activations": ("sigmoid", "swish")},
    {"activations": ("softmax",), "depth": (1, 2)},
    {"losses": ("cross_entropy",)},
    {"bias_modes": ("shared", "both")},
    {"dtypes": ("float16",)},
    {"weight_scale": (0.0, 1.0)},
    {"weight_scale": (2.0, 1.0)},
    {"weight_scale": (0.1, float("inf"))},
    {"input_range": (1.0, -1.0)},
    {"batch_size": (0, 2)},
    {"learning_rate": 0.0},
    {"learning_rate": float("nan")},
    {"target_kinks": True, "activations": ("sigmoid", "tanh")},
    {"target_kinks": True, "losses": ("softmax_cross_entropy",), "depth": (1, 2)},
]


@pytest.mark.parametrize("kwargs", BAD_ARGUMENTS, ids=[repr(k) for k in BAD_ARGUMENTS])
def test_bad_arguments_raise_when_the_strategy_is_built(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        networks(**kwargs)
    with pytest.raises(InvalidArgument):
        sample_networks(1, 0, **kwargs)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_sample_networks_rejects_a_seed_that_is_not_an_int_at_least_zero(seed: Any) -> None:
    with pytest.raises(InvalidArgument, match=f"seed={seed!r}: expected an int >= 0"):
        sample_networks(1, seed=seed)


def test_sample_networks_rejects_unknown_arguments_and_negative_counts() -> None:
    with pytest.raises(InvalidArgument, match="unknown arguments"):
        sample_networks(1, 0, width=3)
    with pytest.raises(InvalidArgument, match="n=-1"):
        sample_networks(-1, 0)


def _assert_in_bounds(case: Case, **kw: Any) -> None:
    spec = case.spec
    depth, widths = kw["depth"], kw["widths"]
    assert depth[0] <= len(spec.sizes) - 1 <= depth[1]
    assert all(widths[0] <= n <= widths[1] for n in spec.sizes[1:-1])
    assert kw["n_inputs"][0] <= spec.sizes[0] <= kw["n_inputs"][1]
    assert kw["n_outputs"][0] <= spec.sizes[-1] <= kw["n_outputs"][1]
    assert "softmax" not in spec.activations[:-1]
    assert set(spec.activations) <= {*kw["activations"], "softmax"}
    assert spec.loss in kw["losses"]
    assert set(spec.bias_modes) <= set(kw["bias_modes"])
    assert spec.model.dtype in kw["dtypes"]
    assert kw["batch"][0] <= case.inputs.shape[0] <= kw["batch"][1]
    assert case.inputs.shape == (case.inputs.shape[0], spec.sizes[0])
    assert case.targets.shape == (case.inputs.shape[0], spec.sizes[-1])
    assert np.all(np.abs(case.inputs) <= 2.0)
    for layer in spec.initial_params() + spec.frozen_params():
        for a in layer.values():
            assert a.dtype == spec.dtype
            assert np.all(np.abs(a) <= kw["max_weight"])
    if spec.activations[-1] == "softmax" and kw["n_outputs"][1] >= 2:
        assert spec.sizes[-1] >= 2  # over one unit a softmax is the constant 1
    if spec.loss == "softmax_cross_entropy":  # one-hot, or soft: weights in [0, 1]
        assert spec.activations[-1] == "softmax"
        assert np.all((case.targets >= 0.0) & (case.targets <= 1.0))
        one_hot = set(np.unique(case.targets)) <= {0.0, 1.0}
        assert not one_hot or np.all(case.targets.sum(axis=1) == 1.0)


DEFAULT_BOUNDS = {
    "depth": (1, 3),
    "widths": (1, 6),
    "n_inputs": (1, 6),
    "n_outputs": (1, 6),
    # every declared activation a hidden layer may have, and every declared loss
    "activations": tuple(DECLARED_ACTIVATIONS),  # softmax included, on the output layer only
    "losses": tuple(DECLARED_LOSSES),
    "bias_modes": ("none", "shared", "per_neuron"),
    "dtypes": ("float64", "float32"),
    "batch": (1, 4),
    "max_weight": 2.0,
}


DENSE = ("dense",)  # the dense-only bounds these tests describe


@settings(max_examples=60)
@given(networks(kinds=DENSE))
def test_default_dense_cases_are_valid_specs_within_the_default_bounds(case: Case) -> None:
    _assert_in_bounds(case, **DEFAULT_BOUNDS)


NARROW = {
    "depth": (2, 2),
    "widths": (3, 4),
    "n_inputs": (2, 2),
    "n_outputs": (1, 1),
    "activations": ("tanh", "softmax"),
    "losses": ("mse",),
    "bias_modes": ("shared",),
    "dtypes": ("float32",),
    "batch": (3, 3),
    "max_weight": 0.5,
}


@settings(max_examples=30)
@given(
    networks(
        depth=2,
        widths=(3, 4),
        n_inputs=2,
        n_outputs=1,
        activations=("tanh", "softmax"),
        losses=("mse",),
        bias_modes=("shared",),
        allow_frozen=False,
        dtypes=("float32",),
        weight_scale=(0.25, 0.5),
        batch_size=3,
        kinds=DENSE,
    )
)
def test_cases_respect_narrow_bounds(case: Case) -> None:
    _assert_in_bounds(case, **NARROW)
    assert case.spec.activations[0] == "tanh"
    assert not any(layer for layer in case.spec.frozen_params()), "allow_frozen=False"


def _same_network(a: Case, b: Case) -> None:
    assert a.spec.shape_signature() == b.spec.shape_signature()
    assert a.spec.learning_rate == b.spec.learning_rate
    assert_params_equal(a.spec.initial_params(), b.spec.initial_params())
    assert_params_equal(a.spec.frozen_params(), b.spec.frozen_params())
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert a.inputs.dtype == b.inputs.dtype


@settings(max_examples=40)
@given(networks(dtypes=("float64", "float32"), depth=(1, 4), saturating=True))
def test_replay_toml_rebuilds_the_same_network_bit_for_bit(case: Case) -> None:
    replayed = Case.from_toml(case.replay())
    _same_network(replayed, case)
    assert repr(case).startswith("Case.from_toml('''\n")
    _same_network(eval(repr(case)), case)  # the printed falsifying example is runnable


def test_a_failing_property_prints_the_replay_of_the_minimal_network() -> None:
    @settings(max_examples=50, database=None, derandomize=True)
    @given(networks())
    def needs_no_sigmoid(case: Case) -> None:
        assert "sigmoid" not in case.spec.activations

    with pytest.raises(AssertionError) as info:
        needs_no_sigmoid()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "Case.from_toml('''" in notes
    toml = notes.split("Case.from_toml('''\n", 1)[1].split("'''", 1)[0]
    replayed = Case.from_toml(toml)
    assert replayed.spec.sizes == (1, 1)
    assert replayed.spec.activations == ("sigmoid",)


def _minimal(predicate: Any, **kwargs: Any) -> Case:
    shrink = settings(database=None, max_examples=200, derandomize=True)
    return find(networks(**kwargs), predicate, settings=shrink)


def test_shrinking_reaches_the_smallest_network_with_the_property() -> None:
    deep = _minimal(lambda c: len(c.spec.sizes) >= 3)
    assert deep.spec.sizes == (1, 1, 1)
    assert deep.spec.activations == ("identity", "identity")
    assert deep.spec.bias_modes == ("none", "none")
    assert deep.spec.loss == "half_sse"
    assert deep.inputs.shape == (1, 1)
    wide = _minimal(lambda c: max(c.spec.sizes) >= 3)
    assert sorted(wide.spec.sizes) == [1, 3]
    shared = _minimal(lambda c: "shared" in c.spec.bias_modes)
    assert shared.spec.sizes == (1, 1) and shared.spec.bias_modes == ("shared",)
    assert shared.params[0]["b"] == 0.0, "values shrink to 0 where they don't matter"


def test_shrinking_moves_weights_toward_zero() -> None:
    big = _minimal(lambda c: np.abs(c.params[0]["W"]).max() >= 0.5, allow_frozen=False, kinds=DENSE)
    assert len(big.spec.sizes) == 2
    weights = np.abs(big.params[0]["W"])
    assert np.count_nonzero(weights) == 1, "every weight that does not matter is 0"
    assert 0.5 <= weights.max() < 0.51
    assert np.all(big.inputs == 1.0) and np.all(big.targets == 0.0), "inputs 1, targets 0"


def _max_abs_weight(case: Case) -> float:
    groups = [
        a
        for layer in case.spec.initial_params() + case.spec.frozen_params()
        for a in layer.values()
    ]
    return max(float(np.abs(a).max()) for a in groups)


def test_saturating_networks_reach_large_weights_only_when_asked() -> None:
    big = _minimal(lambda c: _max_abs_weight(c) > 5.0, saturating=True, kinds=DENSE)
    assert 5.0 < _max_abs_weight(big) <= 12.0
    with pytest.raises(NoSuchExample):
        _minimal(lambda c: _max_abs_weight(c) > 2.0, kinds=DENSE)


@settings(max_examples=40)
@given(networks(activations=("relu", "leaky_relu"), depth=(1, 3), widths=(1, 6), kinds=DENSE))
def test_avoid_kinks_keeps_movable_pre_activations_away_from_zero(case: Case) -> None:
    spec = case.spec
    fwd = forward(spec, case.params, case.inputs)
    for i, net in enumerate(fwd.nets):
        if spec.activations[i] not in ("relu", "leaky_relu"):
            continue
        movable = np.any(fwd.outs[i] != 0, axis=1, keepdims=True) | spec.is_trainable(i, "b")
        assert not np.any((np.abs(net) < KINK_MARGIN) & movable)


@settings(max_examples=30)
@given(networks(activations=("relu", "leaky_relu", "tanh"), target_kinks=True))
def test_target_kinks_puts_a_first_layer_pre_activation_exactly_at_zero(case: Case) -> None:
    assert case.spec.activations[0] in ("relu", "leaky_relu")
    net = forward(case.spec, case.params, case.inputs).nets[0]
    assert np.all(net[:, 0] == 0.0)


def test_sample_networks_is_deterministic_per_seed_and_varies_across_seeds() -> None:
    a = sample_networks(25, seed=7)
    b = sample_networks(25, seed=7)
    c = sample_networks(25, seed=8)
    assert len(a) == 25
    assert [x.replay() for x in a] == [x.replay() for x in b]
    assert [x.replay() for x in a] != [x.replay() for x in c]
    assert (
        'description = "drawn by gradcheck.generate.strategies.sample_networks(seed=7), case 3"'
        in (a[3].replay())
    ), "the replay names its seed"
    prefix = sample_networks(5, seed=7)
    assert [x.replay() for x in prefix] == [x.replay() for x in a[:5]], "case i depends on i only"
    middle = sample_networks(4, seed=7, first=20)
    assert [x.replay() for x in middle] == [x.replay() for x in a[20:24]], "first: a later slice"


@pytest.mark.parametrize("first", [-1, 1.5, True])
def test_sample_networks_rejects_a_first_index_that_is_not_an_int_at_least_zero(
    first: Any,
) -> None:
    with pytest.raises(InvalidArgument, match=f"first={first!r}: expected an index >= 0"):
        sample_networks(1, 0, first=first)


def test_sample_networks_mirrors_the_strategy_bounds() -> None:
    cases = sample_networks(200, seed=1, kinds=DENSE)
    for case in cases:
        _assert_in_bounds(case, **DEFAULT_BOUNDS)
    depths = {len(c.spec.sizes) - 1 for c in cases}
    losses = {c.spec.loss for c in cases}
    assert depths == {1, 2, 3} and losses == set(DEFAULT_BOUNDS["losses"])
    narrow = sample_networks(50, seed=2, kinds=DENSE, **_strategy_kwargs(NARROW))
    for case in narrow:
        _assert_in_bounds(case, **NARROW)


def _strategy_kwargs(bounds: dict[str, Any]) -> dict[str, Any]:
    return {
        "depth": bounds["depth"],
        "widths": bounds["widths"],
        "n_inputs": bounds["n_inputs"],
        "n_outputs": bounds["n_outputs"],
        "activations": bounds["activations"],
        "losses": bounds["losses"],
        "bias_modes": bounds["bias_modes"],
        "dtypes": bounds["dtypes"],
        "batch_size": bounds["batch"],
        "weight_scale": (bounds["max_weight"] / 2, bounds["max_weight"]),
    }


def test_float32_cases_hold_float32_values_exactly() -> None:
    for case in sample_networks(20, seed=3, dtypes=("float32",)):  # every kind
        assert case.inputs.dtype == np.float32
        for layer in [*case.spec.initial_params(), *case.spec.frozen_params()]:
            for values in layer.values():
                assert values.dtype == np.float32
        for table in case.spec.model.layers:
            written = np.asarray(getattr(table, "weights", None) or [], dtype=np.float64)
            np.testing.assert_array_equal(written.astype(np.float32), written)


def test_describe_names_shape_activations_loss_dtype_and_batch() -> None:
    spec: Spec = sample_networks(
        1,
        seed=0,
        depth=2,
        widths=3,
        n_inputs=2,
        n_outputs=1,
        activations=("tanh",),
        losses=("mse",),
        batch_size=2,
        kinds=DENSE,
    )[0].spec
    case = Case.from_spec(spec)
    assert case.describe() == "2-3-1 tanh/tanh mse float64 batch 2"
    decayed = sample_networks(1, seed=0, weight_decay=0.05, kinds=DENSE)[0]  # a shrunk one's
    assert decayed.describe().endswith(" weight decay 0.05")  # cause, as a trial wanted it
    image = next(c for c in sample_networks(10, 0) if c.spec.kinds[0] == "conv2d")
    assert image.describe().startswith("/".join(image.spec.kinds) + " ")  # not read as dense


def test_softmax_is_drawn_for_the_output_layer_only() -> None:
    # binary_cross_entropy would force a sigmoid output: left out, as it is not asked for here
    losses = tuple(
        x for x, loss in DECLARED_LOSSES.items() if loss.output_activation in (None, "softmax")
    )
    cases = sample_networks(
        60, seed=4, activations=("softmax", "leaky_relu"), depth=(2, 3), losses=losses
    )
    assert all("softmax" not in c.spec.activations[:-1] for c in cases)
    assert {c.spec.activations[-1] for c in cases} == {"softmax", "leaky_relu"}


def _batch_norms(case: Case) -> int:
    """The batch_norm layers of ``case``'s network, inside residual blocks too."""
    text = case.replay()
    return text.count('kind = "batch_norm"')


def test_a_drawn_batch_norm_always_sees_two_samples_or_more() -> None:
    # A batch of 1 normalises every value to 0 (the spec refuses it): a network with a
    # batch_norm draws its second sample with its first.
    cases = sample_networks(300, 0, kinds=("dense", "batch_norm", "residual"))
    normed = [c for c in cases if _batch_norms(c)]
    assert len(normed) > 20
    assert all(len(c.inputs) >= 2 for c in normed)
    assert any(len(c.inputs) == 1 for c in cases)  # the others still reach a batch of 1


def test_a_batch_of_one_leaves_batch_norm_out_of_the_default_kinds_and_refuses_it_asked() -> None:
    cases = sample_networks(100, 0, batch_size=(1, 1))
    assert all(len(c.inputs) == 1 and not _batch_norms(c) for c in cases)
    assert any("layer_norm" in c.replay() for c in cases)
    with pytest.raises(InvalidArgument, match="batch_norm needs batch_size up to 2 or more"):
        sample_networks(1, 0, batch_size=(1, 1), kinds=("dense", "batch_norm"))
