"""Quantities: bad quantity text names the file, the field and the problem; frozen parameters
have no gradient to document."""

from __future__ import annotations

import tomllib

import pytest

from gradcheck.golden.quantities import parse_quantity
from gradcheck.spec import Spec, SpecError, builtin_networks_dir, load_spec, parse_spec


def _linear_with(documented: list[dict[str, str]]) -> Spec:
    data = tomllib.loads((builtin_networks_dir() / "linear_2_2_1.toml").read_text())
    data["documented"] = documented
    return parse_spec(data, "synthetic.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grad:w9", "unknown parameter 'w9'"),
        ("out:zz", "unknown unit 'zz'"),
        ("delta:i1", "'i1' is an input"),
        ("frobnicate:w1", "unknown kind 'frobnicate'"),
        ("grad", "'grad' needs an argument"),
        ("loss:out", "'loss' takes no argument"),
        ("dloss_dout_via:i1<-out", "'out' is not in the layer right after 'i1'"),
        ("dnet_dout:h1<-out", "two units joined by '->'"),
        ("error:h1", "needs an output unit"),
        ("grad w1", "expected KIND[:ARG][@STEP][#SAMPLE]"),
        ("out:h1#1", "sample 1 does not exist"),
    ],
)
def test_bad_quantities_name_the_field_and_the_problem(text: str, message: str) -> None:
    spec = _linear_with([])
    with pytest.raises(SpecError) as err:
        parse_quantity(spec, text, "documented[3].quantity")
    assert str(err.value).startswith("synthetic.toml: documented[3].quantity: ")
    assert message in str(err.value)


def test_frozen_parameter_has_no_gradient_to_document() -> None:
    spec = load_spec(builtin_networks_dir() / "sigmoid_2_2_2.toml")
    with pytest.raises(SpecError, match="'b1' is frozen"):
        parse_quantity(spec, "grad:b1")
    assert parse_quantity(spec, "param:b1").param == (0, "b", ())
