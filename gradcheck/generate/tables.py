"""What every kind's draws share: values decoded from drawn words, a drawn bias as its table."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["bias_table", "decode", "trainable_flags"]


def bias_table(mode: str, values: np.ndarray, trainable: bool = True) -> dict[str, Any]:
    """``{"mode": mode, "value": ...}``: the first of ``values`` for a ``shared`` bias, all of
    them for ``per_neuron``, none for ``none``; ``"trainable": false`` for a frozen one."""
    table: dict[str, Any] = {"mode": mode}
    if mode == "shared":
        table["value"] = float(values[0])
    elif mode == "per_neuron":
        table["value"] = values.tolist()
    if not trainable:
        table["trainable"] = False
    return table


def decode(
    words: NDArray[np.uint16], lo: float, hi: float, dtype: str, anchor: float | None = None
) -> NDArray[Any]:
    """Values in ``[lo, hi]`` from 16-bit words, exactly representable in ``dtype``.

    Word ``u`` zigzag-decodes to ``k`` in ``[-32768, 32767]`` (0, -1, 1, -2, ... as ``u`` grows)
    and ``k`` maps linearly onto ``[anchor, hi]`` (``k >= 0``) or ``[lo, anchor]`` (``k < 0``):
    a shrinking word moves the value toward ``anchor`` (default: the middle of the range).
    """
    a = (lo + hi) / 2.0 if anchor is None else anchor
    up, down = hi - a, a - lo
    # a range centred on its anchor (weights in [-s, s]) has one span: no lookup of the side
    span = up if up == down else np.where(_UPPER[words], up, down)
    values = a + span * _FRACTION[words]
    return np.minimum(np.maximum(values, lo), hi).astype(dtype, copy=False)


def _zigzag() -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Per 16-bit word ``u``: whether its ``k`` (zigzag) is >= 0, and ``k / 32767`` for those,
    ``k / 32768`` for the others (tables, so decoding a word is two lookups)."""
    u = np.arange(1 << 16, dtype=np.int64)
    k = (u >> 1) ^ -(u & 1)
    return k >= 0, np.where(k >= 0, k / 32767.0, k / 32768.0)


_UPPER, _FRACTION = _zigzag()


def trainable_flags(mode: str, frozen: tuple[str, ...], flags: int) -> tuple[bool, bool]:
    """Whether the weights and the bias stay trainable, from a layer's drawn ``flags`` (0-15):
    a group that ``frozen`` allows to be frozen is, one time in four (``flags % 4 == 3`` for the
    weights, ``flags // 4 == 3`` for the bias); a layer without a bias keeps its flag True."""
    weights = "W" not in frozen or flags % 4 != 3
    bias = mode == "none" or "b" not in frozen or flags // 4 != 3
    return weights, bias
