"""Group time zones: wall-clock text <-> UTC epoch seconds, fast enough for a million rows.

Instants are stored as UTC epoch seconds. A datetime without offset is a wall-clock time in the
group's zone; a wall time inside a spring-forward gap does not exist (refused), an ambiguous one
(fall-back) takes its first occurrence.
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

    def offset(self, ts: int) -> int:
        if _RANGE_START <= ts < _RANGE_END:
            return self._offsets[bisect_right(self._starts, ts) - 1]
        return self._exact_offset(ts)

    def format(self, ts: int) -> str:
        """UTC epoch → 'YYYY-MM-DD HH:MM:SS' wall clock in this zone."""
        if _RANGE_START <= ts < _RANGE_END:
            local = ts + self._offsets[bisect_right(self._starts, ts) - 1]
        else:
            local = ts + self._exact_offset(ts)
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
        return datetime.fromtimestamp(ts, self.tz).replace(tzinfo=None)

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

    def parse(self, text: str) -> int:
        """Accepted forms: 'YYYY-MM-DD HH:MM:SS', 'YYYY-MM-DD HH:MM', 'YYYY-MM-DD', ISO-8601 with 'T'
        and an optional offset or 'Z'. Without offset the text is wall-clock time in this zone."""
        match = _DATETIME.match(text)
        if match is None:
            raise WallTimeError(f"{text!r} is not a date and time (expected YYYY-MM-DD HH:MM:SS)")
        year, month, day, hour, minute, second, offset = match.groups()
        try:
            wall = datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
            )
        except ValueError as exc:
            raise WallTimeError(f"{text!r} is not a valid date ({exc})") from None
        if offset is None:
            return self.to_epoch(wall)
        if offset == "Z":
            return int(wall.replace(tzinfo=UTC).timestamp())
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return int((wall.replace(tzinfo=UTC) - sign * delta).timestamp())


@lru_cache(maxsize=512)
def zone(name: str) -> Zone:
    """The shared Zone object for a name (falls back to Europe/Paris for an unknown name so a
    corrupted row can still be rendered)."""
    try:
        return Zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return Zone("Europe/Paris")
