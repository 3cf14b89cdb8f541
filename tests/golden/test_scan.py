"""``gradcheck golden --scan``: documents of our own (Markdown, a notebook, LaTeX, plain text)
about the seed networks scanned into proposed ``[[documented]]`` entries: what is proposed,
where, with which arithmetic; rounding and truncation; ambiguity listed, not guessed; wrong
prints proposed and then judged discrepancies; the command's files and one-line errors."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nbformat
import pytest
from helpers import RunCli, assert_one_error_line, seed_path

from gradcheck.cli.spec_commands import PIPED_WIDTH
from gradcheck.golden.documents import read_document, read_text
from gradcheck.golden.judging import check_spec
from gradcheck.golden.proposals import ScanResult
from gradcheck.golden.scan import numbers, plain_math, to_expression
from gradcheck.golden.scan_network import infer_network
from gradcheck.golden.scanning import (
    BUCKETS,
    scan_document,
    scanned_toml,
    summary,
    write_atomically,
)
from gradcheck.spec import GradcheckError, Spec, SpecError, parse_spec

MARKDOWN = """# Our own walk through the sigmoid network

We push the two inputs through the first layer.

$$net_{h1} = 0.15 \\cdot 0.05 + 0.2 \\cdot 0.1 + 0.35 \\cdot 1 = 0.3775$$

After the logistic function the hidden output is $out_{h1} = 0.593269992$.

$$net_{o1} = 0.4 \\times 0.59327 + 0.45 \\times 0.596884378 + 0.6 = 1.105905967$$

The slope for the fifth weight: $\\frac{\\partial E_{total}}{\\partial w_5} = 0.082167041$.

$$w_5^+ = 0.4 - 0.5 \\cdot 0.082167041 = 0.35891648$$

Reusing it, $twice_{h1} = 0.59327 \\cdot 2$, does not count twice.

