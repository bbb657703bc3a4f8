"""Expansion of recurring agenda events (RFC 5545 RRULE) into UTC epoch occurrences.

Recurrence is computed on *wall-clock* time: an event defined as 09:00-12:00 in its zone stays
09:00-12:00 local on every occurrence, whatever the DST changes in between; only then is each
occurrence converted to UTC epoch seconds.

Wall-clock to UTC conversion uses zoneinfo's ``fold=0`` semantics (``dt.replace(tzinfo=tz)``):

* a wall time inside a spring-forward gap (02:30 on the last Sunday of March in Europe/Paris) does not
  exist; it is read with the offset in force *before* the gap, which shifts it forward by the gap's
  length (02:30 becomes 03:30 CEST). An occurrence whose end would then come before its start is
  clamped to zero length;
* an ambiguous wall time (fall-back) takes its first occurrence (the summer-time reading).

Supported rules: FREQ in YEARLY, MONTHLY, WEEKLY, DAILY with INTERVAL, COUNT, UNTIL, WKST, BYMONTH,
BYWEEKNO, BYYEARDAY, BYMONTHDAY, BYDAY, BYHOUR, BYMINUTE, BYSECOND and BYSETPOS, with the RFC 5545
restrictions on which parts go with which frequency. Sub-daily frequencies are refused: an agenda event
repeating every hour or minute is never what a booking calendar means, and it would make availability
computations explode.

The event's own start is always its first occurrence (as RFC 5545 and most calendar clients do), even
when it does not match the rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from dateutil import rrule as du  # type: ignore[import-untyped,unused-ignore]

__all__ = [
    "MAX_COUNT",
    "MAX_INTERVAL",
    "expand_occurrences",
    "parse_exdates",
    "validate_rrule",
]

# Both bounds keep the cost of expanding one event small whatever the input: dateutil walks a rule
# period by period, so a huge INTERVAL or COUNT translates directly into CPU time per request.
MAX_INTERVAL = 1000
MAX_COUNT = 10_000

_FREQUENCIES: dict[str, int] = {
    "YEARLY": du.YEARLY,
    "MONTHLY": du.MONTHLY,
    "WEEKLY": du.WEEKLY,
    "DAILY": du.DAILY,
}
_SUB_DAILY_FREQUENCIES = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
_WEEKDAYS: dict[str, int] = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}

_INTEGER = re.compile(r"[+-]?\d{1,4}")
_BYDAY_ITEM = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_UNTIL_VALUE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?")

# (lowest, highest, zero allowed) for each integer-list rule part.
_INTEGER_LIST_PARTS: dict[str, tuple[int, int, bool]] = {
    "BYSECOND": (0, 59, True),
    "BYMINUTE": (0, 59, True),
    "BYHOUR": (0, 23, True),
    "BYMONTHDAY": (-31, 31, False),
    "BYYEARDAY": (-366, 366, False),
    "BYWEEKNO": (-53, 53, False),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (-366, 366, False),
}
_KNOWN_PARTS = frozenset({"FREQ", "UNTIL", "COUNT", "INTERVAL", "WKST", "BYDAY", *_INTEGER_LIST_PARTS})

# A rule's day filters repeat exactly every 400 Gregorian years (146097 days, a whole number of weeks).
# Probing one full cycle that ends at datetime.MAXYEAR makes dateutil stop by itself, so a rule that can
# never match is detected in bounded time instead of being walked until the year 9999 on every request.
_PROBE_START = datetime(9600, 1, 1)

# Padding of the local-time search window: larger than any UTC offset change a zone has ever made
# (Samoa skipped a whole day in 2011), so no occurrence overlapping the UTC window is missed.
_SEARCH_PADDING = timedelta(days=2)
_EARLIEST_SEARCH_EPOCH = int(datetime(1000, 1, 1, tzinfo=UTC).timestamp())
_LATEST_SEARCH_EPOCH = int(datetime(9000, 1, 1, tzinfo=UTC).timestamp())

_EXDATE_FORMATS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}"), "%Y-%m-%d{sep}%H:%M:%S"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}"), "%Y-%m-%d{sep}%H:%M"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"),
    (re.compile(r"\d{8}T\d{6}"), "%Y%m%dT%H%M%S"),
    (re.compile(r"\d{8}"), "%Y%m%d"),
)


@dataclass(frozen=True, slots=True)
class _Until:
    moment: datetime
    # "utc": an instant to convert into the event's zone; "floating": a wall time already in it;
    # "date": a whole day, inclusive (RFC 5545 bounds are inclusive).
    kind: str


@dataclass(frozen=True, slots=True)
class _RuleParts:
    """A parsed and validated RRULE, independent of any event start or zone."""

    freq: int
    interval: int = 1
    count: int | None = None
    until: _Until | None = None
    wkst: int = 0
    bymonth: tuple[int, ...] | None = None
    byweekno: tuple[int, ...] | None = None
    byyearday: tuple[int, ...] | None = None
    bymonthday: tuple[int, ...] | None = None
    byday: tuple[tuple[int, int | None], ...] | None = None  # (weekday 0=Monday, ordinal or None)
    byhour: tuple[int, ...] | None = None
    byminute: tuple[int, ...] | None = None
    bysecond: tuple[int, ...] | None = None
    bysetpos: tuple[int, ...] | None = None

    @property
    def has_day_filter(self) -> bool:
        return any(part is not None for part in (self.byweekno, self.byyearday, self.bymonthday, self.byday))


def validate_rrule(rrule: str) -> str | None:
    """Return a sentence explaining why ``rrule`` is not an acceptable RRULE, or None if it is."""
    if not isinstance(rrule, str):
        return "A recurrence rule must be a string."
    try:
        _parse_rrule(rrule)
    except ValueError as error:
        return str(error)
    return None


def parse_exdates(value: str | list[str] | None) -> list[datetime]:
    """Parse exception dates given as a comma-separated string or a list of strings.

    Accepted forms: ``YYYY-MM-DD HH:MM:SS``, ``YYYY-MM-DD HH:MM``, ``YYYY-MM-DD`` (a ``T`` may replace the
    space), and the iCalendar ``YYYYMMDDTHHMMSS`` and ``YYYYMMDD``. The result is naive wall-clock
    datetimes; a date-only form gives midnight, which ``expand_occurrences`` reads as "every occurrence
    of that day". Raises ValueError with a sentence on bad input.
    """
    if value is None:
        return []
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list):
        items = [piece for item in value for piece in _require_str(item).split(",")]
    else:
        raise ValueError("Exception dates must be a comma-separated string or a list of strings.")
    if len(items) == 1 and not items[0].strip():
        return []
    return [_parse_exdate(item.strip()) for item in items]


def expand_occurrences(
    start_local: datetime,
    end_local: datetime,
    rrule: str | None,
    exdates: Sequence[datetime],
    tz: ZoneInfo,
    window_start: int,
    window_end: int,
) -> list[tuple[int, int]]:
    """UTC epoch ``(start, end)`` of the occurrences of an event overlapping ``[window_start, window_end)``.

    ``start_local``/``end_local`` are the naive wall-clock bounds of the first occurrence in ``tz``;
    every occurrence lasts the same wall-clock duration. ``exdates`` are naive wall-clock starts of
    occurrences to drop; one at exactly midnight also drops every occurrence starting that day (this is
    how a date-only exception date reads). Aware exdates are converted into ``tz`` first.

    A zero-length occurrence is a point: it is returned when it lies in ``[window_start, window_end)``.
    The result is sorted and free of duplicates. Raises ValueError on an invalid rule or bounds.

    Cost is proportional to the occurrences near the window, not to the age of the event: without COUNT
    the rule is restarted at the last period boundary before the window (a COUNT rule must be counted
    from its first occurrence, but COUNT is capped at MAX_COUNT).
    """
    if start_local.tzinfo is not None or end_local.tzinfo is not None:
        raise ValueError("Event bounds must be naive wall-clock datetimes.")
    if end_local < start_local:
        raise ValueError("An event cannot end before it starts.")
    if window_end <= window_start:
        return []
    start_local = start_local.replace(microsecond=0)
    end_local = end_local.replace(microsecond=0)
    wall_duration = end_local - start_local

    earliest_local = _to_local(window_start, tz) - wall_duration - _SEARCH_PADDING
    latest_local = _to_local(window_end, tz) + _SEARCH_PADDING
    local_starts: set[datetime] = set()
    if earliest_local <= start_local <= latest_local:
        local_starts.add(start_local)
    if rrule is not None and rrule.strip():
        parts = _parse_rrule(rrule)
        local_starts.update(_rule_starts_between(parts, start_local, tz, earliest_local, latest_local))

    excluded_starts, excluded_days = _exclusions(exdates, tz)
    occurrences: set[tuple[int, int]] = set()
    for local_start in local_starts:
        if local_start in excluded_starts or local_start.date() in excluded_days:
            continue
        start = _to_epoch(local_start, tz)
        end = max(start, _to_epoch(local_start + wall_duration, tz))
        overlaps = start < window_end and (end > window_start or (end == start and start >= window_start))
        if overlaps:
            occurrences.add((start, end))
    return sorted(occurrences)


def _rule_starts_between(
    parts: _RuleParts, first_start: datetime, tz: ZoneInfo, earliest: datetime, latest: datetime
) -> Iterator[datetime]:
    search_origin = _search_origin(parts, first_start, earliest)
    rule = _build_rrule(parts, first_start, search_origin, _until_in_zone(parts.until, tz))
    for occurrence in cast(Iterator[datetime], iter(rule)):
        if occurrence > latest:
            return
        if occurrence >= earliest:
            yield occurrence


def _search_origin(parts: _RuleParts, first_start: datetime, earliest: datetime) -> datetime:
    """The latest start of a rule period, in phase with the rule, not after ``earliest``.

    Restarting dateutil there yields exactly the original occurrences from that point on, because
    every default dateutil would derive from the start has been made explicit in ``_build_rrule`` and
    the new start sits at 00:00 on the first day of a period (nothing of that period is cut off).
    """
    if parts.count is not None or earliest <= first_start:
        return first_start
    interval = parts.interval
    if parts.freq == du.DAILY:
        periods = (earliest.date() - first_start.date()).days // interval
        origin = first_start.date() + timedelta(days=periods * interval)
    elif parts.freq == du.WEEKLY:
        first_week = _week_start(first_start.date(), parts.wkst)
        weeks = (_week_start(earliest.date(), parts.wkst) - first_week).days // 7
        periods = weeks // interval
        origin = first_week + timedelta(weeks=periods * interval)
    elif parts.freq == du.MONTHLY:
        months = (earliest.year - first_start.year) * 12 + earliest.month - first_start.month
        periods = months // interval
        month_index = first_start.year * 12 + first_start.month - 1 + periods * interval
        origin = date(month_index // 12, month_index % 12 + 1, 1)
    else:
        periods = (earliest.year - first_start.year) // interval
        origin = date(first_start.year + periods * interval, 1, 1)
    if periods <= 0:
        # Still inside the first period: dateutil must see the real start to cut what precedes it.
        return first_start
    return datetime.combine(origin, time())


def _week_start(day: date, wkst: int) -> date:
    return day - timedelta(days=(day.weekday() - wkst) % 7)


def _build_rrule(parts: _RuleParts, first_start: datetime, dtstart: datetime, until: datetime | None) -> Any:
    """A dateutil rrule whose start-derived defaults all come from ``first_start``, started at ``dtstart``."""
    bymonth = parts.bymonth
    bymonthday = parts.bymonthday
    byday = parts.byday
    if not parts.has_day_filter:
        # dateutil (like RFC 5545) fills these from the event start; made explicit so that the rule can
        # be restarted at a later period without the defaults moving with it.
        if parts.freq == du.YEARLY:
            bymonth = bymonth if bymonth is not None else (first_start.month,)
            bymonthday = (first_start.day,)
        elif parts.freq == du.MONTHLY:
            bymonthday = (first_start.day,)
        elif parts.freq == du.WEEKLY:
            byday = ((first_start.weekday(), None),)
    return du.rrule(
        parts.freq,
        dtstart=dtstart,
        interval=parts.interval,
        wkst=parts.wkst,
        count=parts.count,
        until=until,
        bysetpos=parts.bysetpos,
        bymonth=bymonth,
        bymonthday=bymonthday,
        byyearday=parts.byyearday,
        byweekno=parts.byweekno,
        byweekday=None if byday is None else [du.weekday(day, ordinal) for day, ordinal in byday],
        byhour=parts.byhour if parts.byhour is not None else (first_start.hour,),
        byminute=parts.byminute if parts.byminute is not None else (first_start.minute,),
        bysecond=parts.bysecond if parts.bysecond is not None else (first_start.second,),
    )


def _until_in_zone(until: _Until | None, tz: ZoneInfo) -> datetime | None:
    if until is None:
        return None
    if until.kind == "utc":
        return until.moment.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)
    if until.kind == "date":
        return datetime.combine(until.moment.date(), time(23, 59, 59))
    return until.moment


def _exclusions(exdates: Sequence[datetime], tz: ZoneInfo) -> tuple[set[datetime], set[date]]:
    excluded_starts: set[datetime] = set()
    excluded_days: set[date] = set()
    for exdate in exdates:
        if exdate.tzinfo is not None:
            exdate = exdate.astimezone(tz).replace(tzinfo=None)
        exdate = exdate.replace(microsecond=0)
        excluded_starts.add(exdate)
        if exdate.time() == time():
            excluded_days.add(exdate.date())
    return excluded_starts, excluded_days


def _to_local(epoch: int, tz: ZoneInfo) -> datetime:
    # Only used for search bounds, so clamping an absurd window to representable years loses nothing.
    epoch = min(max(epoch, _EARLIEST_SEARCH_EPOCH), _LATEST_SEARCH_EPOCH)
    return datetime.fromtimestamp(epoch, tz).replace(tzinfo=None)


def _to_epoch(local: datetime, tz: ZoneInfo) -> int:
    # fold=0: gap times are shifted forward, ambiguous times take their first occurrence.
    return int(local.replace(tzinfo=tz).timestamp())


def _parse_rrule(text: str) -> _RuleParts:
    """Parse and validate an RRULE value; raise ValueError with a sentence when it is not acceptable."""
    parsed = _parse_rrule_cached(text)
    if isinstance(parsed, str):
        raise ValueError(parsed)
    return parsed


@lru_cache(maxsize=1024)
def _parse_rrule_cached(text: str) -> _RuleParts | str:
    """``_parse_rrule`` with its refusals cached too: a bad rule stored earlier costs one probe, not one
    per request."""
    try:
        return _parse_rrule_uncached(text)
    except ValueError as error:
        return str(error)


def _parse_rrule_uncached(text: str) -> _RuleParts:
    body = text.strip()
    if body[:6].upper() == "RRULE:":
        body = body[6:]
    if not body:
        raise ValueError("The recurrence rule is empty.")

    raw: dict[str, str] = {}
    for pair in body.split(";"):
        name, separator, value = pair.partition("=")
        name = name.strip().upper()
        value = value.strip().upper()
        if not separator or not name or not value:
            raise ValueError(f"Recurrence rule part {pair!r} is not of the form NAME=VALUE.")
        if name not in _KNOWN_PARTS:
            raise ValueError(f"Recurrence rule part {name} is unknown or not supported.")
        if name in raw:
            raise ValueError(f"Recurrence rule part {name} is given more than once.")
        raw[name] = value

    freq = _parse_freq(raw.get("FREQ"))
    if "COUNT" in raw and "UNTIL" in raw:
        raise ValueError("A recurrence rule cannot have both COUNT and UNTIL.")
    wkst = raw.get("WKST", "MO")
    if wkst not in _WEEKDAYS:
        raise ValueError(f"WKST must be a day among MO, TU, WE, TH, FR, SA, SU, not {wkst}.")

    def integer_list(name: str) -> tuple[int, ...] | None:
        return _parse_integer_list(name, raw[name], *_INTEGER_LIST_PARTS[name]) if name in raw else None

    parts = _RuleParts(
        freq=freq,
        interval=_parse_bounded_int("INTERVAL", raw["INTERVAL"], 1, MAX_INTERVAL) if "INTERVAL" in raw else 1,
        count=_parse_bounded_int("COUNT", raw["COUNT"], 1, MAX_COUNT) if "COUNT" in raw else None,
        until=_parse_until(raw["UNTIL"]) if "UNTIL" in raw else None,
        wkst=_WEEKDAYS[wkst],
        bymonth=integer_list("BYMONTH"),
        byweekno=integer_list("BYWEEKNO"),
        byyearday=integer_list("BYYEARDAY"),
        bymonthday=integer_list("BYMONTHDAY"),
        byday=_parse_byday(raw["BYDAY"]) if "BYDAY" in raw else None,
        byhour=integer_list("BYHOUR"),
        byminute=integer_list("BYMINUTE"),
        bysecond=integer_list("BYSECOND"),
        bysetpos=integer_list("BYSETPOS"),
    )
    _check_part_combinations(parts, raw["FREQ"])
    if not _ever_occurs(parts):
        raise ValueError("The recurrence rule can never produce an occurrence.")
    return parts


def _parse_freq(value: str | None) -> int:
    if value is None:
        raise ValueError("The recurrence rule has no FREQ part.")
    if value in _SUB_DAILY_FREQUENCIES:
        raise ValueError(f"FREQ={value} is not supported: agenda events repeat at most daily.")
    if value not in _FREQUENCIES:
        raise ValueError(f"FREQ={value} is unknown: use YEARLY, MONTHLY, WEEKLY or DAILY.")
    return _FREQUENCIES[value]


def _parse_bounded_int(name: str, value: str, lowest: int, highest: int) -> int:
    if not value.isdigit() or len(value) > 9:
        raise ValueError(f"{name} must be a positive integer, not {value}.")
    number = int(value)
    if not lowest <= number <= highest:
        raise ValueError(f"{name} must be between {lowest} and {highest}, not {number}.")
    return number


def _parse_integer_list(
    name: str, value: str, lowest: int, highest: int, zero_allowed: bool
) -> tuple[int, ...]:
    numbers: list[int] = []
    for item in value.split(","):
        item = item.strip()
        if not _INTEGER.fullmatch(item):
            raise ValueError(f"{name} must be a comma-separated list of integers, not {value}.")
        number = int(item)
        if not lowest <= number <= highest or (number == 0 and not zero_allowed):
            allowed = f"{lowest} to {highest}" + ("" if zero_allowed else " except 0")
            raise ValueError(f"{name} values must be {allowed}, not {number}.")
        numbers.append(number)
    return tuple(sorted(set(numbers)))


def _parse_byday(value: str) -> tuple[tuple[int, int | None], ...]:
    days: list[tuple[int, int | None]] = []
    for item in value.split(","):
        match = _BYDAY_ITEM.fullmatch(item.strip())
        if match is None:
            raise ValueError(f"BYDAY must list days such as MO, TU or 2MO, -1FR, not {value}.")
        ordinal_text, day_name = match.groups()
        ordinal = int(ordinal_text) if ordinal_text else None
        if ordinal is not None and not (1 <= abs(ordinal) <= 53):
            raise ValueError(f"BYDAY ordinals must be 1 to 53 or -53 to -1, not {ordinal}.")
        days.append((_WEEKDAYS[day_name], ordinal))
    return tuple(sorted(set(days), key=lambda day: (day[0], day[1] or 0)))


def _parse_until(value: str) -> _Until:
    match = _UNTIL_VALUE.fullmatch(value)
    if match is None:
        raise ValueError(f"UNTIL must be YYYYMMDD or YYYYMMDDTHHMMSS[Z], not {value}.")
    year, month, day, hour, minute, second, utc_marker = match.groups()
    try:
        if hour is None:
            return _Until(datetime(int(year), int(month), int(day)), "date")
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        raise ValueError(f"UNTIL {value} is not a valid date.") from None
    return _Until(moment, "utc" if utc_marker else "floating")


def _check_part_combinations(parts: _RuleParts, frequency_name: str) -> None:
    """Enforce RFC 5545's restrictions on which BYxxx parts each frequency accepts."""
    if parts.byweekno is not None and parts.freq != du.YEARLY:
        raise ValueError("BYWEEKNO is only allowed with FREQ=YEARLY.")
    if parts.byyearday is not None and parts.freq != du.YEARLY:
        raise ValueError("BYYEARDAY is only allowed with FREQ=YEARLY.")
    if parts.bymonthday is not None and parts.freq == du.WEEKLY:
        raise ValueError("BYMONTHDAY is not allowed with FREQ=WEEKLY.")
    has_ordinal_day = parts.byday is not None and any(ordinal is not None for _, ordinal in parts.byday)
    if has_ordinal_day and parts.freq not in (du.MONTHLY, du.YEARLY):
        raise ValueError(f"BYDAY days with an ordinal (like 2MO) are not allowed with FREQ={frequency_name}.")
    if has_ordinal_day and parts.byweekno is not None:
        raise ValueError("BYDAY days with an ordinal (like 2MO) are not allowed together with BYWEEKNO.")
    if parts.bysetpos is not None:
        others = (
            parts.bymonth,
            parts.byweekno,
            parts.byyearday,
            parts.bymonthday,
            parts.byday,
            parts.byhour,
            parts.byminute,
            parts.bysecond,
        )
        if all(other is None for other in others):
            raise ValueError("BYSETPOS needs another BYxxx part to select from.")


