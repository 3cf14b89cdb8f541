"""The pytest plugin's ``gradcheck`` fixture, run inside pytester's sandboxed pytest sessions."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

pytest_plugins = ["pytester"]

PASSING = """
from gradcheck.hand.backprop import hand_grads

def test_hand_grads(gradcheck):
    verdicts = gradcheck.verify(hand_grads)
    assert [v.name for v in verdicts] == ["linear-2-2-1", "sigmoid-2-2-2"]
    assert len(gradcheck.verify_generated(hand_grads)) == {examples}
"""

FAILING = """
from gradcheck.hand.backprop import hand_grads

def off_by_half(spec, params, inputs, targets):
    grads = hand_grads(spec, params, inputs, targets)
    grads[1]["W"][-1, 0] *= 0.5  # w7 in sigmoid-2-2-2, w5 in linear-2-2-1
    return grads

def test_mine(gradcheck):
    gradcheck.verify(off_by_half)
"""


def test_the_fixture_passes_a_right_gradient_and_records_each_network(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(PASSING.format(examples=2))
    result = pytester.runpytest("--gradcheck-examples", "2", "--junitxml", "out.xml")
    result.assert_outcomes(passed=1)
    case = ET.parse(pytester.path / "out.xml").getroot().find(".//testcase")
    assert case is not None
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["gradcheck[sigmoid-2-2-2]"].startswith("sigmoid-2-2-2: verified, 8 entries")
    assert len(properties) == 4  # two built-in and two generated networks


def test_the_fixture_fails_a_wrong_gradient_naming_the_entry(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FAILING)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*gradcheck: 2 of 2 networks disagree*",
            "*linear-2-2-1: FAILED 1 of 6 entries*",
            "*w5 (layer 2 W?0,0?): hand * vs JAX *?backprop-bug?",  # fnmatch: ? for [ and ]
            "*sigmoid-2-2-2: FAILED 1 of 8 entries*",
            "*w7 (layer 2 W?1,0?): hand * vs JAX *?backprop-bug?",
        ]
    )


def test_the_fixture_shows_at_most_twelve_failing_entries_per_network(
    pytester: pytest.Pytester,
) -> None:
    network = pytester.path / "wide.toml"  # 3-4-2, linear: 20 weights, no biases
    network.write_text(
        'name = "wide"\nloss = "half_sse"\n[optimizer]\nname = "sgd"\nlearning_rate = 0.1\n'
        "[input]\nsize = 3\n"
        '[[layers]]\nsize = 4\nactivation = "identity"\n'
        "weights = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9], [1.0, 1.1, 1.2]]\n"
        '[[layers]]\nsize = 2\nactivation = "identity"\n'
        "weights = [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]]\n"
        "[[samples]]\ninput = [1.0, 2.0, 3.0]\ntarget = [0.5, -0.5]\n"
    )
    pytester.makepyfile(
        """
        from gradcheck.hand.backprop import hand_grads

        def doubled(spec, params, inputs, targets):
            return [{k: 2 * g for k, g in layer.items()}
                    for layer in hand_grads(spec, params, inputs, targets)]

        def test_wide(gradcheck):
            gradcheck.verify(doubled, "wide.toml")
        """
    )
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
        from gradcheck.hand.backprop import hand_grads

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
