"""The pytest plugin's ``gradcheck`` fixture, run inside pytester's sandboxed pytest sessions."""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import (
    DOUBLED_CANDIDATE,
    RunCli,
    builtin_names,
    scaled_output_candidate,
    wide_3_4_2_toml,
)

pytest_plugins = ["pytester"]

PASSING = """
from gradcheck.hand import hand_grads

def test_hand_grads(gradcheck):
    verdicts = gradcheck.verify(hand_grads)
    assert [v.name for v in verdicts] == {names!r}
    assert len(gradcheck.verify_generated(hand_grads)) == {examples}
"""

FAILING = """
from gradcheck.hand import hand_grads

def off_by_half(spec, params, inputs, targets):
    grads = hand_grads(spec, params, inputs, targets)
    grads[-1]["W"][-1, 0] *= 0.5  # the output layer: w7 in sigmoid-2-2-2, w5 in linear-2-2-1
    return grads

def test_mine(gradcheck):
    gradcheck.verify(off_by_half)
"""


def test_the_fixture_passes_a_right_gradient_and_records_each_network(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(PASSING.format(names=builtin_names(), examples=2))
    result = pytester.runpytest("--gradcheck-examples", "2", "--junitxml", "out.xml")
    result.assert_outcomes(passed=1)
    case = ET.parse(pytester.path / "out.xml").getroot().find(".//testcase")
    assert case is not None
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["gradcheck[sigmoid-2-2-2]"].startswith("sigmoid-2-2-2: verified, 8 entries")
    assert len(properties) == len(builtin_names()) + 2  # the built-in and 2 generated networks
    assert not list(pytester.path.rglob("gradcheck-failures"))  # nothing failed, nothing saved


def test_the_fixture_fails_a_wrong_gradient_naming_the_entry(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FAILING)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    n = len(builtin_names())  # off_by_half is wrong on every built-in network
    result.stdout.fnmatch_lines(
        [
            f"*gradcheck: {n} of {n} networks disagree*",
            "*linear-2-2-1: FAILED 1 of 6 entries*",
            "*w5 (layer 2 W?0,0?): hand * vs JAX *?backprop-bug?",  # fnmatch: ? for [ and ]
            "*sigmoid-2-2-2: FAILED 1 of 8 entries*",
            "*w7 (layer 2 W?1,0?): hand * vs JAX *?backprop-bug?",
        ]
    )


def test_the_fixture_shows_at_most_twelve_failing_entries_per_network(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "wide.toml").write_text(wide_3_4_2_toml("wide"))  # 20 weights, no biases
    test_wide = 'def test_wide(gradcheck):\n    gradcheck.verify(grads, "wide.toml")\n'
    pytester.makepyfile(DOUBLED_CANDIDATE + "\n\n" + test_wide)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    text = result.stdout.str().split("short test summary info")[0]  # CI=true repeats it there
    assert "wide: FAILED 20 of 20 entries" in text
    shown = [line for line in text.splitlines() if line.startswith("    layer ")]
    assert len(shown) == 12 and all("[backprop-bug]" in line for line in shown), text


def test_the_marker_sets_examples_and_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from gradcheck.hand import hand_grads

        @pytest.mark.gradcheck(examples=3, seed=7)
        def test_marked(gradcheck):
            assert (gradcheck.examples, gradcheck.seed) == (3, 7)
            assert len(gradcheck.verify_generated(hand_grads, depth=1)) == 3
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


def test_x64_is_on_inside_the_test_and_off_after_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import jax

        def test_inside(gradcheck):
            assert jax.config.jax_enable_x64

        def test_after():
            assert not jax.config.jax_enable_x64
        """
    )
    # A fresh process: this one has x64 switched on globally by tests/conftest.py.
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


FROZEN_TOML = """
name = "frozen-1-1"
loss = "half_sse"
[optimizer]
name = "sgd"
learning_rate = 0.1
[input]
size = 1
[[layers]]
size = 1
activation = "identity"
weights = [[0.5]]
trainable = false
[[samples]]
input = [1.0]
target = [2.0]
"""


def test_the_fixture_passes_a_network_with_nothing_to_check_with_a_warning(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "frozen.toml").write_text(FROZEN_TOML)
    pytester.makepyfile(
        """
        from gradcheck.hand import hand_grads

        def test_frozen(gradcheck):
            (verdict,) = gradcheck.verify(hand_grads, "frozen.toml")
            assert verdict.summary() == "frozen-1-1: nothing to check, every group is frozen"
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        ["*UserWarning: gradcheck: nothing to check in frozen-1-1: every group is frozen"]
    )


