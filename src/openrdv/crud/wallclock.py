"""The wall clock of a datetime computed inline, in the generated code of a streamed JSON list: the
fast path of `Zone.format`, which stays the plain path.

What it buys: datetimes are most of what is left to compute of a streamed record once it is no dict
(`crud/streamed.py`), and a call to `Zone.format` with its bisect cost twice the inlined arithmetic.
Inlined, `results=all` of a million fiches went from 123k to 145-166k records/s (7.3 → 4.9-6.1 µs a
record); bench/README.md has the latest figures (e1).

The plain path, `Zone.format`, is taken by every other rendering (pages, single records, XML, the
streamed lists `crud/streamed.py` does not take), and inside this one where a zone has no steady offset:
the spans of 2**SHIFT seconds with a change of offset inside (1 span in 20 around a change) and
instants outside 1900-2100.

The interface, for code generated with `WallClock.expression(column)`: the names of `wall_clock()`
as its globals, and per zone the pair `zone_clock(zone)` gives, bound to `fmt` and `O`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import Any

from openrdv.agenda.zones import EPOCH_ORDINAL, HOURS_MINUTES, SECONDS_TEXT, Zone
from openrdv.agenda.zones import zone as zone_named

Clock = tuple[Callable[[int], str], list[int | None]]  # a zone's `fmt` (Zone.format) and steady offsets `O`


class WallClock:
    """`Zone.format` inlined: a zone's offset comes from its table of steady offsets
    (`Zone.steady_offsets`: one entry per 2**SHIFT seconds, None where the offset changes inside);
    the text from a table of day prefixes (filled as days are met) and small tables of hours, minutes
    and seconds. Where the zone table has no entry (1 span in 20 around a change, or outside
    1900-2100), `Zone.format` itself."""

    SHIFT = 20  # spans of about 12 days: 6,000 entries a zone

    def __init__(self) -> None:
        first_bucket, table = zone_named("UTC").steady_offsets(self.SHIFT)
        self.first_bucket, self.buckets = first_bucket, len(table)  # the same for every zone
        # an offset is less than a day: the local day of an instant is within a day of its UTC day
        self.first_day = ((first_bucket << self.SHIFT) // 86400) - 1
        last_day = ((first_bucket + len(table)) << self.SHIFT) // 86400 + 1
        self.days: list[str | None] = [None] * (last_day - self.first_day + 1)
        self.names: dict[str, Any] = {
            "FIRST_BUCKET": self.first_bucket,
            "BUCKETS": self.buckets,
            "FIRST_DAY": self.first_day,
            "DAY": self.days,
            "day_text": self.day_text,
            "HOUR_MINUTE": HOURS_MINUTES,
            "SECOND": SECONDS_TEXT,
        }

    def day_text(self, day: int) -> str:
        """'YYYY-MM-DD ' of a day number since 1970-01-01, kept for the next time."""
        text = date.fromordinal(day + EPOCH_ORDINAL).isoformat() + " "
        self.days[day - self.first_day] = text
        return text

    @staticmethod
    def expression(value: str) -> str:
        """Code for the wall clock of `value` (a column's epoch seconds or None) in the zone whose
        formatter is `fmt` and whose steady offsets are `O`; it assigns b, o, d, l and s."""
        return (
            f"(None if {value} is None else fmt({value}) "
            f"if (o := O[b] if 0 <= (b := ({value} >> {WallClock.SHIFT}) - FIRST_BUCKET) < BUCKETS else None) is None "
            f"else (DAY[(d := (l := {value} + o) // 86400) - FIRST_DAY] or day_text(d)) "
            f"+ HOUR_MINUTE[(s := l % 86400) // 60] + SECOND[s % 60])"
        )


@lru_cache(maxsize=1)
def wall_clock() -> WallClock:
    """The one wall clock of the process: its day prefixes are shared by every zone and stream."""
    return WallClock()


@lru_cache(maxsize=64)
def steady_offsets(zone: Zone) -> list[int | None]:
    """The zone's steady offsets, on the buckets of `wall_clock()` (the same for every zone)."""
    first_bucket, table = zone.steady_offsets(WallClock.SHIFT)
    assert (first_bucket, len(table)) == (wall_clock().first_bucket, wall_clock().buckets)
    return table


def zone_clock(zone: Zone) -> Clock:
    """What code of `WallClock.expression` needs of a zone: its formatter (the plain path, for
    instants without a steady offset) and its steady offsets."""
    return zone.format, steady_offsets(zone)
