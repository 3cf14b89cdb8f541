"""The verifier bites: every planted bug is caught, and Hypothesis shrinks it to a small network.

Each bug gets the same three checks: a correct twin of the candidate passes on generated
networks (so a failure is the bug, not the harness); ``hypothesis.find`` finds a network where
``verify`` fails and shrinks it; the shrunk network is the smallest one the bug can show on.
The minimal networks are printed (``pytest -s``) as replayable TOML.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import planted
from helpers import RunCli, seed_path
from hypothesis import find, given, note, settings
from hypothesis import strategies as st

from gradcheck.checking.verification import verify
from gradcheck.generate.strategies import Case, networks, sample_networks
from gradcheck.hand import sgd_step
from gradcheck.spec import GradientFn, Spec

SHRINK = settings(database=None, derandomize=True, max_examples=300, deadline=None)
SQUARED = ("half_sse", "mse")
DENSE = ("dense",)  # the planted delta-rule harness is written for dense layers
SEED_LINEAR: dict[str, Any] = {
    "kinds": DENSE,
    "depth": 2,
    "widths": (1, 8),
    "n_inputs": 2,
    "n_outputs": 1,
    "activations": ("identity",),
    "losses": ("half_sse",),
    "bias_modes": ("none",),
    "allow_frozen": False,
    "batch_size": 1,
    "learning_rate": 0.05,
}


def _minimal_failure(candidate: GradientFn, strategy: st.SearchStrategy[Case]) -> Case:
    """The network Hypothesis shrinks a ``verify`` failure of ``candidate`` to."""
    case = find(strategy, lambda c: not verify(candidate, *c).ok, settings=SHRINK)
    print(f"\n{candidate.__name__} shrank to {case.describe()}:\n{case.replay()}")
    return case


def _n_frozen(case: Case) -> int:
    return sum(len(layer) for layer in case.spec.frozen_params())


@settings(max_examples=25)
@given(networks(losses=SQUARED, kinds=DENSE))
def test_the_bug_free_delta_rule_harness_passes(case: Case) -> None:
    verdict = verify(planted.delta_rule, *case)
    note(verdict.summary())
    assert verdict.ok


def test_wrong_sigmoid_derivative_is_caught_and_shrinks_to_one_sigmoid_unit(
    sigmoid_seed: Spec,
) -> None:
    case = _minimal_failure(planted.wrong_sigmoid_derivative, networks(losses=SQUARED, kinds=DENSE))
    assert case.spec.sizes == (1, 1)
    assert case.spec.activations == ("sigmoid",)
    assert case.inputs.shape == (1, 1)
    assert not verify(planted.wrong_sigmoid_derivative, sigmoid_seed).ok


def test_missing_transpose_is_caught_and_shrinks_to_one_square_layer() -> None:
    case = _minimal_failure(planted.missing_transpose, networks(losses=SQUARED, kinds=DENSE))
    # dW and its reshaped transpose agree on 1xn and nx1 layers: it takes a 2x2 layer to show.
    assert case.spec.sizes == (2, 2)
    assert {e.group for e in verify(planted.missing_transpose, *case).failures} == {"W"}


def test_shared_bias_not_summed_is_caught_and_shrinks_to_two_units_sharing_a_bias() -> None:
    case = _minimal_failure(planted.shared_bias_not_summed, networks(kinds=DENSE))
    assert case.spec.sizes == (1, 2), "two units, or there is nothing to sum"
    assert case.spec.bias_modes == ("shared",)
    failures = verify(planted.shared_bias_not_summed, *case).failures
    assert [(e.layer, e.group) for e in failures] == [(0, "b")]


def test_a_gradient_for_a_frozen_group_is_caught_and_shrinks_to_one_frozen_group(
    sigmoid_seed: Spec,
) -> None:
    case = _minimal_failure(planted.frozen_group_updated, networks(kinds=DENSE))
    assert case.spec.sizes == (1, 1)
    assert _n_frozen(case) == 1 and case.spec.n_params == 0, "one frozen weight, nothing else"
    failures = verify(planted.frozen_group_updated, *case).failures
    assert failures and all(e.status == "structure" for e in failures)
    verdict = verify(planted.frozen_group_updated, sigmoid_seed)
    assert {e.label for e in verdict.failures} == {"b1", "b2"}


def test_seed_code_candidate_reproduces_the_documents_updated_weights(linear_seed: Spec) -> None:
    # The document prints these after one step; matching them shows the re-expression is faithful.
    spec = linear_seed
    params = spec.initial_params()
    grads = planted.seed_code(spec, params, spec.inputs(), spec.targets())
    stepped = sgd_step(params, grads, spec.learning_rate)
    np.testing.assert_allclose(
        stepped[0]["W"], [[0.16535608, 0.22520171], [0.11535608, 0.07520171]], atol=5e-9
    )
    np.testing.assert_allclose(stepped[1]["W"], [[0.19537, 0.213755]], atol=5e-9)


def test_seed_code_candidate_fails_on_the_seed_network_in_the_hidden_layer_only(
    linear_seed: Spec,
) -> None:
    verdict = verify(planted.seed_code, linear_seed)
    assert not verdict.ok
    assert {e.label for e in verdict.failures} == {"w1", "w2", "w3", "w4"}
    assert {e.label for e in verdict.entries if e.status == "ok"} == {"w5", "w6"}


def test_seed_code_candidate_fails_on_generated_2_k_1_linear_networks() -> None:
    cases = sample_networks(20, seed=0, **SEED_LINEAR)
    assert len({c.spec.sizes[1] for c in cases}) >= 4, "a spread of hidden widths k"
    assert all(not verify(planted.seed_code, *c).ok for c in cases)
    case = _minimal_failure(planted.seed_code, networks(**SEED_LINEAR))
    assert case.spec.sizes == (2, 1, 1)


def test_verify_command_shows_the_seed_code_failure(run_cli: RunCli) -> None:
    network = seed_path("linear-2-2-1")
    candidate = f"{planted.SEED_CODE_PATH}:grads"  # path/to/file.py:function
    status, text, _ = run_cli(["verify", str(network), "--candidate", candidate, "--examples", "0"])
    assert status == 1
    assert "linear-2-2-1: FAILED 4 of 6 entries" in text
    failing = [line for line in text.splitlines() if "[backprop-bug]" in line]
    assert [line.split()[0] for line in failing] == ["w1", "w2", "w3", "w4"]