```python
learning_rate = 0.5  # chosen by hand
```
"""


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of ``text`` holding ``fragment`` (first one)."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def scan(spec: Spec, text: str, kind: str) -> ScanResult:
    return scan_document(spec, read_text(text, kind))


def proposed(result: ScanResult) -> list[tuple[str, str, str]]:
    """(quantity, printed, where line) of every proposal."""
    return [(p.quantity, p.number.printed, p.number.where) for p in result.proposals]


@pytest.fixture(scope="module")
def markdown_scan(sigmoid_seed: Spec) -> ScanResult:
    return scan(sigmoid_seed, MARKDOWN, "markdown")


def test_markdown_results_and_first_printed_operands_are_proposed(
    markdown_scan: ScanResult,
) -> None:
    at = lambda fragment: f"line {line_of(MARKDOWN, fragment)}"  # noqa: E731
    assert proposed(markdown_scan) == [
        ("net:h1", "0.3775", at("net_{h1}")),
        ("out:h1", "0.593269992", at("out_{h1}")),
        ("out:h1", "0.59327", at("net_{o1}")),
        ("out:h2", "0.596884378", at("net_{o1}")),
        ("net:o1", "1.105905967", at("net_{o1}")),
        ("grad:w5", "0.082167041", at("partial w_5")),
        ("updated:w5", "0.35891648", at("w_5^+")),
    ]


def test_the_lines_arithmetic_becomes_the_expression(markdown_scan: ScanResult) -> None:
    entries = {p.quantity: p.entry() for p in markdown_scan.proposals}
    assert entries["net:h1"]["expression"] == "0.15 * 0.05 + 0.2 * 0.1 + 0.35 * 1"
    assert entries["updated:w5"]["expression"] == "0.4 - 0.5 * 0.082167041"
    assert "expression" not in entries["grad:w5"]


def test_given_constants_are_not_proposed(markdown_scan: ScanResult) -> None:
    given = [x for x in markdown_scan.listed if x.status == "given"]
    assert ("0.5", ("learning rate",)) in [(x.number.printed, x.candidates) for x in given]
    assert all(p.quantity.split(":")[0] != "param" for p in markdown_scan.proposals)


@pytest.mark.parametrize(
    ("printed", "unit", "verdict"),
    [("0.5933", "h1", "match"), ("0.5968", "h2", "match-truncated")],
)
def test_rounded_and_truncated_prints_match_and_judge_so(
    sigmoid_seed: Spec, printed: str, unit: str, verdict: str
) -> None:
    result = scan(sigmoid_seed, f"The output out_{unit} = {printed} here.\n", "text")
    assert proposed(result) == [(f"out:{unit}", printed, "line 1")]
    assert result.proposals[0].how == "value"
    assert _judged(sigmoid_seed, result) == [verdict]


def test_a_wrong_print_near_its_label_is_proposed_and_judged_a_discrepancy(
    sigmoid_seed: Spec,
) -> None:
    text = "Then $\\frac{\\partial E_{total}}{\\partial w_6} = 0.08366$ by our count.\n"
    result = scan(sigmoid_seed, text, "latex")
    assert [(p.quantity, p.how) for p in result.proposals] == [("grad:w6", "near")]
    assert _judged(sigmoid_seed, result) == ["discrepancy"]


def test_a_wrong_print_far_from_everything_is_listed_unmatched(sigmoid_seed: Spec) -> None:
    result = scan(sigmoid_seed, "We found dE/dw6 = 0.9271 at first.\n", "text")
    assert not result.proposals
    assert [(x.status, x.number.printed) for x in result.listed] == [("unmatched", "0.9271")]


def test_a_number_with_two_readings_is_listed_not_guessed(sigmoid_seed: Spec) -> None:
    text = "The value we get is x = 0.59.\nAnd then out_h1 = 0.59.\nAlso keep 0.5 in mind.\n"
    result = scan(sigmoid_seed, text, "text")
    ambiguous = {
        x.number.where: set(x.candidates) for x in result.listed if x.status == "ambiguous"
    }
    assert ambiguous["line 1"] >= {"out:h1", "out:h2"}
    assert ambiguous["line 3"] >= {"param:w7", "learning rate"}
    assert proposed(result) == [("out:h1", "0.59", "line 2")]


def test_latex_display_math_and_continued_lines(sigmoid_seed: Spec) -> None:
    text = (
        "\\begin{document}\n"
        "% a comment that prints 0.75136507 is not read\n"
        "\\[ E_{o_1} = \\frac{1}{2}(0.01 - 0.75136507)^2 = 0.274811083 \\]\n"
        "\\begin{align}\n"
        "\\frac{\\partial out_{o_1}}{\\partial net_{o_1}} &= 0.75136507 (1 - 0.75136507) \\\\\n"
        " &= 0.186815602\n"
        "\\end{align}\n"
    )
    result = scan(sigmoid_seed, text, "latex")
    entries = [p.entry() for p in result.proposals]
    assert [(e["quantity"], e["where"].split(":")[0]) for e in entries] == [
        ("out:o1", "line 3"),
        ("loss:o1", "line 3"),
        ("dout_dnet:o1", "line 6"),
    ]
    assert entries[1]["expression"] == "((1)/(2)) * (0.01 - 0.75136507)^2"
    assert entries[2]["expression"] == "0.75136507 * (1 - 0.75136507)"
    assert _judged(sigmoid_seed, result) == ["match", "match", "match"]


def test_a_notebook_is_read_cell_by_cell_with_outputs(tmp_path: Path, sigmoid_seed: Spec) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("The total error is $E_{total} = 0.298371109$."),
        nbformat.v4.new_code_cell("print(out_o1)  # 0.75136507"),
    ]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="out_o2 = 0.772928465\n")]
    path = tmp_path / "walk.ipynb"
    nbformat.write(nb, path)
    result = scan_document(sigmoid_seed, read_document(path))
    assert proposed(result) == [
        ("loss", "0.298371109", "cell 1 line 1"),
        ("out:o1", "0.75136507", "cell 2 line 1"),
        ("out:o2", "0.772928465", "cell 2 output line 1"),
    ]


def test_a_copied_print_under_a_siblings_label_is_proposed_as_the_label(
    sigmoid_seed: Spec, markdown_scan: ScanResult
) -> None:
    grad_w5 = next(p.number.printed for p in markdown_scan.proposals if p.quantity == "grad:w5")
    result = scan(sigmoid_seed, f"$\\frac{{\\partial E}}{{\\partial w_6}} = {grad_w5}$\n", "latex")
    assert [(p.quantity, p.how) for p in result.proposals] == [("grad:w6", "copy")]


def test_a_given_constant_stated_wrong_by_name_is_proposed_as_param(sigmoid_seed: Spec) -> None:
    text = "$\\frac{\\partial net_{o2}}{\\partial out_{h1}} = w_8 = 0.5$\n"
    result = scan(sigmoid_seed, text, "latex")
    assert [(p.quantity, p.how) for p in result.proposals] == [
        ("dnet_dout:h1->o2", "value"),
        ("param:w8", "stated"),
    ]
    assert _judged(sigmoid_seed, result) == ["match", "discrepancy"]


def test_latex_is_reduced_and_arithmetic_is_parsed_never_run() -> None:
    assert "((∂ E_total)/(∂ w_5))" in plain_math("\\frac{\\partial E_{total}}{\\partial w_5}")
    assert to_expression(" 0.75 (1 - 0.75) ") == "0.75 * (1 - 0.75)"
    assert to_expression("__import__('os').system('x') + 1.5") is None
    assert to_expression("-0.786") is None
    kinds = [n.role for n in numbers(read_text("x = 0.2 * 0.5 = 0.1; see 0.7\n", "text"))]
    assert kinds == ["operand", "operand", "result", "mention"]
    printed = numbers(read_text("Gradients dW:\n[[ 0.25  -0.75]\n [ 0.5 - 0.25]]\n", "text"))
    assert [(n.printed, n.lhs) for n in printed] == [
        ("0.25", "Gradients dW:"),
        ("-0.75", "Gradients dW:"),
        ("0.5", "Gradients dW:"),
        ("0.25", "Gradients dW:"),
    ]


# -- labels: the nearest name, each number's own clause ---------------------------------------
@pytest.mark.parametrize(
    "line",
    [
        "The errors are $E_{o1} = 0.274811083$ for now.",
        "Also E_o1 = 0.274811083",
        "The output errors, the loss of the first unit: $E_{o1} = 0.274811083$.",
    ],
)
def test_the_name_nearest_the_number_wins_over_an_earlier_word(
    sigmoid_seed: Spec, line: str
) -> None:
    result = scan(sigmoid_seed, line + "\n", "markdown")
    assert [(p.quantity, p.how) for p in result.proposals] == [("loss:o1", "value")]
    assert _judged(sigmoid_seed, result) == ["match"]


@pytest.mark.parametrize(
    "line",
    [
        "so $out_{h1} = 0.593269992$. Likewise $out_{h2} = 0.596884378$.",
        "so out_h1 = 0.593269992, out_h2 = 0.596884378 too",
        "so out_h1 = 0.593269992 and then likewise out_h2 = 0.596884378",
        "so out_h1 = 0.593269992 out_h2 = 0.596884378",
        "so out_h1 = 0.593269992 (rounded). Likewise the second out_h2 = 0.596884378.",
    ],
)
def test_each_number_takes_the_label_of_its_own_clause(sigmoid_seed: Spec, line: str) -> None:
    result = scan(sigmoid_seed, line + "\n", "markdown")
    got = [(p.quantity, p.how, p.entry()["where"]) for p in result.proposals]
    assert [g[:2] for g in got] == [("out:h1", "value"), ("out:h2", "value")]
    assert "h2" not in got[0][2] and "h1" not in got[1][2]
    assert _judged(sigmoid_seed, result) == ["match", "match"]


def test_an_equation_after_a_number_in_arithmetic_is_not_a_new_clause() -> None:
    found = numbers(read_text("y = 0.5 * 0.25 + 0.75 exp(0) = 0.875\n", "text"))
    assert [n.printed for n in found] == ["0.5", "0.25", "0.75", "0.875"]
    assert {(n.lhs.strip(" ="), n.clause) for n in found} == {("y", found[0].clause)}


# -- every number in one bucket --------------------------------------------------------------
DEMO = (
    "We feed the inputs forward:"
    " $net_{h1} = 0.15 \\cdot 0.05 + 0.2 \\cdot 0.1 + 0.35 \\cdot 1 = 0.3775$.\n"
    "The first hidden output is $out_{h1} = 0.593269992$.\n"
    "$\\frac{\\partial E_{total}}{\\partial w_5} = 0.082167041$ and"
    " $w_5^+ = 0.4 - 0.5 \\cdot 0.082167041 = 0.35891648$.\n"
)
"""The README's demo of ``--scan``."""


