"""Generated networks aimed by a family: ``networks(family=...)`` and ``sample_networks(family=)``
draw only networks inside it, arguments given beside a family replace its bounds, and bounds that
admit no network are rejected when the strategy is built."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis.errors import InvalidArgument

from gradcheck.generate.case import Case
from gradcheck.generate.strategies import networks, sample_networks
from gradcheck.layers import KINDS
from gradcheck.spec.family import parse_family

EXAMPLE = Path(__file__).parents[2] / "examples" / "two_layer_family.toml"
NARROW = parse_family(
    {
        "name": "narrow",
        "depth": [2, 3],
        "widths": [2, 3],
        "inputs": 2,
        "outputs": [1, 2],
        "hidden_activations": ["tanh", "leaky_relu"],
        "output_activations": ["sigmoid", "softmax"],
        "losses": ["mse", "softmax_cross_entropy"],
        "bias_modes": ["shared", "none"],
        "frozen": ["biases"],
        "dtypes": ["float32"],
        "batch": [2, 3],
        "kinds": ["dense"],
    }
)
# the same bounds over every layer kind: stems, norms, blocks and their activations inside them
NARROW_ANY_KIND = replace(NARROW, name="narrow, any kind", kinds=tuple(KINDS))


@settings(max_examples=30)
@given(networks(family=NARROW))
def test_hypothesis_draws_only_networks_inside_the_family(case: Case) -> None:
    assert NARROW.outside(case.spec) == []


@settings(max_examples=30)
@given(networks(family=NARROW_ANY_KIND))
def test_hypothesis_draws_only_networks_inside_a_family_of_every_kind(case: Case) -> None:
    assert NARROW_ANY_KIND.outside(case.spec) == []


def test_every_kind_drawn_from_a_family_stays_inside_it() -> None:
    cases = sample_networks(60, seed=1, family=NARROW_ANY_KIND)
    assert all(NARROW_ANY_KIND.outside(c.spec) == [] for c in cases)
    assert {k for c in cases for k in c.spec.kinds} == set(KINDS)


def test_sample_networks_draw_only_inside_the_family_and_reach_its_choices() -> None:
    cases = sample_networks(150, seed=1, family=NARROW)
    assert all(NARROW.outside(c.spec) == [] for c in cases)
    seen = {a for c in cases for a in c.spec.activations}
    assert seen == {"tanh", "leaky_relu", "sigmoid", "softmax"}
    assert {c.spec.loss for c in cases} == {"mse", "softmax_cross_entropy"}
    # softmax on a squared loss is drawn too, not only under cross-entropy
    assert any(c.spec.activations[-1] == "softmax" and c.spec.loss == "mse" for c in cases)
    assert any(not c.spec.is_trainable(i, "b") for c in cases for i in range(len(c.spec.kinds)))
    assert all(c.spec.is_trainable(i, "W") for c in cases for i in range(len(c.spec.kinds)))


def test_a_family_file_path_is_accepted_and_draws_the_same_networks() -> None:
    from gradcheck.spec.family import load_family

    by_path = sample_networks(5, seed=2, family=str(EXAMPLE))
    by_object = sample_networks(5, seed=2, family=load_family(EXAMPLE))
    assert [c.spec.name for c in by_path] == [c.spec.name for c in by_object]
    assert all(c.spec.activations == ("sigmoid", "identity") for c in by_path)


def test_an_argument_given_beside_the_family_replaces_its_bound() -> None:
    cases = sample_networks(20, seed=0, family=NARROW, depth=3, dtypes=("float64",))
    assert {len(c.spec.kinds) for c in cases} == {3}
    assert {c.spec.model.dtype for c in cases} == {"float64"}


def test_output_activations_alone_pin_the_output_layer() -> None:
    cases = sample_networks(40, seed=0, output_activations=("identity",))
    assert {c.spec.activations[-1] for c in cases} == {"identity"}
    assert "softmax_cross_entropy" not in {c.spec.loss for c in cases}


def test_frozen_empty_keeps_every_group_trainable() -> None:
    def frozen_groups(**bounds: Any) -> int:
        cases = sample_networks(60, seed=0, **bounds)
        return sum(len(f) for c in cases for f in c.spec.frozen_params())

    assert frozen_groups() > 10  # the default draws frozen groups...
    assert frozen_groups(frozen=()) == 0  # ...and frozen=() none


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"family": 3}, "expected a Family or a path"),
        ({"family": "no/such/family.toml"}, "no such file"),
        (
            {"losses": ("softmax_cross_entropy",), "output_activations": ("identity",)},
            "none fits output_activations",
        ),
        ({"output_activations": ("gelu",)}, "unknown ['gelu']"),
        ({"frozen": ("gamma",)}, "unknown ['gamma']"),
        (
            {"target_kinks": True, "depth": 1, "output_activations": ("identity",)},
            "needs 'relu' or 'leaky_relu' in output_activations",
        ),
    ],
)
def test_bounds_that_admit_no_network_are_rejected_when_built(
    arguments: dict[str, Any], message: str
) -> None:
    from gradcheck.spec import SpecError

    with pytest.raises((InvalidArgument, SpecError)) as raised:
        networks(**arguments)
    assert message in str(raised.value)
