"""JUnit XML for CI: one ``testcase`` per verified network (``gradcheck verify --junit-xml``)."""

from __future__ import annotations

import contextlib
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from gradcheck.checking.verdict import NetworkVerdict
from gradcheck.spec import GradcheckError

__all__ = ["write_junit_xml"]


def write_junit_xml(verdicts: Sequence[NetworkVerdict], path: str | Path) -> None:
    """One JUnit ``testcase`` per network (failure message: the summary line), written to a
    temporary file beside ``path`` and renamed into place."""
    failures = sum(not v.ok for v in verdicts)
    suite = ET.Element(
        "testsuite",
        name="gradcheck verify",
        tests=str(len(verdicts)),
        failures=str(failures),
        errors="0",
    )
    for v in verdicts:
        case = ET.SubElement(
            suite, "testcase", classname="gradcheck.verify", name=v.name, file=v.path
        )
        if not v.ok:
            failure = ET.SubElement(case, "failure", message=v.summary(), type="gradient mismatch")
            failure.text = "\n".join(e.describe() for e in v.failures)
        else:
            ET.SubElement(case, "system-out").text = v.summary()
    target = Path(path)
    temporary = target.with_name(f".{target.name}.tmp{os.getpid()}")
    root = ET.Element("testsuites")
    root.append(suite)
    try:
        ET.ElementTree(root).write(temporary, encoding="utf-8", xml_declaration=True)
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):  # the folder itself may be what is wrong
            temporary.unlink(missing_ok=True)
        raise GradcheckError(f"--junit-xml {target}: cannot write ({exc.strerror})") from None