def buckets(result: ScanResult) -> list[str]:
    """Each number found's bucket, in document order: ``proposed`` or its listed status."""
    proposed_ids = {id(p.number) for p in result.proposals}
    listed = {id(x.number): x.status for x in result.listed}
    assert not proposed_ids & set(listed)  # a proposed number is not listed too
    return [
        "proposed" if id(n) in proposed_ids else listed.get(id(n), "none") for n in result.found
    ]


@pytest.mark.parametrize(
    ("text", "kind", "want"),
    [
        (DEMO, "markdown", {"proposed": 4, "given": 7, "operand": 1}),
        (MARKDOWN, "markdown", {"proposed": 7, "given": 11, "operand": 1, "repeat": 1}),
        (
            "out_h1 = 0.593269992\nso x = 0.593269992 * 0.3 = 0.1779809976\nthen about 0.77 here\n",
            "text",
            {"proposed": 1, "given": 1, "repeat": 1, "unmatched": 2},
        ),
        (
            "$\\frac{\\partial net_{o2}}{\\partial out_{h1}} = w_8 = 0.5$\n",
            "latex",
            {"proposed": 1},
        ),
    ],
)
def test_every_number_found_lands_in_one_bucket_and_the_summary_adds_up(
    sigmoid_seed: Spec, text: str, kind: str, want: dict[str, int]
) -> None:
    result = scan(sigmoid_seed, text, kind)
    got = buckets(result)
    assert "none" not in got
    assert {b: got.count(b) for b in want} == want
    assert len(got) == len(result.found) == sum(result.count(b) for b in BUCKETS)
    counted = [int(n) for n in re.findall(r"(\d+) (?!entr)", summary(result).split(":", 1)[1])]
    assert sum(counted) == len(result.found) and summary(result).startswith(f"{len(got)} numbers")


