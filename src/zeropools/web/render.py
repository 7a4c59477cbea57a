"""Jinja2 templates shipped in the package, autoescaped, with the few filters pages need."""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse


def _groups_of_four(text: str | None) -> str:
    """IBANs and RF references printed as banks print them: groups of four characters."""
    if not text:
        return ""
    compact = "".join(text.split())
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _short_time(text: str | None) -> str:
    """``2026-11-23T10:04:05.123456Z`` as ``2026-11-23 10:04:05`` (UTC, stated in the header)."""
    if not text:
        return ""
    return text.replace("T", " ")[:19]


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("zeropools.web", "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fours"] = _groups_of_four
    env.filters["when"] = _short_time
    return env


def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = environment().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code)
