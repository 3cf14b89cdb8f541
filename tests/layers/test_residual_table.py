"""A residual block's table: checked where it enters, one line per problem naming the field;
its parameters are its inner layers' groups under ``j.G``, named so in every failure."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import RunCli

from gradcheck.layers import KINDS
from gradcheck.spec import SpecError, parse_spec


def _data(block: dict[str, Any], n_in: int = 3) -> dict[str, Any]:
    return {
        "name": "r",
        "loss": "half_sse",
        "input": {"size": n_in},
        "layers": [block, {"size": 1, "weights": [[0.5] * n_in]}],
        "samples": [{"input": [0.1 * k for k in range(n_in)], "target": [0.0]}],
    }


def _dense(size: int, n_in: int, **extra: Any) -> dict[str, Any]:
    return {"size": size, "weights": [[0.1] * n_in for _ in range(size)], **extra}


def _block(*layers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"kind": "residual", "layers": list(layers), **extra}


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            _block(_dense(4, 3, activation="relu"), _dense(4, 4)),
            "layers[0].layers[1].size: the block's output has shape [4] but its input [3]",
        ),
        (
            _block(_dense(2, 3), _dense(3, 2, activation="softmax")),
            "layers[0].layers[1].activation: softmax is allowed on the output layer only",
        ),
        (_block(_dense(3, 3, sise=3)), "layers[0].layers[0].sise: unknown field"),
        (_block(), "layers[0].layers: must have at least 1 item(s)"),
        (_block(_dense(3, 3), activation="leaky_relu"), "layers[0].slope: leaky_relu and only"),
        (_block({"kind": "lstm"}), "layers[0].layers[0].kind: must be one of 'dense'"),
    ],
    ids=["shape", "softmax-inside", "unknown-field", "empty", "slope", "unknown-kind"],
)
def test_a_bad_block_is_one_line_naming_the_field(block: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(_data(block), "net.toml")
    assert str(err.value).startswith("net.toml: ") and message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_block_of_the_wrong_shape_exits_2_through_the_cli(run_cli: RunCli, tmp_path: Any) -> None:
    path = tmp_path / "net.toml"
    path.write_text(
        'name = "r"\nloss = "half_sse"\n[input]\nsize = 3\n[[layers]]\nkind = "residual"\n'
        'layers = [{size = 4, init = {rule = "normal"}}]\n'
        "[[samples]]\ninput = [1.0, 2.0, 3.0]\ntarget = [0.0, 0.0, 0.0]\n"
    )
    result = run_cli(["verify", str(path), "--examples", "0"])
    assert result.status == 2 and result.err.count("\n") == 1
    assert "layers[0].layers[0].size: the block's output has shape [4] but its input [3]" in (
        result.err
    )


def test_the_block_holds_its_inner_groups_under_prefixed_names() -> None:
    inner = _block(
        _dense(2, 3, bias={"mode": "shared"}, weight_names=[["a", "b", "c"], ["d", "e", "f"]]),
        _block(_dense(2, 2, trainable=False)),
        _dense(3, 2, activation="tanh", bias={"mode": "per_neuron"}),
    )
    spec = parse_spec(_data(inner))
    assert sorted(spec.initial_params()[0]) == ["0.W", "0.b", "2.W", "2.b"]
    assert sorted(spec.frozen_params()[0]) == ["1.0.W"]
    assert spec.decayed[0] == {"0.W", "1.0.W", "2.W"}
    assert spec.initial_params()[0]["2.W"].shape == (3, 2)
    assert spec.param_names["f"] == (0, "0.W", (1, 2))
    assert spec.label(0, "2.W", (2, 0)) == "layer 1 2.W[2,0]"
    assert spec.shapes == ((3,), (3,), (1,))
    assert dict(spec.options[0])["layers"][2] == ("dense", (), "tanh", 0.0)


def test_residual_is_declared_and_checked_by_verify_layer() -> None:
    assert "residual" in KINDS and KINDS["residual"].activated
