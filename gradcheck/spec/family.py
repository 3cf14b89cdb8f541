"""A network family: what a candidate supports, as data (a TOML file validated like a spec).

A family bounds every architectural choice a generated network makes (depth, widths, layer
kinds, hidden and output activations, losses, bias modes, which groups may be frozen, dtypes,
batch sizes). :func:`load_family` reads one; :meth:`Family.outside` lists, one phrase each, how a
given :class:`~gradcheck.spec.Spec` falls outside it (empty: inside). A network outside its
candidate's family is ``unsupported``, never a failure. Example::

    name = "my two-layer mlp"
    depth = 2                              # or [1, 3]: an inclusive range
    widths = [1, 8]                        # hidden widths
    inputs = [1, 4]
    outputs = 1
    hidden_activations = ["sigmoid", "tanh"]
    output_activations = ["identity", "sigmoid"]
    losses = ["half_sse", "mse"]
    bias_modes = ["per_neuron"]
    frozen = []                            # groups that may be frozen: "weights", "biases"
    dtypes = ["float64"]
    batch = [1, 4]
    weight_decay = [0.0, 0.1]              # lambda of the L2 term: x or [min, max] (default any)

Every field but ``name`` is optional; a field left out allows everything gradcheck declares.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError, field_validator

from gradcheck.errors import SpecError
from gradcheck.layers import ACTIVATIONS, KINDS, LOSSES
from gradcheck.layers.tables import Table
from gradcheck.spec.network import Spec
from gradcheck.spec.specfile import read_toml, validation_problems

__all__ = [
    "BIAS_MODES",
    "DTYPES",
    "FROZEN_GROUPS",
    "Family",
    "FamilyModel",
    "family_json_schema",
    "load_family",
    "parse_family",
]

BIAS_MODES = ("none", "shared", "per_neuron")
DTYPES = ("float64", "float32")
FROZEN_GROUPS = {"weights": "W", "biases": "b"}  # a family's name -> the parameter group
HIDDEN_ACTIVATIONS = tuple(name for name, a in ACTIVATIONS.items() if not a.output_only)

if TYPE_CHECKING:
    KindName = str
    ActivationName = str
    LossName = str
    BiasMode = str
    DtypeName = str
    FrozenName = str
else:  # the declared names, so the schema and its errors list exactly what is declared
    KindName = Literal[tuple(KINDS)]
    ActivationName = Literal[tuple(ACTIVATIONS)]
    LossName = Literal[tuple(LOSSES)]
    BiasMode = Literal[BIAS_MODES]
    DtypeName = Literal[DTYPES]
    FrozenName = Literal[tuple(FROZEN_GROUPS)]

Range = int | list[int]  # n, or [min, max] inclusive
RealRange = float | list[float]  # x, or [min, max] inclusive


def _range(value: Range) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not 1 <= pair[0] <= pair[1]:
        raise ValueError("expected n or [min, max] with 1 <= min <= max")
    return pair[0], pair[1]


def _real_range(value: RealRange) -> tuple[float, float]:
    pair = (value, value) if isinstance(value, int | float) else tuple(value)
    if len(pair) != 2 or not all(math.isfinite(x) for x in pair) or not 0 <= pair[0] <= pair[1]:
        raise ValueError("expected x or [min, max], finite, with 0 <= min <= max")
    return float(pair[0]), float(pair[1])


class FamilyModel(Table):
    """A family of networks: the architectures a candidate supports (a TOML file)."""

    name: str = Field(min_length=1)
    description: str = ""
    depth: Range = Field(default=[1, 3], description="dense layers: n or [min, max]")
    widths: Range = Field(default=[1, 6], description="hidden layer widths: n or [min, max]")
    inputs: Range | None = Field(default=None, description="input width (default: widths)")
    outputs: Range | None = Field(default=None, description="output width (default: widths)")
    kinds: list[KindName] = Field(
        default=list(KINDS), min_length=1, description="layer kinds (default: every kind)"
    )
    hidden_activations: list[ActivationName] = Field(default=list(HIDDEN_ACTIVATIONS), min_length=1)
    output_activations: list[ActivationName] = Field(default=list(ACTIVATIONS), min_length=1)
    losses: list[LossName] = Field(default=list(LOSSES), min_length=1)
    bias_modes: list[BiasMode] = Field(default=list(BIAS_MODES), min_length=1)
    frozen: list[FrozenName] = Field(
        default=list(FROZEN_GROUPS), description="groups that may be frozen (trainable = false)"
    )
    dtypes: list[DtypeName] = Field(default=list(DTYPES), min_length=1)
    batch: Range = Field(default=[1, 4], description="samples per network: n or [min, max]")
    weight_decay: RealRange | None = Field(
        default=None, description="weight decay lambda: x or [min, max], each >= 0 (default: any)"
    )

    @field_validator("weight_decay")
    @classmethod
    def _a_real_range(cls, v: RealRange | None) -> RealRange | None:
        if v is not None:
            _real_range(v)
        return v

    @field_validator("depth", "widths", "inputs", "outputs", "batch")
    @classmethod
    def _a_range(cls, v: Range | None) -> Range | None:
        if v is not None:
            _range(v)
        return v

    @field_validator("hidden_activations")
    @classmethod
    def _hidden(cls, v: list[str]) -> list[str]:
        only = [a for a in v if ACTIVATIONS[a].output_only]
        if only:
            raise ValueError(f"{', '.join(only)} is allowed on the output layer only")
        return v


@dataclass(frozen=True)
class Family:
    """A validated family: each bound as a tuple, ready for the generator and for checking a
    spec against it (:meth:`outside`)."""

    name: str
    path: str
    depth: tuple[int, int]
    widths: tuple[int, int]
    inputs: tuple[int, int]
    outputs: tuple[int, int]
    kinds: tuple[str, ...]
    hidden_activations: tuple[str, ...]
    output_activations: tuple[str, ...]
    losses: tuple[str, ...]
    bias_modes: tuple[str, ...]
    frozen: tuple[str, ...]  # parameter groups: "W", "b"
    dtypes: tuple[str, ...]
    batch: tuple[int, int]
    weight_decay: tuple[float, float] | None = None  # None: any lambda
    # the command-line arguments that make it again (``--family FILE``, ``--kinds dense``, ...),
    # where a command built it; empty for a family loaded in Python
    arguments: tuple[str, ...] = ()

    def networks_arguments(self) -> dict[str, Any]:
        """The keyword arguments of :func:`gradcheck.networks` that draw this family."""
        return {
            "depth": self.depth,
            "widths": self.widths,
            "n_inputs": self.inputs,
            "n_outputs": self.outputs,
            "activations": self.hidden_activations,
            "output_activations": self.output_activations,
            "losses": self.losses,
            "bias_modes": self.bias_modes,
            "frozen": tuple(k for k, g in FROZEN_GROUPS.items() if g in self.frozen),
            "dtypes": self.dtypes,
            "batch_size": self.batch,
            "kinds": self.kinds,
        } | ({} if self.weight_decay is None else {"weight_decay": self.weight_decay})

    def outside(self, spec: Spec) -> list[str]:
        """How ``spec`` falls outside this family, one phrase each (empty: it is inside).

        As the generator counts them: ``depth`` is the number of dense layers, ``widths`` bound
        the hidden dense layers, ``inputs`` a vector input (an image or a sequence has a shape
        instead); kinds, activations (of the kinds that have one; a residual block may also add
        without one, ``identity``) and bias modes (of those with a bias) are judged on every
        layer, a residual block's inner layers included."""
        found: list[str] = []
        dense = [i for i, kind in enumerate(spec.kinds) if kind == "dense"]
        last = len(spec.kinds) - 1

        def check(ok: bool, what: str, got: object, allowed: object) -> None:
            if not ok:
                found.append(f"{what} {got} (family {self.name!r}: {allowed})")

        check(_within(len(dense), self.depth), "depth", len(dense), _show(self.depth))
        if len(spec.shapes[0]) == 1:
            n_in = spec.sizes[0]
            check(_within(n_in, self.inputs), "input width", n_in, _show(self.inputs))
        for i in dense[:-1] if dense and dense[-1] == last else dense:
            w = spec.sizes[i + 1]
            check(_within(w, self.widths), f"layer {i + 1} width", w, _show(self.widths))
        out = spec.sizes[-1]
        check(
            _within(out, self.outputs), f"layer {last + 1} (output) width", out, _show(self.outputs)
        )
        for where, layer, output in _tables(spec.model.layers, last):
            check(layer.kind in self.kinds, f"{where} kind", repr(layer.kind), _names(self.kinds))
            if KINDS[layer.kind].activated:
                allowed = self.output_activations if output else self.hidden_activations
                if layer.kind == "residual":  # identity after the add: no activation, the skip
                    allowed = ("identity", *allowed)
                what = f"{where}{' (output)' if output else ''} activation"
                check(layer.activation in allowed, what, repr(layer.activation), _names(allowed))
            if hasattr(layer, "bias"):
                mode = layer.bias.mode
                check(mode in self.bias_modes, f"{where} bias", repr(mode), _names(self.bias_modes))
        check(spec.loss in self.losses, "loss", repr(spec.loss), _names(self.losses))
        names = {group: name for name, group in FROZEN_GROUPS.items()}
        for i, frozen in enumerate(spec.frozen_params()):
            for group in frozen:
                # biases (a norm's beta too) freeze as "b", every other group (rnn's Wxh, a
                # norm's gamma, a residual block's "1.W") as weights, "W"
                as_group = "b" if group.rpartition(".")[2] in ("b", "beta") else "W"
                always = f"{names[as_group]} always trainable"
                check(as_group in self.frozen, f"layer {i + 1} {group}", "frozen", always)
        check(spec.model.dtype in self.dtypes, "dtype", spec.model.dtype, _names(self.dtypes))
        batch = len(spec.model.samples)
        check(_within(batch, self.batch), "batch size", batch, _show(self.batch))
        lam, decays = spec.weight_decay, self.weight_decay
        if decays is not None:
            check(decays[0] <= lam <= decays[1], "weight decay", lam, _show(decays))
        return found


