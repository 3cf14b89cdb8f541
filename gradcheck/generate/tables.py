"""Spec tables every kind's draws share: a drawn bias as its ``bias`` table."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["bias_table"]


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
