"""Group time zones: wall-clock text <-> UTC epoch seconds, fast enough for a million rows.

Instants are stored as UTC epoch seconds. A datetime without offset is a wall-clock time in the
group's zone; a wall time inside a spring-forward gap does not exist (refused), an ambiguous one
(fall-back) takes its first occurrence.

Writes and conditions are held to a range of years (`parse(..., years=)`), but a stored instant may be
anything a 64-bit column holds (rows written before the ranges, or by hand), and a group may change
its zone at any time: formatting never fails. Where `datetime` cannot represent an instant in the
zone, the offset is the zone's at the nearest end of what it can compute, and a wall clock before
0001-01-01 00:00:00 or after 9999-12-31 23:59:59 is shown as that bound (clamped), so every rendered
datetime keeps the four-digit-year form clients parse.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

_DATETIME = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)


class IsoDateTime(str):
    """A datetime already rendered as ISO-8601 with offset: the XML renderer types it."""

    __slots__ = ()


class WallTimeError(ValueError):
    """A date/time text that is malformed or does not exist in the zone."""


def is_valid_zone(name: str) -> bool:
    if not name or name != name.strip():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_RANGE_START = -2208988800  # 1900-01-01 UTC
_RANGE_END = 4102444800  # 2100-01-01 UTC
# the wall clocks datetime represents, as seconds since 1970-01-01 00:00:00 of the same wall clock
_FIRST_WALL = -62135596800  # 0001-01-01 00:00:00
_LAST_WALL = 253402300799  # 9999-12-31 23:59:59
FIRST_WALL_TEXT = "0001-01-01 00:00:00"
LAST_WALL_TEXT = "9999-12-31 23:59:59"
# the widest UTC offset accepted in a datetime text (real zones stay within -12:00 and +14:00)
MAX_OFFSET_HOURS = 18
_PROBE_STEP = 7 * 86400
# "HH:MM" for every minute of a day and ":SS" for every second: a time of day is two lookups
HOURS_MINUTES = [f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)]
SECONDS_TEXT = [f":{s:02d}" for s in range(60)]


class Zone:
    """One IANA zone with its UTC-offset transitions precomputed (1900–2100) and day strings cached."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tz = ZoneInfo(name)
        self._days: dict[int, str] = {}
        self._starts, self._offsets = self._transitions()

    def __repr__(self) -> str:
        return f"Zone({self.name!r})"

    def _exact_offset(self, ts: int) -> int:
        off = datetime.fromtimestamp(ts, self.tz).utcoffset()
        return int(off.total_seconds()) if off is not None else 0

    def _transitions(self) -> tuple[list[int], list[int]]:
        """Instants where the offset changes, found by probing weekly and bisecting to the second."""
        exact = self._exact_offset
        starts = [_RANGE_START]
        offsets = [exact(_RANGE_START)]
        previous_ts, previous = _RANGE_START, offsets[0]
        ts = _RANGE_START
        while ts < _RANGE_END:
            ts = min(ts + _PROBE_STEP, _RANGE_END)
            current = exact(ts)
            if current != previous:
                low, high = previous_ts, ts  # offset(low) == previous, offset(high) == current
                while high - low > 1:
                    middle = (low + high) // 2
                    if exact(middle) == previous:
                        low = middle
                    else:
                        high = middle
                starts.append(high)
                offsets.append(current)
            previous_ts, previous = ts, current
        return starts, offsets

    def _far_offset(self, ts: int) -> int:
        """The offset of an instant outside 1900-2100: zoneinfo's where datetime can represent it,
        else the offset at the nearest end of the precomputed range."""
        try:
            return self._exact_offset(ts)
        except (OverflowError, ValueError, OSError):
            return self._offsets[0] if ts < _RANGE_START else self._offsets[-1]

    def offset(self, ts: int) -> int:
        if _RANGE_START <= ts < _RANGE_END:
            return self._offsets[bisect_right(self._starts, ts) - 1]
        return self._far_offset(int(ts))

    def format(self, ts: int) -> str:
        """UTC epoch → 'YYYY-MM-DD HH:MM:SS' wall clock in this zone, for any instant (clamped to
        0001-01-01 00:00:00 ... 9999-12-31 23:59:59, see the module's docstring)."""
        if _RANGE_START <= ts < _RANGE_END:
            local = ts + self._offsets[bisect_right(self._starts, ts) - 1]
        else:
            local = int(ts) + self._far_offset(int(ts))
            if local < _FIRST_WALL:
                return FIRST_WALL_TEXT
            if local > _LAST_WALL:
                return LAST_WALL_TEXT
        days, secs = divmod(local, 86400)
        day = self._days.get(days)
        if day is None:
            day = date.fromordinal(days + EPOCH_ORDINAL).isoformat()
            if len(self._days) > 200_000:
                self._days.clear()
            self._days[days] = day
        return f"{day} {HOURS_MINUTES[secs // 60]}{SECONDS_TEXT[secs % 60]}"

    def steady_offsets(self, shift: int) -> tuple[int, list[int | None]]:
        """The UTC offset over each span of 2**shift seconds of 1900-2100, or None for a span that
        a change of offset falls in (or that leaves the range): `(first, table)` such that for
        `entry = table[(ts >> shift) - first]`, `ts + entry` is the wall clock of ts wherever entry is
        not None. For callers formatting so many instants that a bisect each costs (streamed lists)."""
        first, last = _RANGE_START >> shift, (_RANGE_END >> shift) + 1
        table: list[int | None] = []
        for bucket in range(first, last):
            start, end = bucket << shift, ((bucket + 1) << shift) - 1
            index = bisect_right(self._starts, start) - 1
            steady = start >= _RANGE_START and end < _RANGE_END and bisect_right(self._starts, end) - 1 == index
            table.append(self._offsets[index] if steady else None)
        return first, table

    def format_iso(self, ts: int) -> str:
        """UTC epoch → ISO-8601 with offset (XML rendering)."""
        off = self.offset(ts)
        sign = "+" if off >= 0 else "-"
        hh, mm = divmod(abs(off) // 60, 60)
        return f"{self.format(ts).replace(' ', 'T')}{sign}{hh:02d}:{mm:02d}"

    def format_xml(self, ts: int) -> IsoDateTime:
        return IsoDateTime(self.format_iso(ts))

    def local_datetime(self, ts: int) -> datetime:
        """The naive wall clock of an instant, clamped to what datetime represents."""
        try:
            return datetime.fromtimestamp(ts, self.tz).replace(tzinfo=None)
        except (OverflowError, ValueError, OSError):
            return datetime.min if ts < 0 else datetime.max.replace(microsecond=0)

    def to_epoch(self, wall: datetime) -> int:
        """A naive wall-clock datetime → UTC epoch; gap → WallTimeError; fold → first occurrence."""
        aware = wall.replace(tzinfo=self.tz, fold=0)
        ts = int(aware.timestamp())
        back = datetime.fromtimestamp(ts, self.tz).replace(tzinfo=None)
        if back != wall.replace(microsecond=0):
            raise WallTimeError(
                f"{wall:%Y-%m-%d %H:%M:%S} does not exist in {self.name} (clocks skip it at the change to summer time)"
            )
        return ts

    def parse(self, text: str, years: tuple[int, int] | None = None) -> int:
        """Accepted forms: 'YYYY-MM-DD HH:MM:SS', 'YYYY-MM-DD HH:MM', 'YYYY-MM-DD', ISO-8601 with 'T'
        and an optional offset or 'Z'. Without offset the text is wall-clock time in this zone.
        `years` (first, last) bounds the year as written; without it any year datetime represents
        is read, and an instant it cannot convert is refused (WallTimeError), never an overflow."""
        match = _DATETIME.match(text)
        if match is None:
            raise WallTimeError(f"{text!r} is not a date and time (expected YYYY-MM-DD HH:MM:SS)")
        year, month, day, hour, minute, second, offset = match.groups()
        if years is not None and not years[0] <= int(year) <= years[1]:
            raise WallTimeError(f"{text!r} is out of range (years {years[0]} to {years[1]})")
        try:
            wall = datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
            )
        except ValueError as exc:
            raise WallTimeError(f"{text!r} is not a valid date ({exc})") from None
        try:
            return self._instant(wall, offset, text)
        except WallTimeError:
            raise
        except (OverflowError, ValueError, OSError):
            # year 1 east of UTC, year 9999 west of it: the instant is outside datetime's range
            raise WallTimeError(f"{text!r} is out of range") from None

    def _instant(self, wall: datetime, offset: str | None, text: str) -> int:
        if offset is None:
            return self.to_epoch(wall)
        if offset == "Z":
            return int(wall.replace(tzinfo=UTC).timestamp())
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > MAX_OFFSET_HOURS or minutes > 59:
            raise WallTimeError(f"{text!r} has an impossible UTC offset ({offset})")
        delta = timedelta(hours=hours, minutes=minutes)
        return int((wall.replace(tzinfo=UTC) - sign * delta).timestamp())


@lru_cache(maxsize=512)
def zone(name: str) -> Zone:
    """The shared Zone object for a name (falls back to Europe/Paris for an unknown name so a
    corrupted row can still be rendered)."""
    try:
        return Zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return Zone("Europe/Paris")
