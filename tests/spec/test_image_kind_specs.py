"""Specs with image kinds: shapes inferred at load time, every mismatch one line naming its field.

A ``[input] shape`` and ``conv2d`` / ``max_pool2d`` / ``avg_pool2d`` / ``flatten`` tables load
into a spec whose per-layer shapes follow the kinds' formulas; a conv whose output would be
empty, a dense layer fed images, a network that ends in images and the like are each one
``SpecError`` line naming the file and the field, and the command line exits 2 on them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import RunCli, assert_one_error_line, assert_one_spec_error

from gradcheck.spec import SpecError, load_spec, parse_spec, spec_to_toml
from gradcheck.spec.specfile import dump_toml

CONV = {"kind": "conv2d", "channels": 2, "kernel": 3, "init": {"rule": "normal"}}
DENSE = {"size": 2, "init": {"rule": "normal"}}


def _data(layers: list[dict[str, Any]], shape: list[int], n_out: int = 2) -> dict[str, Any]:
    n_in = int(np.prod(shape))
    return {
        "name": "images",
        "loss": "half_sse",
        "input": {"shape": shape},
        "layers": layers,
        "samples": [{"input": [0.1 * k for k in range(n_in)], "target": [0.0] * n_out}],
    }


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "pool"),
    [(3, 1, 0, 2), (2, 2, 1, 1), ([3, 2], 1, 1, 3)],
)
def test_each_layers_shape_follows_its_kind(
    kernel: Any, stride: int, padding: int, pool: int
) -> None:
    conv = {**CONV, "kernel": kernel, "stride": stride, "padding": padding}
    layers = [conv, {"kind": "avg_pool2d", "kernel": pool}, {"kind": "flatten"}, DENSE]
    spec = parse_spec(_data(layers, [1, 7, 6]))
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    oh, ow = (7 + 2 * padding - kh) // stride + 1, (6 + 2 * padding - kw) // stride + 1
    assert spec.shapes == (
        (1, 7, 6),
        (2, oh, ow),
        (2, oh // pool, ow // pool),
        (2 * (oh // pool) * (ow // pool),),
        (2,),
    )
    assert spec.inputs().shape == (1, 1, 7, 6)
    assert spec.initial_params()[0]["W"].shape == (2, 1, kh, kw)
    assert spec.initial_params()[1] == {} and spec.initial_params()[2] == {}


BAD = [
    (
        [DENSE],
        [1, 4, 4],
        "layers[0]: dense takes one value per unit",
        "put a flatten layer before it",
    ),
    (
        [{**CONV, "kernel": 5}, {"kind": "flatten"}, DENSE],
        [1, 4, 4],
        "layers[0].kernel:",
        "the output would be empty",
    ),
    (
        [CONV, {"kind": "max_pool2d", "kernel": 3}, {"kind": "flatten"}, DENSE],
        [1, 4, 4],
        "layers[1].kernel:",
        "does not fit a 2x2 input",
    ),
    (
        [{**CONV, "kernel": [3, 3, 3]}, {"kind": "flatten"}, DENSE],
        [1, 4, 4],
        "layers[0].kernel:",
        "[kh, kw]",
    ),
    (
        [{**CONV, "weights": [[[[1.0]]]], "init": None}, {"kind": "flatten"}, DENSE],
        [1, 4, 4],
        "layers[0].weights: expected shape [2, 1, 3, 3]",
        "(got (1, 1, 1, 1))",
    ),
    (
        [CONV],
        [1, 4, 4],
        "layers[0]: the output layer must give one value per output",
        "end with a flatten or a dense layer",
    ),
    (
        [{"kind": "flatten"}, {"kind": "conv2d", "channels": 1, "init": {"rule": "normal"}}],
        [1, 4, 4],
        "layers[1]: conv2d takes (channels, height, width) inputs",
        "[16]",
    ),
    (
        [{**CONV, "bias": {"mode": "per_neuron", "value": [1.0]}}, {"kind": "flatten"}, DENSE],
        [1, 4, 4],
        "layers[0].bias.value: expected 2 values, one per channel",
        "(got 1)",
    ),
    (
        [{"kind": "lstm"}],
        [1, 4, 4],
        "layers[0].kind: must be one of 'dense', 'conv2d'",
        "(got 'lstm')",
    ),
    (
        [{**CONV, "stride": 0}, {"kind": "flatten"}, DENSE],
        [1, 4, 4],
        "layers[0].stride: must be >= 1",
        "(got 0)",
    ),
]


@pytest.mark.parametrize(
    ("layers", "shape", "field", "why"), BAD, ids=[b[2].split(":")[0] + b[3][:12] for b in BAD]
)
def test_every_shape_mismatch_is_one_line_naming_the_field(
    layers: list[dict[str, Any]], shape: list[int], field: str, why: str
) -> None:
    tables = [{k: v for k, v in t.items() if v is not None} for t in layers]
    assert_one_spec_error(_data(tables, shape), field, why)


def test_input_takes_a_size_or_a_shape_not_both() -> None:
    data = _data([{"kind": "flatten"}, DENSE], [1, 2, 2])
    data["input"] = {"size": 4, "shape": [1, 2, 2]}
    with pytest.raises(
        SpecError, match=r"^net.toml: input: give exactly one of 'size' or 'shape' \(got both\)$"
    ):
        parse_spec(data, "net.toml")


def test_a_spec_with_image_kinds_writes_back_to_the_same_spec() -> None:
    layers = [CONV, {"kind": "max_pool2d", "kernel": 2}, {"kind": "flatten"}, DENSE]
    spec = parse_spec(_data(layers, [1, 5, 5]))
    again = parse_spec(tomllib.loads(spec_to_toml(spec)), "<again>")
    assert again.shapes == spec.shapes and again.options == spec.options
    for a, b in zip(again.initial_params(), spec.initial_params(), strict=True):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_the_command_line_exits_2_with_one_line_on_an_empty_conv(
    tmp_path: Path, run_cli: RunCli
) -> None:
    bad = tmp_path / "bad.toml"
    data = _data([{**CONV, "kernel": 5}, {"kind": "flatten"}, DENSE], [1, 4, 4])
    bad.write_text(dump_toml(data))
    result = run_cli(["verify", str(bad)])
    assert result.status == 2
    assert_one_error_line(result.err, "bad.toml", "layers[0].kernel", "the output would be empty")


def test_the_builtin_conv_net_loads_with_its_shapes() -> None:
    root = Path(__file__).resolve().parents[2]
    spec = load_spec(root / "networks" / "conv_8x8.toml")
    assert spec.kinds == ("conv2d", "max_pool2d", "flatten", "dense")
    assert spec.shapes == ((1, 8, 8), (4, 6, 6), (4, 3, 3), (36,), (3,))
