"""The finite-difference oracle's own float64 layer kinds, registered under the declared names.

Written apart from :mod:`gradcheck.hand` (which it checks) and from the JAX network. ``net``
takes ``x`` of shape ``(m, *sample shape)`` (``m`` runs over samples, or over perturbed copies
times samples). A kind with parameters also tells how a step ``s`` in one of its parameters moves
its pre-activation, so a copy joins the batched pass at its parameter's layer: ``perturbed`` (one
copy per entry; dense: ``W[r, c] += s`` moves ``net[:, r]`` by ``s x[:, c]``) and ``direction``
(per unit step along a whole array ``v``; linear layers: the net of ``v`` alone).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from gradcheck.layers import Registry
from gradcheck.layers.dropout import dropout_mask

__all__ = ["FD_KINDS", "FDKind", "KindKink", "windows"]

Groups = dict[str, np.ndarray]
Options = Mapping[str, Any]


@dataclass(frozen=True)
class KindKink:
    """A kind whose net has kinks of its own, one per unit (max pooling: a window whose largest
    inputs tie). ``margins(x, options)``: per unit, how far it is from its kink (the gap between
    the window's two largest inputs); ``winners(x, options)``: which piece the net follows (the
    window's first largest input), to tell a step that crosses a kink; ``held(x, base_x,
    options, forced)``: the net with units ``forced`` holds on a piece, the others free: ``-1``
    the first piece, ``+j`` piece ``j`` (max pooling: the window's input of rank 0 or ``j`` in
    ``base_x``, largest first, ties in window order; each is then smooth). ``ways(x, options,
    band)``: per unit, how many pieces meet at its kink (max pooling: the inputs within ``band``
    of the window's largest, so three tied inputs are three pieces); None: two. The units take
    a slot of their own in ``Base.near``/``forced``, apart from the layer's activation's
    (:func:`~gradcheck.oracles.fd_network.kind_slot`)."""

    margins: Callable[[np.ndarray, Options], np.ndarray]
    winners: Callable[[np.ndarray, Options], np.ndarray]
    held: Callable[[np.ndarray, np.ndarray, Options, np.ndarray], np.ndarray]
    # a kind whose units lie inside it (a block's inner pre-activations): ``inner(groups, x,
    # options)`` gives its net and its units' values in one run; a unit's piece is then its sign,
    # and a copy moves it where its value differs from the base's. None: each unit is one of the
    # net's, moved as the net is
    inner: Callable[[Groups, np.ndarray, Options], tuple[np.ndarray, np.ndarray]] | None = None
    ways: Callable[[np.ndarray, Options, np.ndarray], np.ndarray] | None = None
    # units in series (a block's inner layers, one after another): ``stages(x, options)``, per
    # unit, which of them it lies in (units of one stage lie side by side). None: all one stage
    stages: Callable[[np.ndarray, Options], np.ndarray] | None = None


@dataclass(frozen=True)
class FDKind:
    """``net(layer, x, options)``; ``perturbed(net, x, layer, group, flat, steps, options)``:
    the pre-activation of one copy per step, ``flat[k]`` moved by ``steps[k]``, shaped
    ``(copies, *net.shape)``; ``direction(x, layer, group, v, options)``: how ``net`` moves per
    unit step along ``v`` (a kind linear in its parameters; else ``along``)."""

    net: Callable[[Groups, np.ndarray, Options], np.ndarray]
    perturbed: Callable[
        [np.ndarray, np.ndarray, Groups, str, np.ndarray, np.ndarray, Options], np.ndarray
    ]
    direction: Callable[[np.ndarray, Groups, str, np.ndarray, Options], np.ndarray]
    per_copy: bool = False  # its net needs one copy's whole batch (dropout's mask)
    # a kind whose net is not linear in its parameters (rnn): ``along(x, layer, group, v,
    # steps, options)`` is the net at ``group + s v`` for each step ``s``, ``(steps, *net)``,
    # used instead of ``direction``
    along: (
        Callable[[np.ndarray, Groups, str, np.ndarray, np.ndarray, Options], np.ndarray] | None
    ) = None
    # which outputs a change in the inputs ``moved`` (bool, one copy's batch) reaches, where
    # the net of indicator weights and inputs does not say (a norm's statistics); None: it does
    reach: Callable[[np.ndarray], np.ndarray] | None = None
    kink: KindKink | None = None  # the net's own kinks (max pooling's ties); None: it has none


FD_KINDS: Registry[FDKind] = Registry("finite-difference oracle", "layer kind")


def _no_parameters(*_: Any) -> np.ndarray:
    raise AssertionError("a kind without parameters is never perturbed")


# -- dense ------------------------------------------------------------------------------------
def _dense_net(layer: Groups, x: np.ndarray, options: Options) -> np.ndarray:
    return np.asarray(x @ layer["W"].T + layer.get("b", 0.0))


def _dense_perturbed(
    net: np.ndarray,
    x: np.ndarray,
    layer: Groups,
    group: str,
    flat: np.ndarray,
    steps: np.ndarray,
    options: Options,
) -> np.ndarray:
    """``W[r, c] += s`` moves ``net[:, r]`` by ``s x[:, c]``, ``b[r] += s`` moves ``net[:, r]``
    by ``s``, a shared ``b += s`` moves all of ``net`` by ``s``."""
    moved = np.repeat(net[None], steps.size, axis=0)
    copy = np.arange(steps.size)
    if group == "W":
        r, c = np.unravel_index(flat, layer["W"].shape)
        moved[copy, :, r] += steps[:, None] * x[:, c].T
    elif layer["b"].ndim == 1:
        moved[copy, :, flat] += steps[:, None]
    else:
        moved += steps[:, None, None]
    return moved


def _dense_direction(
    x: np.ndarray, layer: Groups, group: str, v: np.ndarray, options: Options
) -> np.ndarray:
    if group == "W":
        return np.asarray(x @ v.T)
    return np.broadcast_to(v, (x.shape[0], layer["W"].shape[0]))


FD_KINDS.add("dense", FDKind(_dense_net, _dense_perturbed, _dense_direction))


# -- conv2d -----------------------------------------------------------------------------------
def windows(
    x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], padding: int = 0
) -> np.ndarray:
    """``view[m, c, i, j, u, v] = xp[m, c, sh i + u, sw j + v]``, a view of ``x`` zero-padded by
    ``padding`` on each side of its last two axes."""
    p = padding
    if p:
        xp = np.zeros((*x.shape[:2], x.shape[2] + 2 * p, x.shape[3] + 2 * p), dtype=x.dtype)
        xp[:, :, p : p + x.shape[2], p : p + x.shape[3]] = x
        x = xp
    view = sliding_window_view(x, kernel, axis=(2, 3))
    return view[:, :, :: stride[0], :: stride[1]]


def _patches(x: np.ndarray, shape: tuple[int, ...], options: Options) -> np.ndarray:
    """``patches[m, c, i, j, u, v] = xp[m, c, s i + u, s j + v]``, a view of the padded input."""
    s = int(options["stride"])
    return windows(x, (shape[2], shape[3]), (s, s), int(options["padding"]))


def _conv_net(layer: Groups, x: np.ndarray, options: Options) -> np.ndarray:
    """``net[m, f, i, j] = sum W[f, c, u, v] patches[m, c, i, j, u, v] + b[f]``."""
    w = layer["W"]
    net = np.tensordot(_patches(x, w.shape, options), w, axes=([1, 4, 5], [1, 2, 3]))
    net = np.moveaxis(net, -1, 1)
    b = layer.get("b")
    if b is not None:
        net = net + (b if b.ndim == 0 else b[None, :, None, None])
    return np.ascontiguousarray(net)


def _conv_perturbed(
    net: np.ndarray,
    x: np.ndarray,
    layer: Groups,
    group: str,
    flat: np.ndarray,
    steps: np.ndarray,
    options: Options,
) -> np.ndarray:
    """``W[f, c, u, v] += s`` moves ``net[:, f]`` by ``s patches[:, c, :, :, u, v]``; ``b[f]``
    moves ``net[:, f]`` by ``s``, a shared ``b`` all of ``net``."""
    moved = np.repeat(net[None], steps.size, axis=0)
    copy = np.arange(steps.size)
    if group == "W":
        patches = _patches(x, layer["W"].shape, options)
        f, c, u, v = np.unravel_index(flat, layer["W"].shape)
        part = patches[:, c, :, :, u, v]  # advanced indices first: (copies, m, oh, ow)
        moved[copy, :, f] += steps[:, None, None, None] * part
    elif layer["b"].ndim == 1:
        moved[copy, :, flat] += steps[:, None, None, None]
    else:
        moved += steps.reshape(-1, *[1] * net.ndim)
    return moved


def _conv_direction(
    x: np.ndarray, layer: Groups, group: str, v: np.ndarray, options: Options
) -> np.ndarray:
    if group == "W":
        return _conv_net({"W": v}, x, options)
    shape = _conv_net({"W": layer["W"]}, x, options).shape
    return np.broadcast_to(v if v.ndim == 0 else v[None, :, None, None], shape)


FD_KINDS.add("conv2d", FDKind(_conv_net, _conv_perturbed, _conv_direction))


# -- pooling, flatten -------------------------------------------------------------------------
def _pool(x: np.ndarray, options: Options, combine: np.ufunc, scale: bool) -> np.ndarray:
    """Each window's inputs combined (``np.maximum``, or ``np.add`` divided by the window's
    size), one strided slice of ``x`` per window position ``(u, v)``."""
    (kh, kw), (sh, sw) = options["kernel"], options["stride"]
    oh, ow = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    out = x[:, :, : sh * (oh - 1) + 1 : sh, : sw * (ow - 1) + 1 : sw].copy()
    for u, v in itertools.product(range(kh), range(kw)):
        if u or v:
            combine(
                out,
                x[:, :, u : u + sh * (oh - 1) + 1 : sh, v : v + sw * (ow - 1) + 1 : sw],
                out=out,
            )
    return out / (kh * kw) if scale else out


def _window_values(x: np.ndarray, options: Options) -> np.ndarray:
    """``(m, c, oh, ow, kh * kw)``: each window's inputs in row-major order."""
    view = windows(x, tuple(options["kernel"]), tuple(options["stride"]))
    return view.reshape(*view.shape[:4], -1)


