"""Whether two training runs of one network agree: JAX's compiled loop against the NumPy loop.

The runs agree when every recorded loss and every trained parameter of the JAX run lies within
the dtype's tolerance (:func:`~gradcheck.checking.tolerances.tolerance_for`) of the NumPy
run's: ``|j - n| <= atol + rtol * |n|``. :func:`judge_training` takes the runs' plain arrays, so
checking does not depend on how they were trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from gradcheck.checking.tolerances import tolerance_for
from gradcheck.checking.verdict import Tolerance
from gradcheck.spec import Array, Params

__all__ = ["TrainingAgreement", "judge_training"]


@dataclass(frozen=True)
class TrainingAgreement:
    """The judgement of two training runs: ``agree``, the largest absolute difference of any
    loss or parameter, and the tolerance applied."""

    agree: bool
    max_abs_diff: float
    tolerance: Tolerance

    @property
    def status(self) -> Literal["agree", "disagree"]:
        return "agree" if self.agree else "disagree"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``status`` (``agree``/``disagree``), ``max_abs_diff``, ``tolerance``."""
        return {
            "status": self.status,
            "max_abs_diff": self.max_abs_diff,
            "tolerance": self.tolerance.to_dict(),
        }


def judge_training(
    dtype: str,
    *,
    jax_losses: Array,
    numpy_losses: Array,
    jax_params: Params,
    numpy_params: Params,
) -> TrainingAgreement:
    """Compare the loss curves and the trained parameters of the JAX and NumPy runs of one
    network (same steps, same recording interval) with ``dtype``'s tolerance."""
    tol = tolerance_for(dtype)
    pairs = [(jax_losses, numpy_losses)] + [
        (jax_params[i][k], numpy_params[i][k])
        for i, group in enumerate(numpy_params)
        for k in group
    ]
    diffs = [np.abs(np.asarray(a) - np.asarray(b)) for a, b in pairs]
    agree = all(
        bool(np.all(d <= tol.atol + tol.rtol * np.abs(b)))
        for d, (_, b) in zip(diffs, pairs, strict=True)
    )
    max_abs_diff = max(float(d.max(initial=0.0)) for d in diffs)
    return TrainingAgreement(agree=agree, max_abs_diff=max_abs_diff, tolerance=tol)
