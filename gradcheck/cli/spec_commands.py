"""The commands about network specs themselves: ``schema`` prints the JSON Schema a spec (TOML
file) follows, and ``golden`` recomputes every number a network's document prints and judges it
on its printed digits (issue 2), as a table per network or as JSON records.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from gradcheck.cli import app, exit_statuses
from gradcheck.spec import GradcheckError, spec_json_schema

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from gradcheck.golden.judging import GoldenRecord


@app.command(epilog=exit_statuses("printed"))
@click.option("--family", is_flag=True, help="The schema of a network family file instead.")
def schema(family: bool) -> int:
    """Print the JSON Schema of a network spec (TOML file) as JSON, or of a family file."""
    from gradcheck.spec.family import family_json_schema

    click.echo(json.dumps(family_json_schema() if family else spec_json_schema(), indent=2))
    return 0


@app.command(
    epilog=exit_statuses(
        "every value has a verdict, discrepancies included (they are findings about the"
        " document, not failures: finding them is the point; the same with --scan)"
    )
)
@click.argument("specs", nargs=-1, type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of records instead.")
@click.option(
    "--scan",
    "document",
    type=click.Path(path_type=str),
    help="Propose [[documented]] entries from this document (.md, .ipynb, .tex, .txt).",
)
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(path_type=str),
    help="With --scan: the network the document is about (omitted: read it from the document).",
)
@click.option(
    "--out",
    type=click.Path(path_type=str),
    help="With --scan: where to write the proposals (default: <spec stem>.scanned.toml).",
)
def golden(
    specs: tuple[str, ...],
    as_json: bool,
    document: str | None,
    spec_path: str | None,
    out: str | None,
) -> int:
    """Recompute every number a network's document prints and judge it.

    SPECS are TOML files or folders (default: the built-in networks with documented values).
    Each value gets match, match-truncated or discrepancy (with its cause): discrepancies are
    findings about the document, not failures of the command, so it exits 0 with them.
    Piped, the table grows to 160 columns and a "where" line never wraps; --json gives
    the records.

    With --scan DOC, read the document instead, propose an entry for every number it matches
    to a quantity of --spec, write them with the spec to --out for review, and judge them.
    """
    from gradcheck.golden.judging import check_spec

    if document is not None:
        from gradcheck.cli.golden_scan import scan_command

        if specs:
            raise GradcheckError(f"{specs[0]}: with --scan, name the spec with --spec")
        return scan_command(document, spec_path, out, as_json)
    if spec_path is not None or out is not None:
        raise GradcheckError("--spec and --out go with --scan DOC")
    from gradcheck.spec import builtin_networks_dir, load_specs

    loaded = load_specs(list(specs) or [builtin_networks_dir()])
    checked = [s for s in loaded if s.documented]
    if not checked:
        paths = ", ".join(s.path for s in loaded) or ", ".join(specs)
        raise GradcheckError(f"{paths}: no [[documented]] values to check")
    records = [r for s in checked for r in check_spec(s)]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in records], indent=2))
        return 0
    print_golden_table(records)
    return 0


def print_golden_table(records: Sequence[GoldenRecord]) -> None:
    """The judged values as one table per network, then the verdict counts."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from gradcheck.golden.judging import verdict_counts

    def row(r: GoldenRecord) -> tuple[str, ...]:
        colour = {"match": "green", "match-truncated": "yellow", "discrepancy": "red"}[r.verdict]
        where = f"\n[dim]{escape(r.where)}[/]" if r.where else ""
        computed = f"{r.computed:.{r.digits + 3}f}"
        verdict = f"[{colour}]{r.verdict}[/]"
        return escape(r.quantity) + where, escape(r.documented), computed, verdict, escape(r.cause)

    counts, piped = verdict_counts(records), not Console().is_terminal
    tables = []
    for network in counts:
        table = Table(title=network, title_justify="left")
        for column in ("quantity", "printed", "computed", "verdict", "cause"):
            table.add_column(column, no_wrap=column != "cause" and (piped or column != "quantity"))
        for r in records:
            if r.network == network:
                table.add_row(*row(r))
        tables.append(table)
    console = _console(tables)
    for table in tables:
        console.print(table)
    for network, by_verdict in counts.items():
        console.print(f"{escape(network)}: " + ", ".join(f"{n} {v}" for v, n in by_verdict.items()))


PIPED_WIDTH = 160
"""The widest a table printed to a pipe or file grows (its causes wrap beyond it)."""


def _console(tables: Sequence[Table]) -> Console:
    """The terminal's console; piped (not a terminal), one as wide as the widest table needs,
    up to :data:`PIPED_WIDTH` and never narrower than the default, so that a "where" line
    (which does not wrap there) is one line and a cause wraps into long lines, not fragments."""
    from rich.console import Console

    console = Console()
    if console.is_terminal or not tables:
        return console
    measure = Console(width=100_000)
    widest = max(measure.measure(t).maximum for t in tables)
    return Console(width=max(console.width, min(widest, PIPED_WIDTH)))
