"""Quantities: bad quantity text names the file, the field and the problem; per-sample values
(``#S``: the sample alone) where a kind has them and a one-line error where it has none; the
signed error and one output's loss; frozen parameters have no gradient; a training step needs
the document's learning rate."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import linear_with_documented, make_spec

from gradcheck.golden.judging import check_spec
from gradcheck.golden.quantities import Trajectory, parse_quantity, quantity_value
from gradcheck.hand import hand_grads
from gradcheck.spec import Spec, SpecError, parse_spec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grad:w9", "unknown parameter 'w9'"),
        ("out:zz", "unknown unit 'zz'"),
        ("delta:i1", "'i1' is an input"),
        ("frobnicate:w1", "unknown kind 'frobnicate'"),
        ("grad", "'grad' needs an argument"),
        ("loss:h1", "'loss' takes an output unit, 'h1' is not one"),
        ("dloss_dout_via:i1<-out", "'out' is not in the layer right after 'i1'"),
        ("dnet_dout:h1<-out", "two units joined by '->'"),
        ("error:h1", "'error' takes an output unit"),
        ("param:w1#0", "'param' is the same for every sample: drop '#0'"),
        ("dnet_dout:h1->out#0", "'dnet_dout' is the same for every sample"),
        ("grad w1", "expected KIND[:ARG][@STEP][#SAMPLE]"),
        ("out:h1#1", "sample 1 does not exist"),
    ],
)
def test_bad_quantities_name_the_field_and_the_problem(text: str, message: str) -> None:
    spec = linear_with_documented([])
    with pytest.raises(SpecError) as err:
        parse_quantity(spec, text, "documented[3].quantity")
    assert str(err.value).startswith("synthetic.toml: documented[3].quantity: ")
    assert message in str(err.value)


def test_frozen_parameter_has_no_gradient_to_document(sigmoid_seed: Spec) -> None:
    with pytest.raises(SpecError, match="'b1' is frozen"):
        parse_quantity(sigmoid_seed, "grad:b1")
    assert parse_quantity(sigmoid_seed, "param:b1").param == (0, "b", ())


def _two_samples(loss: str = "half_sse", **extra: Any) -> Spec:
    """A sigmoid 2-2-1 network with two samples, every unit and weight named."""
    layers = [
        {
            "size": 2,
            "activation": "sigmoid",
            "names": ["h1", "h2"],
            "weights": [[0.15, 0.2], [0.25, 0.3]],
            "weight_names": [["w1", "w2"], ["w3", "w4"]],
        },
        {
            "size": 1,
            "activation": "sigmoid",
            "names": ["o1"],
            "weights": [[0.4, 0.45]],
            "weight_names": [["w5", "w6"]],
        },
    ]
    inputs, targets = [[0.05, 0.1], [0.3, -0.2]], [[0.01], [0.9]]
    return make_spec(
        layers, inputs, targets, loss=loss, input={"size": 2, "names": ["i1", "i2"]}, **extra
    )


@pytest.mark.parametrize(("loss", "reduce"), [("half_sse", sum), ("mse", lambda v: sum(v) / 2)])
def test_hash_s_on_loss_and_grad_is_that_sample_alone(loss: str, reduce: Any) -> None:
    spec = _two_samples(loss)
    run = Trajectory(spec, hand_grads)

    def value(text: str) -> float:
        return quantity_value(parse_quantity(spec, text), run)

    per_sample = [value("loss#0"), value("loss#1")]
    assert per_sample[0] != per_sample[1]
    assert reduce(per_sample) == pytest.approx(value("loss"), rel=1e-14)
    grads = [value("grad:w5#0"), value("grad:w5#1")]
    assert reduce(grads) == pytest.approx(value("grad:w5"), rel=1e-14)
    one_step = value("param:w5") - spec.learning_rate * grads[1]
    assert value("updated:w5#1") == pytest.approx(one_step, rel=1e-15)
    alone = _two_samples(loss, samples=[spec.model.samples[1].model_dump()])
    only = quantity_value(parse_quantity(alone, "delta:o1"), Trajectory(alone, hand_grads))
    assert value("delta:o1#1") == only  # the one-row batch of sample 1


def test_correct_per_sample_prints_match_and_the_batch_loss_is_not_one() -> None:
    spec = _two_samples()
    run = Trajectory(spec, hand_grads)
    documented = [
        {"quantity": q, "printed": f"{quantity_value(parse_quantity(spec, q), run):.9f}"}
        for q in ("loss#0", "loss#1", "grad:w1#0", "grad:w1#1", "loss:o1#1", "error:o1#0")
    ]
    documented.append({"quantity": "loss#1", "printed": documented[0]["printed"]})
    data = {**spec.model.model_dump(exclude_none=True), "documented": documented}
    verdicts = [r.verdict for r in check_spec(parse_spec(data, "two.toml"))]
    assert verdicts == ["match"] * 6 + ["discrepancy"]


def test_error_is_output_minus_target_and_loss_of_a_unit_is_that_output_alone() -> None:
    spec = _two_samples()
    run = Trajectory(spec, hand_grads)

    def value(text: str) -> float:
        return quantity_value(parse_quantity(spec, text), run)

    out, target = value("out:o1#1"), 0.9
    assert value("error:o1#1") == out - target  # prediction minus target, the sign of dE/dout
    assert value("loss:o1#1") == pytest.approx(0.5 * (target - out) ** 2, rel=1e-15)
    assert value("loss:o1#1") == value("loss#1")  # one output: the sample's loss


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("delta:o1", "the batch has 2 samples: add '#0'..'#1'"),
        ("loss:o1", "the batch has 2 samples"),
        ("error:o1", "the batch has 2 samples"),
        ("loss#2", "sample 2 does not exist"),
        ("grad:w5#7", "sample 7 does not exist"),
    ],
)
def test_a_unit_of_a_several_sample_batch_needs_its_sample(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_quantity(_two_samples(), text)


@pytest.mark.parametrize("text", ["updated:w5", "out:o1@1#0", "loss@3"])
def test_a_training_step_without_a_learning_rate_is_one_error_naming_the_field(text: str) -> None:
    data = _two_samples().model.model_dump(exclude_none=True)
    del data["optimizer"]
    spec = parse_spec(data, "nolr.toml")
    assert quantity_value(parse_quantity(spec, "out:o1#0"), Trajectory(spec, hand_grads)) > 0
    with pytest.raises(SpecError) as err:
        parse_quantity(spec, text, "documented[0].quantity")
    message = str(err.value)
    assert "documented[0].quantity" in message and "optimizer.learning_rate" in message
    assert "\n" not in message
