"""Network specs: TOML data, validated once where it enters, frozen afterwards.

A spec describes a fully connected network layer by layer. Layer ``l`` (1-based, the input is
layer 0) maps ``x`` of width ``sizes[l-1]`` to ``out = act(W @ x + b)`` of width ``sizes[l]``;
``W`` has one *row per output neuron*, so a document's ``w1, w2`` (into ``h1``) are row 0.

Parameters are one structure shared by every gradient source: ``list[dict[str, ndarray]]``,
one dict per layer holding only the *trainable* groups (``"W"`` and/or ``"b"``). Frozen groups
live in :meth:`Spec.frozen_params` and never appear in gradients or updates. A shared bias is a
0-d array, a per-neuron bias has shape ``(n_out,)``.

Loading never executes code: TOML is parsed by :mod:`tomllib` and checked by pydantic models.
Every problem becomes one :class:`SpecError` line naming the file, the field path and the value.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "Array",
    "Documented",
    "GradcheckError",
    "GradientFn",
    "Location",
    "Params",
    "Spec",
    "SpecError",
    "builtin_networks_dir",
    "load_spec",
    "load_specs",
    "parse_spec",
    "spec_to_toml",
]

Array = NDArray[np.floating[Any]]
Params = list[dict[str, Array]]

ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax")
LOSSES = ("half_sse", "mse", "softmax_cross_entropy")
Activation = Literal["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax"]
Loss = Literal["half_sse", "mse", "softmax_cross_entropy"]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class GradcheckError(Exception):
    """Base of every error gradcheck raises on purpose; the CLI prints ``str(err)`` as one line."""


class SpecError(GradcheckError, ValueError):
    """A spec or its input is invalid; ``str(err)`` is one line naming file, field and value."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Init(_Model):
    """Initialise a weight matrix from a rule: ``W ~ scale * D(seed)``.

    ``normal``: N(0, scale^2); ``uniform``: U(-scale, scale); ``xavier``/``he``: normal with
    std ``scale * sqrt(2 / (fan_in + fan_out))`` / ``scale * sqrt(2 / fan_in)``.
    """

    rule: Literal["normal", "uniform", "xavier", "he"]
    scale: FiniteFloat = Field(default=1.0, gt=0)
    seed: int = 0


class Bias(_Model):
    """``none``; ``shared`` (one scalar per layer, as the sigmoid 2-2-2 seed); ``per_neuron``."""

    mode: Literal["none", "shared", "per_neuron"] = "per_neuron"
    value: FiniteFloat | list[FiniteFloat] | None = None
    trainable: bool = True
    name: str | None = None
    names: list[str] | None = None


class Layer(_Model):
    size: int = Field(ge=1, le=100_000)
    activation: Activation = "identity"
    slope: FiniteFloat | None = Field(default=None, ge=0)
    weights: list[list[FiniteFloat]] | None = None
    init: Init | None = None
    trainable: bool = True
    weight_names: list[list[str]] | None = None
    names: list[str] | None = None
    bias: Bias = Bias(mode="none")

    @model_validator(mode="after")
    def _check(self) -> Layer:
        if (self.weights is None) == (self.init is None):
            raise ValueError("give exactly one of 'weights' (a matrix) or 'init' (a rule)")
        if self.activation == "leaky_relu" and self.slope is None:
            raise ValueError("leaky_relu needs 'slope' (e.g. slope = 0.01)")
        if self.activation != "leaky_relu" and self.slope is not None:
            raise ValueError(f"'slope' only applies to leaky_relu, not {self.activation}")
        return self


class InputLayer(_Model):
    size: int = Field(ge=1, le=100_000)
    names: list[str] | None = None


class Optimizer(_Model):
    name: Literal["sgd"] = "sgd"
    learning_rate: FiniteFloat = Field(gt=0)


class Sample(_Model):
    input: list[FiniteFloat]
    target: list[FiniteFloat]


class Documented(_Model):
    """A number a document claims for this network, kept exactly as printed.

    ``quantity`` names what it claims to be (see :mod:`gradcheck.golden` for the grammar),
    ``printed`` is the string as the document prints it, ``where`` locates it in the document,
    ``expression`` is the document's own arithmetic for it, if it shows any (numbers, + - * /).
    """

    quantity: str
    printed: str
    where: str = ""
    expression: str | None = None

    @field_validator("printed")
    @classmethod
    def _numeric(cls, v: str) -> str:
        cleaned = v.strip()
        try:
            float(cleaned)
        except ValueError:
            raise ValueError(f"not a number as printed: {v!r}") from None
        return cleaned


