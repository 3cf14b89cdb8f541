"""``smallest_failure``: the search shrinks onto failures that can be the candidate's, and the
same call finds the same network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from helpers import scaled_output_candidate

from gradcheck import oracles
from gradcheck.checking.candidates import load_candidate
from gradcheck.generate.strategies import sample_networks
from gradcheck.hand import hand_grads
from gradcheck.search.networks import smallest_failure
from gradcheck.spec import Array, Params, Spec, spec_to_toml

DRAWN: dict[str, Any] = {"kinds": ("dense",), "depth": (1, 2), "widths": (1, 3)}


def _wrong_jax(real: Callable[..., Any]) -> Callable[..., Any]:
    """The JAX oracle with every gradient doubled: hand then agrees with finite differences
    and JAX with neither, an ``oracle-disagreement`` on every network."""

    def doubled(*args: Any, **kwargs: Any) -> Callable[[], tuple[float, Params]]:
        later = real(*args, **kwargs)

        def collect() -> tuple[float, Params]:
            loss, grads = later()
            return loss, [{k: 2.0 * g for k, g in layer.items()} for layer in grads]

        return collect

    return doubled


def test_an_oracle_disagreement_is_not_shrunk_onto(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where every network fails only because JAX is off, the search finds nothing that is the
    candidate's failure, and the sample's own failing draw stands in, marked not shrunk."""
    monkeypatch.setattr(
        oracles, "jax_loss_and_grads_later", _wrong_jax(oracles.jax_loss_and_grads_later)
    )
    drawn = sample_networks(1, 3, **DRAWN)
    found = smallest_failure(hand_grads, drawn, DRAWN, examples=10)
    assert not found.verdict.ok and found.verdict.counts["oracle-disagreement"]
    assert not found.shrunk and found.case is drawn[0]


def test_the_same_search_draws_and_shrinks_the_same_networks(tmp_path: Any) -> None:
    path = tmp_path / "scaled.py"
    path.write_text(scaled_output_candidate())
    planted = load_candidate(f"{path}:grads")
    seen: list[list[str]] = []

    def candidate(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        seen[-1].append(spec_to_toml(spec))
        return planted(spec, params, inputs, targets)

    found = []
    for _ in range(2):
        seen.append([])
        found.append(smallest_failure(candidate, [], DRAWN, examples=20))
    assert all(f.shrunk and not f.verdict.ok for f in found)
    assert len(seen[0]) > 5 and seen[0] == seen[1]


def test_a_sample_draw_failing_on_an_oracle_alone_does_not_stand_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sample's smaller draw fails only because JAX is off there; the candidate's own
    failure is on a larger one: the larger one is what is shown (a reviewer's case)."""
    real = oracles.jax_loss_and_grads_later

    def off_on_small(spec: Spec, *args: Any, **kwargs: Any) -> Callable[[], tuple[float, Params]]:
        return (_wrong_jax(real) if spec.n_params < 6 else real)(spec, *args, **kwargs)

    monkeypatch.setattr(oracles, "jax_loss_and_grads_later", off_on_small)

    def candidate(spec: Spec, params: Params, inputs: Array, targets: Array) -> Params:
        grads = hand_grads(spec, params, inputs, targets)
        if spec.n_params >= 6 and "W" in grads[0]:
            grads[0]["W"] = 1.5 * grads[0]["W"]
        return grads

    pool = sample_networks(30, 3, **DRAWN)
    small = next(c for c in pool if c.spec.n_params < 6 and "W" in c.params[0])
    large = next(c for c in pool if c.spec.n_params >= 6 and "W" in c.params[0])
    found = smallest_failure(candidate, [small, large], DRAWN, examples=10)
    assert found.verdict.counts["backprop-bug"] and not found.verdict.counts["oracle-disagreement"]
