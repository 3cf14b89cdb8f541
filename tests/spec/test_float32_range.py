"""The float32 range check names every real number of every layer kind beyond the range, each
at its own field path, and reads a list of numbers as a run only to find which of them are."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gradcheck.generate.strategies import sample_networks
from gradcheck.spec.schema import SpecModel, cross_check

HUGE = 1e39  # beyond float32's +-3.4e38
RANGE = ": outside the float32 range of +-3.403e+38"
BOUNDED = ("rate",)  # a dropout rate lies in [0, 1): never huge


def _huge(value: Any, at: str, every: int) -> tuple[Any, list[str]]:
    """``value`` with every ``every``-th real number (by position in its list, or each single
    one) made huge, keeping its sign, and the field paths of those made huge."""
    if isinstance(value, float):
        return (HUGE if value >= 0 else -HUGE), [at]
    if isinstance(value, dict):
        pairs = [(k, _huge(v, f"{at}.{k}" if at else k, every)) for k, v in value.items()]
        kept = {k: value[k] if k in BOUNDED else v for k, (v, _) in pairs}
        return kept, [p for k, (_, ps) in pairs if k not in BOUNDED for p in ps]
    if isinstance(value, list):
        items, paths = [], []
        for j, v in enumerate(value):
            if isinstance(v, float) and j % every:
                items.append(v)
                continue
            item, found = _huge(v, f"{at}[{j}]", every)
            items.append(item)
            paths += found
        return items, paths
    return value, []


def _drawn(kinds: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    for case in sample_networks(40, seed=4, dtypes=("float32",), kinds=kinds):
        yield case.spec.model.model_dump(exclude_none=True)


@pytest.mark.parametrize(
    "kinds",
    [
        ("dense",),
        ("dense", "residual", "layer_norm", "batch_norm"),
        ("dense", "conv2d", "flatten"),
        ("dense", "max_pool2d", "avg_pool2d", "flatten"),
        ("dense", "rnn", "flatten"),
    ],
)
@pytest.mark.parametrize("every", [1, 2, 3])
def test_every_number_beyond_float32_is_named_once_at_its_path(
    kinds: tuple[str, ...], every: int
) -> None:
    for data in _drawn(kinds):
        huge, paths = _huge(data, "", every)
        problems = [p for p in cross_check(SpecModel.model_validate(huge)) if RANGE in p]
        assert sorted(p.split(RANGE)[0] for p in problems) == sorted(paths)
        assert all(p.endswith(("(got 1e+39)", "(got -1e+39)")) for p in problems)
