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
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
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
    "spec_json_schema",
    "spec_to_toml",
]

Array = NDArray[np.floating[Any]]
Params = list[dict[str, Array]]

Activation = Literal["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax"]
Loss = Literal["half_sse", "mse", "softmax_cross_entropy"]
ACTIVATIONS: tuple[str, ...] = get_args(Activation)
LOSSES: tuple[str, ...] = get_args(Loss)
MAX_PARAMS = 10_000_000
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class GradcheckError(Exception):
    """Base of every error gradcheck raises on purpose; the CLI prints ``str(err)`` as one line."""


class SpecError(GradcheckError, ValueError):
    """A spec or its input is invalid; ``str(err)`` is one line naming file, field and value."""


class _Model(BaseModel):
    # strict: TOML already has types, so "0.5" or true is a mistake, not a number to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Init(_Model):
    """Initialise a weight matrix from a rule: ``W ~ scale * D(seed)``.

    ``normal``: N(0, scale^2); ``uniform``: U(-scale, scale); ``xavier``/``he``: normal with
    std ``scale * sqrt(2 / (fan_in + fan_out))`` / ``scale * sqrt(2 / fan_in)``.
    """

    rule: Literal["normal", "uniform", "xavier", "he"]
    scale: FiniteFloat = Field(default=1.0, gt=0)
    seed: int = Field(default=0, ge=0)


class Bias(_Model):
    """A layer's bias: ``none``, ``shared`` (one scalar for the layer, as in the sigmoid 2-2-2
    seed) or ``per_neuron`` (the default once a bias table is given); frozen if not trainable."""

    mode: Literal["none", "shared", "per_neuron"] = "per_neuron"
    value: FiniteFloat | list[FiniteFloat] | None = None
    trainable: bool = True
    name: str | None = None
    names: list[str] | None = None


class Layer(_Model):
    """One layer: ``out = activation(W @ x + b)``; ``W`` as a matrix (row = output neuron) or an
    init rule; ``slope`` for leaky_relu only; ``trainable = false`` freezes ``W``."""

    size: int = Field(ge=1, le=100_000)
    activation: Activation = "identity"
    slope: FiniteFloat | None = Field(default=None, ge=0)
    weights: list[list[FiniteFloat]] | None = None
    init: Init | None = None
    trainable: bool = True
    weight_names: list[list[str]] | None = None
    names: list[str] | None = None
    bias: Bias = Bias(mode="none")


class InputLayer(_Model):
    """The input layer: its width and optional unit names (``i1``, ``i2``)."""

    size: int = Field(ge=1, le=100_000)
    names: list[str] | None = None


class Optimizer(_Model):
    """Plain full-batch SGD: ``p <- p - learning_rate * dE/dp``."""

    name: Literal["sgd"] = "sgd"
    learning_rate: FiniteFloat = Field(gt=0)


class Sample(_Model):
    """One training sample: an input vector and its target vector."""

    input: list[FiniteFloat]
    target: list[FiniteFloat]