def _ever_occurs(parts: _RuleParts) -> bool:
    """Whether the rule's filters can match at all (e.g. not BYMONTH=2;BYMONTHDAY=30).

    Probed with INTERVAL=1 over one full 400-year Gregorian cycle, which is exact for every rule with
    INTERVAL=1; with a larger INTERVAL an unlucky phase could still never match, which costs time on
    expansion but is not an error.
    """
    probe = replace(parts, interval=1, count=None, until=None)
    rule = _build_rrule(probe, _PROBE_START, _PROBE_START, None)
    try:
        return next(iter(rule), None) is not None
    except (ValueError, OverflowError):
        # A match on a day past datetime.MAXYEAR: the rule does match.
        return True


def _require_str(item: object) -> str:
    if not isinstance(item, str):
        raise ValueError(f"Exception date {item!r} must be a string.")
    return item


def _parse_exdate(text: str) -> datetime:
    for pattern, template in _EXDATE_FORMATS:
        if pattern.fullmatch(text):
            separator = "T" if len(text) > 10 and text[10] == "T" else " "
            try:
                return datetime.strptime(text, template.format(sep=separator))
            except ValueError:
                raise ValueError(f"Exception date {text!r} is not a valid date.") from None
    raise ValueError(
        f"Exception date {text!r} is not in a supported form: "
        "YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS] or YYYYMMDDTHHMMSS."
    )
