"""``gradcheck golden --scan DOC [--spec SPEC] [--out FILE]``: propose a document's
``[[documented]]`` entries, write them beside the spec for review, then judge them.

Without ``--spec`` the network is read from the document when it states it plainly
(:func:`gradcheck.golden.scan_network.infer_network`); the proposals go to ``--out``, by default
``<spec stem>.scanned.toml`` beside the spec (``<document stem>.scanned.toml`` beside the
document without one). It returns 0 once every proposal is judged, discrepancies included:
finding a document's errors is the point; a document with nothing to judge is bad input, and
one whose numbers mostly match nothing is said to be (the spec may not be its network).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from gradcheck.spec import GradcheckError


def scan_command(document: str, spec_path: str | None, out: str | None, as_json: bool) -> int:
    """Scan, write, judge and print; every bad input is one :class:`GradcheckError` line."""
    from gradcheck.cli.spec_commands import print_golden_table
    from gradcheck.golden.documents import read_document
    from gradcheck.golden.judging import check_spec
    from gradcheck.golden.scan_network import infer_network
    from gradcheck.golden.scanning import scan_document, scanned_toml, summary, write_atomically
    from gradcheck.spec import load_spec, parse_spec

    lines = read_document(document)
    if spec_path is not None:
        spec = load_spec(spec_path)
        default = Path(spec_path).with_name(f"{Path(spec_path).stem}.scanned.toml")
    else:
        spec = parse_spec(infer_network(lines, Path(document).name), f"{document} (read)")
        default = Path(document).with_name(f"{Path(document).stem}.scanned.toml")
    target = Path(out) if out is not None else default
    if target.is_dir():
        raise GradcheckError(f"{target}: is a directory, expected the file to write")
    if not target.parent.is_dir():
        raise GradcheckError(f"{target}: its folder {target.parent} does not exist")
    result = scan_document(spec, lines)
    if not result.proposals:  # as golden on a spec without [[documented]] values; nothing written
        raise GradcheckError(
            f"{document}: nothing to judge: {summary(result)} (no number proposed as a quantity "
            f"of {spec.name})"
        )
    write_atomically(target, scanned_toml(spec, result, document))
    unmatched = result.count("unmatched")
    if unmatched > len(result.found) / 2:  # on stderr: --json stays one JSON document
        click.echo(
            f"note: {unmatched} of {len(result.found)} numbers match no quantity of {spec.name}:"
            " is it the document's network (its weights, inputs, loss)?",
            err=True,
        )
    records = check_spec(load_spec(target))
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in records], indent=2))
        return 0
    print_golden_table(records)
    click.echo(f"{document}: {summary(result)}; written to {target}")
    return 0