class Documented(_Model):
    """A number a document claims for this network, kept exactly as printed.

    ``quantity`` names what it claims to be (see :mod:`gradcheck.golden` for the grammar),
    ``printed`` is the string as the document prints it, ``where`` locates it in the document,
    ``expression`` is the document's own arithmetic for it, if it shows any: numbers,
    ``+ - * /``, ``**`` with a small integer exponent, and parentheses (checked by the golden
    command, which evaluates it exactly and never with ``eval``).
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
    """A gradcheck network spec (a TOML file): layers, loss, optimizer, samples."""

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
    model: _SpecModel
    path: str

    def __init__(self, model: _SpecModel, path: str) -> None:
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "path", path)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Spec is immutable; cannot set {name!r}")

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
            for array, _ in group.values():
                array.flags.writeable = False  # the spec's own copy; callers get fresh ones
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
    sizes = [m.input.size, *(layer.size for layer in m.layers)]
    problems: list[str] = []
    if m.input.names is not None and len(m.input.names) != m.input.size:
        problems.append(
            f"input.names: expected {m.input.size} names, one per input (got {len(m.input.names)})"
        )
    for i, layer in enumerate(m.layers):
        problems.extend(_layer_problems(layer, f"layers[{i}]", sizes[i], sizes[i + 1]))
        if layer.activation == "softmax" and i != len(m.layers) - 1:
            problems.append(
                f"layers[{i}].activation: softmax is allowed on the output layer only "
                f"(got 'softmax' on layer {i + 1} of {len(m.layers)})"
            )
    if m.loss == "softmax_cross_entropy" and m.layers[-1].activation != "softmax":
        problems.append(
            "loss: softmax_cross_entropy needs activation 'softmax' on the output layer "
            f"(got {m.layers[-1].activation!r})"
        )
    for s, sample in enumerate(m.samples):
        for field, values, n, per in (
            ("input", sample.input, sizes[0], "input"),
            ("target", sample.target, sizes[-1], "output"),
        ):
            if len(values) != n:
                problems.append(
                    f"samples[{s}].{field}: expected {n} values, one per {per} (got {len(values)})"
                )
    problems.extend(_duplicate_names(m))
    n_params = sum(a * (b + 1) for a, b in zip(sizes[1:], sizes[:-1], strict=False))
    if n_params > MAX_PARAMS:
        problems.append(
            f"layers: at most {MAX_PARAMS} parameters per network (got about {n_params})"
        )
    if m.dtype == "float32":
        limit = float(np.finfo(np.float32).max)
        problems.extend(
            f"{path}: outside the float32 range of +-{limit:.4g} (got {v!r})"
            for path, v in _numbers(m)
            if abs(v) > limit
        )
    return problems


def _layer_problems(layer: Layer, at: str, n_in: int, n_out: int) -> list[str]:
    """Shape, slope and bias problems of one layer mapping ``n_in`` inputs to ``n_out``."""
    problems: list[str] = []
    if (layer.weights is None) == (layer.init is None):
        both = "both" if layer.weights is not None else "neither"
        problems.append(
            f"{at}: give exactly one of 'weights' (a matrix) or 'init' (a rule) (got {both})"
        )
    for field, matrix in (("weights", layer.weights), ("weight_names", layer.weight_names)):
        if matrix is not None and (len(matrix) != n_out or any(len(r) != n_in for r in matrix)):
            problems.append(
                f"{at}.{field}: expected shape {n_out}x{n_in}, one row per output neuron and "
                f"one column per input (got {_shape(matrix)})"
            )
    if layer.names is not None and len(layer.names) != n_out:
        problems.append(
            f"{at}.names: expected {n_out} names, one per neuron (got {len(layer.names)})"
        )
    if layer.activation == "leaky_relu" and layer.slope is None:
        problems.append(f"{at}.slope: leaky_relu needs a slope, e.g. slope = 0.01")
    if layer.activation != "leaky_relu" and layer.slope is not None:
        problems.append(
            f"{at}.slope: only leaky_relu takes a slope, this layer is {layer.activation} "
            f"(got {layer.slope!r})"
        )
    b = layer.bias
    if b.mode == "none":
        for field in ("value", "name", "names"):
            if getattr(b, field) is not None:
                problems.append(
                    f"{at}.bias.{field}: mode 'none' takes no {field} (got {getattr(b, field)!r})"
                )
        return problems
    if b.mode == "shared" and isinstance(b.value, list):
        problems.append(f"{at}.bias.value: a shared bias is one number (got {_show(b.value)})")
    if b.mode == "per_neuron" and isinstance(b.value, list) and len(b.value) != n_out:
        problems.append(
            f"{at}.bias.value: expected {n_out} values, one per neuron (got {len(b.value)})"
        )
    if b.name is not None and b.mode != "shared":
        problems.append(
            f"{at}.bias.name: only a shared bias has one name, use 'names' (got {b.name!r})"
        )
    if b.names is not None and b.mode != "per_neuron":
        problems.append(
            f"{at}.bias.names: only a per_neuron bias has names, use 'name' (got {_show(b.names)})"
        )
    elif b.names is not None and len(b.names) != n_out:
        problems.append(
            f"{at}.bias.names: expected {n_out} names, one per neuron (got {len(b.names)})"
        )
    return problems


def _shape(matrix: Sequence[Sequence[object]]) -> str:
    lengths = [len(row) for row in matrix]
    if len(set(lengths)) <= 1:
        return f"{len(matrix)}x{lengths[0] if lengths else 0}"
    return f"{len(matrix)} rows of lengths {lengths}"


def _duplicate_names(m: _SpecModel) -> list[str]:
    """Every display name (units and scalar parameters) must be unique across the spec."""
    named: list[tuple[str, str]] = [
        (f"input.names[{j}]", n) for j, n in enumerate(m.input.names or [])
    ]
    for i, layer in enumerate(m.layers):
        at = f"layers[{i}]"
        named += [(f"{at}.names[{j}]", n) for j, n in enumerate(layer.names or [])]
        named += [
            (f"{at}.weight_names[{r}][{c}]", n)
            for r, row in enumerate(layer.weight_names or [])
            for c, n in enumerate(row)
        ]
        if layer.bias.name is not None:
            named.append((f"{at}.bias.name", layer.bias.name))
        named += [(f"{at}.bias.names[{j}]", n) for j, n in enumerate(layer.bias.names or [])]
    first: dict[str, str] = {}
    problems: list[str] = []
    for path, name in named:
        if name in first:
            problems.append(f"{path}: name already used at {first[name]} (got {name!r})")
        else:
            first[name] = path
    return problems


def _numbers(m: _SpecModel) -> Iterator[tuple[str, float]]:
    """Every real number in the spec with its field path."""
    yield "optimizer.learning_rate", m.optimizer.learning_rate
    for i, layer in enumerate(m.layers):
        at = f"layers[{i}]"
        for r, row in enumerate(layer.weights or []):
            yield from ((f"{at}.weights[{r}][{c}]", v) for c, v in enumerate(row))
        if layer.init is not None:
            yield f"{at}.init.scale", layer.init.scale
        if layer.slope is not None:
            yield f"{at}.slope", layer.slope
        value = layer.bias.value
        if isinstance(value, list):
            yield from ((f"{at}.bias.value[{j}]", v) for j, v in enumerate(value))
        elif value is not None:
            yield f"{at}.bias.value", value
    for s, sample in enumerate(m.samples):
        yield from ((f"samples[{s}].input[{j}]", v) for j, v in enumerate(sample.input))
        yield from ((f"samples[{s}].target[{j}]", v) for j, v in enumerate(sample.target))


# -- turning pydantic's errors into one line ---------------------------------------------------
# Bias.value is `float | list[float]`; pydantic reports a failure under both branch tags.
_UNION_TAGS = frozenset({"float", "list[float]"})

_MESSAGES = {
    "extra_forbidden": "unknown field",
    "missing": "required field is missing",
    "finite_number": "must be a finite number, not NaN or inf",
    "float_type": "must be a number",
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be an array",
    "model_type": "must be a table",
    "dict_type": "must be a table",
    "string_too_short": "must not be empty",
}


def _union_tag_at(err: Mapping[str, Any]) -> int | None:
    """Position of a union-branch tag in the error's location, if any."""
    loc = err["loc"]
    for k, part in enumerate(loc):
        is_unknown_key = k == len(loc) - 1 and err["type"] == "extra_forbidden"
        if part in _UNION_TAGS and not is_unknown_key:
            return k
    return None


