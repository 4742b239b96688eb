"""Parsing one cron field (``"9-17/2"``, ``"mon-fri"``, ``"last fri"``) into the values it allows.

Every field accepts comma-separated lists of ``*``, ``*/n``, ``a``, ``a-b``, ``a-b/n`` and ``a/n``
(``a`` to the field's maximum in steps of ``n``). Months and weekdays also take English names
(``jan``/``january``, ``mon``/``monday``), in ranges and with steps too (``jan-sep/2``).
Weekday numbers read as crontab(5) does: 0 and 7 are Sunday, 1 is Monday. A weekday range may
wrap around the week (``fri-mon``). The day-of-month field also takes ``last`` (or ``L``) for
the month's last day, and ``1st``..``5th``/``last`` followed by a weekday (``2nd fri``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "DayOfMonth",
    "FIELD_NAMES",
    "FIELD_RANGES",
    "parse_day_of_month",
    "parse_day_of_week",
    "parse_values",
]

#: The fields, coarsest first (the order of the keyword arguments' search).
FIELD_NAMES = ("year", "month", "day", "week", "day_of_week", "hour", "minute", "second")

#: Smallest and largest number each field accepts.
FIELD_RANGES: dict[str, tuple[int, int]] = {
    "year": (1970, 9999),
    "month": (1, 12),
    "day": (1, 31),
    "week": (1, 53),
    "day_of_week": (0, 7),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAMES = {name: number for number, name in enumerate(_MONTHS, 1)}
_MONTH_NAMES.update(
    {
        full: number
        for number, full in enumerate(
            (
                "january",
                "february",
                "march",
                "april",
                "may",
                "june",
                "july",
                "august",
                "september",
                "october",
                "november",
                "december",
            ),
            1,
        )
    }
)
# crontab numbering: 0 is Sunday
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_WEEKDAY_NAMES = {name: number for number, name in enumerate(_WEEKDAYS)}
_WEEKDAY_NAMES.update(
    {
        full: number
        for number, full in enumerate(
            ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
        )
    }
)
_NAMES = {"month": _MONTH_NAMES, "day_of_week": _WEEKDAY_NAMES}

_TERM = re.compile(
    r"(?:(?P<all>\*)|(?P<first>[0-9a-z]+)(?:-(?P<last>[0-9a-z]+))?)(?:/(?P<step>\d+))?"
)
_NTH = re.compile(r"(?P<nth>1st|2nd|3rd|4th|5th|last)\s+(?P<weekday>[a-z]+)")
_ORDINALS = {"1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "last": -1}


class FieldError(ValueError):
    """A field expression that can't be read; ``detail`` says why, without the field's name."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _terms(text: str) -> list[str]:
    terms = [term.strip().lower() for term in text.split(",")]
    if any(not term for term in terms):
        raise FieldError("it has an empty list item")
    return terms


def _number(field: str, token: str) -> int:
    if token.isdigit():
        return int(token)
    names = _NAMES.get(field)
    if names is not None and token in names:
        return names[token]
    if names is None:
        raise FieldError(f"{token!r} is not a number")
    kind = "month" if field == "month" else "weekday"
    raise FieldError(f"{token!r} is not a {kind} number or name")


def _term_values(field: str, term: str) -> list[int]:
    """The numbers one list item allows (weekdays still in 0-7 crontab numbering)."""
    low, high = FIELD_RANGES[field]
    match = _TERM.fullmatch(term)
    if match is None:
        forms = "*, */n, a, a-b, a-b/n or a/n"
        if field == "day":
            forms = "*, */n, a, a-b, a-b/n, a/n, last, L or an nth weekday such as '2nd fri'"
        raise FieldError(f"{term!r} is not of the form {forms}")
    step_text = match["step"]
    step = int(step_text) if step_text is not None else 1
    if step < 1:
        raise FieldError(f"the step in {term!r} must be at least 1")
    if match["all"]:
        first, last = low, high if field != "day_of_week" else 6
    else:
        first = _number(field, match["first"])
        if match["last"] is not None:
            last = _number(field, match["last"])
        elif step_text is not None:  # a/n: from a to the end of the field
            last = high if field != "day_of_week" else 6
        else:
            last = first
        for value in (first, last):
            if not low <= value <= high:
                where = "" if term == str(value) else f" in {term!r}"
                raise FieldError(f"{value}{where} is out of range {low}-{high}")
        if first > last:
            if field != "day_of_week":
                raise FieldError(f"the range {term!r} is reversed (its start is after its end)")
            last += 7  # a weekday range may wrap around the week: fri-mon
    # As APScheduler 4: a step larger than the range it steps through only ever selects the
    # first value, so it is taken for a mistake ('4-6/3' like '*/31' for days). A step of 1
    # selects every value and is always accepted.
    span = high - low if match["all"] else last - first
    if step > 1 and step > span:
        raise FieldError(
            f"the step in {term!r} is larger than the range it steps through ({step} > "
            f"{span}): it would only ever select the range's first value"
        )
    return list(range(first, last + 1, step))


def parse_values(field: str, value: str) -> tuple[int, ...]:
    """Return the sorted values ``value`` allows in ``field`` (not the day fields).

    Raises :class:`FieldError` when it can't be read.
    """
    values: set[int] = set()
    for term in _terms(value):
        values.update(_term_values(field, term))
    return tuple(sorted(values))


def parse_day_of_week(value: str) -> tuple[int, ...]:
    """Return the allowed weekdays, Monday=0 .. Sunday=6 (Python's ``date.weekday()``)."""
    values: set[int] = set()
    for term in _terms(value):
        # crontab numbering (0 and 7 Sunday, ranges may wrap) folded to Monday=0
        values.update((number + 6) % 7 for number in _term_values("day_of_week", term))
    return tuple(sorted(values))


@dataclass(frozen=True, slots=True)
class DayOfMonth:
    """What the day-of-month field allows: plain days, the last day, nth weekdays."""

    days: frozenset[int]
    last: bool
    #: (n, weekday) with n in 1..5 or -1 for the last one; weekday Monday=0
    nth_weekdays: tuple[tuple[int, int], ...]

    def is_plain(self) -> bool:
        """True when the field is plain day numbers (no ``last``, no ``2nd fri``)."""
        return not self.last and not self.nth_weekdays


def parse_day_of_month(value: str) -> DayOfMonth:
    """Read the day-of-month field, with ``last``/``L`` and ``2nd fri`` style items."""
    days: set[int] = set()
    last = False
    nth: set[tuple[int, int]] = set()
    for term in _terms(value):
        if term in ("last", "l"):
            last = True
            continue
        match = _NTH.fullmatch(term)
        if match is not None:
            weekday = _WEEKDAY_NAMES.get(match["weekday"])
            if weekday is None:
                raise FieldError(f"{match['weekday']!r} in {term!r} is not a weekday name")
            nth.add((_ORDINALS[match["nth"]], (weekday + 6) % 7))
            continue
        days.update(_term_values("day", term))
    return DayOfMonth(frozenset(days), last, tuple(sorted(nth)))
