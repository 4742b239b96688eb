"""Compiled cron specs, shared by every trigger with the same expression (internal).

A :class:`CronSpec` is what a cron expression compiles to: its fields' text and the
:class:`~._search.WallSearch` with the tables built from them. It does not depend on the time
zone or on a trigger's position, so 100,000 triggers with the same expression share one spec
and each trigger only holds its own position (a few small objects): see
:func:`spec_from_keywords` and :func:`spec_from_crontab`.

Specs are immutable once built (their search's memo tables only ever gain values that any
thread would compute alike, and :attr:`CronSpec.recent_first` only caches such a value), so
sharing them across threads is safe. The registry of specs is
bounded: a spec that falls out of it stays alive for the triggers that hold it, and an equal one
is compiled again on the next miss.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from types import MappingProxyType

from .._registry import SpecRegistry
from ._fields import FIELD_NAMES
from ._parsing import CRONTAB_FIELDS, build_search, fill_defaults, split_crontab
from ._search import WallSearch, WallTime

__all__ = ["CronSpec", "spec_from_crontab", "spec_from_keywords"]

_ALL_HOURS = tuple(range(24))

_registry: SpecRegistry[object, CronSpec] = SpecRegistry(limit=1024)


class CronSpec:
    """One compiled cron expression: its fields' text and its wall-clock search."""

    __slots__ = (
        "fields",
        "given",
        "crontab",
        "search",
        "repeat_hours",
        "runs_through_days",
        "runs_by_day",
        "looks_ahead",
        "recent_first",
        "recent_day",
    )

    #: every field's expression, defaults filled in (read-only)
    fields: Mapping[str, str]
    #: the fields the user gave, in :data:`FIELD_NAMES` order (or the crontab fields)
    given: tuple[str, ...]
    #: the crontab line as given (stripped), None for the keyword form
    crontab: str | None
    search: WallSearch
    #: whether the hour field allows every hour (fires in both passes of a repeated hour)
    repeat_hours: bool
    #: whether next() runs through a plain day by adding the times of day, as offsets, to its
    #: midnight (there are several, and few enough to list)
    runs_through_days: bool
    #: whether next() runs through the days without DST change by adding whole days to the
    #: first fire time of the run (one time of day, every day)
    runs_by_day: bool
    #: whether next() looks ahead for the days without DST change (shared by the triggers of
    #: a zone): worth it when fires are close together, so one look-ahead serves many of them
    looks_ahead: bool
    #: the last first-fire search done for a trigger of this spec: (zone, a second before the
    #: instant searched from, the fire time found, what the search found), the two instants
    #: in UTC, or in the zone itself when it is a fixed one. Every instant after the first
    #: and up to the second has the same answer, so triggers built alike at about the same
    #: time (their start is "now") share one search instead of one each (see
    #: ``CronTrigger._first_from``)
    recent_first: tuple[tzinfo, datetime, datetime, tuple[datetime, WallTime | None]] | None
    #: the last matching day without DST change that a first-fire search found in a zone:
    #: (zone, its midnight and its last fire time in UTC or in a fixed zone itself, its
    #: midnight in the zone, year, month, day). The first fire from any instant between the
    #: first two is that day's next time of day, one bisect away, so triggers of this spec
    #: starting on the same day (added now and then through it) need no search of their own
    #: (see ``CronTrigger._first_from``)
    recent_day: tuple[tzinfo, datetime, datetime, datetime, int, int, int] | None

    def __init__(
        self, fields: dict[str, str], given: tuple[str, ...], crontab: str | None
    ) -> None:
        search = build_search(
            fields, crontab=split_crontab(crontab)[0] if crontab else None, given=given
        )
        self.fields = MappingProxyType(fields)
        self.given = given
        self.crontab = crontab
        self.search = search
        self.repeat_hours = search.hours == _ALL_HOURS
        times_per_day = search.times_per_day
        # (with one time a day there is nothing to run through)
        self.runs_through_days = times_per_day > 1 and bool(search.clock_offsets)
        self.runs_by_day = times_per_day == 1 and search.every_day
        # A look-ahead steps through the days up to the next DST change: cheap per fire when
        # there are fires on most of those days, not when they are weeks or a year apart.
        self.looks_ahead = self.runs_through_days or search.dense_days
        self.recent_first = None
        self.recent_day = None


def spec_from_keywords(given: Mapping[str, str | None]) -> CronSpec:
    """The shared spec for keyword fields (``{"hour": "9", ...}``; missing or None: not
    given). Raises ``ValueError`` naming the field when one can't be read."""
    key = tuple(given.get(name) for name in FIELD_NAMES)
    spec = _registry.get(key)
    if spec is None:
        values = dict(zip(FIELD_NAMES, key, strict=True))
        spec = CronSpec(
            fill_defaults(values),
            tuple(name for name in FIELD_NAMES if values[name] is not None),
            None,
        )
        spec = _registry.add(key, spec)
    return spec


def spec_from_crontab(expr: object) -> CronSpec:
    """The shared spec for a crontab line (seconds always 0). Raises ``TypeError`` /
    ``ValueError`` quoting the line when it can't be read."""
    # split_crontab raises the TypeError for anything but a str
    line = expr.strip() if isinstance(expr, str) else split_crontab(expr)[0]
    spec = _registry.get(line)
    if spec is None:
        _, values = split_crontab(expr)
        fields = fill_defaults(dict(zip(CRONTAB_FIELDS, values, strict=True)))
        fields["second"] = "0"
        spec = _registry.add(line, CronSpec(fields, CRONTAB_FIELDS, line))
    return spec
