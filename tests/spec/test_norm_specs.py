"""Specs with norms: ``batch_norm`` / ``layer_norm`` tables load with their groups' shapes, and
every mistake is one line naming the file and the field (the command line exits 2 on it)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import RunCli, assert_one_error_line

from gradcheck.spec import SpecError, check_arguments, load_spec, parse_spec, spec_to_toml
from gradcheck.spec.specfile import dump_toml

DENSE = {"size": 2, "init": {"rule": "normal"}}
CONV = {"kind": "conv2d", "channels": 3, "kernel": 2, "init": {"rule": "normal"}}


def _data(layers: list[dict[str, Any]], shape: list[int]) -> dict[str, Any]:
    n_in = int(np.prod(shape))
    return {
        "name": "norms",
        "loss": "half_sse",
        "input": {"shape": shape} if len(shape) > 1 else {"size": shape[0]},
        "layers": layers,
        "samples": [
            {"input": [0.1 * k for k in range(n_in)], "target": [0.0, 0.0]},
            {"input": [0.2 - 0.1 * k for k in range(n_in)], "target": [1.0, 0.0]},
        ],
    }


@pytest.mark.parametrize(
    ("norm", "stem", "shape", "groups"),
    [
        ("batch_norm", [{"size": 4, "init": {"rule": "normal"}}], [3], (4,)),
        ("layer_norm", [{"size": 4, "init": {"rule": "normal"}}], [3], (4,)),
        ("batch_norm", [CONV], [1, 4, 5], (3,)),  # per channel
        ("layer_norm", [CONV], [1, 4, 5], (3, 3, 4)),  # shaped like one sample
    ],
)
def test_gamma_and_beta_take_the_shape_each_norm_needs(
    norm: str, stem: list[dict[str, Any]], shape: list[int], groups: tuple[int, ...]
) -> None:
    flat = [{"kind": "flatten"}] if len(shape) > 1 else []
    spec = parse_spec(_data([*stem, {"kind": norm}, *flat, DENSE], shape))
    assert spec.shapes[2] == spec.shapes[1]  # a norm keeps the shape
    params = spec.initial_params()[1]
    assert {k: a.shape for k, a in params.items()} == {"gamma": groups, "beta": groups}
    assert np.all(params["gamma"] == 1.0) and np.all(params["beta"] == 0.0)
    assert dict(spec.options[1]) == {"eps": 1e-5}


def test_frozen_groups_leave_the_params_and_given_values_are_kept() -> None:
    norm = {
        "kind": "batch_norm",
        "eps": 0.01,
        "gamma": {"value": [2.0, 3.0], "trainable": False},
        "beta": {"value": 0.5},
    }
    spec = parse_spec(_data([DENSE, norm, DENSE], [2]))
    assert spec.initial_params()[1].keys() == {"beta"}
    assert spec.frozen_params()[1]["gamma"].tolist() == [2.0, 3.0]
    assert spec.initial_params()[1]["beta"].tolist() == [0.5, 0.5]
    assert spec.label(1, "beta", (1,)) == "layer 2 beta[1]"
    again = parse_spec(tomllib.loads(spec_to_toml(spec)))
    assert again.shape_signature() == spec.shape_signature()


BAD = [
    (
        [DENSE, {"kind": "batch_norm", "gamma": {"value": [1.0, 2.0, 3.0]}}, DENSE],
        [2],
        "layers[1].gamma.value: expected 2 values, one per feature",
        "(got 3)",
    ),
    (
        [CONV, {"kind": "batch_norm", "beta": {"value": [1.0]}}, {"kind": "flatten"}, DENSE],
        [1, 3, 3],
        "layers[1].beta.value: expected 3 values, one per channel",
        "(got 1)",
    ),
    (
        [CONV, {"kind": "layer_norm", "gamma": {"value": [1.0, 2.0, 3.0]}}],
        [1, 3, 3],
        "layers[1].gamma.value: expected 12 values, one per value of a sample",
        "(got 3)",
    ),
    ([DENSE, {"kind": "layer_norm", "eps": 0.0}, DENSE], [2], "layers[1].eps: must be > 0", "0"),
    (
        [{"kind": "batch_norm"}, {"kind": "flatten"}, DENSE],
        [2, 3],
        "layers[0]: batch_norm takes (features,) or (channels, height, width) samples",
        "(got shape [2, 3])",
    ),
    (
        [DENSE, {"kind": "batch_norm", "momentum": 0.9}, DENSE],
        [2],
        "layers[1].momentum",
        "0.9",
    ),
]


@pytest.mark.parametrize(("layers", "shape", "field", "why"), BAD, ids=[b[2] for b in BAD])
def test_every_norm_mistake_is_one_line_naming_the_field(
    layers: list[dict[str, Any]], shape: list[int], field: str, why: str
) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(_data(layers, shape), "net.toml")
    message = str(err.value)
    assert message.startswith("net.toml: ") and "\n" not in message
    assert field in message and why in message, message


def test_the_command_line_exits_2_with_one_line_on_a_bad_norm(
    tmp_path: Path, run_cli: RunCli
) -> None:
    bad = tmp_path / "bad.toml"
    norm = {"kind": "batch_norm", "gamma": {"value": [1.0, 2.0, 3.0]}}
    bad.write_text(dump_toml(_data([DENSE, norm, DENSE], [2])))
    result = run_cli(["verify", str(bad)])
    assert result.status == 2
    assert_one_error_line(result.err, "bad.toml", "layers[1].gamma.value", "one per feature")


def test_the_builtin_norm_network_loads_with_its_groups() -> None:
    root = Path(__file__).resolve().parents[2]
    spec = load_spec(root / "networks" / "mlp_batchnorm_dropout.toml")
    assert spec.kinds == ("dense", "batch_norm", "dropout", "dense")
    assert {k: a.shape for k, a in spec.initial_params()[1].items()} == {
        "gamma": (4,),
        "beta": (4,),
    }


@pytest.mark.parametrize(
    ("layers", "shape", "where"),
    [
        ([DENSE, {"kind": "batch_norm"}, DENSE], [2], "layers[1]"),
        (
            [DENSE, {"kind": "residual", "layers": [DENSE, {"kind": "batch_norm"}]}, DENSE],
            [2],
            "layers[1].layers[1]",
        ),
        (
            [{**CONV, "kernel": 4}, {"kind": "batch_norm"}, {"kind": "flatten"}, DENSE],
            [1, 4, 4],
            "layers[1]",
        ),
    ],
)
def test_a_batch_norm_over_one_value_per_feature_is_one_line_naming_it(
    tmp_path: Path, run_cli: RunCli, layers: list[dict[str, Any]], shape: list[int], where: str
) -> None:
    # Over a batch of 1 (or 1x1 maps) batch_norm's output is beta whatever its input: every
    # gradient below it is 0, and a check there would pass whatever a candidate returned.
    data = _data(layers, shape)
    one = {**data, "samples": data["samples"][:1]}
    with pytest.raises(SpecError) as err:
        parse_spec(one, "one.toml")
    assert str(err.value).startswith(f"one.toml: {where}: batch_norm over a batch of 1 ")
    assert "\n" not in str(err.value)
    spec = parse_spec(data, "two.toml")  # two samples: the statistics mean something
    with pytest.raises(SpecError) as err:
        check_arguments(spec, spec.initial_params(), spec.inputs()[:1], spec.targets()[:1])
    assert str(err.value).startswith(f"two.toml: inputs: {where}: batch_norm over a batch of 1")
    path = tmp_path / "one.toml"
    path.write_text(dump_toml(one))
    status, out, errors = run_cli(["verify", str(path), "--examples", "0"])
    assert status == 2 and out == ""
    assert_one_error_line(errors, f"{path}: {where}: batch_norm over a batch of 1")


def test_a_batch_norm_after_a_conv_sees_every_position_so_one_image_will_do() -> None:
    layers = [CONV, {"kind": "batch_norm"}, {"kind": "flatten"}, DENSE]
    data = _data(layers, [1, 4, 5])
    spec = parse_spec({**data, "samples": data["samples"][:1]})
    assert spec.kinds[1] == "batch_norm" and len(spec.inputs()) == 1
