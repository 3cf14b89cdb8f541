"""gradcheck.spec.network: every bad input is one exact line; good specs load, freeze and
round-trip."""

from __future__ import annotations

import json
import math
import pickle
import tomllib
from pathlib import Path

import click
import numpy as np
import pytest
from helpers import RunCli, assert_params_equal

from gradcheck import cli
from gradcheck.spec import (
    ACTIVATIONS,
    LOSSES,
    GradcheckError,
    Spec,
    SpecError,
    builtin_networks_dir,
    load_spec,
    load_specs,
    parse_spec,
    spec_json_schema,
    spec_to_toml,
)

# A small valid spec every bad-input case below edits in exactly one place.
BASE = """\
name = "base"
loss = "half_sse"

[optimizer]
learning_rate = 0.5

[input]
size = 2
names = ["i1", "i2"]

[[layers]]
size = 2
activation = "sigmoid"
names = ["h1", "h2"]
weights = [[0.15, 0.20], [0.25, 0.30]]
bias = { mode = "shared", value = 0.35, trainable = false, name = "b1" }

[[layers]]
size = 2
activation = "sigmoid"
names = ["o1", "o2"]
weights = [[0.40, 0.45], [0.50, 0.55]]
bias = { mode = "per_neuron", value = [0.6, 0.6] }

[[samples]]
input = [0.05, 0.10]
target = [0.01, 0.99]
"""

W0 = "weights = [[0.15, 0.20], [0.25, 0.30]]"
ACT0 = 'activation = "sigmoid"\nnames = ["h1", "h2"]'
BIAS0 = 'bias = { mode = "shared", value = 0.35, trainable = false, name = "b1" }'
BIAS1 = 'bias = { mode = "per_neuron", value = [0.6, 0.6] }'
SAMPLE = "input = [0.05, 0.10]\ntarget = [0.01, 0.99]"
# the declared activations as pydantic lists them: "'identity', ..., 'tanh' or 'softmax'"
ACTS = ", ".join(map(repr, ACTIVATIONS[:-1])) + f" or {ACTIVATIONS[-1]!r}"

