"""A drawn network as a replayable test case: the arguments of every gradient function.

Contract: a :class:`Case` unpacks as ``(spec, params, inputs, targets)``; it prints as
``Case.from_toml('''...''')``, the network as spec TOML holding its weights and samples, so a
failing case can be saved and replayed exactly.
"""

from __future__ import annotations

import tomllib
from typing import Any, NamedTuple

from gradcheck.spec import Array, Params, Spec, parse_spec, spec_to_toml

__all__ = ["Case"]


class Case(NamedTuple):
    """One drawn network: unpacks as the ``(spec, params, inputs, targets)`` of a GradientFn."""

    spec: Spec
    params: Params
    inputs: Array
    targets: Array

    @classmethod
    def from_spec(cls, spec: Spec) -> Case:
        """The spec's own trainable params, sample inputs and targets."""
        return cls(spec, spec.initial_params(), spec.inputs(), spec.targets())

    @classmethod
    def from_toml(cls, text: str, path: str = "<replay>") -> Case:
        """Rebuild a case from :meth:`replay` text (or any spec TOML)."""
        return cls.from_spec(parse_spec(tomllib.loads(text), path))

    def replay(self) -> str:
        """The network as spec TOML; it holds the weights and samples, so it replays exactly."""
        return spec_to_toml(self.spec)

    def describe(self) -> str:
        """One line: ``2-3-1 sigmoid/identity half_sse float64 batch 2``, then ``weight decay
        0.01`` where it has one; a network with other kinds than dense names them first
        (``conv2d/batch_norm/flatten/dense 9-9-9-9-1 ...``: its sizes alone read as a dense
        stack)."""
        s = self.spec
        kinds = "" if s.is_dense else "/".join(s.kinds) + " "
        sizes = "-".join(str(n) for n in s.sizes)
        acts = "/".join(s.activations)
        decay = f" weight decay {s.weight_decay:.3g}" if s.weight_decay else ""
        batch = self.inputs.shape[0]
        return f"{kinds}{sizes} {acts} {s.loss} {s.model.dtype} batch {batch}{decay}"

    def __repr__(self) -> str:
        return f"Case.from_toml('''\n{self.replay()}''')"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        # Hypothesis prints a falsifying example through this: show the replayable TOML.
        p.text(repr(self))
