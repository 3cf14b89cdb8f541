"""Documents read as numbered lines of text, whatever their format, for the scanner.

Markdown is parsed with markdown-it-py (fenced and indented code kept apart, images and link
targets dropped), Jupyter notebooks with nbformat (markdown cells as Markdown, code cells and
their text outputs as code), LaTeX and plain text line by line. Each :class:`DocLine` keeps the
line number a reader finds the text at (``where``: ``line 12``, or ``cell 3 line 2`` in a
notebook); LaTeX markup is reduced later, by :mod:`gradcheck.golden.scan`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gradcheck.errors import GradcheckError

__all__ = ["FORMATS", "DocLine", "read_document", "read_text"]

FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".ipynb": "notebook",
    ".tex": "latex",
    ".latex": "latex",
    ".txt": "text",
    ".text": "text",
}
"""File suffixes the scanner reads, and as what."""


@dataclass(frozen=True)
class DocLine:
    """One line of a document: ``number`` orders lines, ``where`` names it for a reader;
    ``code`` marks program text (numbers there are read from comments and assignments)."""

    number: int
    where: str
    text: str
    code: bool = False


_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_AUTOLINK = re.compile(r"<(?:https?|ftp|mailto):[^>]*>|https?://\S+")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_FENCE = re.compile(r"^\s*(```|~~~)")


def strip_inline_markdown(text: str) -> str:
    """Images, link targets, URLs, HTML tags, bold markers and backticks removed."""
    text = _IMAGE.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(" ", text)
    text = _HTML_TAG.sub(" ", text)
    return text.replace("**", " ").replace("__", " ").replace("`", " ")


def read_document(path: str | Path) -> list[DocLine]:
    """The lines of a Markdown, notebook, LaTeX or plain-text file; one-line errors."""
    p = Path(path)
    kind = FORMATS.get(p.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(FORMATS))
        raise GradcheckError(f"{p}: unknown document type {p.suffix or '(none)'!r}; one of {known}")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise GradcheckError(f"{p}: no such document") from None
    except IsADirectoryError:
        raise GradcheckError(f"{p}: is a directory, expected a document") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GradcheckError(f"{p}: cannot read the document ({exc})") from None
    return read_text(text, kind, str(p))


def read_text(text: str, kind: str, name: str = "document") -> list[DocLine]:
    """``text`` read as ``kind`` (``markdown``, ``notebook``, ``latex`` or ``text``)."""
    if kind == "markdown":
        return _markdown(text)
    if kind == "notebook":
        return _notebook(text, name)
    if kind == "latex":
        return [
            DocLine(i, f"line {i}", re.sub(r"(?<!\\)%.*", "", line))
            for i, line in enumerate(text.splitlines(), 1)
        ]
    return _plain(text)


def _plain(text: str) -> list[DocLine]:
    """Plain text; Markdown-style fences mark code, inline markup is stripped."""
    out, code = [], False
    for i, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            code = not code
            continue
        out.append(DocLine(i, f"line {i}", line if code else strip_inline_markdown(line), code))
    return out


def _markdown(text: str, prefix: str = "", first: int = 1) -> list[DocLine]:
    from markdown_it import MarkdownIt

    source = text.splitlines()
    found: dict[int, DocLine] = {}
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        if token.map is None:
            continue
        start = token.map[0]
        if token.type in ("fence", "code_block"):
            offset = 1 if token.type == "fence" else 0
            for j, line in enumerate(token.content.splitlines()):
                n = start + offset + j
                found[n] = DocLine(n + first, f"{prefix}line {n + 1}", line, code=True)
        elif token.type == "inline":
            for j, line in enumerate(token.content.splitlines()):
                n = start + j
                text = strip_inline_markdown(line)
                if n in found:  # a table's row: its cells, one inline token each, in order
                    text = f"{found[n].text} | {text}"
                found[n] = DocLine(n + first, f"{prefix}line {n + 1}", text)
        elif token.type == "html_block":
            for n in range(token.map[0], token.map[1]):
                line = _HTML_TAG.sub(" ", source[n]) if n < len(source) else ""
                found[n] = DocLine(n + first, f"{prefix}line {n + 1}", line)
    return [found[n] for n in sorted(found)]


def _notebook(text: str, name: str) -> list[DocLine]:
    import nbformat

    invalid = (ValueError, TypeError, AttributeError, KeyError, nbformat.ValidationError)
    try:
        nb = nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
    except invalid as exc:  # what nbformat raises on text that is no notebook
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GradcheckError(f"{name}: not a readable Jupyter notebook ({why})") from None
    out: list[DocLine] = []
    for c, cell in enumerate(nb.cells, 1):
        first = c * 100_000  # orders lines across cells; ``where`` says cell and line
        if cell.cell_type == "markdown":
            out.extend(_markdown(cell.source, f"cell {c} ", first))
        elif cell.cell_type == "code":
            for j, line in enumerate(cell.source.splitlines()):
                out.append(DocLine(first + j, f"cell {c} line {j + 1}", line, code=True))
            for j, line in enumerate(_outputs(cell)):
                out.append(DocLine(first + 50_000 + j, f"cell {c} output line {j + 1}", line))
    return out


def _outputs(cell: object) -> list[str]:
    """The text a code cell printed or returned, line by line."""
    lines: list[str] = []
    for output in getattr(cell, "outputs", []):
        if output.get("output_type") == "stream":
            lines.extend(str(output.get("text", "")).splitlines())
        elif output.get("output_type") in ("execute_result", "display_data"):
            lines.extend(str(output.get("data", {}).get("text/plain", "")).splitlines())
    return lines