class _SpecModel(_Model):
    name: str = Field(min_length=1)
    description: str = ""
    source: str = ""
    dtype: Literal["float64", "float32"] = "float64"
    loss: Loss
    optimizer: Optimizer
    input: InputLayer
    layers: list[Layer] = Field(min_length=1)
    samples: list[Sample] = Field(min_length=1)
    documented: list[Documented] = []


GradientFn = Callable[["Spec", Params, Array, Array], Params]
"""The one signature every gradient source has: ``(spec, params, inputs, targets) -> grads``."""

# A scalar parameter's address: (layer index 0-based into params, group "W"/"b", index tuple)
Location = tuple[int, str, tuple[int, ...]]


class Spec:
    """A validated, immutable network. Build with :func:`load_spec` or :func:`parse_spec`."""

    __slots__ = ("__dict__", "model", "path")

    def __init__(self, model: _SpecModel, path: str) -> None:
        self.model = model
        self.path = path

    # -- shape -------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.model.name

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.model.input.size, *(layer.size for layer in self.model.layers))

    @property
    def activations(self) -> tuple[str, ...]:
        return tuple(layer.activation for layer in self.model.layers)

    @property
    def slopes(self) -> tuple[float, ...]:
        """Leaky-relu slope per layer (0.0 where the activation has none)."""
        return tuple(layer.slope or 0.0 for layer in self.model.layers)

    @property
    def bias_modes(self) -> tuple[str, ...]:
        return tuple(layer.bias.mode for layer in self.model.layers)

    @property
    def loss(self) -> str:
        return self.model.loss

    @property
    def learning_rate(self) -> float:
        return self.model.optimizer.learning_rate

    @property
    def dtype(self) -> np.dtype[Any]:
        return np.dtype(self.model.dtype)

    @property
    def documented(self) -> tuple[Documented, ...]:
        return tuple(self.model.documented)

    @property
    def n_params(self) -> int:
        return sum(int(a.size) for layer in self.initial_params() for a in layer.values())

    def shape_signature(self) -> tuple[Any, ...]:
        """Everything that fixes compiled code: sizes, activations, slopes, biases, loss, dtype."""
        trainable = tuple(tuple(sorted(p)) for p in self.initial_params())
        return (
            self.sizes,
            self.activations,
            self.slopes,
            self.bias_modes,
            trainable,
            self.loss,
            self.model.dtype,
        )

    # -- data --------------------------------------------------------------------------------
    @cached_property
    def _all_params(self) -> list[dict[str, tuple[Array, bool]]]:
        out: list[dict[str, tuple[Array, bool]]] = []
        for i, layer in enumerate(self.model.layers):
            n_in, n_out = self.sizes[i], self.sizes[i + 1]
            group: dict[str, tuple[Array, bool]] = {
                "W": (_weights(layer, n_in, n_out, self.dtype), layer.trainable)
            }
            b = _bias(layer.bias, n_out, self.dtype)
            if b is not None:
                group["b"] = (b, layer.bias.trainable)
            out.append(group)
        return out

    def initial_params(self) -> Params:
        """Trainable groups per layer, fresh copies in the spec's dtype."""
        return [
            {k: a.copy() for k, (a, trainable) in g.items() if trainable} for g in self._all_params
        ]

    def frozen_params(self) -> Params:
        """Frozen groups per layer (never differentiated, never updated)."""
        return [
            {k: a.copy() for k, (a, trainable) in g.items() if not trainable}
            for g in self._all_params
        ]

    def inputs(self) -> Array:
        """Sample inputs, shape ``(batch, n_in)``."""
        return np.array([s.input for s in self.model.samples], dtype=self.dtype)

    def targets(self) -> Array:
        """Sample targets, shape ``(batch, n_out)``."""
        return np.array([s.target for s in self.model.samples], dtype=self.dtype)

    # -- names -------------------------------------------------------------------------------
    @cached_property
    def param_names(self) -> dict[str, Location]:
        """Display name (``w5``, ``b1``) -> location in the params structure."""
        names: dict[str, Location] = {}
        for i, layer in enumerate(self.model.layers):
            for r, row in enumerate(layer.weight_names or []):
                for c, n in enumerate(row):
                    names[n] = (i, "W", (r, c))
            if layer.bias.mode == "shared" and layer.bias.name:
                names[layer.bias.name] = (i, "b", ())
            for j, n in enumerate(layer.bias.names or []):
                names[n] = (i, "b", (j,))
        return names

    @cached_property
    def unit_names(self) -> dict[str, tuple[int, int]]:
        """Neuron display name (``i1``, ``h1``, ``o2``) -> (layer, index); inputs are layer 0."""
        names: dict[str, tuple[int, int]] = {}
        for j, n in enumerate(self.model.input.names or []):
            names[n] = (0, j)
        for i, layer in enumerate(self.model.layers, start=1):
            for j, n in enumerate(layer.names or []):
                names[n] = (i, j)
        return names

    def label(self, layer: int, group: str, index: tuple[int, ...]) -> str:
        """Human label of a scalar parameter: its display name if any, else ``layer 2 W[1,0]``."""
        for name, loc in self.param_names.items():
            if loc == (layer, group, tuple(index)):
                return name
        idx = ",".join(str(i) for i in index)
        return f"layer {layer + 1} {group}[{idx}]" if idx else f"layer {layer + 1} {group}"

    def is_trainable(self, layer: int, group: str) -> bool:
        return group in self.initial_params()[layer]

    def __repr__(self) -> str:
        return f"Spec({self.name!r}, sizes={self.sizes}, path={self.path!r})"


