"""The finite-difference oracle along random directions: ``d/dt E(p + t v_g)`` at 0, one
direction ``v_g`` per trainable group, for networks too large to difference entry by entry.

Four forward passes per group whatever its size (the stencil ``t = +-h, +-2h`` and Richardson's
value, as in :mod:`gradcheck.oracles.finite_differences`), every group's stencil in one batched
pass; a group whose copies cross a kink or move a unit on one is run again on its own, retried
once with ``h / 64`` and, on a kink, bracketed like a per-entry difference. Imports neither
:mod:`gradcheck.hand` nor the JAX oracle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.oracles.error_model import (
    forward_terms,
    rounding_noise,
    term_magnitudes,
    with_kinks,
)
from gradcheck.oracles.fd_network import (
    FD_KINDS,
    Base,
    Stencil,
    base_pass,
    own_options,
    stencil_losses,
)
from gradcheck.oracles.finite_differences import (
    DEFAULT_REL_STEP,
    STENCIL,
    Forced,
    Held,
    held_pass,
    kink_bracket,
    richardson,
)
from gradcheck.spec import Array, Params, Spec

__all__ = ["DirectionalResult", "directional_finite_difference"]

_KINK_RETRY = 64.0  # a directional stencil that crosses a kink is retried with h / 64


@dataclass(frozen=True)
class DirectionalResult:
    """Finite differences of ``t -> E(p + t v_g)`` at 0, one random direction per group.

    ``directions[l][g]`` is ``v_g`` (shaped like the group, ``max |v_g| = 1``); ``values``,
    ``errors``, ``steps`` and ``kinks`` hold, per group, the Richardson value, its error estimate,
    the step in ``t`` and whether the stencil still crossed a kink after one retry or moved a
    unit on one; ``at_kink``, ``lower``, ``upper``, ``interval_errors`` as in :class:`FDResult`,
    along the direction; ``scales`` the per-entry term magnitudes, as in :class:`FDResult` (the
    dot's is ``sum |scale| |v|``).
    """

    directions: Params
    values: list[dict[str, float]]
    errors: list[dict[str, float]]
    steps: list[dict[str, float]]
    kinks: list[dict[str, bool]]
    at_kink: list[dict[str, bool]]
    lower: list[dict[str, float]]
    upper: list[dict[str, float]]
    interval_errors: list[dict[str, float]]
    loss: float
    scales: Params


def directional_finite_difference(
    spec: Spec,
    params: Params,
    inputs: Array,
    targets: Array,
    *,
    seed: int = 0,
    rel_step: float | None = None,
    checked: bool = False,
) -> DirectionalResult:
    """``d/dt E(p + t v_g)`` at 0 for one random direction ``v_g ~ N(0, I)`` per trainable group,
    scaled to ``max |v_g| = 1``: four forward passes per group whatever its size (more where the
    direction moves a unit on a kink). Compare with ``<grad_g, v_g>``. ``checked`` as for
    :func:`finite_difference`."""
    base = base_pass(spec, params, inputs, targets, checked)
    terms = forward_terms(spec, base)  # once: the kink bands and the term magnitudes share it
    base = with_kinks(spec, base, terms)
    noise = rounding_noise(spec, base)
    rel = DEFAULT_REL_STEP if rel_step is None else float(rel_step)
    rng = np.random.default_rng(seed)
    names = [
        "directions",
        "values",
        "errors",
        "steps",
        "kinks",
        "at_kink",
        "lower",
        "upper",
        "interval_errors",
    ]
    fields: dict[str, list[dict[str, Any]]] = {k: [{} for _ in params] for k in names}
    plan = []
    for i, layer in enumerate(params):
        for group, a in layer.items():
            p = np.asarray(a, dtype=np.float64)
            v = rng.standard_normal(p.shape)
            v = v / max(float(np.max(np.abs(v))), 1e-300)
            plan.append((i, group, v, rel * max(float(np.max(np.abs(p), initial=0.0)), 1.0)))
    # every group's stencil in one batched pass; a group whose copies cross or move a kink is
    # run again on its own below, where it may retry with a smaller step and be bracketed
    together = stencil_losses(
        spec, base, [(i, _along_nets(spec, base, i, group, v, h)) for i, group, v, h in plan]
    )
    n = STENCIL.size
    for k, (i, group, v, h) in enumerate(plan):
        copies = slice(n * k, n * k + n)
        if together.crossed[copies].any() or together.at_kink[copies].any():
            found, value, error, h = _along_alone(spec, base, i, group, v, h, noise)
        else:
            found = None
            value, error = _along_value(spec, base, i, group, v, h, noise, together.losses[copies])
        at_kink = found is not None and bool(found.at_kink.any())
        lower = upper = interval_error = np.nan
        if at_kink:

            def run(forced: Forced) -> Held:
                held = held_pass(spec, (params, inputs, targets), base, forced)
                moved, value, error = _along(spec, held, i, group, v, h, noise)  # noqa: B023
                return value, error, moved.touched

            assert found is not None
            bounds = kink_bracket(spec, base, run, found.touched)
            lower, upper, interval_error = (float(x[0]) for x in bounds[:3])
        crossed = found is not None and bool(found.crossed.any())
        for key, result in (
            ("directions", v),
            ("values", float(value[0])),
            ("errors", float(error[0])),
            ("steps", h),
            ("kinks", crossed or at_kink),
            ("at_kink", at_kink),
            ("lower", lower),
            ("upper", upper),
            ("interval_errors", interval_error),
        ):
            fields[key][i][group] = result
    return DirectionalResult(
        **fields, loss=base.loss, scales=term_magnitudes(spec, params, base, terms)
    )


def _along_alone(
    spec: Spec, base: Base, i: int, group: str, v: np.ndarray, h: float, noise: float
) -> tuple[Stencil, np.ndarray, np.ndarray, float]:
    """:func:`_along` on its own pass, retried once with ``h / 64`` if it crossed a kink; the
    step it ended with as the last item."""
    for attempt in range(2):
        found, value, error = _along(spec, base, i, group, v, h, noise)
        if attempt or not found.crossed.any():
            break
        h /= _KINK_RETRY
    return found, value, error, h


def _along_nets(spec: Spec, base: Base, i: int, group: str, v: np.ndarray, h: float) -> np.ndarray:
    """Layer ``i``'s pre-activation at ``t = +-h, +-2h`` along ``v`` in its group ``group``."""
    kind, options = FD_KINDS[spec.kinds[i]], own_options(spec, base, i)
    if kind.along is not None:  # a net not linear in the parameters: rerun at each step
        return kind.along(base.outs[i], base.layers[i], group, v, h * STENCIL, options)
    moved = kind.direction(base.outs[i], base.layers[i], group, v, options)
    stencil = (h * STENCIL).reshape(-1, *[1] * moved.ndim)
    net: np.ndarray = base.nets[i][None] + stencil * moved[None]
    return net


def _along_value(
    spec: Spec,
    base: Base,
    i: int,
    group: str,
    v: np.ndarray,
    h: float,
    noise: float,
    losses: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """From the stencil's losses without weight decay: its Richardson value and error."""
    losses = losses + base.decay
    if spec.weight_decay and group in spec.decayed[i]:  # lambda/2 |W + s v|^2 - lambda/2 |W|^2
        w, s = base.layers[i][group], h * STENCIL
        losses = losses + spec.weight_decay * (s * np.sum(w * v) + s * s / 2.0 * np.sum(v * v))
    return richardson(losses[None], base.loss, np.array([h]), noise)


def _along(
    spec: Spec, base: Base, i: int, group: str, v: np.ndarray, h: float, noise: float
) -> tuple[Stencil, np.ndarray, np.ndarray]:
    """The stencil ``t = +-h, +-2h`` along ``v`` in group ``group`` of layer ``i`` through
    ``base``: what it crossed and moved, its Richardson value and error (one-element arrays)."""
    found = stencil_losses(spec, base, [(i, _along_nets(spec, base, i, group, v, h))])
    value, error = _along_value(spec, base, i, group, v, h, noise, found.losses)
    return found, value, error
