"""The losses gradcheck knows, declared once: name, formula, reduction, gradient, pairing.

Each side implements them on its own under these names. The reduction is part of the contract a
candidate must meet (``gradcheck contract`` prints it): ``half_sse`` sums over samples and
outputs, ``sse`` sums over both, ``mse`` averages over both, ``softmax_cross_entropy``,
``binary_cross_entropy`` and ``svm`` average over samples and sum over outputs.

The optional L2 term ``weight_decay = lambda`` (a spec's top-level field) adds
:data:`WEIGHT_DECAY` to any of them; which parameter groups count as weights is each layer kind's
``decayed`` set (:data:`gradcheck.layers.KINDS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradcheck.layers.registry import UnknownName

__all__ = ["LOSSES", "WEIGHT_DECAY", "LossInfo", "loss_info"]


@dataclass(frozen=True)
class LossInfo:
    """``formula``: ``E`` for people (``o`` the output layer's out, ``t`` the target, ``B`` the
    batch); ``reduction``: how ``E`` combines samples and outputs; ``gradient``: ``dE/do`` (or
    ``dE/dnet`` of the output layer where the loss requires an output activation);
    ``output_activation``: the output activation the loss requires (``None``: any);
    ``one_hot``: its targets must be one-hot rows (one 1, the rest 0: the true class);
    ``kinked``: ``E`` has kinks (a hinge ``max(0, m)`` at ``m = 0``), where any value between the
    one-sided derivatives is right; ``targets``: the range every target entry must lie in,
    ``(low, high)`` (``high`` None: unbounded above), None where any finite value is a target."""

    name: str
    formula: str
    reduction: str
    gradient: str
    output_activation: str | None = None
    one_hot: bool = False
    kinked: bool = False
    targets: tuple[float, float | None] | None = None

    def target_range(self) -> str:
        """The targets' range for people: ``in [0, 1]``, ``>= 0``; empty where any will do."""
        if self.targets is None:
            return ""
        low, high = self.targets
        return f">= {low:g}" if high is None else f"in [{low:g}, {high:g}]"

    def outside(self, t: np.ndarray) -> np.ndarray:
        """Which entries of ``t`` lie outside :attr:`targets` (none where it is None)."""
        if self.targets is None:
            return np.zeros(np.shape(t), dtype=bool)
        low, high = self.targets
        below: np.ndarray = np.asarray(t) < low
        return below if high is None else below | (np.asarray(t) > high)


_DECLARED = (
    LossInfo(
        "half_sse",
        "E = 1/2 sum over samples and outputs of (t - o)^2",
        "sum over samples and outputs",
        "dE/do = o - t",
    ),
    LossInfo(
        "sse",
        "E = sum over samples and outputs of (o - t)^2",
        "sum over samples and outputs",
        "dE/do = 2 (o - t)",
    ),
    LossInfo(
        "mse",
        "E = mean over samples and outputs of (o - t)^2",
        "mean over samples and outputs (divide by B * n_out)",
        "dE/do = 2 (o - t) / (B * n_out)",
    ),
    LossInfo(
        "softmax_cross_entropy",
        "E = -(1/B) sum over samples of sum_k t_k log softmax(net)_k",
        "mean over samples (divide by B), sum over outputs",
        "dE/dnet = (o * sum_k t_k - t) / B with o = softmax(net), through softmax in one step",
        output_activation="softmax",
        targets=(0.0, None),
    ),
    LossInfo(
        "binary_cross_entropy",
        "E = (1/B) sum over samples and outputs of [softplus(net) - t net] = "
        "-(1/B) sum [t log o + (1 - t) log(1 - o)] with o = sigmoid(net)",
        "mean over samples (divide by B), sum over outputs",
        "dE/dnet = (o - t) / B with o = sigmoid(net), through the sigmoid in one step",
        output_activation="sigmoid",
        targets=(0.0, 1.0),
    ),
    LossInfo(
        "svm",
        "E = (1/B) sum over samples of sum_{j != y} max(0, s_j - s_y + 1), multiclass hinge on "
        "the scores s = o (identity output, raw scores), y the class whose target is 1",
        "mean over samples (divide by B), sum over the classes j != y",
        "dE/ds_j = [s_j - s_y + 1 > 0] / B for j != y, dE/ds_y = -(number of such j) / B; "
        "at a margin s_j - s_y + 1 of exactly 0 either one-sided value (0 or 1) is right",
        output_activation="identity",
        one_hot=True,
        kinked=True,
    ),
)

WEIGHT_DECAY = (
    "weight_decay = lambda (>= 0, default 0): E_total = E + lambda/2 sum of W^2 over every "
    "weight group (a kind's decayed groups: dense W; frozen ones count in E, biases never), "
    "dE_total/dW = dE/dW + lambda W for each trainable weight group"
)
"""The optional L2 term, for people (the candidate contract prints it)."""

LOSSES: dict[str, LossInfo] = {loss.name: loss for loss in _DECLARED}
"""Every declared loss by name, in the order the spec schema lists them."""


def loss_info(name: str) -> LossInfo:
    """The declaration of ``name``; an undeclared name raises ``UnknownName``."""
    if name not in LOSSES:
        raise UnknownName(f"no loss named {name!r} (declared: {', '.join(LOSSES)})")
    return LOSSES[name]
