"""The finite-difference oracle's own float64 ``batch_norm`` and ``layer_norm`` (training mode).

``net = gamma * (x - mean) / sqrt(var + eps) + beta`` with ``np.mean``/``np.var`` (biased) over
the statistic axes: batch_norm's run over the batch (and H, W of an image), so its net needs one
copy's whole batch (``per_copy``); layer_norm's over each sample. The net is linear in ``gamma``
and ``beta``: ``gamma[k] += s`` moves ``net`` where ``gamma[k]`` applies by ``s x_hat``,
``beta[k] += s`` by ``s``. A moved input moves every output of its statistic (``reach``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gradcheck.oracles.fd_kinds import FD_KINDS, FDKind, Groups, Options

__all__: list[str] = []


def _axes(kind: str, ndim: int) -> tuple[int, ...]:
    if kind == "batch_norm":
        return (0,) if ndim == 2 else (0, 2, 3)
    return tuple(range(1, ndim))


def _spread(kind: str, group: np.ndarray, ndim: int) -> np.ndarray:
    """A group ``(copies, *group shape)`` laid against ``(copies, batch, *sample shape)``."""
    if kind == "batch_norm":
        return group.reshape(*group.shape[:2], *[1] * (ndim - 3))[:, None]
    return group[:, None]


def _x_hat(kind: str, x: np.ndarray, eps: float) -> np.ndarray:
    axes = _axes(kind, x.ndim)
    mean = np.mean(x, axis=axes, keepdims=True)
    var = np.var(x, axis=axes, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + eps))


def _net(kind: str) -> Callable[[Groups, np.ndarray, Options], np.ndarray]:
    def net(layer: Groups, x: np.ndarray, options: Options) -> np.ndarray:
        x_hat = _x_hat(kind, x, float(options["eps"]))
        gamma = _spread(kind, layer["gamma"][None], x.ndim + 1)[0]
        beta = _spread(kind, layer["beta"][None], x.ndim + 1)[0]
        return np.asarray(gamma * x_hat + beta)

    return net


def _perturbed(kind: str) -> Callable[..., np.ndarray]:
    def perturbed(
        net: np.ndarray,
        x: np.ndarray,
        layer: Groups,
        group: str,
        flat: np.ndarray,
        steps: np.ndarray,
        options: Options,
    ) -> np.ndarray:
        shape = layer[group].shape
        moves = np.zeros((steps.size, int(np.prod(shape))))
        moves[np.arange(steps.size), flat] = steps
        moves = _spread(kind, moves.reshape(steps.size, *shape), net.ndim + 1)
        if group == "gamma":
            moves = moves * _x_hat(kind, x, float(options["eps"]))[None]
        return np.asarray(net[None] + moves)

    return perturbed


def _direction(kind: str) -> Callable[..., np.ndarray]:
    def direction(
        x: np.ndarray, layer: Groups, group: str, v: np.ndarray, options: Options
    ) -> np.ndarray:
        along = _spread(kind, v[None], x.ndim + 1)[0]
        if group == "gamma":
            return np.asarray(along * _x_hat(kind, x, float(options["eps"])))
        return np.broadcast_to(along, x.shape)

    return direction


def _reach(kind: str) -> Callable[[np.ndarray], np.ndarray]:
    def reach(moved: np.ndarray) -> np.ndarray:
        axes = _axes(kind, moved.ndim)
        return np.broadcast_to(np.any(moved, axis=axes, keepdims=True), moved.shape)

    return reach


def _kind(kind: str, per_copy: bool) -> FDKind:
    net: Any = _net(kind)
    return FDKind(net, _perturbed(kind), _direction(kind), per_copy=per_copy, reach=_reach(kind))


FD_KINDS.add("batch_norm", _kind("batch_norm", per_copy=True))
FD_KINDS.add("layer_norm", _kind("layer_norm", per_copy=False))
