"""Check a gradient function's arguments ``(spec, params, inputs, targets)`` where they enter.

:func:`check_arguments` raises :class:`~gradcheck.SpecError` with one line naming the field
and the bad value unless ``params`` holds exactly the spec's trainable groups in their shapes and
``inputs``/``targets`` are finite ``(batch, n_in)`` / ``(batch, n_out)`` arrays, the targets in
the loss's range (``binary_cross_entropy``: ``[0, 1]``), and no ``batch_norm`` sees one value
per feature. Both oracles and :func:`gradcheck.verify` call it; it only validates, so sharing it
couples no checker to another.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.errors import SpecError
from gradcheck.layers import LOSSES
from gradcheck.spec.network import Array, Params, Spec
from gradcheck.spec.schema import batch_norm_problems

__all__ = ["check_arguments"]


def check_arguments(spec: Spec, params: Params, inputs: Array, targets: Array) -> None:
    """Raise :class:`SpecError` unless params has the spec's trainable groups and shapes and
    inputs/targets are finite ``(batch, n_in)`` / ``(batch, n_out)`` arrays."""
    expected = spec.initial_params()
    if not isinstance(params, list) or len(params) != len(expected):
        got = f"{len(params)} layers" if isinstance(params, list) else type(params).__name__
        raise SpecError(f"{spec.path}: params: expected a list of {len(expected)} dicts, got {got}")
    for i, (layer, want) in enumerate(zip(params, expected, strict=True)):
        keys = sorted(layer) if isinstance(layer, dict) else type(layer).__name__
        if not isinstance(layer, dict) or set(layer) != set(want):
            raise SpecError(
                f"{spec.path}: params[{i}]: groups {keys}, expected {sorted(want)} (trainable only)"
            )
        for group, a in want.items():
            _check_array(spec, f"params[{i}][{group!r}]", layer[group], a.shape)
    x = _check_array(spec, "inputs", inputs, None)
    if x.ndim < 2 or x.shape[0] == 0 or x.shape[1:] != spec.shapes[0]:
        sample = ", ".join(str(n) for n in spec.shapes[0])
        raise SpecError(f"{spec.path}: inputs: shape {x.shape}, expected (batch, {sample})")
    t = _check_array(spec, "targets", targets, (x.shape[0], spec.sizes[-1]))
    problems = batch_norm_problems(spec.model, 1) if x.shape[0] == 1 else []
    if problems:
        raise SpecError(f"{spec.path}: inputs: {problems[0]}")
    loss = LOSSES[spec.loss]
    outside = np.argwhere(loss.outside(t))
    if outside.size:
        at = tuple(int(i) for i in outside[0])
        raise SpecError(
            f"{spec.path}: targets{list(at)}: loss {spec.loss} needs targets "
            f"{loss.target_range()}, got {t[at]}"
        )


def _check_array(spec: Spec, field: str, value: Any, shape: tuple[int, ...] | None) -> np.ndarray:
    a = np.asarray(value)
    if a.dtype.kind not in "fiu":
        raise SpecError(f"{spec.path}: {field}: dtype {a.dtype}, expected floating point numbers")
    if shape is not None and a.shape != shape:
        raise SpecError(f"{spec.path}: {field}: shape {a.shape}, expected {shape}")
    if not np.all(np.isfinite(a)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise SpecError(f"{spec.path}: {field}{list(bad)}: {a[bad]} is not finite")
    return a
