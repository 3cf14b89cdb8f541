"""JUnit XML for CI: one ``testcase`` per verified network (``gradcheck verify --junit-xml``)."""

from __future__ import annotations

import contextlib
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path

from gradcheck.checking.verdict import NetworkVerdict
from gradcheck.spec import GradcheckError

__all__ = ["prepare_junit_path", "write_junit_xml"]


def prepare_junit_path(path: str | Path) -> Path:
    """The JUnit file's folder, created if missing (like ``report --out``), checked before any
    check runs: a path below a regular file is a one-line error."""
    target = Path(path)
    blocked = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocked is not None:
        raise GradcheckError(f"--junit-xml {target}: cannot write ({blocked} is not a folder)")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GradcheckError(f"--junit-xml {target}: cannot write ({exc.strerror})") from None
    return target


def write_junit_xml(
    verdicts: Sequence[NetworkVerdict],
    path: str | Path,
    extra: Mapping[int, Sequence[str]] | None = None,
) -> None:
    """One JUnit ``testcase`` per network (``skipped`` where unsupported; failure message: the
    summary line; text: the failing
    entries, then ``extra[k]`` for the ``k``-th verdict, e.g. how to reproduce it), written to a
    temporary file beside ``path`` (its folder created if missing) and renamed into place."""
    failures = sum(not v.ok for v in verdicts)
    suite = ET.Element(
        "testsuite",
        name="gradcheck verify",
        tests=str(len(verdicts)),
        failures=str(failures),
        errors="0",
        skipped=str(sum(bool(v.unsupported) for v in verdicts)),
    )
    for k, v in enumerate(verdicts):
        case = ET.SubElement(
            suite, "testcase", classname="gradcheck.verify", name=v.name, file=v.path
        )
        if v.unsupported:  # not checked: a skip, with the reason
            ET.SubElement(case, "skipped", message=v.summary())
        elif not v.ok:
            failure = ET.SubElement(case, "failure", message=v.summary(), type="gradient mismatch")
            lines = [e.describe() for e in v.failures]
            failure.text = "\n".join([*lines, *(extra or {}).get(k, [])])
        else:
            ET.SubElement(case, "system-out").text = v.summary()
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp{os.getpid()}")
    root = ET.Element("testsuites")
    root.append(suite)
    prepare_junit_path(target)
    try:
        ET.ElementTree(root).write(temporary, encoding="utf-8", xml_declaration=True)
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):  # the folder itself may be what is wrong
            temporary.unlink(missing_ok=True)
        raise GradcheckError(f"--junit-xml {target}: cannot write ({exc.strerror})") from None
