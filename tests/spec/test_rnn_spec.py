"""Specs with an rnn: a ``(T, n_in)`` input, shapes inferred by ``states``, one line per mistake.

An ``rnn`` table over ``[input] shape = [T, n_in]`` gives ``size`` values (``states = "last"``)
or ``(T, size)`` (``"all"``, which a flatten must follow before a dense layer); its weights come
as two matrices or one init rule; wrong ranks, shapes, bias lengths and a missing flatten are
each one ``SpecError`` line naming the file and the field, and the command line exits 2 on them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import RunCli, assert_one_error_line, assert_one_spec_error

from gradcheck.spec import parse_spec, spec_to_toml
from gradcheck.spec.specfile import dump_toml

RNN = {"kind": "rnn", "size": 3, "init": {"rule": "xavier", "seed": 4}}
DENSE = {"size": 2, "init": {"rule": "normal"}}


def _data(layers: list[dict[str, Any]], shape: list[int], n_out: int = 2) -> dict[str, Any]:
    n_in = int(np.prod(shape))
    return {
        "name": "sequence",
        "loss": "half_sse",
        "input": {"shape": shape},
        "layers": layers,
        "samples": [{"input": [0.1 * k for k in range(n_in)], "target": [0.0] * n_out}],
    }


@pytest.mark.parametrize(("states", "after"), [("last", (3,)), ("all", (4, 3))])
def test_the_rnn_output_shape_follows_states(states: str, after: tuple[int, ...]) -> None:
    tail = [{"kind": "flatten"}] if states == "all" else []
    spec = parse_spec(_data([{**RNN, "states": states}, *tail, DENSE], [4, 2]))
    assert spec.shapes[:2] == ((4, 2), after)
    assert spec.inputs().shape == (1, 4, 2)
    assert spec.inputs()[0, 1].tolist() == pytest.approx([0.2, 0.3])  # step 2, C order
    groups = spec.initial_params()[0]
    assert {k: a.shape for k, a in groups.items()} == {"Wxh": (3, 2), "Whh": (3, 3)}
    assert spec.decayed[0] == {"Wxh", "Whh"}


def test_an_init_rule_draws_both_matrices_with_their_own_seeds() -> None:
    spec = parse_spec(_data([RNN, DENSE], [4, 2]))
    given = {
        **RNN,
        "init": None,
        "input_weights": spec.initial_params()[0]["Wxh"].tolist(),
        "recurrent_weights": spec.initial_params()[0]["Whh"].tolist(),
    }
    again = parse_spec(_data([{k: v for k, v in given.items() if v is not None}, DENSE], [4, 2]))
    assert np.array_equal(again.initial_params()[0]["Whh"], spec.initial_params()[0]["Whh"])
    wxh, whh = (spec.initial_params()[0][g] for g in ("Wxh", "Whh"))
    assert not np.allclose(wxh[:, :2].ravel(), whh[:, :2].ravel())  # seed + 1, not seed again


def test_frozen_weights_and_bias_leave_the_trainable_groups() -> None:
    table = {**RNN, "trainable": False, "bias": {"mode": "shared", "value": 0.5}}
    spec = parse_spec(_data([table, DENSE], [2, 2]))
    assert spec.initial_params()[0] == {"b": pytest.approx(0.5)}
    assert set(spec.frozen_params()[0]) == {"Wxh", "Whh"}


BAD = [
    ([RNN, DENSE], [2, 2, 2], "layers[0]: rnn takes (steps, features) inputs", "[2, 2, 2]"),
    ([{**RNN, "states": "all"}, DENSE], [4, 2], "layers[1]: dense takes one value", "flatten"),
    ([{**RNN, "states": "all"}], [4, 2], "the output layer must give one value", "[4, 3]"),
    (
        [{**RNN, "input_weights": [[1.0, 2.0]] * 3}, DENSE],
        [4, 2],
        "layers[0]: give either both 'input_weights' and 'recurrent_weights' or 'init'",
        "(got input_weights and init)",
    ),
    (
        [
            {
                **RNN,
                "init": None,
                "input_weights": [[1.0]] * 3,
                "recurrent_weights": [[0.0] * 3] * 3,
            },
            DENSE,
        ],
        [4, 2],
        "layers[0].input_weights: expected shape 3x2",
        "(got 3x1)",
    ),
    (
        [{**RNN, "init": None, "input_weights": [[1.0, 0.0]] * 3, "recurrent_weights": [[0.0]]}],
        [4, 2],
        "layers[0].recurrent_weights: expected shape 3x3",
        "(got 1x1)",
    ),
    (
        [{**RNN, "bias": {"mode": "per_neuron", "value": [1.0, 2.0]}}, DENSE],
        [4, 2],
        "layers[0].bias.value: expected 3 values, one per unit",
        "(got 2)",
    ),
    ([{**RNN, "states": "first"}, DENSE], [4, 2], "layers[0].states:", "'first'"),
    ([{**RNN, "activation": "relu"}, DENSE], [4, 2], "layers[0].activation:", "relu"),
]


@pytest.mark.parametrize(
    ("layers", "shape", "field", "why"), BAD, ids=[b[2].split(":")[0] + b[3][:12] for b in BAD]
)
def test_every_rnn_mistake_is_one_line_naming_the_field(
    layers: list[dict[str, Any]], shape: list[int], field: str, why: str
) -> None:
    tables = [{k: v for k, v in t.items() if v is not None} for t in layers]
    assert_one_spec_error(_data(tables, shape), field, why)


def test_a_spec_with_an_rnn_writes_back_to_the_same_spec() -> None:
    spec = parse_spec(_data([{**RNN, "states": "all"}, {"kind": "flatten"}, DENSE], [3, 2]))
    again = parse_spec(tomllib.loads(spec_to_toml(spec)), "<again>")
    assert again.shapes == spec.shapes and again.options == spec.options
    for a, b in zip(again.initial_params(), spec.initial_params(), strict=True):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_the_command_line_exits_2_with_one_line_on_a_missing_flatten(
    tmp_path: Path, run_cli: RunCli
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(dump_toml(_data([{**RNN, "states": "all"}, DENSE], [4, 2])))
    result = run_cli(["verify", str(bad)])
    assert result.status == 2
    assert_one_error_line(result.err, "bad.toml", "layers[1]", "put a flatten layer before it")
