"""verify(): the seeds verify, planted bugs are named, kinks and FD artefacts are reported, large
networks go through random directions; the CLI's exit codes, JSON and JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    RunCli,
    assert_one_error_line,
    builtin_names,
    changed,
    make_spec,
    seed_path,
    seed_spec,
)

from gradcheck.checking import compare
from gradcheck.checking.candidates import CandidateError, load_candidate
from gradcheck.checking.junit import write_junit_xml
from gradcheck.checking.verification import verify
from gradcheck.generate.strategies import sample_networks
from gradcheck.hand import hand_grads
from gradcheck.spec import (
    Array,
    GradientFn,
    Params,
    Spec,
    parse_spec,
)


def relu_at_kink(net0: float) -> Spec:
    """2-2-1, relu hidden layer; hidden unit 0's pre-activation is ``net0`` for the one sample."""
    layers = [
        {
            "size": 2,
            "activation": "relu",
            "weights": [[1.0, 0.0], [0.5, 0.5]],
            "bias": {"mode": "per_neuron", "value": [net0 - 0.5, 0.1]},
        },
        {"size": 1, "activation": "identity", "weights": [[1.0, -2.0]]},
    ]
    return make_spec(layers, [[0.5, 1.0]], [[3.0]], name="relu-kink", path="<kink>")


def wide(sizes: tuple[int, ...] = (20, 40, 40, 5)) -> Spec:
    """A network above the projection threshold (2,525 parameters)."""
    rng = np.random.default_rng(1)
    layers = [
        {
            "size": n,
            "activation": act,
            "init": {"rule": "xavier", "seed": i},
            "bias": {"mode": "per_neuron", "value": rng.normal(0, 0.1, n).tolist()},
        }
        for i, (n, act) in enumerate(zip(sizes[1:], ("tanh", "sigmoid", "identity"), strict=True))
    ]
    samples = [(rng.normal(size=sizes[0]), rng.normal(size=sizes[-1])) for _ in range(4)]
    inputs, targets = [x for x, _ in samples], [t for _, t in samples]
    return make_spec(layers, inputs, targets, name="wide", loss="mse", path="<wide>")


@pytest.mark.parametrize("name", builtin_names())
def test_the_builtin_networks_verify(name: str) -> None:
    verdict = verify(hand_grads, seed_spec(name))
    assert verdict.ok and verdict.mode == "entries"
    assert verdict.counts["ok"] == verdict.n_params == len(verdict.entries)


def test_a_float32_network_verifies_with_its_measured_precision() -> None:
    spec = wide((6, 8, 8, 5))
    data = spec.model.model_dump(exclude_none=True)
    spec32 = parse_spec({**data, "dtype": "float32"}, "<float32>")
    verdict = verify(hand_grads, spec32)
    assert verdict.ok and verdict.dtype == "float32", verdict.summary()
    assert not verify(changed((0, "W"), (2, 3), 1.01), spec32).ok  # 1% is far above float32


def test_a_planted_bug_is_a_backprop_bug_named_by_its_entry(sigmoid_seed: Spec) -> None:
    verdict = verify(changed((1, "W"), (1, 0), 1.001), sigmoid_seed)
    assert not verdict.ok
    assert [(e.label, e.location, e.status) for e in verdict.failures] == [
        ("w7", "layer 2 W[1,0]", "backprop-bug")
    ]
    assert "w7 (layer 2 W[1,0])" in verdict.summary()


def test_a_stencil_across_a_kink_is_non_differentiable_here_not_passed_or_failed() -> None:
    verdict = verify(hand_grads, relu_at_kink(1e-9))  # |net| << step: the stencil crosses 0
    kinked = {e.label for e in verdict.entries if e.status == "non-differentiable here"}
    assert kinked == {"layer 1 W[0,0]", "layer 1 W[0,1]", "layer 1 b[0]"}
    assert verdict.ok and "3 non-differentiable here" in verdict.summary()


