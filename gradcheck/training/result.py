"""The record of one training run, :class:`TrainResult`: the network as trained, the backend,
device and update rule used, the trained parameters, final outputs and loss, the loss history,
and the time spent running and compiling, with the parameters by display name and a JSON-able
``to_dict()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.spec import Array, Params, Spec


@dataclass(frozen=True)
class TrainResult:
    """One training run. ``loss_history[i]`` is the loss before step ``i * record_every``;
    ``loss`` and ``outputs`` are after the last step; ``seconds`` excludes compiling."""

    spec: Spec  # the network as trained (dtype and learning rate as used)
    backend: str
    device: str
    n_devices: int
    optimizer: str
    rule: str
    steps: int
    record_every: int
    params: Params
    outputs: Array
    loss: float
    loss_history: Array
    seconds: float
    compile_seconds: float

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else math.inf

    def named_params(self) -> dict[str, float]:
        """Every trained scalar by its display name (``w5``), else ``layer 2 W[1,0]``."""
        return {
            self.spec.label(i, group, idx): float(a[idx])
            for i, layer in enumerate(self.params)
            for group, a in layer.items()
            for idx in np.ndindex(a.shape)
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record (plain floats, ints, strings and lists)."""
        return {
            "network": self.spec.name,
            "backend": self.backend,
            "device": self.device,
            "n_devices": self.n_devices,
            "dtype": self.spec.model.dtype,
            "optimizer": self.optimizer,
            "rule": self.rule,
            "learning_rate": self.spec.learning_rate,
            "steps": self.steps,
            "loss": self.loss,
            "outputs": self.outputs.tolist(),
            "params": self.named_params(),
            "loss_history": self.loss_history.tolist(),
            "loss_history_every": self.record_every,
            "seconds": self.seconds,
            "compile_seconds": self.compile_seconds,
            "steps_per_second": None
            if math.isinf(self.steps_per_second)
            else self.steps_per_second,
        }
