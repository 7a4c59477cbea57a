"""Reading form and query values: text in, typed values or a ``ValidationFailed`` out."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from zeropools.domain import limits
from zeropools.domain.errors import ValidationFailed

TEXT_CHARS_MAX = 1000  # longer than any field a dashboard form has


def text(form: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = form.get(name)
    found = value.strip() if isinstance(value, str) else ""
    if len(found) > TEXT_CHARS_MAX:
        raise ValidationFailed.field(name, f"at most {TEXT_CHARS_MAX} characters")
    if required and not found:
        raise ValidationFailed.field(name, "required", f"Fill in {name.replace('_', ' ')}.")
    return found


def day(name: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.field(name, "a date: YYYY-MM-DD") from None


def day_start(name: str, value: str | None, *, plus_days: int = 0) -> str | None:
    """A date field as the RFC 3339 start of that day (UTC), ``plus_days`` later."""
    found = day(name, value)
    if found is None:
        return None
    return f"{(found + timedelta(days=plus_days)).isoformat()}T00:00:00Z"


def cursor(value: str | None) -> str | None:
    if value and len(value) > limits.ID_CHARS_MAX:
        raise ValidationFailed.field("after", f"at most {limits.ID_CHARS_MAX} characters")
    return value or None