def _weights(layer: Layer, n_in: int, n_out: int, dtype: np.dtype[Any]) -> Array:
    if layer.weights is not None:
        return np.array(layer.weights, dtype=dtype)
    assert layer.init is not None  # guaranteed by Layer._check
    rng = np.random.default_rng(layer.init.seed)
    s = layer.init.scale
    match layer.init.rule:
        case "normal":
            w = rng.normal(0.0, s, (n_out, n_in))
        case "uniform":
            w = rng.uniform(-s, s, (n_out, n_in))
        case "xavier":
            w = rng.normal(0.0, s * math.sqrt(2.0 / (n_in + n_out)), (n_out, n_in))
        case "he":
            w = rng.normal(0.0, s * math.sqrt(2.0 / n_in), (n_out, n_in))
    return np.asarray(w, dtype=dtype)


def _bias(bias: Bias, n_out: int, dtype: np.dtype[Any]) -> Array | None:
    if bias.mode == "none":
        return None
    if bias.mode == "shared":
        return np.array(0.0 if bias.value is None else bias.value, dtype=dtype)
    if bias.value is None:
        return np.zeros(n_out, dtype=dtype)
    if isinstance(bias.value, float):
        return np.full(n_out, bias.value, dtype=dtype)
    return np.array(bias.value, dtype=dtype)


# -- validation across fields ----------------------------------------------------------------
def _cross_check(m: _SpecModel) -> list[str]:
    """Problems that need more than one field: shapes, softmax placement, names, samples."""
    problems: list[str] = []
    sizes = [m.input.size, *(layer.size for layer in m.layers)]
    if m.input.names is not None and len(m.input.names) != m.input.size:
        problems.append(f"input.names: {len(m.input.names)} names for {m.input.size} inputs")
    for i, layer in enumerate(m.layers):
        at = f"layers[{i}]"
        n_in, n_out = sizes[i], sizes[i + 1]
        if layer.weights is not None:
            w = layer.weights
            if len(w) != n_out or any(len(row) != n_in for row in w):
                got = f"{len(w)}x{'/'.join(sorted({str(len(r)) for r in w})) or 0}"
                problems.append(
                    f"{at}.weights: shape {got}, expected {n_out}x{n_in} "
                    f"(one row per output neuron, one column per input)"
                )
        if layer.weight_names is not None and (
            len(layer.weight_names) != n_out or any(len(r) != n_in for r in layer.weight_names)
        ):
            problems.append(f"{at}.weight_names: expected {n_out}x{n_in} names")
        if layer.names is not None and len(layer.names) != n_out:
            problems.append(f"{at}.names: {len(layer.names)} names for {n_out} neurons")
        if layer.activation == "softmax" and i != len(m.layers) - 1:
            problems.append(f"{at}.activation: 'softmax' is allowed on the output layer only")
        b = layer.bias
        if b.mode == "none" and (b.value is not None or b.name or b.names):
            problems.append(f"{at}.bias: mode 'none' takes no value or names")
        if b.mode == "shared" and isinstance(b.value, list):
            problems.append(f"{at}.bias.value: a shared bias is one number, got a list")
        if b.mode == "per_neuron" and isinstance(b.value, list) and len(b.value) != n_out:
            problems.append(f"{at}.bias.value: {len(b.value)} values for {n_out} neurons")
        if b.names is not None and (b.mode != "per_neuron" or len(b.names) != n_out):
            problems.append(f"{at}.bias.names: needs mode 'per_neuron' and {n_out} names")
        if b.name is not None and b.mode != "shared":
            problems.append(f"{at}.bias.name: only a shared bias has one name (use 'names')")
    if m.loss == "softmax_cross_entropy" and m.layers[-1].activation != "softmax":
        problems.append(
            f"loss: 'softmax_cross_entropy' needs activation 'softmax' on the output layer, "
            f"got {m.layers[-1].activation!r}"
        )
    for s, sample in enumerate(m.samples):
        if len(sample.input) != sizes[0]:
            problems.append(f"samples[{s}].input: {len(sample.input)} values, expected {sizes[0]}")
        if len(sample.target) != sizes[-1]:
            problems.append(
                f"samples[{s}].target: {len(sample.target)} values, expected {sizes[-1]}"
            )
    seen: set[str] = set()
    all_names = [
        *(m.input.names or []),
        *(n for layer in m.layers for n in (layer.names or [])),
        *(n for layer in m.layers for row in (layer.weight_names or []) for n in row),
        *(layer.bias.name for layer in m.layers if layer.bias.name),
        *(n for layer in m.layers for n in (layer.bias.names or [])),
    ]
    for n in all_names:
        if n in seen:
            problems.append(f"names: {n!r} is used twice")
        seen.add(n)
    return problems