# (case id, text to replace in BASE, replacement, the exact message after "PATH: "); a case
# needing two edits gives two (text, replacement) pairs instead.
BAD_INPUTS = [
    (
        "wrong-matrix-shape",
        W0,
        "weights = [[0.15, 0.20, 0.1], [0.25, 0.30, 0.1]]",
        "layers[0].weights: expected shape 2x2, one row per output neuron and one column "
        "per input (got 2x3)",
    ),
    (
        "ragged-matrix",
        W0,
        "weights = [[0.15, 0.20], [0.25]]",
        "layers[0].weights: expected shape 2x2, one row per output neuron and one column "
        "per input (got 2 rows of lengths [2, 1])",
    ),
    (
        "unknown-activation",
        ACT0,
        'activation = "sigmod"',
        f"layers[0].activation: must be one of {ACTS} (got 'sigmod')",
    ),
    (
        "softmax-not-last",
        ACT0,
        'activation = "softmax"',
        "layers[0].activation: softmax is allowed on the output layer only "
        "(got 'softmax' on layer 1 of 2)",
    ),
    (
        "nan-weight",
        W0,
        "weights = [[0.15, 0.20], [nan, 0.30]]",
        "layers[0].weights[1][0]: must be a finite number, not NaN or inf (got nan)",
    ),
    (
        "inf-weight",
        W0,
        "weights = [[0.15, -inf], [0.25, 0.30]]",
        "layers[0].weights[0][1]: must be a finite number, not NaN or inf (got -inf)",
    ),
    (
        "nan-shared-bias",
        BIAS0,
        'bias = { mode = "shared", value = nan }',
        "layers[0].bias.value: must be a finite number, not NaN or inf (got nan)",
    ),
    (
        "inf-in-bias-list",
        BIAS1,
        'bias = { mode = "per_neuron", value = [0.6, inf] }',
        "layers[1].bias.value[1]: must be a finite number, not NaN or inf (got inf)",
    ),
    (
        "nan-input",
        SAMPLE,
        "input = [nan, 0.10]\ntarget = [0.01, 0.99]",
        "samples[0].input[0]: must be a finite number, not NaN or inf (got nan)",
    ),
    (
        "inf-target",
        SAMPLE,
        "input = [0.05, 0.10]\ntarget = [0.01, inf]",
        "samples[0].target[1]: must be a finite number, not NaN or inf (got inf)",
    ),
    (
        "negative-learning-rate",
        "learning_rate = 0.5",
        "learning_rate = -0.1",
        "optimizer.learning_rate: must be > 0 (got -0.1)",
    ),
    (
        "zero-learning-rate",
        "learning_rate = 0.5",
        "learning_rate = 0",
        "optimizer.learning_rate: must be > 0 (got 0)",
    ),
    (
        "nan-learning-rate",
        "learning_rate = 0.5",
        "learning_rate = nan",
        "optimizer.learning_rate: must be a finite number, not NaN or inf (got nan)",
    ),
    (
        "string-for-number",
        "learning_rate = 0.5",
        'learning_rate = "0.5"',
        "optimizer.learning_rate: must be a number (got '0.5')",
    ),
    (
        "boolean-for-number",
        "learning_rate = 0.5",
        "learning_rate = true",
        "optimizer.learning_rate: must be a number (got true)",
    ),
    (
        "fractional-size",
        'size = 2\nnames = ["i1"',
        'size = 2.5\nnames = ["i1"',
        "input.size: must be a whole number (got 2.5)",
    ),
    (
        "unknown-top-level-field",
        'loss = "half_sse"',
        'loss = "half_sse"\nlearning_rate = 0.1',
        "learning_rate: unknown field, expected one of description, documented, dtype, input, "
        "layers, loss, name, optimizer, samples, source, weight_decay (got 0.1)",
    ),
    (
        "unknown-layer-field",
        ACT0,
        ACT0 + "\nactivaton = 'tanh'",
        "layers[0].activaton: unknown field, expected one of activation, bias, init, kind, "
        "layout, names, size, slope, trainable, weight_names, weights (got 'tanh')",
    ),
    (
        "unknown-bias-field",
        BIAS1,
        'bias = { mode = "per_neuron", values = [0.6, 0.6] }',
        "layers[1].bias.values: unknown field, expected one of mode, name, names, trainable, "
        "value (got [0.6, 0.6])",
    ),
    (
        "missing-loss",
        'loss = "half_sse"\n',
        "",
        "loss: required field is missing",
    ),
    (
        "unknown-loss",
        'loss = "half_sse"',
        'loss = "cross_entropy"',
        "loss: must be one of 'half_sse', 'sse', 'mse', 'softmax_cross_entropy', "
        "'binary_cross_entropy' or 'svm' (got 'cross_entropy')",
    ),
    (
        "svm-needs-identity-and-one-hot-targets",
        'loss = "half_sse"',
        'loss = "svm"',
        "loss: svm needs activation 'identity' on the output layer (got 'sigmoid'); "
        "samples[0].target: loss svm needs a one-hot target, one 1 (the true class) and 0 "
        "elsewhere, e.g. [0.0, 1.0, 0.0] (got [0.01, 0.99])",
    ),
    (
        "negative-weight-decay",
        'loss = "half_sse"',
        'loss = "half_sse"\nweight_decay = -0.1',
        "weight_decay: must be >= 0 (got -0.1)",
    ),
    (
        "nan-weight-decay",
        'loss = "half_sse"',
        'loss = "half_sse"\nweight_decay = nan',
        "weight_decay: must be a finite number, not NaN or inf (got nan)",
    ),
    (
        "cross-entropy-without-softmax",
        'loss = "half_sse"',
        'loss = "softmax_cross_entropy"',
        "loss: softmax_cross_entropy needs activation 'softmax' on the output layer "
        "(got 'sigmoid')",
    ),
    (
        "empty-samples",
        "[[samples]]\n" + SAMPLE,
        "",
        "samples: required field is missing",
    ),
    (
        "empty-samples-list",
        ("[[samples]]\n" + SAMPLE, ""),
        ('loss = "half_sse"', 'loss = "half_sse"\nsamples = []'),
        "samples: must have at least 1 item(s) (got [])",
    ),
    (
        "wrong-input-width",
        SAMPLE,
        "input = [0.05]\ntarget = [0.01, 0.99]",
        "samples[0].input: expected 2 values, one per input (got 1)",
    ),
    (
        "wrong-target-width",
        SAMPLE,
        "input = [0.05, 0.10]\ntarget = [0.01, 0.99, 0.5]",
        "samples[0].target: expected 2 values, one per output (got 3)",
    ),
    (
        "duplicate-names",
        'names = ["o1", "o2"]',
        'names = ["o1", "h2"]',
        "layers[1].names[1]: name already used at layers[0].names[1] (got 'h2')",
    ),
    (
        "bias-name-clashes-with-unit",
        'name = "b1"',
        'name = "i1"',
        "layers[0].bias.name: name already used at input.names[0] (got 'i1')",
    ),
    (
        "leaky-relu-without-slope",
        ACT0,
        'activation = "leaky_relu"',
        "layers[0].slope: leaky_relu needs a slope, e.g. slope = 0.01",
    ),
    (
        "slope-on-sigmoid",
        ACT0,
        ACT0 + "\nslope = 0.1",
        "layers[0].slope: only leaky_relu takes a slope, this layer is sigmoid (got 0.1)",
    ),
    (
        "weights-and-init",
        W0,
        W0 + '\ninit = { rule = "normal" }',
        "layers[0]: give exactly one of 'weights' (a matrix) or 'init' (a rule) (got both)",
    ),
    (
        "neither-weights-nor-init",
        W0,
        "",
        "layers[0]: give exactly one of 'weights' (a matrix) or 'init' (a rule) (got neither)",
    ),
    (
        "unknown-init-rule",
        W0,
        'init = { rule = "glorot" }',
        "layers[0].init.rule: must be one of 'normal', 'uniform', 'xavier' or 'he' (got 'glorot')",
    ),
    (
        "negative-init-seed",
        W0,
        'init = { rule = "normal", seed = -1 }',
        "layers[0].init.seed: must be >= 0 (got -1)",
    ),
    (
        "shared-bias-given-a-list",
        BIAS0,
        'bias = { mode = "shared", value = [0.35, 0.35] }',
        "layers[0].bias.value: a shared bias is one number (got [0.35, 0.35])",
    ),
    (
        "per-neuron-bias-wrong-length",
        BIAS1,
        'bias = { mode = "per_neuron", value = [0.6, 0.6, 0.6] }',
        "layers[1].bias.value: expected 2 values, one per neuron (got 3)",
    ),
    (
        "bias-value-a-string",
        BIAS1,
        'bias = { mode = "per_neuron", value = "0.6" }',
        "layers[1].bias.value: must be a number (got '0.6')",
    ),
    (
        "unknown-dtype",
        'loss = "half_sse"',
        'loss = "half_sse"\ndtype = "float16"',
        "dtype: must be one of 'float64' or 'float32' (got 'float16')",
    ),
    (
        "outside-float32-range",
        ('loss = "half_sse"', 'loss = "half_sse"\ndtype = "float32"'),
        (W0, "weights = [[0.15, 1e39], [0.25, 0.30]]"),
        "layers[0].weights[0][1]: outside the float32 range of +-3.403e+38 (got 1e+39)",
    ),
    (
        "table-where-number-expected",
        "learning_rate = 0.5",
        "learning_rate = { value = 0.5 }",
        "optimizer.learning_rate: must be a number",
    ),
    (
        "number-where-table-expected",
        BIAS1,
        "bias = 0.6",
        "layers[1].bias: must be a table (got 0.6)",
    ),
    (
        "every-problem-listed",
        ("learning_rate = 0.5", "learning_rate = -1.0\nname = 'adam'"),
        (W0, "weights = [[0.15, 0.20], [nan, 0.30]]"),
        "optimizer.name: must be 'sgd': a spec holds the document's plain gradient descent; "
        "train with momentum or adam by `gradcheck train SPEC --optimizer NAME` (got 'adam'); "
        "optimizer.learning_rate: must be > 0 "
        "(got -1.0); layers[0].weights[1][0]: must be a finite number, not NaN or inf (got nan)",
    ),
]


