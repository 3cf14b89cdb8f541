"""How the generator draws a sequence front end: an input ``(T, n_in)`` and one ``rnn`` layer,
then (for every state, ``states = "all"``) a ``flatten`` before the dense layers.

Every choice shrinks toward the simplest (one step, one feature, one unit, the last state only,
no bias, trainable). Weights come from words drawn at their largest (``MAX_UNITS`` rows of
``MAX_FEATURES + MAX_UNITS`` columns) and the last rows and columns used, as for dense layers, so
narrowing the layer keeps the values the shrinker left nonzero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck.generate.sources import Source
from gradcheck.generate.tables import bias_table, trainable_flags
from gradcheck.layers import Shape

__all__ = [
    "MAX_SEQUENCE_VALUES",
    "SEQUENCE_KINDS",
    "RawRnn",
    "RnnDraw",
    "sequence_tables",
]

SEQUENCE_KINDS = ("rnn",)  # a sequence stem's kinds
MAX_STEPS, MAX_FEATURES, MAX_UNITS = 4, 3, 4
MAX_SEQUENCE_VALUES = MAX_STEPS * max(MAX_FEATURES, MAX_UNITS)  # the most a stem takes or gives
_COLUMNS = MAX_FEATURES + MAX_UNITS
Decode = Callable[[NDArray[np.uint16], float, float, str], NDArray[Any]]


@dataclass(frozen=True)
class RawRnn:
    """A sequence stem's choices; weights stay words until the network's dtype and scale are
    drawn."""

    steps: int
    features: int
    size: int
    all_states: bool
    bias_mode: str
    w_trainable: bool
    b_trainable: bool
    weight_words: NDArray[np.uint16]  # (MAX_UNITS, MAX_FEATURES + MAX_UNITS)
    bias_words: NDArray[np.uint16]  # (MAX_UNITS,)


@dataclass(frozen=True)
class RnnDraw:
    """Draws a sequence stem among ``bias_modes``; ``frozen`` the groups that may be frozen
    (``W``: both matrices, ``b``); ``all_states``: whether every state may be emitted (a flatten
    is allowed)."""

    bias_modes: tuple[str, ...]
    frozen: tuple[str, ...]
    all_states: bool

    def __call__(self, src: Source) -> RawRnn:
        steps = src.integer(1, MAX_STEPS)
        features = src.integer(1, MAX_FEATURES)
        size = src.integer(1, MAX_UNITS)
        every = self.all_states and src.integer(0, 1) == 1
        flags = src.integer(0, 16 * len(self.bias_modes) - 1)  # as dense: mode and frozen flags
        mode, frozen = self.bias_modes[flags // 16], flags % 16
        words = src.words(MAX_UNITS * (_COLUMNS + 1))
        trainable = trainable_flags(mode, self.frozen, frozen)
        return RawRnn(
            steps=steps,
            features=features,
            size=size,
            all_states=every,
            bias_mode=mode,
            w_trainable=trainable[0],
            b_trainable=trainable[1],
            weight_words=words[MAX_UNITS:].reshape(MAX_UNITS, _COLUMNS),
            bias_words=words[:MAX_UNITS],
        )


def sequence_tables(
    r: RawRnn, scale: float, dtype: str, decode: Decode
) -> tuple[Shape, list[dict[str, Any]], int]:
    """The input's ``(T, n_in)``, the stem's spec tables (the rnn, then a flatten where it
    emits every state) and the number of values it gives the dense layers."""
    rows = r.weight_words[MAX_UNITS - r.size :]
    wxh = decode(rows[:, MAX_FEATURES - r.features : MAX_FEATURES], -scale, scale, dtype)
    whh = decode(rows[:, _COLUMNS - r.size :], -scale, scale, dtype)
    table: dict[str, Any] = {
        "kind": "rnn",
        "size": r.size,
        "states": "all" if r.all_states else "last",
        "input_weights": wxh.tolist(),
        "recurrent_weights": whh.tolist(),
    }
    if not r.w_trainable:
        table["trainable"] = False
    b = decode(r.bias_words[MAX_UNITS - r.size :], -scale, scale, dtype)
    table["bias"] = bias_table(r.bias_mode, b, r.b_trainable)
    if not r.all_states:
        return (r.steps, r.features), [table], r.size
    return (r.steps, r.features), [table, {"kind": "flatten"}], r.steps * r.size
