"""The wall clock inlined in streamed lists (crud/wallclock.py, WallClock) is `Zone.format`, instant for
instant: around every change of offset of zones with odd rules, at the edges of the steady spans
and of 1900-2100, and at random."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from openrdv.agenda.zones import zone
from openrdv.crud.wallclock import WallClock, steady_offsets, wall_clock

ZONES = [
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",  # summer time of 30 minutes
    "Asia/Kathmandu",  # +05:45
    "Pacific/Apia",  # skipped 2011-12-30 altogether
    "Africa/Casablanca",  # summer time suspended for Ramadan: changes weeks apart
    "Antarctica/Troll",  # +00:00 / +02:00
    "America/St_Johns",  # -03:30
    "UTC",
]


def inlined(name: str) -> Callable[[int | None], str | None]:
    source = f"lambda c0: {WallClock.expression('c0')}"
    target = zone(name)
    names = {**wall_clock().names, "fmt": target.format, "O": steady_offsets(target)}
    function: Callable[[int | None], str | None] = eval(source, names)
    return function


def instants(name: str) -> list[int]:
    """Seconds around each change of offset, each span edge, the range ends, and random ones."""
    target = zone(name)
    rnd = random.Random(name)
    found: list[int] = []
    for start in target._starts:  # the changes the zone itself knows of
        found += range(start - 3, start + 3)
        found += [start - 86400, start + 86400, start - 3600, start + 3600]
    first, table = target.steady_offsets(WallClock.SHIFT)
    for i in range(0, len(table), 7):
        edge = (first + i) << WallClock.SHIFT
        found += [edge - 1, edge, edge + 1]
    found += [-2208988800 + d for d in (-86401, -1, 0, 1)] + [4102444800 + d for d in (-1, 0, 1, 86400)]
    found += [rnd.randrange(-3_000_000_000, 5_000_000_000) for _ in range(3000)]
    return found


@pytest.mark.parametrize("name", ZONES)
def test_inlined_wall_clock_is_zone_format(name: str) -> None:
    fast, exact = inlined(name), zone(name).format
    assert fast(None) is None
    for ts in instants(name):
        assert fast(ts) == exact(ts), (name, ts)


def test_steady_spans_are_most_of_them() -> None:
    """The inlined arithmetic is the usual case, Zone.format the exception."""
    table = steady_offsets(zone("Europe/Paris"))
    assert sum(entry is None for entry in table) < len(table) / 10
    assert all(entry is None for entry in table[:1])  # the span that begins before 1900


@pytest.mark.parametrize("name", [*ZONES, "Pacific/Kiritimati", "Etc/GMT+12"])
def test_inlined_wall_clock_renders_any_stored_instant(name: str) -> None:
    """A streamed list never fails on a stored instant, however far (rows written before the year
    ranges, then the group's zone changed): the inlined path hands them to Zone.format, which clamps."""
    fast = inlined(name)
    far = [-(2**63), 2**63 - 1, -62135596800 - 1, -62135596800, -62135596800 + 43200, 253402300799,
           253402300799 - 50400, 253402300799 + 1, 10**15, -(10**15)]
    for ts in far:
        text = fast(ts)
        assert text is not None and len(text) == 19 and text == zone(name).format(ts), (name, ts, text)
    assert fast(2**63 - 1) == "9999-12-31 23:59:59"
    assert fast(-(2**63)) == "0001-01-01 00:00:00"
