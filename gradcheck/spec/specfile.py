"""Spec files as text: TOML read into a plain table, written back, and pydantic's errors as lines.

Reading never executes anything: :func:`read_toml` decodes UTF-8 (an editor's BOM allowed) and
parses with :mod:`tomllib`, raising one :class:`~gradcheck.errors.SpecError` naming the file.
:func:`validation_problems` turns a pydantic failure into ``field.path: problem (got value)``
lines; :func:`dump_toml` writes a table back. :mod:`gradcheck.spec.network` builds on these.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from gradcheck.errors import GradcheckError, SpecError, show_value
from gradcheck.layers import KINDS
from gradcheck.spec.schema import SpecModel

__all__ = [
    "builtin_networks_dir",
    "dump_toml",
    "read_toml",
    "toml_files",
    "validation_problems",
    "write_text_atomically",
]


# -- reading ---------------------------------------------------------------------------------
def read_toml(p: Path) -> dict[str, Any]:
    """The table in one TOML file; missing, unreadable, non-UTF-8 or malformed is a SpecError."""
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
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{p}: malformed TOML: {exc}") from None


def toml_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files named; a directory stands for every ``*.toml`` in it, sorted."""
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
    return files


def builtin_networks_dir() -> Path:
    """The ``networks/`` folder shipped beside the package (repo checkout or installed data)."""
    package = Path(__file__).resolve().parent.parent  # gradcheck/
    for candidate in (package.parent / "networks", package / "networks"):
        if candidate.is_dir():
            return candidate
    raise SpecError(f"{package.parent / 'networks'}: built-in networks folder not found")


# -- pydantic's errors as one line each ------------------------------------------------------
def validation_problems(
    exc: ValidationError, data: dict[str, Any], model: type[BaseModel] = SpecModel
) -> list[str]:
    """Each pydantic error of validating ``data`` as ``model`` as one ``field.path: problem
    (got value)`` line, once, keeping only the union branch that matches the input."""
    lines: list[str] = []
    for err in exc.errors():
        line = _describe(err, model)
        if _relevant(err, data) and line not in lines:
            lines.append(line)
    return lines


# Bias.value is `float | list[float]`, a family's ranges `int | list[int]`; pydantic reports a
# failure under both branch tags.
_UNION_TAGS = frozenset({"float", "list[float]", "int", "list[int]"})

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
    for n, part in enumerate(loc):
        if not _is_kind_tag(loc, n):
            data = data[part]
    return data


def _relevant(err: Mapping[str, Any], data: dict[str, Any]) -> bool:
    """Keep a union error only from the branch matching the input: an array or a number."""
    k = _union_tag_at(err)
    if k is None:
        return True
    node = _lookup(data, err["loc"][:k])
    return str(err["loc"][k]).startswith("list[") == isinstance(node, list)


def _is_kind_tag(loc: Sequence[int | str], n: int) -> bool:
    """``loc[n]`` is the tag of a layer table's kind (``('layers', 0, 'conv2d', ...)``)."""
    return n >= 2 and loc[n - 2] == "layers" and isinstance(loc[n - 1], int) and loc[n] in KINDS


def _field_path(err: Mapping[str, Any]) -> str:
    """``('layers', 0, 'weights', 1, 0)`` -> ``layers[0].weights[1][0]``, union tags dropped."""
    k = _union_tag_at(err)
    path = ""
    for n, part in enumerate(err["loc"]):
        if n == k or _is_kind_tag(err["loc"], n):
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _describe(err: Mapping[str, Any], model: type[BaseModel]) -> str:
    """One ``field.path: problem (got VALUE)`` clause for a pydantic error."""
    kind, ctx = err["type"], err.get("ctx") or {}
    msg = _MESSAGES.get(kind)
    if kind == "extra_forbidden":
        allowed = _fields_at(err["loc"], model)
        msg = f"unknown field, expected one of {', '.join(allowed)}" if allowed else msg
    elif kind == "union_tag_invalid":  # a layer table's kind that is not declared
        names = " or ".join(", ".join(repr(k) for k in KINDS).rsplit(", ", 1))
        return f"{_field_path(err)}.kind: must be one of {names} (got {ctx.get('tag')!r})"
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
    got = "" if kind == "missing" or isinstance(value, dict) else f" (got {show_value(value)})"
    return f"{_field_path(err)}: {msg}{got}"


def _fields_at(loc: Sequence[int | str], model: type[BaseModel]) -> list[str]:
    """Field names allowed at the table holding ``loc``'s last key (for 'unknown field')."""
    for n, part in enumerate(loc[:-1]):
        if isinstance(part, int):
            continue
        if _is_kind_tag(loc, n):
            model = KINDS[str(part)].table
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


# -- writing ---------------------------------------------------------------------------------
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


def dump_toml(data: dict[str, Any]) -> str:
    """A TOML document from a plain table: scalars first, then each sub-table or array of tables."""
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


def write_text_atomically(path: Path, text: str, what: str) -> None:
    """Write ``text`` (a spec's TOML) to ``path`` through a temporary file in its folder (created
    with its parents if missing), renamed into place: a crash leaves no half file. An OS error is
    one line naming the file and what could not be done (``what``: ``"write the scanned spec"``)."""
    tmp = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only
        os.replace(tmp, path)
        tmp = ""
    except OSError as exc:
        raise GradcheckError(f"{path}: cannot {what} ({exc.strerror})") from None
    finally:  # not renamed: not to be left behind (an OS error, a crash, Ctrl-C)
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
