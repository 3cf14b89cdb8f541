"""The activations gradcheck knows, declared once: name and the facts every side needs.

Each side implements them on its own (:mod:`gradcheck.hand.activations`,
:mod:`gradcheck.oracles.fd_network`, :mod:`gradcheck.oracles.error_model`,
:mod:`gradcheck.oracles.jax_network`) under these names.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradcheck.layers.registry import UnknownName

__all__ = ["ACTIVATIONS", "ActivationInfo", "activation_info"]


@dataclass(frozen=True)
class ActivationInfo:
    """``formula`` and ``derivative`` (``act'(z)``): the function and its derivative, for people;
    ``kinked``: not differentiable at 0 (one-sided derivatives differ); ``takes_slope``: the
    layer table needs ``slope``; ``output_only``: allowed on the last layer only."""

    name: str
    formula: str
    derivative: str
    kinked: bool = False
    takes_slope: bool = False
    output_only: bool = False


_DECLARED = (
    ActivationInfo("identity", "z", "1"),
    ActivationInfo("sigmoid", "1 / (1 + exp(-z))", "o (1 - o), with o = sigmoid(z)"),
    ActivationInfo("tanh", "tanh(z)", "1 - o^2, with o = tanh(z)"),
    ActivationInfo("relu", "max(z, 0); relu'(0) taken as 0", "1 if z > 0 else 0", kinked=True),
    ActivationInfo(
        "leaky_relu",
        "z if z > 0 else slope z; derivative at 0 taken as slope",
        "1 if z > 0 else slope",
        kinked=True,
        takes_slope=True,
    ),
    ActivationInfo("softplus", "log(1 + exp(z))", "sigmoid(z)"),
    ActivationInfo("elu", "z if z > 0 else exp(z) - 1", "1 if z > 0 else exp(z)"),
    ActivationInfo(
        "softmax",
        "exp(z_j) / sum_k exp(z_k), per sample",
        "diag(o) - o o^T per sample, a Jacobian, not elementwise: an upstream gradient g "
        "goes back as o * (g - sum_k g_k o_k)",
        output_only=True,
    ),
)

ACTIVATIONS: dict[str, ActivationInfo] = {a.name: a for a in _DECLARED}
"""Every declared activation by name, in the order the spec schema lists them."""


def activation_info(name: str) -> ActivationInfo:
    """The declaration of ``name``; an undeclared name raises ``UnknownName``."""
    if name not in ACTIVATIONS:
        raise UnknownName(f"no activation named {name!r} (declared: {', '.join(ACTIVATIONS)})")
    return ACTIVATIONS[name]
