"""Quantities: bad quantity text names the file, the field and the problem; frozen parameters
have no gradient to document."""

from __future__ import annotations

import pytest
from helpers import linear_with_documented

from gradcheck.golden.quantities import parse_quantity
from gradcheck.spec import Spec, SpecError


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
    spec = linear_with_documented([])
    with pytest.raises(SpecError) as err:
        parse_quantity(spec, text, "documented[3].quantity")
    assert str(err.value).startswith("synthetic.toml: documented[3].quantity: ")
    assert message in str(err.value)


def test_frozen_parameter_has_no_gradient_to_document(sigmoid_seed: Spec) -> None:
    with pytest.raises(SpecError, match="'b1' is frozen"):
        parse_quantity(sigmoid_seed, "grad:b1")
    assert parse_quantity(sigmoid_seed, "param:b1").param == (0, "b", ())