def _edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"test table out of date: {old!r}"
    return text.replace(old, new)


def _cases() -> list[object]:
    cases: list[object] = []
    for case_id, *edits, message in BAD_INPUTS:
        pairs = edits if isinstance(edits[0], tuple) else [tuple(edits)]
        text = BASE
        for old, new in pairs:
            text = _edit(str(old), str(new), text)
        cases.append(pytest.param(text, message, id=case_id))
    return cases


def _write(tmp_path: Path, text: str | bytes, name: str = "net.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_base_spec_is_valid(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, BASE))
    assert spec.sizes == (2, 2, 2)
    assert spec.activations == ("sigmoid", "sigmoid")


@pytest.mark.parametrize(("text", "message"), _cases())
def test_bad_spec_gives_one_exact_line(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(err.value) == f"{path}: {message}"
    assert "\n" not in str(err.value)


def test_malformed_toml_names_file_and_position(tmp_path: Path) -> None:
    text = BASE.replace("learning_rate = 0.5", "learning_rate = ")
    with pytest.raises(tomllib.TOMLDecodeError) as decode:
        tomllib.loads(text)
    path = _write(tmp_path, text)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(err.value) == f"{path}: malformed TOML: {decode.value}"
    assert "line 5" in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        load_spec(tmp_path / "absent.toml")
    assert str(err.value) == f"{tmp_path / 'absent.toml'}: no such file"


def test_directory_given_for_a_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        load_spec(tmp_path)
    assert str(err.value) == f"{tmp_path}: is a directory, expected a .toml file"


def test_non_utf8_file(tmp_path: Path) -> None:
    path = _write(tmp_path, b'name = "caf\xe9"\n')
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert str(err.value) == f"{path}: not UTF-8 text (invalid continuation byte at byte 11)"


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    assert load_spec(_write(tmp_path, b"\xef\xbb\xbf" + BASE.encode())).name == "base"


def test_empty_directory_has_no_specs(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        load_specs([tmp_path])
    assert str(err.value) == f"{tmp_path}: no .toml files in this directory"


def test_directory_loads_every_toml_sorted(tmp_path: Path) -> None:
    _write(tmp_path, BASE.replace('name = "base"', 'name = "second"'), "b.toml")
    _write(tmp_path, BASE.replace('name = "base"', 'name = "first"'), "a.toml")
    _write(tmp_path, "not toml at all [", "notes.txt")
    assert [s.name for s in load_specs([tmp_path])] == ["first", "second"]


def test_parse_spec_names_the_given_path() -> None:
    data = tomllib.loads(BASE.replace("learning_rate = 0.5", "learning_rate = -2.0"))
    with pytest.raises(SpecError) as err:
        parse_spec(data, "inline")
    assert str(err.value) == "inline: optimizer.learning_rate: must be > 0 (got -2.0)"


def test_spec_errors_are_gradcheck_errors() -> None:
    assert issubclass(SpecError, GradcheckError)


# -- the command line turns bad input into one line and status 2 ---------------------------------
@click.command("load-for-test")
@click.argument("path")
def _load_command(path: str) -> int:
    load_spec(path)
    return 0


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (_edit(W0, "weights = [[0.15, 0.20], [nan, 0.30]]"), "layers[0].weights[1][0]"),
        (_edit(ACT0, 'activation = "softmax"'), "layers[0].activation"),
    ],
)
def test_cli_reports_bad_spec_in_one_line_with_status_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: RunCli,
    text: str,
    field: str,
) -> None:
    monkeypatch.setitem(cli.app.commands, "load-for-test", _load_command)
    path = _write(tmp_path, text)
    status, out, err = run_cli(["load-for-test", str(path)])
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"gradcheck: error: {path}: {field}: ")
    assert "Traceback" not in err