def test_every_number_not_proposed_is_listed_last_with_its_line_and_bucket(
    sigmoid_seed: Spec,
) -> None:
    result = scan(sigmoid_seed, DEMO, "markdown")
    text = scanned_toml(sigmoid_seed, result, "walk.md")
    tail = text[text.index("# Not proposed") :]
    listed = re.findall(r"^# (line \d+): (\S+), (\w+) \((.*)\)$", tail, re.MULTILINE)
    assert len(listed) == len(result.found) - result.count("proposed") == 8
    assert ("line 3", "0.4", "given", "param:w5") in listed
    assert ("line 3", "0.082167041", "operand", "operand of w_5^+") in listed
    assert [x[2] for x in listed].count("given") == 7
    assert len(tomllib.loads(text)["documented"]) == 4  # comments, not entries


# -- the network read from the document ------------------------------------------------------
LINEAR_DOCUMENT = """Our weights: w1 = 0.15, w2 = 0.20, w3 = 0.10, w4 = 0.05, w5 = 0.16, w6 = 0.20.
The sample has inputs = [2, 3] and output = [1].
We take a learning rate of 0.05 and no biases.
The hidden value h1 = 2 * 0.15 + 3 * 0.20 = 0.90.
"""


def test_a_plainly_stated_network_is_read_from_the_document(linear_seed: Spec) -> None:
    data = infer_network(read_text(LINEAR_DOCUMENT, "text"), "ours.txt")
    spec = parse_spec(data, "ours.txt")
    assert [layer.weights for layer in spec.model.layers] == [
        layer.weights for layer in linear_seed.model.layers
    ]
    assert spec.model.samples == linear_seed.model.samples
    assert spec.learning_rate == linear_seed.learning_rate
    assert [layer.activation for layer in spec.model.layers] == ["identity", "identity"]


SIGMOID_DOCUMENT = """$$i_1 = 0.05 \\Rightarrow o_1 = 0.01$$
$$i_2 = 0.10 \\Rightarrow o_2 = 0.99$$
Each unit applies $\\frac{1}{1 + e^{-net}}$ to its net input.
$$net_{h1} = w_1 * i_1 + w_2 * i_2 + b_1 * 1$$
$$net_{h1} = 0.15 * 0.05 + 0.2 * 0.1 + 0.35 * 1 = 0.3775$$
$$net_{h2} = w_3 * i_1 + w_4 * i_2 + b_1 * 1 = 0.25 * 0.05 + 0.3 * 0.1 + 0.35 * 1$$
$$net_{o1} = w_5 * out_{h1} + w_6 * out_{h2} + b_2 * 1 = 0.4 * 0.5933 + 0.45 * 0.5969 + 0.6 * 1$$
$$net_{o2} = w_7 * out_{h1} + w_8 * out_{h2} + b_2 * 1 = 0.5 * 0.5933 + 0.55 * 0.5969 + 0.6 * 1$$
$$w_5^+ = w_5 - \\eta * g = 0.4 - 0.5 * 0.0822$$
"""