def test_the_fixture_names_a_dtype_mismatch_with_both_dtypes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from gradcheck.hand import hand_grads

        def in_float32(spec, params, inputs, targets):
            grads = hand_grads(spec, params, inputs, targets)
            return [{k: a.astype("float32") for k, a in layer.items()} for layer in grads]

        def test_float32(gradcheck):
            gradcheck.verify(in_float32, "mine.toml")
        """
    )
    (pytester.path / "mine.toml").write_text(wide_3_4_2_toml("mine"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "mine: FAILED 20 of 20 entries; candidate returned float32 for a float64 network: "
            "layer 1 W, layer 2 W ?float64 rtol=1e-09 atol=1e-12 x max|grad| (floor *) "
            "fd=4x estimate?",
            "    layer 1 W?0,0?: hand 6.48000002 vs JAX 6.48, FD 6.48 +- * ?dtype-mismatch?",
        ]
    )


SCALED_GENERATED = (
    scaled_output_candidate("scaled")
    + """
def test_generated(gradcheck):
    gradcheck.verify_generated(scaled, n=3, seed=1)
"""
)


def _saved(text: str) -> list[tuple[str, str]]:
    """(replay path, reproduce command) per failing network in a failure message."""
    found = re.findall(r"^ +replay: (\S+) \(seed 1, case \d\)\n +reproduce: (.+)$", text, re.M)
    return [(path, command) for path, command in found]


def test_verify_generated_failures_name_the_saved_file_and_the_command_that_reproduces_them(
    pytester: pytest.Pytester, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makepyfile(test_mine=SCALED_GENERATED)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    capsys.readouterr()  # the inner session's output, which run_cli would read as its own
    text = result.stdout.str().split("short test summary info")[0]
    saved = _saved(text)
    assert saved, text
    base = Path(saved[0][0]).parent  # in pytest's rootdir: it outlives the temporary folders
    assert base == pytester.path / "gradcheck-failures" / "test_generated"
    assert sorted(base.iterdir()) == sorted(Path(path) for path, _ in saved)
    for path, command in saved:
        assert re.fullmatch(rf"{base}/generated-[\d-]+-seed1-case\d\.toml", path)
        assert command == f"gradcheck verify {path} --examples 0 --candidate test_mine:scaled"
        status, out, _ = run_cli(shlex.split(command)[1:])  # from the test's folder, as printed
        network = Path(path).name.split("-seed")[0]
        assert status == 1 and out.startswith(f"FAIL {network}: FAILED")
        assert f"{network}: FAILED" in text


def test_a_default_failures_folder_that_cannot_be_written_gives_way_to_pytests_own(
    pytester: pytest.Pytester,
) -> None:
    # a file where the folder would be: the failure must still be the verdict's (it was a
    # GradcheckError naming --gradcheck-failures-dir, an option nobody passed)
    (pytester.path / "gradcheck-failures").write_text("not a folder")
    pytester.makepyfile(test_mine=SCALED_GENERATED)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    text = result.stdout.str().split("short test summary info")[0]
    saved = _saved(text)
    assert saved and "backprop-bug" in text and "GradcheckError" not in text
    assert all(Path(path).parts[-3] == "gradcheck-failures" for path, _ in saved)
    assert all(not Path(path).is_relative_to(pytester.path) for path, _ in saved)


def test_the_failures_dir_option_saves_failing_networks_there(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine=SCALED_GENERATED)
    result = pytester.runpytest("--gradcheck-failures-dir", "saved")
    result.assert_outcomes(failed=1)
    saved = _saved(result.stdout.str().split("short test summary info")[0])
    folder = pytester.path / "saved" / "test_generated"
    assert saved and sorted(folder.iterdir()) == sorted(Path(path) for path, _ in saved)


def test_the_fixture_warns_once_per_call_summarising_the_unsupported_networks(
    pytester: pytest.Pytester,
) -> None:
    (pytester.path / "nets").mkdir()
    for k in range(5):
        (pytester.path / "nets" / f"net-{k}.toml").write_text(wide_3_4_2_toml(f"net-{k}"))
    pytester.makepyfile(
        """
        from gradcheck import Unsupported
        from gradcheck.hand import hand_grads

        def picky(spec, params, inputs, targets):
            if spec.name == "net-1":
                raise NotImplementedError("not net-1")
            if spec.name != "net-0":
                raise Unsupported("only net-0")
            return hand_grads(spec, params, inputs, targets)

        def test_mine(gradcheck):
            gradcheck.verify(picky, "nets")
        """
    )
    result = pytester.runpytest("-W", "default")
    result.assert_outcomes(passed=1, warnings=1)  # one warning for the call, not one per network
    result.stdout.fnmatch_lines(
        [
            "*UserWarning: gradcheck: 4 of 5 networks unsupported, not checked: "
            "candidate raised Unsupported: only net-0 at *.py:8 (3 networks: net-2, net-3, net-4); "
            "candidate raised NotImplementedError: not net-1 at *.py:6 (1 network: net-1)"
        ]
    )
