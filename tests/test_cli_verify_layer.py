"""``gradcheck verify-layer``: exit 0 on a right layer, 1 with the minimal case and the command
that replays it on a wrong one, 2 with one line on bad input; the fixture's ``verify_layer``."""

from __future__ import annotations

import json
import shlex

import pytest
from helpers import RunCli
from planted_layers import layers

from gradcheck.pytest_plugin import GradcheckFixture

COURSE = "examples/course_layers.py"
PLANTED = "tests/planted_layers.py"


def test_a_right_layer_exits_0(run_cli: RunCli) -> None:
    args = ["verify-layer", "dense", "--forward", f"{COURSE}:affine_forward",
            "--backward", f"{COURSE}:affine_backward", "--examples", "10"]  # fmt: skip
    result = run_cli(args)
    assert result.status == 0, result.out + result.err
    assert result.out.startswith("PASS dense (affine_forward / affine_backward, float64): 10 cases")


def test_a_wrong_layer_exits_1_with_a_command_that_replays_it(run_cli: RunCli) -> None:
    args = ["verify-layer", "dropout", "--forward", f"{COURSE}:dropout_forward",
            "--backward", f"{PLANTED}:dropout_backward_without_mask"]  # fmt: skip
    result = run_cli(args)
    assert result.status == 1
    first = result.out.splitlines()[0]
    assert (
        first.startswith("FAIL dropout") and "backward wrong: backward vs JAX vjp at dx[" in first
    )
    command = next(
        line.split("replay: ", 1)[1]
        for line in result.out.splitlines()
        if "replay: gradcheck " in line
    )
    again = run_cli(shlex.split(command)[1:])
    assert again.status == 1 and again.out.splitlines()[0] == first


def test_json_carries_the_verdict(run_cli: RunCli) -> None:
    args = ["verify-layer", "flatten", "--forward", f"{COURSE}:flatten_forward",
            "--backward", f"{COURSE}:flatten_backward", "--examples", "5", "--json",
            "--option", "N=1", "--dtype", "float32"]  # fmt: skip
    result = run_cli(args)
    data = json.loads(result.out)
    assert result.status == 0 and data["ok"] is True and data["dtype"] == "float32"
    assert data["examples"] == 5 and data["case"] is None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--option", "stride"], "--option 'stride': expected KEY=VALUE, e.g. stride=2"),
        (["--option", "strides=2"], "verify_layer conv2d: no option 'strides'"),
        (["--option", "pad=-1"], "verify_layer conv2d: option pad: expected an integer >= 0"),
    ],
)
def test_bad_input_exits_2_with_one_line(run_cli: RunCli, extra: list[str], message: str) -> None:
    args = ["verify-layer", "conv2d", "--forward", f"{COURSE}:conv_forward",
            "--backward", f"{COURSE}:conv_backward", *extra]  # fmt: skip
    result = run_cli(args)
    assert result.status == 2 and result.out == ""
    assert result.err.startswith("gradcheck: error: ") and message in result.err
    assert result.err.count("\n") == 1


def test_an_unloadable_function_names_its_flag(run_cli: RunCli) -> None:
    args = ["verify-layer", "conv2d", "--forward", f"{COURSE}:conv_forwrd",
            "--backward", f"{COURSE}:conv_backward"]  # fmt: skip
    result = run_cli(args)
    assert result.status == 2
    assert result.err.startswith(
        "gradcheck: error: --forward 'examples/course_layers.py:conv_forwrd'"
    )


def test_help_prints_every_kinds_contract(run_cli: RunCli) -> None:
    result = run_cli(["verify-layer", "--help"])
    assert "conv_forward(x, w, b, conv_param) -> (out, cache)" in result.out
    assert "rnn_backward(dh, cache) -> (dx, dh0, dWx, dWh, db)" in result.out


def _fixture(recorded: dict[str, object]) -> GradcheckFixture:
    return GradcheckFixture(examples=5, seed=0, rtol=None, atol=None, record=recorded.__setitem__)


def test_the_fixture_method_passes_and_records_a_right_layer() -> None:
    recorded: dict[str, object] = {}
    fixture = _fixture(recorded)
    verdict = fixture.verify_layer(
        "dense", layers.affine_forward, layers.affine_backward, examples=5
    )
    assert verdict.ok
    assert str(recorded["gradcheck[dense]"]).startswith("PASS dense")


def test_the_fixture_method_fails_the_test_with_the_minimal_case() -> None:
    from planted_layers import dropout_backward_without_mask

    fixture = _fixture({})
    with pytest.raises(pytest.fail.Exception) as failed:
        fixture.verify_layer("dropout", layers.dropout_forward, dropout_backward_without_mask)
    message = str(failed.value)
    assert message.startswith("FAIL dropout") and "minimal case N=1" in message
    assert "replay: verify_layer('dropout'" in message