def test_symbolic_arithmetic_followed_by_numbers_names_them(sigmoid_seed: Spec) -> None:
    spec = parse_spec(infer_network(read_text(SIGMOID_DOCUMENT, "markdown"), "ours.md"), "ours")
    assert [layer.weights for layer in spec.model.layers] == [
        layer.weights for layer in sigmoid_seed.model.layers
    ]
    assert [layer.bias for layer in spec.model.layers] == [
        layer.bias for layer in sigmoid_seed.model.layers
    ]
    assert spec.model.samples == sigmoid_seed.model.samples
    assert spec.learning_rate == sigmoid_seed.learning_rate
    assert {layer.activation for layer in spec.model.layers} == {"sigmoid"}


def test_targets_named_t1_are_read_as_the_targets() -> None:
    # a new user's tutorial stated "t_1 = 1.0, t_2 = 0.0": read as no target, it asked for --spec
    text = (
        "inputs: $i_1 = 0.3$, $i_2 = 0.8$; targets: $t_1 = 1.0$, $t_2 = 0.0$\n"
        "$w_1 = 0.2$, $w_2 = -0.1$, $w_3 = 0.4$, $w_4 = 0.3$, $b_1 = 0.1$\n"
        "$w_5 = 0.6$, $w_6 = -0.5$, $w_7 = 0.25$, $w_8 = 0.7$, $b_2 = 0.2$\n"
    )
    spec = parse_spec(infer_network(read_text(text, "markdown"), "t.md"), "t")
    assert spec.sizes == (2, 2, 2)
    assert [s.target for s in spec.model.samples] == [[1.0, 0.0]]


def test_a_document_without_a_plain_network_asks_for_the_spec() -> None:
    with pytest.raises(GradcheckError, match="pass --spec"):
        infer_network(read_text("Nothing here but 0.25.\n", "text"), "vague.txt")


# -- the command -----------------------------------------------------------------------------
def test_scan_writes_the_proposals_beside_the_spec_and_judges_them(
    tmp_path: Path, run_cli: RunCli
) -> None:
    spec_file = tmp_path / "net.toml"
    spec_file.write_text(seed_path("sigmoid-2-2-2").read_text())
    doc = tmp_path / "walk.md"
    doc.write_text(MARKDOWN)
    result = run_cli(["golden", "--scan", str(doc), "--spec", str(spec_file)])
    assert result.status == 0, result.err
    written = tmp_path / "net.scanned.toml"
    data = tomllib.loads(written.read_text())
    assert [d["quantity"] for d in data["documented"]][:2] == ["net:h1", "out:h1"]
    assert "7 proposed (7 entries)" in result.out and ", 0 ambiguous, 0 unmatched;" in result.out
    assert "sigmoid-2-2-2: 7 match, 0 match-truncated, 0 discrepancy" in result.out
    assert not list(tmp_path.glob(".*.tmp"))


def test_scan_without_a_spec_reads_the_network(tmp_path: Path, run_cli: RunCli) -> None:
    doc = tmp_path / "ours.txt"
    doc.write_text(LINEAR_DOCUMENT)
    out = tmp_path / "read.toml"
    result = run_cli(["golden", "--scan", str(doc), "--out", str(out), "--json"])
    assert result.status == 0, result.err
    assert "out:h1" in [d["quantity"] for d in tomllib.loads(out.read_text())["documented"]]