def test_cli_reports_missing_file_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    monkeypatch.setitem(cli.app.commands, "load-for-test", _load_command)
    status, _, err = run_cli(["load-for-test", str(tmp_path / "nope.toml")])
    assert status == 2
    assert err == f"gradcheck: error: {tmp_path / 'nope.toml'}: no such file\n"


def test_cli_usage_error_is_one_line_with_status_2(run_cli: RunCli) -> None:
    status, _, err = run_cli(["no-such-command"])
    assert status == 2
    assert err == "gradcheck: error: No such command 'no-such-command' (see 'gradcheck -h')\n"


def test_schema_command_prints_the_json_schema(run_cli: RunCli) -> None:
    status, out, _ = run_cli(["schema"])
    assert status == 0
    schema = json.loads(out)
    assert schema == spec_json_schema()
    assert set(schema["required"]) == {"name", "loss", "input", "layers", "samples"}
    assert schema["properties"]["loss"]["enum"] == list(LOSSES)
    layer = schema["$defs"]["DenseLayer"]
    assert layer["properties"]["activation"]["enum"] == list(ACTIVATIONS)
    assert layer["additionalProperties"] is False
    assert schema["additionalProperties"] is False
    seed = tomllib.loads(BASE)
    assert set(seed) <= set(schema["properties"])
    assert set(seed["layers"][0]) <= set(layer["properties"])


