"""``make audit``: known vulnerabilities in the locked dependencies (``requirements.lock``).

pip-audit does the audit: it reads the pins (hashes required) and asks PyPI's vulnerability feed
about each exact version (``/pypi/NAME/VERSION/json``). Where that feed answers 404 — the PyPI
this project's machines reach serves the per-project document but not the per-version one —
pip-audit can only skip the package. For those, this script asks the per-project document
(``/pypi/NAME/json``), whose ``vulnerabilities`` are those of the project's latest release: an
exact answer when the pin *is* the latest release (as every pin is right after ``make lock``),
no answer for an older pin. Such pins (older than their latest release: held back by another
package's requirement, or a lock not refreshed lately) are listed as not audited, loudly, and fail
the audit under ``--strict``; ``make lock`` takes the newest releases allowed. Any other lookup
failure (PyPI unreachable, an error status) fails the audit: it did not run.

Exit status: 0 nothing known, 1 a known vulnerability (or, with ``--strict``, a pin that could
not be audited), 2 the audit itself could not run.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
from packaging.utils import canonicalize_name
from packaging.version import Version

PYPI_PROJECT_URL = "https://pypi.org/pypi/{name}/json"
HTTP_TIMEOUT_S = 30.0
LOOKUPS_IN_PARALLEL = 8
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._\-]*)==([^\s\\;]+)", re.MULTILINE)


@dataclass(frozen=True)
class Finding:
    name: str
    version: str
    vulnerability: str
    fixed_in: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    name: str
    version: str
    findings: tuple[Finding, ...] = ()
    not_audited: str | None = None  # why, when it could not be audited
    stale: bool = False  # not audited only because the pin is older than the latest release


def pins(lock: Path) -> dict[str, str]:
    return {canonicalize_name(n): v for n, v in PIN.findall(lock.read_text())}


def run_pip_audit(lock: Path) -> list[dict[str, object]]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--requirement",
            str(lock),
            "--require-hashes",
            "--disable-pip",  # audit the pins as written: nothing resolved or installed
            "--format",
            "json",
            "--progress-spinner",
            "off",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1):  # 1: vulnerabilities found, reported in the JSON
        raise SystemExit(f"pip-audit could not run ({done.returncode}):\n{done.stderr}")
    dependencies: list[dict[str, object]] = json.loads(done.stdout)["dependencies"]
    return dependencies


def from_project_document(client: httpx.Client, name: str, version: str) -> Outcome:
    answer = client.get(PYPI_PROJECT_URL.format(name=name))
    if answer.status_code != 200:
        return Outcome(name, version, not_audited=f"PyPI answered {answer.status_code}")
    document = answer.json()
    latest = document["info"]["version"]
    if Version(latest) != Version(version):
        return Outcome(
            name, version, not_audited=f"no per-version feed; latest is {latest}", stale=True
        )
    return Outcome(
        name,
        version,
        tuple(
            Finding(name, version, v["id"], tuple(v.get("fixed_in") or ()))
            for v in document.get("vulnerabilities") or ()
            if not v.get("withdrawn")
        ),
    )


def audit(lock: Path) -> list[Outcome]:
    pinned = pins(lock)
    outcomes: list[Outcome] = []
    skipped: list[str] = []
    for dependency in run_pip_audit(lock):
        name = canonicalize_name(str(dependency["name"]))
        if "skip_reason" in dependency:
            skipped.append(name)
            continue
        version = str(dependency["version"])
        vulns = dependency.get("vulns") or []
        assert isinstance(vulns, list)
        outcomes.append(
            Outcome(
                name,
                version,
                tuple(Finding(name, version, v["id"], tuple(v["fix_versions"])) for v in vulns),
            )
        )
    with (
        httpx.Client(timeout=HTTP_TIMEOUT_S) as client,
        ThreadPoolExecutor(LOOKUPS_IN_PARALLEL) as pool,
    ):
        outcomes += pool.map(lambda n: from_project_document(client, n, pinned[n]), skipped)
    return sorted(outcomes, key=lambda o: o.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lock", type=Path, nargs="?", default=Path("requirements.lock"))
    parser.add_argument("--strict", action="store_true", help="fail on a pin not audited")
    args = parser.parse_args()
    outcomes = audit(args.lock)
    findings = [f for o in outcomes for f in o.findings]
    not_audited = [o for o in outcomes if o.not_audited is not None]
    for f in findings:
        fixed = ", ".join(f.fixed_in) or "no fix yet"
        print(f"VULNERABLE {f.name}=={f.version}: {f.vulnerability} (fixed in {fixed})")
    for o in not_audited:
        print(f"NOT AUDITED {o.name}=={o.version}: {o.not_audited}")
    print(
        f"audit: {len(outcomes) - len(not_audited)} of {len(outcomes)} locked packages audited, "
        f"{len(findings)} known vulnerabilities"
    )
    if any(not o.stale for o in not_audited):
        print("audit failed: the vulnerability feed could not be read (see NOT AUDITED above)")
        return 2  # the audit did not run, which is not a pass
    if findings or (args.strict and not_audited):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
