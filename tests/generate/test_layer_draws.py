"""Layer case draws: valid shapes, the edge cases the issue asks for, fixed knobs kept, arrays
replayed from the data seed, max-pool windows without ties."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from gradcheck.generate.layer_draws import LAYER_DRAWS, layer_arrays, layer_cases
from gradcheck.spec.layer_contract import LAYER_CONTRACTS, LayerOptionError


def _one(cases: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """The simplest case a strategy draws (every knob at its smallest)."""
    return find(cases, lambda _: True, settings=settings(database=None))


@pytest.mark.parametrize("kind", sorted(LAYER_CONTRACTS))
def test_every_case_has_every_knob_and_nonempty_shapes(kind: str) -> None:
    @settings(max_examples=30)
    @given(layer_cases(kind))
    def check(case: dict[str, Any]) -> None:
        assert set(case) == set(LAYER_CONTRACTS[kind].knobs)
        assert all(min(s) >= 1 for s in LAYER_CONTRACTS[kind].shapes(case).values())

    check()


@pytest.mark.parametrize(
    ("kind", "wanted"),
    [
        ("conv2d", lambda c: c["stride"] > 1 and c["pad"] > 0),
        ("conv2d", lambda c: c["pad"] == 0 and c["N"] == 1 and c["H"] % 2 == 1),
        ("conv2d", lambda c: (c["H"] + 2 * c["pad"] - c["HH"]) % c["stride"] != 0),
        ("max_pool2d", lambda c: c["stride"] < c["pool_height"]),  # windows overlap
        ("avg_pool2d", lambda c: c["stride"] > 1 and c["W"] % 2 == 1),
        ("rnn", lambda c: c["T"] > 2 and c["N"] == 1),
    ],
    ids=["strided-padded", "batch-1-odd", "remainder", "overlap", "strided-odd", "rnn-steps"],
)
def test_the_draws_reach_each_edge_case(kind: str, wanted: Any) -> None:
    found = find(layer_cases(kind), wanted, settings=settings(max_examples=300, database=None))
    assert wanted(found)


@given(st.data())
@settings(max_examples=20)
def test_fixed_knobs_are_kept_and_others_drawn(data: st.DataObject) -> None:
    case = data.draw(layer_cases("conv2d", {"stride": 2, "N": 1, "HH": 3}))
    assert (case["stride"], case["N"], case["HH"]) == (2, 1, 3)
    assert case["H"] + 2 * case["pad"] >= 3


def test_the_layout_defaults_to_course_code_and_can_be_fixed() -> None:
    assert _one(layer_cases("dense"))["layout"] == "in_out"
    assert _one(layer_cases("dense", {"layout": "out_in"}))["layout"] == "out_in"


def test_fixed_knobs_that_leave_no_output_raise_one_line() -> None:
    with pytest.raises(LayerOptionError, match=r"^verify_layer max_pool2d: options give out"):
        _one(layer_cases("max_pool2d", {"H": 1, "pool_height": 3}))


def test_arrays_are_replayed_from_the_data_seed() -> None:
    case = _one(layer_cases("rnn", {"data_seed": 7}))
    first, again = layer_arrays("rnn", case, "float64"), layer_arrays("rnn", case, "float64")
    assert set(first) == {"x", "h0", "Wx", "Wh", "b", "dout"}
    assert all(np.array_equal(first[k], again[k]) for k in first)
    other = layer_arrays("rnn", {**case, "data_seed": 8}, "float64")
    assert not np.array_equal(first["x"], other["x"])
    assert layer_arrays("rnn", case, "float32")["x"].dtype == np.float32


@given(layer_cases("max_pool2d"))
@settings(max_examples=30)
def test_max_pool_inputs_have_no_ties_a_finite_difference_could_cross(case: dict[str, Any]) -> None:
    x = np.sort(layer_arrays("max_pool2d", case, "float64")["x"].reshape(-1))
    gap = np.min(np.diff(x), initial=np.inf)
    assert gap > 1e-3  # FD steps move an entry by 2 * 6e-6 * max(|x|, 1) at most


def test_dropout_masks_are_zeros_and_ones_shaped_like_x() -> None:
    case = _one(layer_cases("dropout", {"N": 3, "D": 5, "p": 0.5, "data_seed": 1}))
    arrays = layer_arrays("dropout", case, "float64")
    assert arrays["mask"].shape == arrays["x"].shape
    assert set(np.unique(arrays["mask"])) <= {0.0, 1.0}


def test_every_contracted_kind_has_draws() -> None:
    assert LAYER_DRAWS.names() == LAYER_CONTRACTS.names()