def _tables(layers: Sequence[Any], last: int, prefix: str = "") -> Iterator[tuple[str, Any, bool]]:
    """``(where, table, is the output layer)`` for each layer, a residual block's inner layers
    after the block (``layer 3.1``: its ``layers[1]``)."""
    for i, layer in enumerate(layers):
        where = f"layer {i + 1}" if not prefix else f"{prefix}.{i}"
        yield where, layer, not prefix and i == last
        if layer.kind == "residual":
            yield from _tables(layer.layers, -1, where)


def _within(n: int, bounds: tuple[int, int]) -> bool:
    return bounds[0] <= n <= bounds[1]


def _show(bounds: tuple[int, int] | tuple[float, float]) -> str:
    return str(bounds[0]) if bounds[0] == bounds[1] else f"{bounds[0]} to {bounds[1]}"


def _names(names: Sequence[str]) -> str:
    return ", ".join(names)


def parse_family(data: dict[str, Any], path: str = "<family>") -> Family:
    """Validate a decoded TOML table into a :class:`Family`; every problem in one
    :class:`~gradcheck.errors.SpecError` line, ``path: field: problem (got value)``."""
    try:
        m = FamilyModel.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, data, FamilyModel)
        raise SpecError(f"{path}: " + "; ".join(problems)) from None
    widths = _range(m.widths)
    inputs = widths if m.inputs is None else _range(m.inputs)
    outputs = widths if m.outputs is None else _range(m.outputs)
    family = Family(
        name=m.name,
        path=path,
        depth=_range(m.depth),
        widths=widths,
        inputs=inputs,
        outputs=outputs,
        kinds=tuple(dict.fromkeys(m.kinds)),
        hidden_activations=tuple(dict.fromkeys(m.hidden_activations)),
        output_activations=tuple(dict.fromkeys(m.output_activations)),
        losses=tuple(dict.fromkeys(m.losses)),
        bias_modes=tuple(dict.fromkeys(m.bias_modes)),
        frozen=tuple(FROZEN_GROUPS[k] for k in dict.fromkeys(m.frozen)),
        dtypes=tuple(dict.fromkeys(m.dtypes)),
        batch=_range(m.batch),
        weight_decay=None if m.weight_decay is None else _real_range(m.weight_decay),
    )
    problems = _cross_check(family)
    if problems:
        raise SpecError(f"{path}: " + "; ".join(problems))
    return family


def _cross_check(f: Family) -> list[str]:
    """A family must hold at least one network: some loss its output activations can serve."""
    served = [
        loss for loss in f.losses if LOSSES[loss].output_activation in (None, *f.output_activations)
    ]
    if served:
        return []
    needs = {loss: LOSSES[loss].output_activation for loss in f.losses}
    return [
        "losses: no loss fits the output activations "
        + "; ".join(f"{loss} needs {a!r}" for loss, a in needs.items())
        + f" (got output_activations {list(f.output_activations)})"
    ]


def load_family(path: str | Path) -> Family:
    """Read and validate a family TOML file; never executes anything in it."""
    p = Path(path)
    return parse_family(read_toml(p), str(p))


def family_json_schema() -> dict[str, Any]:
    """The JSON Schema of a family file (what ``gradcheck schema --family`` prints)."""
    return FamilyModel.model_json_schema()