def _pool_margins(x: np.ndarray, options: Options) -> np.ndarray:
    """The gap between each window's largest input and the next (0: a tie of two or more)."""
    values = _window_values(x, options)
    if values.shape[-1] == 1:  # a 1x1 window has no tie
        return np.full(values.shape[:4], np.inf)
    top = np.sort(values, axis=-1)
    return np.asarray(top[..., -1] - top[..., -2])


def _pool_ways(x: np.ndarray, options: Options, band: np.ndarray) -> np.ndarray:
    """Per window, how many of its inputs lie within ``band`` of its largest: the pieces that
    meet at its kink (at least 1)."""
    values = _window_values(x, options)
    top = values.max(axis=-1, keepdims=True)
    return np.asarray((top - values <= np.asarray(band)[..., None]).sum(axis=-1))


def _pool_held(
    x: np.ndarray, base_x: np.ndarray, options: Options, forced: np.ndarray
) -> np.ndarray:
    """The max of each window, or where ``forced`` holds it, its input at the position of rank
    0 (``-1``) or ``j`` (``+j``) in ``base_x``'s window, largest first, ties in window order."""
    ranked = np.argsort(-_window_values(base_x, options), axis=-1, kind="stable")
    rank = np.maximum(forced.astype(np.intp), 0)
    pick = np.take_along_axis(ranked, rank[..., None], axis=-1)
    values = _window_values(x, options)
    held = np.take_along_axis(values, pick, axis=-1)[..., 0]
    return np.asarray(np.where(forced != 0, held, values.max(axis=-1)))


FD_KINDS.add(
    "max_pool2d",
    FDKind(
        lambda g, x, o: _pool(x, o, np.maximum, False),
        _no_parameters,
        _no_parameters,
        kink=KindKink(
            _pool_margins,
            lambda x, o: np.argmax(_window_values(x, o), axis=-1),
            _pool_held,
            ways=_pool_ways,
        ),
    ),
)
FD_KINDS.add(
    "avg_pool2d",
    FDKind(lambda g, x, o: _pool(x, o, np.add, True), _no_parameters, _no_parameters),
)


def _dropout_net(layer: Groups, x: np.ndarray, options: Options) -> np.ndarray:
    """``x * mask / (1 - rate)``, the mask drawn over this batch's shape."""
    rate = float(options["rate"])
    keep = dropout_mask(int(options["seed"]), rate, x.shape)
    return np.where(keep, x / (1.0 - rate), 0.0)


FD_KINDS.add("dropout", FDKind(_dropout_net, _no_parameters, _no_parameters, per_copy=True))
FD_KINDS.add(
    "flatten",
    FDKind(lambda g, x, o: x.reshape(x.shape[0], -1), _no_parameters, _no_parameters),
)