# -- good specs --------------------------------------------------------------------------------
FULL = """\
name = "every-feature"
description = "quotes \\" backslash \\\\ newline \\n tab \\t bell \\u0007 done"
dtype = "float64"
loss = "softmax_cross_entropy"

[optimizer]
learning_rate = 0.1

[input]
size = 3

[[layers]]
size = 4
activation = "leaky_relu"
slope = 0.01
init = { rule = "xavier", scale = 1.5, seed = 7 }
trainable = false
bias = { mode = "per_neuron", value = [0.1, -0.2, 0.3, 1e-7], names = ["c1", "c2", "c3", "c4"] }

[[layers]]
size = 3
activation = "softmax"
weights = [[1.0, 2.0, 3.0, 4.0], [0.5, -0.5, 0.25, 0.125], [0.0, 0.0, 1e-300, -3.0]]
weight_names = [["a", "b", "c", "d"], ["e", "f", "g", "h"], ["i", "j", "k", "l"]]
bias = { mode = "shared", value = 0.5, name = "s" }

[[samples]]
input = [1.0, 2.0, 3.0]
target = [0.0, 1.0, 0.0]

[[samples]]
input = [-1.0, 0.5, 0.0]
target = [0.2, 0.3, 0.5]

[[documented]]
quantity = "a"
printed = "1.0"
"""


@pytest.mark.parametrize("text", [BASE, FULL], ids=["base", "every-feature"])
def test_spec_to_toml_round_trips(text: str) -> None:
    spec = parse_spec(tomllib.loads(text), "original")
    again = parse_spec(tomllib.loads(spec_to_toml(spec)), "round-trip")
    assert again.model == spec.model
    assert_params_equal(again.initial_params(), spec.initial_params())
    assert_params_equal(again.frozen_params(), spec.frozen_params())
    np.testing.assert_array_equal(again.inputs(), spec.inputs())


def test_builtin_networks_round_trip() -> None:
    specs = load_specs([builtin_networks_dir()])
    assert {s.name for s in specs} >= {"linear-2-2-1", "sigmoid-2-2-2"}
    for spec in specs:
        again = parse_spec(tomllib.loads(spec_to_toml(spec)))
        assert again.model == spec.model


def test_a_spec_pickles_as_its_model_and_path_for_worker_processes() -> None:
    for spec in load_specs([builtin_networks_dir()]):
        spec.shapes  # a cached property: recomputed on the other side, not carried  # noqa: B018
        again = pickle.loads(pickle.dumps(spec))
        assert isinstance(again, Spec)
        assert (again.model, again.path) == (spec.model, spec.path)
        assert again.shapes == spec.shapes
        assert_params_equal(again.initial_params(), spec.initial_params())
        with pytest.raises(AttributeError, match="immutable"):
            again.path = "elsewhere"  # type: ignore[misc]


