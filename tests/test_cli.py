"""The command line on bad input: one line on stderr naming the thing, exit status 2, no
traceback; a candidate that raises fails its network (exit status 1) instead of the run."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradcheck.cli import main
from gradcheck.spec import builtin_networks_dir

LINEAR = str(Path(builtin_networks_dir()) / "linear_2_2_1.toml")


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of ``gradcheck ARGS``."""
    with pytest.raises(SystemExit) as exited:
        main(args)
    code = exited.value.code
    out, err = capsys.readouterr()
    return (code if isinstance(code, int) else 1), out, err


def _candidate(tmp_path: Path, body: str) -> str:
    """A candidate file holding ``body``, as ``path/to/file.py:grads``."""
    path = tmp_path / "candidate.py"
    path.write_text(body)
    return f"{path}:grads"


def _assert_one_error_line(err: str, *fragments: str) -> None:
    assert err.count("\n") == 1 and err.startswith("gradcheck: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def test_candidate_module_that_raises_while_loading_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candidate = _candidate(tmp_path, "undefined_name\ndef grads(s, p, x, t):\n    return p\n")
    status, out, err = _run(["verify", LINEAR, "--examples", "0", "--candidate", candidate], capsys)
    assert status == 2 and out == ""
    _assert_one_error_line(err, "candidate.py", "NameError", "undefined_name")
