"""A weight matrix copied as a document prints it (``layout = "in_out"``: a row per input) is
the same network as one written a row per neuron, names included; a spec may leave out its
learning rate until something trains."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from helpers import make_spec

from gradcheck.hand import hand_grads
from gradcheck.hand.training import train_numpy
from gradcheck.spec import SpecError, parse_spec, spec_json_schema, spec_to_toml
from gradcheck.spec.specfile import read_toml

ROWS_PER_NEURON = {
    "size": 3,
    "activation": "sigmoid",
    "weights": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]],
    "weight_names": [["w1", "w2"], ["w3", "w4"], ["w5", "w6"]],
}
ROWS_PER_INPUT = {  # the same weights as printed [input][hidden]
    "size": 3,
    "activation": "sigmoid",
    "layout": "in_out",
    "weights": [[0.1, 0.3, 0.5], [0.2, 0.4, 0.6]],
    "weight_names": [["w1", "w3", "w5"], ["w2", "w4", "w6"]],
}


def _net(layer: dict[str, Any], **extra: Any) -> Any:
    return make_spec(
        [layer, {"size": 1, "weights": [[1.0, -1.0, 0.5]]}], [[0.5, -1.0]], [[0.2]], **extra
    )


def test_in_out_layout_is_the_same_network_with_the_same_names() -> None:
    a, b = _net(ROWS_PER_NEURON), _net(ROWS_PER_INPUT)
    np.testing.assert_array_equal(a.initial_params()[0]["W"], b.initial_params()[0]["W"])
    assert a.param_names == b.param_names
    assert a.param_names["w3"] == (0, "W", (1, 0))  # into neuron 2, from input 1
    grads = [hand_grads(s, s.initial_params(), s.inputs(), s.targets()) for s in (a, b)]
    np.testing.assert_array_equal(grads[0][0]["W"], grads[1][0]["W"])


def test_a_square_matrix_copied_in_the_wrong_layout_is_another_network() -> None:
    square = {"size": 2, "weights": [[0.1, 0.2], [0.3, 0.4]]}
    one = make_spec([square], [[1.0, 2.0]], [[0.0, 0.0]])
    other = make_spec([{**square, "layout": "in_out"}], [[1.0, 2.0]], [[0.0, 0.0]])
    np.testing.assert_array_equal(one.initial_params()[0]["W"].T, other.initial_params()[0]["W"])


def test_an_in_out_shape_error_names_the_layout() -> None:
    bad = {**ROWS_PER_INPUT, "weights": ROWS_PER_NEURON["weights"]}
    with pytest.raises(SpecError) as err:
        _net(bad, path="net.toml")
    message = str(err.value)
    assert (
        "layers[0].weights: expected shape 2x3, one row per input and one column per output "
        in message
    )
    assert "(layout in_out) (got 3x2)" in message and "\n" not in message


def test_a_layout_is_one_of_two(tmp_path: Any) -> None:
    with pytest.raises(
        SpecError, match=r"layers\[0\]\.layout: .*'out_in'.*'in_out'.*\(got 'rows'\)"
    ):
        _net({**ROWS_PER_INPUT, "layout": "rows"})
    assert spec_json_schema()["$defs"]["DenseLayer"]["properties"]["layout"]["enum"] == [
        "out_in",
        "in_out",
    ]
    path = tmp_path / "net.toml"
    path.write_text(spec_to_toml(_net(ROWS_PER_INPUT)))
    again = parse_spec(read_toml(path), str(path))
    assert again.param_names == _net(ROWS_PER_NEURON).param_names


def test_a_spec_without_a_learning_rate_loads_and_says_so_when_it_must_train() -> None:
    data = _net(ROWS_PER_NEURON).model.model_dump(exclude_none=True)
    del data["optimizer"]
    spec = parse_spec(data, "nolr.toml")
    assert spec.model.optimizer.learning_rate is None
    hand_grads(spec, spec.initial_params(), spec.inputs(), spec.targets())  # no step, no rate
    with pytest.raises(SpecError) as err:
        train_numpy(spec, 1, spec.initial_params(), hand_grads, 1)
    assert str(err.value) == (
        "nolr.toml: optimizer.learning_rate: training needs one, e.g. "
        "[optimizer] learning_rate = 0.5, or gradcheck train --learning-rate 0.5 (got none)"
    )
    assert "optimizer" not in spec_json_schema()["required"]
