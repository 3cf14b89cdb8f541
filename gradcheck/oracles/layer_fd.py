"""Finite differences of a layer's own forward: the derivative of ``<dout, forward(args)>``.

For a course-style layer, ``backward(dout, cache)`` claims the gradient of ``phi(args) = <dout,
forward(args)>``. Along a direction ``v``, ``d/dt phi(args + t v)`` at 0 must equal ``<grad,
v>``; :func:`directional_derivative` gives it by central differences with a Richardson step, and
per entry (``v`` a unit vector) the same function names the entry a backward gets wrong. The
forward is the user's own: this oracle says whether the backward matches *that* forward, whatever
the forward computes. Shares nothing with the JAX reference or the code it checks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradcheck.oracles.error_model import ROUNDING_PER_LAYER

__all__ = ["DEFAULT_REL_STEP", "directional_derivative", "inner_product_noise"]

_EPS64 = float(np.finfo(np.float64).eps)
DEFAULT_REL_STEP = _EPS64 ** (1.0 / 3.0)  # balances truncation O(h^2) against rounding O(eps/h)


def inner_product_noise(dout: np.ndarray, out: np.ndarray) -> float:
    """Rounding noise of ``<dout, out>`` in float64: ``c eps sum |dout| |out|`` (``c`` the error
    model's rounding per layer: ``out`` itself is a rounded sum)."""
    terms = np.abs(np.asarray(dout, np.float64)) * np.abs(np.asarray(out, np.float64))
    return ROUNDING_PER_LAYER * _EPS64 * float(np.sum(terms))


def directional_derivative(
    phi: Callable[[float], float], step: float, centre: float, noise: float
) -> tuple[float, float]:
    """``d/dt phi(t)`` at 0 and its error estimate, from ``phi(+-h)`` and ``phi(+-2h)``.

    ``R = (4 D(h) - D(2h)) / 3`` with ``D(h) = (phi(h) - phi(-h)) / 2h``; the estimate is
    ``|D(2h) - D(h)| / 3 + 1.5 delta / h``, ``delta`` the larger of ``noise`` (the rounding of
    ``phi``) and the measured fourth difference ``|sum of the stencil's weighted values| / 8``.
    """
    h = float(step)
    plus, minus, plus2, minus2 = (phi(m * h) for m in (1.0, -1.0, 2.0, -2.0))
    d1 = (plus - minus) / (2.0 * h)
    d2 = (plus2 - minus2) / (4.0 * h)
    fourth = plus2 + minus2 - 4.0 * (plus + minus) + 6.0 * centre
    delta = max(noise, abs(fourth) / 8.0)
    return (4.0 * d1 - d2) / 3.0, abs(d2 - d1) / 3.0 + 1.5 * delta / h