def _init_spec(rule: str, scale: float, seed: int, n_in: int = 300, n_out: int = 200) -> Spec:
    text = f"""
name = "init"
loss = "mse"
optimizer = {{ learning_rate = 0.1 }}
input = {{ size = {n_in} }}
[[layers]]
size = {n_out}
init = {{ rule = "{rule}", scale = {scale}, seed = {seed} }}
[[samples]]
input = {[0.0] * n_in}
target = {[0.0] * n_out}
"""
    return parse_spec(tomllib.loads(text))


@pytest.mark.parametrize(
    ("rule", "expected_std"),
    [
        ("normal", 2.0),
        ("uniform", 2.0 / math.sqrt(3.0)),
        ("xavier", 2.0 * math.sqrt(2.0 / (300 + 200))),
        ("he", 2.0 * math.sqrt(2.0 / 300)),
    ],
)
def test_init_rule_is_deterministic_and_scaled(rule: str, expected_std: float) -> None:
    w = _init_spec(rule, 2.0, 3).initial_params()[0]["W"]
    assert w.shape == (200, 300)
    np.testing.assert_array_equal(w, _init_spec(rule, 2.0, 3).initial_params()[0]["W"])
    assert not np.array_equal(w, _init_spec(rule, 2.0, 4).initial_params()[0]["W"])
    # 60000 draws: the sample std is within 1% of the true one by many standard errors.
    assert abs(float(w.std()) / expected_std - 1.0) < 0.01
    assert abs(float(w.mean())) < 0.05 * expected_std
    if rule == "uniform":
        assert float(np.abs(w).max()) <= 2.0


def test_shared_frozen_bias_is_split_from_trainable_weights() -> None:
    spec = parse_spec(tomllib.loads(BASE))
    trainable, frozen = spec.initial_params(), spec.frozen_params()
    assert [sorted(layer) for layer in trainable] == [["W"], ["W", "b"]]
    assert [sorted(layer) for layer in frozen] == [["b"], []]
    assert frozen[0]["b"].shape == ()
    assert float(frozen[0]["b"]) == 0.35
    np.testing.assert_array_equal(trainable[1]["b"], [0.6, 0.6])
    assert spec.is_trainable(1, "b") and not spec.is_trainable(0, "b")


def test_frozen_weights_move_to_frozen_params() -> None:
    spec = parse_spec(tomllib.loads(FULL))
    assert sorted(spec.frozen_params()[0]) == ["W"]
    assert sorted(spec.initial_params()[0]) == ["b"]
    assert spec.n_params == 4 + 12 + 1


def test_params_are_fresh_copies_and_the_spec_is_immutable() -> None:
    spec = parse_spec(tomllib.loads(BASE))
    spec.initial_params()[0]["W"][0, 0] = 99.0
    spec.frozen_params()[0]["b"][()] = 99.0
    assert spec.initial_params()[0]["W"][0, 0] == 0.15
    assert float(spec.frozen_params()[0]["b"]) == 0.35
    with pytest.raises(AttributeError):
        spec.path = "elsewhere"  # type: ignore[misc]


def test_float32_spec_holds_float32_arrays() -> None:
    spec = parse_spec(
        tomllib.loads(_edit('loss = "half_sse"', 'loss = "half_sse"\ndtype = "float32"'))
    )
    arrays = [*spec.initial_params()[0].values(), spec.frozen_params()[0]["b"]]
    assert {a.dtype for a in [*arrays, spec.inputs(), spec.targets()]} == {np.dtype(np.float32)}


def test_display_names_and_labels() -> None:
    spec = parse_spec(tomllib.loads(FULL))
    assert spec.param_names["c3"] == (0, "b", (2,))
    assert spec.param_names["s"] == (1, "b", ())
    assert spec.param_names["g"] == (1, "W", (1, 2))
    assert spec.label(1, "W", (1, 2)) == "g"
    assert spec.label(0, "W", (3, 1)) == "layer 1 W[3,1]"
    base = parse_spec(tomllib.loads(BASE))
    assert base.unit_names == {
        "i1": (0, 0),
        "i2": (0, 1),
        "h1": (1, 0),
        "h2": (1, 1),
        "o1": (2, 0),
        "o2": (2, 1),
    }
    assert base.label(1, "b", (0,)) == "layer 2 b[0]"