def _lookup(data: Any, loc: Sequence[int | str]) -> Any:
    for part in loc:
        data = data[part]
    return data


def _relevant(err: Mapping[str, Any], data: dict[str, Any]) -> bool:
    """Keep a union error only from the branch matching the input: an array or a number."""
    k = _union_tag_at(err)
    if k is None:
        return True
    node = _lookup(data, err["loc"][:k])
    return str(err["loc"][k]).startswith("list[") == isinstance(node, list)


def _field_path(err: Mapping[str, Any]) -> str:
    """``('layers', 0, 'weights', 1, 0)`` -> ``layers[0].weights[1][0]``, union tags dropped."""
    k = _union_tag_at(err)
    path = ""
    for n, part in enumerate(err["loc"]):
        if n == k:
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _show(value: object) -> str:
    """A value as the user wrote it (TOML booleans lower-case), cut to 60 characters."""
    text = str(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(err: Mapping[str, Any]) -> str:
    """One ``field.path: problem (got VALUE)`` clause for a pydantic error."""
    kind, ctx = err["type"], err.get("ctx") or {}
    msg = _MESSAGES.get(kind)
    if kind == "extra_forbidden":
        allowed = _fields_at(err["loc"])
        msg = f"unknown field, expected one of {', '.join(allowed)}" if allowed else msg
    elif kind == "literal_error":
        expected = str(ctx["expected"])
        msg = f"must be one of {expected}" if " or " in expected else f"must be {expected}"
    elif kind == "too_short":
        msg = f"must have at least {ctx['min_length']} item(s)"
    elif kind in ("greater_than", "greater_than_equal", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than_equal": "<="}[kind]
        limit = ctx.get("gt", ctx.get("ge", ctx.get("le")))
        msg = f"must be {op} {limit:g}"
    elif msg is None:
        msg = str(err["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")
    value = err.get("input")
    got = "" if kind == "missing" or isinstance(value, dict) else f" (got {_show(value)})"
    return f"{_field_path(err)}: {msg}{got}"


def _fields_at(loc: Sequence[int | str]) -> list[str]:
    """Field names allowed at the table holding ``loc``'s last key (for 'unknown field')."""
    model: type[BaseModel] = _SpecModel
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        sub = _model_in(field.annotation) if field is not None else None
        if sub is None:
            return []
        model = sub
    return sorted(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``X``, ``list[X]`` or ``X | None``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def parse_spec(data: dict[str, Any], path: str = "<spec>") -> Spec:
    """Validate a decoded TOML table into a :class:`Spec`.

    Raises one :class:`SpecError` listing every problem as ``path: field.path: problem (got
    value)``, joined by ``"; "``; cross-field problems are checked once each field is valid.
    """
    try:
        model = _SpecModel.model_validate(data)
    except ValidationError as exc:
        lines: list[str] = []
        for err in exc.errors():
            line = _describe(err)
            if _relevant(err, data) and line not in lines:
                lines.append(line)
        raise SpecError(f"{path}: " + "; ".join(lines)) from None
    problems = _cross_check(model)
    if problems:
        raise SpecError(f"{path}: " + "; ".join(problems))
    return Spec(model, path)


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file (what ``gradcheck schema`` prints)."""
    return _SpecModel.model_json_schema()


def load_spec(path: str | Path) -> Spec:
    """Read and validate one TOML spec file; never executes anything in it."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8-sig")  # an editor's BOM is not an error
    except FileNotFoundError:
        raise SpecError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise SpecError(f"{p}: is a directory, expected a .toml file") from None
    except OSError as exc:
        raise SpecError(f"{p}: cannot read the file ({exc.strerror})") from None
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
        if p.is_dir():
            found = sorted(p.glob("*.toml"))
            if not found:
                raise SpecError(f"{p}: no .toml files in this directory")
            files.extend(found)
        else:
            files.append(p)
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


# TOML basic strings must escape quote, backslash and every control character but tab.
_TOML_ESCAPES = {
    **{chr(c): f"\\u{c:04x}" for c in [*range(0x20), 0x7F] if c != 0x09},
    '"': '\\"',
    "\\": "\\\\",
}


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + "".join(_TOML_ESCAPES.get(ch, ch) for ch in v) + '"'
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
