"""From the user's field expressions (keyword arguments or a crontab line) to a
:class:`~._search.WallSearch`, with errors that name the argument and the value."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ._fields import (
    FIELD_NAMES,
    FieldError,
    parse_day_of_month,
    parse_day_of_week,
    parse_values,
)
from ._search import WallSearch

__all__ = ["CRONTAB_FIELDS", "NICKNAMES", "build_search", "fill_defaults", "split_crontab"]

_T = TypeVar("_T")

#: Field order of a crontab line.
CRONTAB_FIELDS = ("minute", "hour", "day", "month", "day_of_week")

#: crontab(5)'s ``@`` nicknames.
NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

# Used for fields finer than the finest one given (as APScheduler does).
_DEFAULTS = {
    "year": "*",
    "month": "1",
    "day": "1",
    "week": "*",
    "day_of_week": "*",
    "hour": "0",
    "minute": "0",
    "second": "0",
}


def as_field_text(name: str, value: object) -> str | None:
    """Accept an int or a string for a field; None passes through."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(
            f"{name}: expected a cron expression string or an int, got "
            f"{type(value).__name__} {value!r}"
        )
    text = str(value).strip()
    if not text:
        raise ValueError(f"{name}: {value!r} is empty; use '*' for any value")
    return text


def fill_defaults(given: dict[str, str | None]) -> dict[str, str]:
    """Fields coarser than the finest given one default to ``*``, finer ones to their minimum
    (``week`` and ``day_of_week`` to ``*``): ``CronTrigger(hour=9)`` is daily at 09:00:00."""
    finest = max(
        (FIELD_NAMES.index(name) for name, v in given.items() if v is not None), default=-1
    )
    fields = {}
    for index, name in enumerate(FIELD_NAMES):
        value = given.get(name)
        fields[name] = value if value is not None else "*" if index < finest else _DEFAULTS[name]
    return fields


def split_crontab(expr: object) -> tuple[str, list[str]]:
    """Return the line with any ``@nickname`` expanded, and its five fields."""
    if not isinstance(expr, str):
        raise TypeError(
            f"expr: expected a crontab line string, got {type(expr).__name__} {expr!r}"
        )
    line = expr.strip()
    if line.startswith("@"):
        expanded = NICKNAMES.get(line.lower())
        if expanded is None:
            known = ", ".join(NICKNAMES)
            raise ValueError(f"expr: {expr!r} is not a known nickname (known: {known})")
        line = expanded
    fields = line.split()
    if len(fields) != 5:
        hint = ""
        if len(fields) == 6:
            hint = (
                "; six-field lines with seconds are not read (conventions disagree on where "
                "seconds go), use CronTrigger(second=..., minute=..., ...) instead"
            )
        raise ValueError(
            f"expr: {expr!r} has {len(fields)} fields; a crontab line has 5: minute hour "
            f"day-of-month month day-of-week (for example '*/5 * * * *'){hint}"
        )
    return line, fields


def _field_error(name: str, text: str, detail: str, crontab: str | None) -> ValueError:
    if crontab is None:
        return ValueError(f"{name}: {text!r} is not valid: {detail}")
    return ValueError(f"expr: the {name} field {text!r} of {crontab!r} is not valid: {detail}")


def build_search(
    fields: dict[str, str], *, crontab: str | None = None, given: tuple[str, ...] = ()
) -> WallSearch:
    """Parse every field and return the search; ``crontab`` (the line) switches on crontab's
    either-day rule and is named in error messages, as are the ``given`` keyword fields."""

    def field(name: str, parse: Callable[[str], _T]) -> _T:
        text = fields[name]
        try:
            return parse(text)
        except FieldError as exc:
            raise _field_error(name, text, exc.detail, crontab) from None

    def values(name: str) -> tuple[int, ...]:
        return field(name, lambda text: parse_values(name, text))

    def optional_values(name: str) -> tuple[int, ...] | None:
        return field(name, lambda text: None if text == "*" else parse_values(name, text))

    # in FIELD_NAMES order, so that the first bad field is the one named
    years = optional_values("year")
    months = values("month")
    day_of_month = field("day", lambda text: None if text == "*" else parse_day_of_month(text))
    weeks = optional_values("week")
    weekdays = field("day_of_week", parse_day_of_week)
    hours, minutes, seconds = values("hour"), values("minute"), values("second")
    # crontab(5): when both day fields are restricted (neither starts with '*'), either may match
    either_day = (
        crontab is not None
        and not fields["day"].startswith("*")
        and not fields["day_of_week"].startswith("*")
    )
    search = WallSearch(
        years=years,
        months=months,
        day_of_month=day_of_month,
        weeks=weeks,
        weekdays=weekdays,
        hours=hours,
        minutes=minutes,
        seconds=seconds,
        either_day=either_day,
    )
    if not search.can_match():
        if crontab is not None:
            argument, shown = "expr", repr(crontab)
        else:
            argument = ", ".join(given)
            shown = ", ".join(f"{name}={fields[name]!r}" for name in given)
        raise ValueError(
            f"{argument}: {shown} can never fire: no date in the years 1970-9999 matches all of "
            f"its fields"
        )
    return search