@pytest.mark.parametrize(
    ("name", "content", "args", "fragments"),
    [
        ("missing.md", None, [], ["missing.md", "no such document"]),
        ("walk.docx", "x", [], ["walk.docx", "unknown document type '.docx'"]),
        ("bad.ipynb", "{not json", [], ["bad.ipynb", "not a readable Jupyter notebook"]),
        ("vague.txt", "Only 0.25 here.", ["--no-spec"], ["vague.txt", "pass --spec"]),
        ("walk.md", "x = 0.5", ["extra.toml"], ["extra.toml", "--spec"]),
        ("walk.md", "x = 0.5", ["--out-dir"], ["is a directory"]),
        # nothing to judge (a trial's empty document exited 0, "0 numbers found")
        ("empty.md", "", [], ["empty.md: nothing to judge: 0 numbers found"]),
        ("prose.md", "No numbers here.", [], ["prose.md: nothing to judge: 0 numbers found"]),
    ],
)
def test_bad_scan_input_is_one_line_and_status_2(
    tmp_path: Path,
    run_cli: RunCli,
    name: str,
    content: str | None,
    args: list[str],
    fragments: list[str],
) -> None:
    doc = tmp_path / name
    if content is not None:
        doc.write_text(content)
    spec_args = [] if "--no-spec" in args else ["--spec", str(seed_path("linear-2-2-1"))]
    extra = [str(tmp_path / a) if a.endswith(".toml") else a for a in args if a[:2] != "--"]
    out = ["--out", str(tmp_path)] if "--out-dir" in args else []
    result = run_cli(["golden", *extra, "--scan", str(doc), *spec_args, *out])
    assert result.status == 2
    assert_one_error_line(result.err, *fragments)


def test_a_document_whose_numbers_mostly_match_nothing_is_said_to_be(
    tmp_path: Path, run_cli: RunCli
) -> None:
    # the seed walkthrough scanned against another network: a trial saw 55 of 96 numbers
    # unmatched and a few odd matches, with nothing to say the spec was the wrong one
    doc = tmp_path / "walk.md"
    doc.write_text(MARKDOWN)
    args = ["golden", "--scan", str(doc), "--spec", str(seed_path("linear-2-2-1"))]
    result = run_cli([*args, "--out", str(tmp_path / "x.toml")])
    assert result.status == 0, result.err
    assert re.search(r"note: \d+ of \d+ numbers match no quantity of linear-2-2-1", result.err)
    right = run_cli(
        [
            "golden",
            "--scan",
            str(doc),
            "--spec",
            str(seed_path("sigmoid-2-2-2")),
            "--out",
            str(tmp_path / "y.toml"),
        ]
    )
    assert "note:" not in right.err


def test_spec_and_out_need_scan(run_cli: RunCli) -> None:
    result = run_cli(["golden", "--out", "x.toml"])
    assert result.status == 2
    assert_one_error_line(result.err, "--scan")


def test_golden_exits_0_on_discrepancies_and_says_so_in_its_help(
    tmp_path: Path, run_cli: RunCli
) -> None:
    doc = tmp_path / "wrong.md"
    doc.write_text("Then $\\frac{\\partial E_{total}}{\\partial w_6} = 0.08366$ by our count.\n")
    out = tmp_path / "wrong.toml"
    args = ["golden", "--scan", str(doc), "--spec", str(seed_path("sigmoid-2-2-2"))]
    result = run_cli([*args, "--out", str(out)])
    assert "0 match, 0 match-truncated, 1 discrepancy" in result.out
    assert result.status == 0
    assert run_cli(["golden", str(out)]).status == 0
    help_text = " ".join(run_cli(["golden", "--help"]).out.split())
    assert "Exit status: 0 every value has a verdict, discrepancies included" in help_text
    assert "the same with --scan" in help_text


def test_piped_golden_table_keeps_each_where_on_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from gradcheck.cli import app

    doc = tmp_path / "walk.md"
    doc.write_text(
        "The first hidden output of our network is $out_{h1} = 0.593269992$.\n"
        "Then the gradient of the total error for the fifth weight:"
        " $\\frac{\\partial E_{total}}{\\partial w_5} = 0.082167041$.\n"
        "The errors are $E_{o1} = 0.2748$ for the first output unit.\n"
    )
    out = tmp_path / "walk.toml"
    args = ["golden", "--scan", str(doc), "--spec", str(seed_path("sigmoid-2-2-2"))]
    result = CliRunner().invoke(app, [*args, "--out", str(out)], env={"COLUMNS": None})
    assert result.exit_code == 0, result.output
    wheres = [d["where"] for d in tomllib.loads(out.read_text())["documented"]]
    assert len(wheres) == 3 and max(len(w) for w in wheres) > 40
    rows = [row for row in result.output.splitlines() if row[:1] in "│┏┃┡└"]
    for where in wheres:
        assert any(where in row for row in rows), (where, result.output)
    assert all(len(row) <= PIPED_WIDTH for row in rows)


