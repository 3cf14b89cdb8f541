"""Networks a candidate does not handle: ``unsupported``, counted apart, never a failure and never
silent. A candidate says so by raising ``gradcheck.Unsupported`` (or ``NotImplementedError``); a
family says so for a given network outside it. A fixed 2-layer candidate passes its family, and
a run that checked nothing does not pass."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from helpers import RunCli, builtin_specs, seed_path

from gradcheck import Unsupported
from gradcheck.checking.verdict import tally
from gradcheck.checking.verification import unsupported, verify
from gradcheck.generate.strategies import sample_networks
from gradcheck.spec import Array, Params, Spec
from gradcheck.spec.family import load_family

pytest_plugins = ["pytester"]

EXAMPLES = Path(__file__).parents[2] / "examples"
FAMILY = EXAMPLES / "two_layer_family.toml"
CANDIDATE = EXAMPLES / "two_layer_mlp.py"

# The same fixed 2-layer MLP without any check of what it is given: the family alone keeps it to
# networks it handles. BUGGY forgets the sigmoid's derivative in the hidden delta.
NAIVE = """
import numpy as np

def grads(spec, params, x, t):
    (l1, l2) = params
    h = 1.0 / (1.0 + np.exp(-(x @ l1["W"].T + l1["b"])))
    d2 = h @ l2["W"].T + l2["b"] - t
    d1 = (d2 @ l2["W"]) * h * (1.0 - h)
    return [{"W": d1.T @ x, "b": d1.sum(axis=0)}, {"W": d2.T @ h, "b": d2.sum(axis=0)}]
