"""Recovery of a spec's hand-written ``[[documented]]`` list by ``gradcheck golden --scan``.

Target: scanning a seed document against its spec proposes at least 95% of today's entries
with the same quantity and the same printed string (the ``where`` line may differ; each of
today's entries is matched to one proposal at most). Precision: the proposals that are not in
today's list, each judged (``match``/``match-truncated`` means the print really is that
quantity's value; a discrepancy is a document error found, or a wrong reading to review).

    python benchmarks/bench_scan.py DOC SPEC [--check]

``--check`` exits 1 below the target.
"""

from __future__ import annotations

import argparse
import sys
import time

from gradcheck.golden.documents import read_document
from gradcheck.golden.judging import check_spec
from gradcheck.golden.scanning import scan_document, summary
from gradcheck.spec import load_spec, parse_spec

TARGET = 0.95


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document")
    parser.add_argument("spec")
    parser.add_argument("--check", action="store_true", help="exit 1 below the target")
    args = parser.parse_args(argv)

    spec = load_spec(args.spec)
    start = time.perf_counter()
    result = scan_document(spec, read_document(args.document))
    seconds = time.perf_counter() - start
    pool = [(p.quantity, p.number.printed, p) for p in result.proposals]
    missed = []
    for doc in spec.documented:
        hit = next((x for x in pool if x[:2] == (doc.quantity, doc.printed)), None)
        if hit is None:
            missed.append(doc)
        else:
            pool.remove(hit)
    today = len(spec.documented)
    recovered = today - len(missed)
    rate = recovered / today if today else 1.0
    print(f"{args.document}: {summary(result)} in {seconds:.1f} s")
    print(f"recovered {recovered} of {today} entries ({100 * rate:.1f}%), target {TARGET:.0%}")
    for doc in missed:
        print(f"  missed: {doc.quantity} printed {doc.printed} ({doc.where})")
    extras = [x[2] for x in pool]
    if extras:
        data = spec.model.model_dump(exclude_none=True)
        data["documented"] = [p.entry() for p in extras]
        records = check_spec(parse_spec(data, spec.path))
        right = sum(r.verdict != "discrepancy" for r in records)
        print(f"{len(extras)} proposals beyond today's list, {right} of them the quantity's value:")
        for p, r in zip(extras, records, strict=True):
            print(
                f"  {p.quantity} printed {p.number.printed} "
                f"({p.number.where}, {p.how}): {r.verdict}"
            )
    for x in result.listed:
        if x.status in ("ambiguous", "unmatched"):  # the rest are accounted for
            print(f"  {x.status}: {x.number.where} {x.number.printed} {' or '.join(x.candidates)}")
    return 1 if args.check and rate < TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
