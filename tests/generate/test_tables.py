"""Decoding drawn words: every 16-bit word gives, bit for bit, the value of the plain formula
(side looked up per word) that the one-span shortcut for centred ranges stands in for."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from gradcheck.generate.tables import decode

WORDS = np.arange(1 << 16, dtype=np.uint16)


def _plain(
    words: NDArray[np.uint16], lo: float, hi: float, dtype: str, anchor: float | None
) -> Any:
    """The formula with the side of the anchor looked up for every word, whatever the range."""
    u = words.astype(np.int64)
    k = (u >> 1) ^ -(u & 1)
    a = (lo + hi) / 2.0 if anchor is None else anchor
    span = np.where(k >= 0, hi - a, a - lo)
    values = a + span * np.where(k >= 0, k / 32767.0, k / 32768.0)
    return np.minimum(np.maximum(values, lo), hi).astype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    ("lo", "hi", "anchor"),
    [
        (-1.3, 1.3, None),  # weights: centred, one span
        (-0.1, 0.1, 0.0),
        (-7.77, 7.77, None),
        (-2.0, 2.0, 1.0),  # inputs shrink toward 1: two spans
        (0.0, 1.0, None),
        (0.0, 0.1, 0.0),  # weight decay, anchored at its minimum
        (0.1, 2.0, None),
        (6.0, 12.0, None),
        (0.5, 0.5, None),
    ],
)
def test_decode_is_the_plain_formula_for_every_word(
    lo: float, hi: float, anchor: float | None, dtype: str
) -> None:
    got = decode(WORDS, lo, hi, dtype, anchor)
    want = _plain(WORDS, lo, hi, dtype, anchor)
    assert got.dtype == want.dtype
    assert got.tobytes() == want.tobytes()