def test_writing_replaces_the_file_whole(tmp_path: Path, linear_seed: Spec) -> None:
    target = tmp_path / "out.toml"
    target.write_text("old content that is much longer than the new one\n" * 50)
    result = scan(linear_seed, "prediction = 0.214\n", "text")
    write_atomically(target, scanned_toml(linear_seed, result, "doc.txt"))
    data = tomllib.loads(target.read_text())
    assert data["documented"] == [p.entry() for p in result.proposals]
    assert not list(tmp_path.glob(".*.tmp"))


def _judged(spec: Spec, result: ScanResult) -> list[str]:
    data = spec.model.model_dump(exclude_none=True)
    data["documented"] = [p.entry() for p in result.proposals]
    return [r.verdict for r in check_spec(parse_spec(data, spec.path))]


BATCH_SPEC = """
name = "tanh-3-2-1-batch"
loss = "mse"
[optimizer]
learning_rate = 0.1
[input]
size = 3
names = ["x1", "x2", "x3"]
[[layers]]
size = 2
activation = "tanh"
names = ["h1", "h2"]
weights = [[0.2, -0.4, 0.1], [0.5, 0.3, -0.2]]
weight_names = [["w11", "w12", "w13"], ["w21", "w22", "w23"]]
bias = { mode = "per_neuron", value = [0.05, -0.1], names = ["b1", "b2"] }
[[layers]]
size = 1
activation = "identity"
names = ["y"]
weights = [[0.7, -0.6]]
weight_names = [["v1", "v2"]]
bias = { mode = "per_neuron", value = [0.1], names = ["c"] }
[[samples]]
input = [1.0, -0.5, 0.25]
target = [0.6]
[[samples]]
input = [0.2, 0.4, -1.0]
target = [-0.3]
"""

# A table with a column per sample; sample 2's out_h2 has two digits swapped (0.30950692)
BATCH_TABLE = """
| quantity | sample 1 | sample 2 |
|---|---|---|
| $net_{h1}$ | 0.475 | −0.17 |
| $out_{h1}$ | 0.44223036 | −0.16838105 |
| $out_{h2}$ | 0.19737532 | 0.30590692 |
"""


def test_a_table_row_is_read_cell_by_cell_each_value_for_its_own_sample() -> None:
    # a trial's batch tutorial: only a row's last cell was read (the others silently dropped,
    # a planted slip among them), and once read, a row label naming both samples made each
    # value a "copy" of the other sample's quantity
    spec = parse_spec(tomllib.loads(BATCH_SPEC))
    result = scan(spec, BATCH_TABLE, "markdown")
    assert len(result.found) == 6 and not result.listed
    assert sorted((p.quantity, p.number.printed) for p in result.proposals) == [
        ("net:h1#0", "0.475"),
        ("net:h1#1", "-0.17"),
        ("out:h1#0", "0.44223036"),
        ("out:h1#1", "-0.16838105"),
        ("out:h2#0", "0.19737532"),
        ("out:h2#1", "0.30590692"),
    ]
    assert {p.how for p in result.proposals} == {"value", "near"}


def test_a_spec_with_unnamed_units_or_parameters_is_one_error_naming_them() -> None:
    # the scanner reads quantities by name: a spec without them crashed (KeyError, then
    # StopIteration deeper in) where it should say what to add
    bare = re.sub(r"(?m)^(names|weight_names) = .*\n", "", BATCH_SPEC)
    bare = re.sub(r", names = \[[^]]*\]", "", bare)
    spec = parse_spec(tomllib.loads(bare), "bare.toml")
    with pytest.raises(
        SpecError,
        match=r"bare.toml: a document is read by names, and the spec "
        r"leaves these unnamed: input, layers\[0\], layers\[1\], layers\[0\].W, "
        r"layers\[0\].b, layers\[1\].W, layers\[1\].b \(add names",
    ):
        scan(spec, BATCH_TABLE, "markdown")