def _field_path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("float", "list[float]", "function-after[_numeric(), str]"):
            continue  # pydantic's union-branch tags, not part of the user's field path
        else:
            path += f".{part}" if path else str(part)
    return path


def _describe(err: dict[str, Any]) -> str:
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    if err["type"] == "literal_error":
        msg = f"must be one of {msg.split('Input should be ', 1)[-1]}"
    if err["type"] == "finite_number":
        msg = "must be a finite number (NaN and inf are not allowed)"
    value = err.get("input")
    shown = "" if isinstance(value, dict) or value is None else f" (got {value!r})"
    if err["type"] == "missing":
        shown = ""
    return f"{_field_path(err['loc'])}: {msg}{shown}"


def parse_spec(data: dict[str, Any], path: str = "<spec>") -> Spec:
    """Validate a decoded TOML table into a :class:`Spec`; raise one :class:`SpecError` line."""
    try:
        model = _SpecModel.model_validate(data)
    except ValidationError as exc:
        seen: list[str] = []
        for err in exc.errors():
            line = _describe(dict(err))
            if line not in seen:
                seen.append(line)
        raise SpecError(f"{path}: " + "; ".join(seen)) from None
    problems = _cross_check(model)
    if problems:
        raise SpecError(f"{path}: " + "; ".join(problems))
    return Spec(model, path)


def load_spec(path: str | Path) -> Spec:
    """Read and validate one TOML spec file."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpecError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise SpecError(f"{p}: is a directory, expected a .toml file") from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{p}: malformed TOML: {exc}") from None
    return parse_spec(data, str(p))


def load_specs(paths: Sequence[str | Path]) -> list[Spec]:
    """Load several specs; a directory stands for every ``*.toml`` in it, sorted."""
    files: list[Path] = []
    for path in paths:
        p = Path(path)
        files.extend(sorted(p.glob("*.toml")) if p.is_dir() else [p])
    return [load_spec(f) for f in files]


def builtin_networks_dir() -> Path:
    """The ``networks/`` folder shipped beside the package (repo checkout or installed data)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "networks", here / "networks"):
        if candidate.is_dir():
            return candidate
    raise SpecError(f"{here.parent / 'networks'}: built-in networks folder not found")


def spec_to_toml(spec: Spec) -> str:
    """Serialise a spec back to TOML (used for replaying generated counterexamples)."""
    return _dump_toml(spec.model.model_dump(exclude_none=True, exclude_defaults=False))


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _dump_toml(data: dict[str, Any]) -> str:
    lines: list[str] = []
    tables: list[tuple[str, Any]] = []
    for k, v in data.items():
        if isinstance(v, dict) or (isinstance(v, list) and v and isinstance(v[0], dict)):
            tables.append((k, v))
        elif isinstance(v, list) and not v:
            continue
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in tables:
        for item in v if isinstance(v, list) else [v]:
            lines.append("")
            lines.append(f"[[{k}]]" if isinstance(v, list) else f"[{k}]")
            lines.extend(f"{kk} = {_toml_value(vv)}" for kk, vv in item.items())
    return "\n".join(lines) + "\n"