def on_the_kink(value: float) -> GradientFn:
    """hand_grads with unit 0's gradient taken as ``relu'(0) = value`` (err = -1.7 - 3)."""

    def candidate(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        grads[0]["W"][0] = [0.5 * -4.7 * value, 1.0 * -4.7 * value]  # err * v0 (1) * relu' * x
        grads[0]["b"][0] = -4.7 * value
        return grads

    return candidate


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_on_the_kink_any_subgradient_is_non_differentiable_here(value: float) -> None:
    verdict = verify(on_the_kink(value), relu_at_kink(0.0))
    assert verdict.ok, verdict.summary()
    assert verdict.counts["non-differentiable here"] == 3


@pytest.mark.parametrize("value", [1e6, np.nan, 1.01, -0.01])
def test_on_the_kink_a_value_outside_the_one_sided_derivatives_is_a_bug(value: float) -> None:
    verdict = verify(on_the_kink(value), relu_at_kink(0.0))
    assert not verdict.ok
    assert {(e.label, e.status) for e in verdict.failures} == {
        (label, "backprop-bug") for label in ("layer 1 W[0,0]", "layer 1 W[0,1]", "layer 1 b[0]")
    }


def test_off_the_kink_a_subgradient_for_the_kink_is_a_bug() -> None:
    # Off the kink relu'(0) = 1 is simply wrong, and JAX (exact there) says so.
    off = verify(on_the_kink(1.0), relu_at_kink(-0.3))
    assert {e.label for e in off.failures} == {"layer 1 W[0,0]", "layer 1 W[0,1]", "layer 1 b[0]"}


def test_a_too_large_step_is_an_fd_artefact_not_a_failure(sigmoid_seed: Spec) -> None:
    verdict = verify(hand_grads, sigmoid_seed, fd_rel_step=100.0)
    assert verdict.counts["fd-artefact"] == 8 and verdict.ok
    assert all(e.step >= 100.0 for e in verdict.entries)


def test_large_networks_check_random_directions_and_pass() -> None:
    spec = wide()
    verdict = verify(hand_grads, spec)
    assert spec.n_params > compare.PROJECTION_THRESHOLD
    assert verdict.ok and verdict.mode == "projection", verdict.summary()
    assert [e.kind for e in verdict.entries] == ["direction"] * 6


def test_a_projection_check_names_the_layer_and_entry_of_a_planted_bug() -> None:
    verdict = verify(changed((1, "W"), (7, 3), 1.01), wide())
    assert [e.location for e in verdict.failures] == [
        "layer 2 W (random direction)",
        "layer 2 W[7,3]",
    ]
    assert {e.status for e in verdict.failures} == {"backprop-bug"}
    escalated = verdict.failures[1]
    assert abs(escalated.fd - escalated.jax) <= escalated.tol_fd  # per-entry FD confirms JAX


def test_a_bug_in_a_whole_large_group_escalates_only_its_worst_entries() -> None:
    verdict = verify(changed((1, "W"), Ellipsis, 1.01), wide())
    assert verdict.counts["backprop-bug"] == 1 + 40 * 40
    assert all(e.layer == 1 and e.group == "W" for e in verdict.failures)
    fd_checked = [e for e in verdict.failures if e.kind == "entry" and np.isfinite(e.fd)]
    assert len(fd_checked) == compare.ESCALATION_LIMIT
    assert verdict.notes == (
        "layer 2 W: 1600 entries differ from JAX; finite differences on the 64 worst",
    )


def test_a_misshapen_result_is_a_structure_failure(linear_seed: Spec) -> None:
    def wrong_shapes(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        return [grads[0], {"W": grads[1]["W"].T, "b": np.zeros(1)}]

    verdict = verify(wrong_shapes, linear_seed)
    assert not verdict.ok
    assert {(e.location, e.status) for e in verdict.failures} == {
        ("layer 2 W", "structure"),
        ("layer 2 b", "structure"),
    }
    assert verdict.notes == (
        "candidate: layer 2 W: shape (2, 1) dtype float64, expected (1, 2)",
        "candidate: layer 2 b: returned, but the layer has no group 'b' (its groups: W)",
    )


def test_integer_gradients_are_judged_as_numbers_and_said_to_be_integers(
    sigmoid_seed: Spec,
) -> None:
    # a trial's candidate cast its gradients to int: values wrong, the cause unsaid
    def truncated(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        return [{g: a.astype(np.int64) for g, a in layer.items()} for layer in grads]

    verdict = verify(truncated, sigmoid_seed)
    assert not verdict.ok and verdict.counts["backprop-bug"] > 0
    note = "candidate returned integers (int64) for a float64 network: layer 1 W, layer 2 W"
    assert any(n.startswith(note) for n in verdict.notes)
    assert note in verdict.summary()


def test_candidate_exceptions_propagate_unless_caught(linear_seed: Spec) -> None:
    def broken(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        raise IndexError("no such unit")

    with pytest.raises(IndexError):
        verify(broken, linear_seed)
    verdict = verify(broken, linear_seed, catch=(IndexError,))
    at = f"test_verify.py:{broken.__code__.co_firstlineno + 1}"  # where the candidate raised
    assert not verdict.ok and verdict.notes == (
        f"candidate raised IndexError: no such unit at {at}",
    )


def test_the_candidate_gets_copies(sigmoid_seed: Spec) -> None:
    spec = sigmoid_seed

    def vandal(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        params[0]["W"][:] = 0.0
        inputs[:] = 0.0
        return grads

    params = spec.initial_params()
    assert verify(vandal, spec, params).ok
    assert params[0]["W"][0, 0] == 0.15


def test_load_candidate_imports_modules_and_files(tmp_path: Path) -> None:
    assert load_candidate("gradcheck.hand.backprop:hand_grads") is hand_grads
    (tmp_path / "mine.py").write_text("def grads(spec, p, x, t):\n    return 'mine'\n")
    assert load_candidate(f"{tmp_path / 'mine.py'}:grads")(None, None, None, None) == "mine"


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("gradcheck.hand.backprop", "expected module:function or path/to/file.py:function"),
        ("gradcheck.hand.backprop:", "expected module:function"),
        ("no_such_module_x:f", "cannot import no_such_module_x"),
        ("gradcheck.hand.backprop:nothing", "gradcheck.hand.backprop has no function 'nothing'"),
        ("gradcheck.hand.backprop:__all__", r"gradcheck.hand.backprop.__all__ is a list, not a f"),
        ("missing/file.py:f", "no such file missing/file.py"),
    ],
)
def test_bad_candidate_references_raise_one_line(reference: str, message: str) -> None:
    with pytest.raises(CandidateError, match=message):
        load_candidate(reference)


def test_junit_xml_has_one_testcase_per_network_and_no_temporary_left(
    tmp_path: Path, linear_seed: Spec, sigmoid_seed: Spec
) -> None:
    verdicts = [
        verify(hand_grads, sigmoid_seed),
        verify(changed((0, "W"), (0, 1), 2.0), linear_seed),
    ]
    target = tmp_path / "out.xml"
    write_junit_xml(verdicts, target)
    suite = ET.parse(target).getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["sigmoid-2-2-2", "linear-2-2-1"]
    failure = cases[1].find("failure")
    assert failure is not None and "w2 (layer 1 W[0,1])" in failure.get("message", "")
    assert [p.name for p in tmp_path.iterdir()] == ["out.xml"]


def test_junit_xml_creates_its_missing_folders(tmp_path: Path, sigmoid_seed: Spec) -> None:
    target = tmp_path / "reports" / "ci" / "junit.xml"
    write_junit_xml([verify(hand_grads, sigmoid_seed)], target)
    assert [p.name for p in target.parent.iterdir()] == ["junit.xml"]
    assert ET.parse(target).getroot().find("testsuite") is not None


def test_cli_verify_exits_0_when_everything_verifies(run_cli: RunCli) -> None:
    status, out, _ = run_cli(["verify", "--examples", "3", "--seed", "4"])
    assert status == 0
    n = len(builtin_names()) + 3  # the built-in networks and 3 generated ones
    assert f"hand-derived backprop: {n} of {n} networks verified" in out
    assert "ok   sigmoid-2-2-2: verified, 8 entries" in out


def test_cli_verify_exits_1_and_names_the_entries_on_a_disagreement(
    tmp_path: Path, run_cli: RunCli
) -> None:
    module = tmp_path / "half.py"
    module.write_text(
        "from gradcheck.hand import hand_grads\n"
        "def grads(spec, p, x, t):\n"
        "    g = hand_grads(spec, p, x, t)\n"
        "    g[1]['W'][0, 1] *= 0.5\n"
        "    return g\n"
    )
    network = str(seed_path("linear-2-2-1"))
    status, out, _ = run_cli(
        ["verify", network, "--examples", "0", "--candidate", f"{module}:grads"]
    )
    assert status == 1
    assert "FAIL linear-2-2-1: FAILED 1 of 6 entries" in out
    assert "w6 (layer 2 W[0,1]): hand" in out and "[backprop-bug]" in out
    assert out.strip().endswith("0 of 1 networks verified, 1 FAILED")


def test_cli_verify_json_and_junit_xml(tmp_path: Path, run_cli: RunCli) -> None:
    xml = tmp_path / "verify.xml"
    status, out, _ = run_cli(["verify", "--examples", "1", "--json", "--junit-xml", str(xml)])
    data = json.loads(out)
    assert status == 0 and data["ok"] is True
    assert set(data["tolerances"]) == {"float64", "float32"}
    builtin = builtin_names()
    assert [n["name"] for n in data["networks"]][: len(builtin)] == builtin
    assert set(data["networks"][0]) >= {"ok", "dtype", "mode", "tolerance", "counts", "entries"}
    suite = ET.parse(xml).getroot().find("testsuite")
    assert suite is not None and len(suite.findall("testcase")) == len(builtin) + 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "missing.toml"], "missing.toml: no such file"),
        (["verify", "--candidate", "nope"], "--candidate 'nope': expected module:function"),
        (["verify", "--examples", "-1"], "--examples"),
        (["verify", "--rtol", "-1", "--examples", "0"], "rtol: expected a finite number >= 0"),
    ],
)
def test_cli_verify_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, run_cli: RunCli
) -> None:
    status, out, err = run_cli(args)
    assert status == 2 and out == ""
    assert_one_error_line(err, message)


def test_hand_grads_pass_on_300_saturating_networks() -> None:
    # Saturated tanh/sigmoid units make entries that are sums of terms far larger than
    # themselves; the cancellation term keeps hand-vs-JAX rounding there from reading as a bug.
    # Without it this draw failed one network (5-5-3-6 relu/tanh/leaky_relu, hand 0 vs JAX
    # -1.3e-12 where the bound was about 1e-12).
    cases = sample_networks(280, seed=1, saturating=True, kinds=("dense",))
    cases += sample_networks(8, seed=2, saturating=True)  # every kind
    failed = [c.describe() for c in cases if not verify(hand_grads, *c).ok]
    assert failed == []
