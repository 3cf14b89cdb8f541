"""The verifier bites on backpropagation through time that forgets time, and only on it.

The planted bug (``tests/planted_kinds.py``) drops what a state passes to the later states:
``dh_t = g_t`` instead of ``g_t + da_{t+1} Whh``. Two steps are the smallest sequence that shows
it: with ``h_0 = 0`` the ``Whh`` gradient only sums ``da_2 h_1``, which the bug leaves right, so
whole-network ``verify`` fails on ``Wxh`` and ``b`` of the rnn and on nothing else; with one step
there is no later state and the bug changes nothing. The same candidate with the right
recurrence (``hand_again``) passes there and on generated sequence networks.
"""

from __future__ import annotations

import planted_kinds
from helpers import make_spec

from gradcheck.checking.verification import verify
from gradcheck.generate.strategies import sample_networks
from gradcheck.spec import Spec, parse_spec


def _rnn_only(steps: int) -> Spec:
    """One rnn unit over ``steps`` steps of one feature, its last state the output."""
    rnn = {
        "kind": "rnn",
        "size": 1,
        "input_weights": [[0.8]],
        "recurrent_weights": [[0.6]],
        "bias": {"mode": "per_neuron", "value": [0.1]},
    }
    return parse_spec(
        {
            "name": f"rnn-{steps}-steps",
            "loss": "half_sse",
            "input": {"shape": [steps, 1]},
            "layers": [rnn],
            "samples": [{"input": [0.9, -0.4, 0.3][:steps], "target": [0.2]}],
        },
        "smallest.toml",
    )


def test_two_steps_catch_the_missing_through_time_term_on_wxh_and_b() -> None:
    verdict = verify(planted_kinds.rnn_without_through_time, _rnn_only(2))
    assert not verdict.ok
    assert {(e.layer, e.group) for e in verdict.failures} == {(0, "Wxh"), (0, "b")}
    assert {e.label for e in verdict.failures} == {"layer 1 Wxh[0,0]", "layer 1 b[0]"}


def test_three_steps_catch_it_on_whh_too() -> None:
    verdict = verify(planted_kinds.rnn_without_through_time, _rnn_only(3))
    assert {e.group for e in verdict.failures} == {"Wxh", "Whh", "b"}


def test_one_step_has_no_later_state_so_nothing_fails() -> None:
    assert verify(planted_kinds.rnn_without_through_time, _rnn_only(1)).ok


def test_the_right_recurrence_passes_on_the_same_networks() -> None:
    for steps in (1, 2, 3):
        assert verify(planted_kinds.hand_again, _rnn_only(steps)).ok


def test_an_rnn_below_a_dense_head_is_blamed_not_the_head() -> None:
    rnn = {"kind": "rnn", "size": 2, "states": "all", "init": {"rule": "normal", "seed": 3}}
    head = {"size": 1, "weights": [[0.5, -0.7, 0.2, 0.9]]}
    net = make_spec(
        [rnn, {"kind": "flatten"}, head], [[0.3, 0.1]], [[0.4]], input={"shape": [2, 1]}
    )
    verdict = verify(planted_kinds.rnn_without_through_time, net)
    assert not verdict.ok
    assert {e.layer for e in verdict.failures} == {0}
    assert verify(planted_kinds.hand_again, net).ok


def test_the_right_recurrence_passes_on_generated_sequence_networks() -> None:
    cases = sample_networks(4, 7, kinds=("dense", "flatten", "rnn"))
    sequences = [c for c in cases if "rnn" in c.spec.kinds]
    assert sequences
    for case in sequences:
        verdict = verify(planted_kinds.hand_again, *case)
        assert verdict.ok, verdict.summary()
