"""``weight_decay`` and ``svm`` where a spec or a family enters: a spec's weight decay and the
groups it decays (read off the layer kinds' declarations), svm's one-hot targets checked in one
line with the file and field, a family's weight decay range (drawn from and checked by
``outside``), and the generator's svm and weight decay draws."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import RunCli, make_spec

from gradcheck import oracles
from gradcheck.generate.strategies import sample_networks
from gradcheck.layers import KINDS
from gradcheck.spec import SpecError, load_spec, spec_to_toml
from gradcheck.spec.family import parse_family

LAYER = {"size": 3, "activation": "identity", "weights": [[0.1, 0.2], [0.3, -0.4], [0.5, 0.0]]}


def _svm(targets: list[list[float]], **top: Any) -> Any:
    return make_spec([LAYER], [[1.0, 2.0]] * len(targets), targets, loss="svm", **top)


def test_a_spec_has_no_weight_decay_unless_it_gives_one_and_it_round_trips() -> None:
    assert _svm([[0.0, 0.0, 1.0]]).weight_decay == 0.0
    spec = _svm([[0.0, 0.0, 1.0]], weight_decay=0.125)
    assert spec.weight_decay == 0.125
    assert spec.decayed == (KINDS["dense"].decayed,) == (frozenset({"W"}),)
    assert "weight_decay = 0.125" in spec_to_toml(spec)


@pytest.mark.parametrize(
    ("targets", "row"),
    [
        ([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0]], 1),  # soft
        ([[0.0, 0.0, 0.0]], 0),  # no true class
        ([[1.0, 1.0, 0.0]], 0),  # two
        ([[0.0, 2.0, 0.0]], 0),  # not a 1
    ],
)
def test_svm_targets_that_are_not_one_hot_are_one_line_naming_the_sample(
    tmp_path: Path, run_cli: RunCli, targets: list[list[float]], row: int
) -> None:
    with pytest.raises(SpecError) as err:
        _svm(targets)
    assert str(err.value).startswith(f"<test>: samples[{row}].target: loss svm needs a one-hot")
    assert "\n" not in str(err.value)
    good = _svm([[0.0, 1.0, 0.0]] * len(targets))
    path = tmp_path / "svm.toml"
    path.write_text(
        spec_to_toml(good).replace("target = [0.0, 1.0, 0.0]", "target = [0.5, 0.5, 0.0]", 1)
    )
    status, out, errors = run_cli(["verify", str(path), "--examples", "0"])
    assert status == 2 and out == ""
    assert errors.strip().count("\n") == 0 and f"{path}: samples[0].target" in errors


@pytest.mark.parametrize(
    ("loss", "activation", "targets", "at", "message"),
    [
        (
            "binary_cross_entropy",
            "sigmoid",
            [[0.0, 1.0, 0.5], [0.0, 1.5, 0.0]],
            (1, 1),
            "in [0, 1]",
        ),
        ("binary_cross_entropy", "sigmoid", [[-0.25, 1.0, 0.5]], (0, 0), "in [0, 1]"),
        ("softmax_cross_entropy", "softmax", [[0.5, 0.75, -0.25]], (0, 2), ">= 0"),
    ],
)
def test_targets_outside_their_loss_range_are_one_line_naming_the_entry(
    tmp_path: Path,
    run_cli: RunCli,
    loss: str,
    activation: str,
    targets: list[list[float]],
    at: tuple[int, int],
    message: str,
) -> None:
    # A target of 1.5 under binary cross-entropy (or a negative soft target under softmax
    # cross-entropy) has no meaning; it once verified, with a loss unbounded below.
    layer = {**LAYER, "activation": activation}
    row, entry = at
    with pytest.raises(SpecError) as err:
        make_spec([layer], [[1.0, 2.0]] * len(targets), targets, loss=loss)
    assert str(err.value) == (
        f"<test>: samples[{row}].target[{entry}]: loss {loss} needs targets {message} "
        f"(got {targets[row][entry]!r})"
    )
    good = make_spec(
        [layer], [[1.0, 2.0]] * len(targets), [[0.0, 1.0, 0.0]] * len(targets), loss=loss
    )
    bad_targets = np.array(targets)
    with pytest.raises(SpecError) as err:
        oracles.finite_difference(good, good.initial_params(), good.inputs(), bad_targets)
    assert str(err.value) == (
        f"<test>: targets[{row}, {entry}]: loss {loss} needs targets {message}, "
        f"got {bad_targets[row, entry]}"
    )
    path = tmp_path / "bad.toml"
    path.write_text(
        spec_to_toml(good).replace(
            "target = [0.0, 1.0, 0.0]", f"target = {targets[row]}".replace("'", ""), 1 + row
        )
    )
    status, out, errors = run_cli(["verify", str(path), "--examples", "0"])
    assert status == 2 and out == ""
    assert errors.strip().count("\n") == 0 and f"{path}: samples[" in errors


def test_a_family_bounds_the_weight_decay_and_names_a_spec_outside_it() -> None:
    family = parse_family({"name": "small decay", "weight_decay": [0.0, 0.1]})
    assert family.weight_decay == (0.0, 0.1)
    assert family.outside(_svm([[1.0, 0.0, 0.0]], weight_decay=0.05)) == []
    outside = family.outside(_svm([[1.0, 0.0, 0.0]], weight_decay=0.5))
    assert outside == ["weight decay 0.5 (family 'small decay': 0.0 to 0.1)"]
    assert parse_family({"name": "any"}).outside(_svm([[1.0, 0.0, 0.0]], weight_decay=9.0)) == []
    cases = sample_networks(10, seed=0, family=family)
    assert all(0.0 <= c.spec.weight_decay <= 0.1 for c in cases)
    assert {c.spec.weight_decay > 0 for c in cases} == {True, False}


@pytest.mark.parametrize("bad", [[0.2, 0.1], [-1.0, 0.0], [0.0, float("inf")], "0.1"])
def test_a_bad_family_weight_decay_is_one_line_naming_the_field(bad: Any) -> None:
    with pytest.raises(SpecError) as err:
        parse_family({"name": "bad", "weight_decay": bad}, "fam.toml")
    assert str(err.value).startswith("fam.toml: weight_decay") and "\n" not in str(err.value)


def test_generated_svm_networks_have_raw_scores_two_classes_or_more_and_one_hot_targets() -> None:
    cases = sample_networks(20, seed=2, losses=("svm",), n_outputs=(1, 4))
    for spec, _, _, targets in cases:
        assert spec.activations[-1] == "identity" and spec.sizes[-1] >= 2
        assert np.all(np.sort(targets, axis=1)[:, -1] == 1) and np.all(targets.sum(axis=1) == 1)


def test_the_default_draws_sometimes_decay_and_a_spec_file_keeps_it(tmp_path: Path) -> None:
    cases = sample_networks(20, seed=4)
    decays = [c.spec.weight_decay for c in cases]
    assert 0.0 in decays and any(0.0 < lam <= 0.1 for lam in decays)
    spec = next(c.spec for c in cases if c.spec.weight_decay > 0)
    path = tmp_path / "decayed.toml"
    path.write_text(spec_to_toml(spec))
    assert load_spec(path).weight_decay == spec.weight_decay