"""
BUGGY = NAIVE.replace("* h * (1.0 - h)", "")


def _raises(error: Exception):  # type: ignore[no-untyped-def]
    def candidate(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        raise error

    return candidate


@pytest.mark.parametrize(
    "error", [Unsupported("no shared bias"), NotImplementedError("later"), NotImplementedError()]
)
def test_a_candidate_that_raises_unsupported_gets_an_unsupported_verdict(
    linear_seed: Spec, error: Exception
) -> None:
    verdict = verify(_raises(error), linear_seed)
    assert verdict.ok and verdict.unsupported and not verdict.nothing_to_check
    assert verdict.checked == () and verdict.failures == ()
    assert type(error).__name__ in verdict.unsupported and "test_unsupported.py:" in (
        verdict.unsupported
    )
    assert verdict.summary().startswith("linear-2-2-1: unsupported, not checked: candidate raised")
    assert verdict.to_dict()["unsupported"] == verdict.unsupported


def test_another_exception_is_still_a_failure_naming_it(linear_seed: Spec) -> None:
    verdict = verify(_raises(KeyError("b")), linear_seed, catch=(Exception,))
    assert not verdict.ok and not verdict.unsupported and "KeyError" in verdict.problem


def test_the_tally_counts_unsupported_networks_apart(linear_seed: Spec) -> None:
    from gradcheck.hand import hand_grads

    verdicts = [verify(hand_grads, linear_seed), unsupported(linear_seed, "no")]
    assert tally(verdicts) == "1 of 2 networks verified, 1 unsupported"


def test_the_fixed_candidate_passes_its_family_on_generated_networks() -> None:
    from gradcheck.checking.candidates import load_candidate

    grads = load_candidate(f"{CANDIDATE}:grads")
    cases = sample_networks(12, seed=0, family=FAMILY)
    verdicts = [verify(grads, *case) for case in cases]
    assert all(v.ok and not v.unsupported and v.counts["ok"] > 0 for v in verdicts)


def test_without_its_family_every_mismatch_is_unsupported_never_a_bug() -> None:
    from gradcheck.checking.candidates import load_candidate

    grads = load_candidate(f"{CANDIDATE}:grads")
    near = sample_networks(
        60, seed=0, depth=2, activations=("sigmoid", "identity"), kinds=("dense",)
    )
    verdicts = [verify(grads, *case) for case in near]
    assert all(v.ok for v in verdicts)  # no backprop-bug, no structure failure
    checked = [v for v in verdicts if not v.unsupported]
    assert 0 < len(checked) < len(verdicts)  # some inside by chance, the rest unsupported
    family = load_family(FAMILY)
    assert all(family.outside(v.spec) for v in verdicts if v.unsupported and v.spec)


def _builtins_outside() -> int:
    """How many built-in networks fall outside the two-layer family (each is skipped)."""
    family = load_family(FAMILY)
    return sum(bool(family.outside(s)) for s in builtin_specs())


@pytest.fixture
def naive(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "naive.py").write_text(NAIVE)
    (tmp_path / "buggy.py").write_text(BUGGY)
    return {"naive": f"{tmp_path / 'naive.py'}:grads", "buggy": f"{tmp_path / 'buggy.py'}:grads"}


def test_verify_family_aims_a_naive_candidate_and_names_given_networks_outside_it(
    run_cli: RunCli, naive: dict[str, str], tmp_path: Path
) -> None:
    args = ["verify", "--family", str(FAMILY), "--candidate", naive["naive"], "--examples", "8"]
    result = run_cli(args)
    assert result.status == 0, result.out
    lines = result.out.splitlines()
    out = _builtins_outside()
    total = len(builtin_specs()) + 8
    assert lines[-1].endswith(f": {total - out} of {total} networks verified, {out} unsupported")
    assert sum(line.startswith("skip ") and "outside the family" in line for line in lines) == out
    assert "layer 1 activation 'identity' (family 'two-layer-mlp': sigmoid)" in result.out


def test_a_planted_bug_inside_the_family_is_still_a_backprop_bug(
    run_cli: RunCli, naive: dict[str, str]
) -> None:
    result = run_cli(
        ["verify", "--family", str(FAMILY), "--candidate", naive["buggy"], "--examples", "4"]
    )
    assert result.status == 1
    out, total = _builtins_outside(), len(builtin_specs()) + 4
    assert "backprop-bug" in result.out
    assert f"0 of {total} networks verified, {out} unsupported" in result.out


def test_the_command_line_bounds_aim_generated_networks(
    run_cli: RunCli, naive: dict[str, str]
) -> None:
    bounds = ["--depth", "2", "--activations", "sigmoid", "--output-activation", "identity"]
    bounds += ["--losses", "half_sse", "--bias-modes", "per_neuron", "--dtypes", "float64"]
    given = [str(seed_path("linear-2-2-1"))]
    result = run_cli(["verify", *given, "--candidate", naive["naive"], "--examples", "6", *bounds])
    assert result.status == 1  # frozen groups may still be drawn: the naive code assumes none
    aimed = ["verify", *given, "--candidate", naive["naive"], "--examples", "6", *bounds]
    result = run_cli([*aimed, "--family", str(FAMILY)])
    assert result.status == 0 and "6 of 7 networks verified, 1 unsupported" in result.out


def test_a_run_where_every_network_is_unsupported_does_not_pass(
    run_cli: RunCli, naive: dict[str, str]
) -> None:
    result = run_cli(["verify", "--family", str(FAMILY), "--examples", "0"])
    assert result.status == 1
    n = len(builtin_specs())
    assert f"0 of {n} networks verified, {n} unsupported" in result.out
    assert result.out.splitlines()[-1] == "FAIL nothing was checked: every network is unsupported"


def test_a_run_whose_generated_networks_are_all_unsupported_does_not_pass(
    run_cli: RunCli, tmp_path: Path
) -> None:
    """Given networks checked but every --examples one refused: the generated part checked
    nothing, so a bug the given networks miss would pass unseen; the run fails and says how to
    aim the generator."""
    picky = tmp_path / "picky.py"
    picky.write_text(
        "from gradcheck import Unsupported\n"
        "from gradcheck.hand import hand_grads\n\n\n"
        "def grads(spec, params, inputs, targets):\n"
        "    if not spec.name.startswith(('linear', 'sigmoid')):\n"
        "        raise Unsupported('only the seeds')\n"
        "    return hand_grads(spec, params, inputs, targets)\n"
    )
    result = run_cli(["verify", "--candidate", f"{picky}:grads", "--examples", "3"])
    assert result.status == 1, result.out
    n = len(builtin_specs()) + 3  # the built-in networks, the 2 seeds among them, and 3 drawn
    assert f"2 of {n} networks verified, {n - 2} unsupported" in result.out
    assert result.out.splitlines()[-1].startswith(
        "FAIL no generated network was checked: all 3 were unsupported; say what the candidate "
        "supports (--family FILE"
    )
    assert run_cli(["verify", "--candidate", f"{picky}:grads", "--examples", "0"]).status == 0


def test_json_and_junit_carry_the_unsupported_networks(
    run_cli: RunCli, naive: dict[str, str], tmp_path: Path
) -> None:
    junit = tmp_path / "out" / "junit.xml"
    args = ["verify", "--family", str(FAMILY), "--candidate", naive["naive"], "--examples", "2"]
    result = run_cli([*args, "--json", "--junit-xml", str(junit)])
    data = json.loads(result.out)
    assert result.status == 0 and data["ok"]
    reasons = [n["unsupported"] for n in data["networks"]]
    family = load_family(FAMILY)
    expected = [bool(family.outside(s)) for s in builtin_specs()] + [False, False]
    assert [r is not None for r in reasons] == expected
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("skipped") == str(sum(expected))
    assert suite.get("failures") == "0"
    skipped = [c.find("skipped") for c in suite.iter("testcase")]
    assert [s is not None for s in skipped] == expected


def test_the_fixture_passes_a_family_and_warns_about_networks_outside_it(
    pytester: pytest.Pytester,
) -> None:
    from gradcheck.spec import spec_to_toml

    shutil.copy(FAMILY, pytester.path / "family.toml")
    (pytester.path / "nets").mkdir()
    shutil.copy(seed_path("linear-2-2-1"), pytester.path / "nets")
    inside = sample_networks(1, seed=0, family=FAMILY)[0].spec
    (pytester.path / "nets" / "inside.toml").write_text(spec_to_toml(inside))
    pytester.makepyfile(naive=NAIVE)
    pytester.makepyfile(
        test_mine=f"""
        import pytest
        from naive import grads

        def test_generated(gradcheck):
            verdicts = gradcheck.verify_generated(grads, n=5, family="family.toml")
            assert len(verdicts) == 5 and all(v.ok and not v.unsupported for v in verdicts)

        def test_generated_by_the_option(gradcheck):
            verdicts = gradcheck.verify_generated(grads, n=2)
            assert len(verdicts) == 2 and all(v.ok and not v.unsupported for v in verdicts)

        def test_given(gradcheck):
            with pytest.warns(UserWarning, match="unsupported, not checked: outside the family"):
                verdicts = gradcheck.verify(grads, "nets", family="family.toml")
            assert [bool(v.unsupported) for v in verdicts] == [False, True]

        @pytest.mark.gradcheck(family="family.toml", examples=3)
        def test_marker(gradcheck):
            verdicts = gradcheck.verify_generated(grads)
            assert len(verdicts) == 3 and all(v.ok and not v.unsupported for v in verdicts)

        def test_nothing_checked_fails(gradcheck):
            gradcheck.verify(grads, {str(seed_path("linear-2-2-1"))!r}, family="family.toml")
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-W", "default")
    result.assert_outcomes(passed=3, failed=2)  # test_generated_by_the_option: no family
    result.stdout.fnmatch_lines(["*nothing checked, all 1 networks unsupported*"])
    # the option gives every call its family: the naive code then passes on generated networks
    result = pytester.runpytest_subprocess(
        "-q",
        "-p",
        "no:cacheprovider",
        "--gradcheck-family",
        "family.toml",
        "-k",
        "generated or marker",
    )
    result.assert_outcomes(passed=3)


def test_unsupported_is_raised_by_name_from_the_public_namespace() -> None:
    import gradcheck

    assert issubclass(gradcheck.Unsupported, NotImplementedError)
    assert np.isnan(unsupported(load_example_spec(), "x").loss)


def load_example_spec() -> Spec:
    return sample_networks(1, seed=0, family=FAMILY)[0].spec
