"""The high-precision side: every quantity kind agrees with the hand-derived float64 values to
float64 accuracy, for every declared activation and loss (looked up by name, so a new
declaration is covered here at once); carried-on values replace computed ones; a formula variant
changes the output delta only."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import make_spec

from gradcheck.golden.precise import (
    Formula,
    PreciseTrajectory,
    as_groups,
    number,
    override_key,
    to_fraction,
    value_of,
)
from gradcheck.golden.quantities import Trajectory, parse_quantity, quantity_value
from gradcheck.hand import hand_grads
from gradcheck.layers import ACTIVATIONS, LOSSES
from gradcheck.spec import Spec

QUANTITIES = [
    "loss",
    "loss#1",
    "loss:o1#0",
    "error:o2#1",
    "net:h2#1",
    "out:o1#0",
    "dloss_dout:h1#1",
    "dout_dnet:h3#0",
    "delta:o2#1",
    "delta:h1#0",
    "dloss_dout_via:h2<-o1#1",
    "dnet_dout:h1->o2",
    "dnet_dparam:w5#1",
    "dnet_dparam:c1#0",
    "grad:w1",
    "grad:w6#1",
    "grad:c1",
    "param:w4",
    "updated:w2",
    "updated:w7#0",
    "out:o2@2#1",
]


def _network(hidden: str, output: str, loss: str, weight_decay: float = 0.0) -> Spec:
    """A 2-3-2 network, every unit and weight named, a per-neuron output bias (c1, c2)."""
    slope = {"slope": 0.1} if ACTIVATIONS[hidden].takes_slope else {}
    layers: list[dict[str, Any]] = [
        {
            "size": 3,
            "activation": hidden,
            **slope,
            "names": ["h1", "h2", "h3"],
            "weights": [[0.15, -0.2], [0.25, 0.3], [-0.35, 0.1]],
            "weight_names": [["w1", "w2"], ["w3", "w4"], ["v1", "v2"]],
            "bias": {"mode": "shared", "value": 0.35, "name": "b1"},
        },
        {
            "size": 2,
            "activation": output,
            "names": ["o1", "o2"],
            "weights": [[0.4, -0.45, 0.2], [0.5, 0.55, -0.3]],
            "weight_names": [["w5", "w6", "v3"], ["w7", "w8", "v4"]],
            "bias": {"mode": "per_neuron", "value": [0.6, -0.1], "names": ["c1", "c2"]},
        },
    ]
    inputs, targets = [[0.05, 0.1], [-0.3, 0.8]], [[0.2, 0.8], [0.7, 0.3]]
    if LOSSES[loss].one_hot:  # svm: the true class of each sample
        targets = [[0.0, 1.0], [1.0, 0.0]]
    return make_spec(
        layers,
        inputs,
        targets,
        loss=loss,
        learning_rate=0.5,
        input={"size": 2, "names": ["i1", "i2"]},
        weight_decay=weight_decay,
    )


def _cases() -> list[tuple[str, str, str]]:
    hidden = [a for a, info in ACTIVATIONS.items() if not info.output_only]
    cases = [(a, "sigmoid", "half_sse") for a in hidden]
    for loss, info in LOSSES.items():
        cases.append(("tanh", info.output_activation or "identity", loss))
    cases += [("relu", a, "mse") for a, info in ACTIVATIONS.items() if info.output_only]
    return cases


@pytest.mark.parametrize(
    ("hidden", "output", "loss", "weight_decay"),
    [(*case, 0.0) for case in _cases()]
    + [("tanh", "identity", "svm", 0.3), ("sigmoid", "sigmoid", "half_sse", 0.25)],
)
def test_every_quantity_agrees_with_the_float64_hand_side(
    hidden: str, output: str, loss: str, weight_decay: float
) -> None:
    # with a weight decay, `loss` and `grad:` include it on both sides, `loss:o1` never
    spec = _network(hidden, output, loss, weight_decay)
    run, precise = Trajectory(spec, hand_grads), PreciseTrajectory(spec)
    for text in QUANTITIES:
        q = parse_quantity(spec, text)
        exact = float(to_fraction(value_of(spec, q, precise.groups(q.step))))
        assert quantity_value(q, run) == pytest.approx(exact, rel=1e-12, abs=1e-15), text


def test_numbers_enter_as_the_spec_writes_them() -> None:
    spec = _network("sigmoid", "sigmoid", "half_sse")
    (w1,) = [g["W"][0][0] for g in as_groups(spec, spec.initial_params())[:1]]
    assert w1 == number("0.15") and to_fraction(w1) != 0.15  # the decimal, not the float


def test_a_carried_on_value_replaces_the_computed_one_downstream_only() -> None:
    spec = _network("sigmoid", "sigmoid", "half_sse")
    groups = as_groups(spec, spec.initial_params())
    h1 = parse_quantity(spec, "out:h1#0")
    at = override_key(spec, h1)
    assert at is not None and at[0] == 0
    carried = {at[1]: number("0.6")}
    assert value_of(spec, h1, groups, carried) == number("0.6")
    net = parse_quantity(spec, "net:o1#0")
    plain, changed = value_of(spec, net, groups), value_of(spec, net, groups, carried)
    assert changed - plain == pytest.approx(
        0.4 * (0.6 - float(value_of(spec, h1, groups))), rel=1e-12
    )
    other = parse_quantity(spec, "net:o1#1")  # another sample is untouched
    assert value_of(spec, other, groups, carried) == value_of(spec, other, groups)


def test_a_formula_variant_changes_the_output_delta_by_the_derivative() -> None:
    spec = _network("tanh", "sigmoid", "half_sse")
    groups = as_groups(spec, spec.initial_params())
    delta, slope = (parse_quantity(spec, t) for t in ("delta:o1#0", "dout_dnet:o1#0"))
    twice = value_of(spec, delta, groups, formula=Formula(2))
    right = value_of(spec, delta, groups)
    assert twice == pytest.approx(right * value_of(spec, slope, groups), rel=1e-40)
    assert value_of(spec, parse_quantity(spec, "out:o1#0"), groups, formula=Formula(2)) == (
        value_of(spec, parse_quantity(spec, "out:o1#0"), groups)
    )


def test_the_weight_decay_is_in_the_batch_loss_and_weight_gradients_only() -> None:
    plain, decayed = (_network("tanh", "identity", "svm", lam) for lam in (0.0, 0.5))
    groups = PreciseTrajectory(decayed).groups(0)
    squares = sum(w * w for layer in groups for row in layer["W"] for w in row)
    value = {
        text: [float(to_fraction(value_of(s, parse_quantity(s, text), groups))) for s in pair]
        for text in ("loss", "loss:o1#0", "grad:w5", "grad:c1")
        for pair in [(plain, decayed)]
    }
    assert value["loss"][1] - value["loss"][0] == pytest.approx(0.25 * float(squares), rel=1e-12)
    assert value["grad:w5"][1] - value["grad:w5"][0] == pytest.approx(0.5 * 0.4, rel=1e-12)
    assert value["loss:o1#0"][1] == value["loss:o1#0"][0]
    assert value["grad:c1"][1] == value["grad:c1"][0]
