"""Group time zones (CONTRACT §1 "time zones", §2 "datetimes")."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrdv.agenda.zones import IsoDateTime, WallTimeError, Zone, is_valid_zone, zone

ZONES = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
LO = int(datetime(1900, 1, 1, tzinfo=UTC).timestamp())
HI = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp())


def utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


# -- accepted forms -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-15 10:30:45", utc(2026, 1, 15, 9, 30, 45)),
        ("2026-01-15 10:30", utc(2026, 1, 15, 9, 30)),
        ("2026-01-15", utc(2026, 1, 14, 23, 0)),
        ("2026-1-5 9:05", utc(2026, 1, 5, 8, 5)),
        ("2026-07-15T10:30:45", utc(2026, 7, 15, 8, 30, 45)),
        ("2026-07-15T10:30", utc(2026, 7, 15, 8, 30)),
        ("2026-07-15T10:30:45.123", utc(2026, 7, 15, 8, 30, 45)),
        ("2026-07-15T10:30:45Z", utc(2026, 7, 15, 10, 30, 45)),
        ("2026-07-15 10:30:45Z", utc(2026, 7, 15, 10, 30, 45)),
        ("2026-07-15T10:30:45+02:00", utc(2026, 7, 15, 8, 30, 45)),
        ("2026-07-15T10:30:45-0430", utc(2026, 7, 15, 15, 0, 45)),
        ("2026-07-15T10:30:45+05:30", utc(2026, 7, 15, 5, 0, 45)),
        ("  2026-07-15 10:30:45  ", utc(2026, 7, 15, 8, 30, 45)),
    ],
)
def test_parse_accepted_forms_paris(text: str, expected: int) -> None:
    assert zone("Europe/Paris").parse(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "tomorrow", "2026/01/15", "15-01-2026", "2026-13-01", "2026-02-29", "2026-01-32", "2026-01-15 24:00",
     "2026-01-15 10:60", "2026-01-15 10:30:61", "2026-01-15x10:30", "2026-01-15 10", "2026-01-15T10:30+2"],
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(WallTimeError):
        zone("Europe/Paris").parse(text)


def test_offset_ignores_zone() -> None:
    text = "2026-07-15T10:30:00+02:00"
    results = {zone(name).parse(text) for name in ZONES}
    assert results == {utc(2026, 7, 15, 8, 30)}


# -- DST ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "wall"),
    [
        ("Europe/Paris", "2026-03-29 02:30"),
        ("Europe/Paris", "2026-03-29 02:00:00"),
        ("Europe/Paris", "2026-03-29 02:59:59"),
        ("America/New_York", "2026-03-08 02:30"),
        ("Australia/Lord_Howe", "2026-10-04 02:15"),
    ],
)
def test_spring_forward_gap_is_refused(name: str, wall: str) -> None:
    with pytest.raises(WallTimeError, match="does not exist"):
        zone(name).parse(wall)


def test_gap_edges_exist() -> None:
    paris = zone("Europe/Paris")
    assert paris.parse("2026-03-29 01:59:59") == utc(2026, 3, 29, 0, 59, 59)
    assert paris.parse("2026-03-29 03:00:00") == utc(2026, 3, 29, 1, 0, 0)


@pytest.mark.parametrize(
    ("name", "wall", "first"),
    [
        ("Europe/Paris", "2026-10-25 02:30", utc(2026, 10, 25, 0, 30)),
        ("Europe/Paris", "2026-10-25 02:00:00", utc(2026, 10, 25, 0, 0)),
        ("America/New_York", "2026-11-01 01:30", utc(2026, 11, 1, 5, 30)),
        ("Australia/Lord_Howe", "2026-04-05 01:45", utc(2026, 4, 4, 14, 45)),
    ],
)
def test_fall_back_takes_first_occurrence(name: str, wall: str, first: int) -> None:
    z = zone(name)
    ts = z.parse(wall)
    assert ts == first
    # the second occurrence renders the same wall time, and is later
    delta = 1800 if name == "Australia/Lord_Howe" else 3600
    assert z.format(ts)[:16] == z.format(ts + delta)[:16] == wall[:16]
    assert z.offset(ts) - z.offset(ts + delta) == delta


def test_fall_back_offsets_in_iso() -> None:
    paris = zone("Europe/Paris")
    first = utc(2026, 10, 25, 0, 30)
    assert paris.format_iso(first) == "2026-10-25T02:30:00+02:00"
    assert paris.format_iso(first + 3600) == "2026-10-25T02:30:00+01:00"


# -- format -------------------------------------------------------------------------------------------


def test_format_examples() -> None:
    ts = utc(2026, 7, 15, 8, 30, 5)
    assert zone("Europe/Paris").format(ts) == "2026-07-15 10:30:05"
    assert zone("America/New_York").format(ts) == "2026-07-15 04:30:05"
    assert zone("Asia/Kolkata").format(ts) == "2026-07-15 14:00:05"
    assert zone("UTC").format(ts) == "2026-07-15 08:30:05"
    assert zone("Europe/Paris").format(0) == "1970-01-01 01:00:00"
    assert zone("America/New_York").format(-1) == "1969-12-31 18:59:59"


def test_format_iso_and_xml() -> None:
    ts = utc(2026, 1, 15, 9, 30)
    assert zone("Europe/Paris").format_iso(ts) == "2026-01-15T10:30:00+01:00"
    assert zone("America/New_York").format_iso(ts) == "2026-01-15T04:30:00-05:00"
    assert zone("Asia/Kolkata").format_iso(ts) == "2026-01-15T15:00:00+05:30"
    assert zone("UTC").format_iso(ts) == "2026-01-15T09:30:00+00:00"
    xml = zone("Europe/Paris").format_xml(ts)
    assert isinstance(xml, IsoDateTime) and xml == "2026-01-15T10:30:00+01:00"
    # the ISO text parses back to the same instant in any zone
    assert zone("UTC").parse(xml) == ts


def test_to_epoch_naive_wall() -> None:
    paris = zone("Europe/Paris")
    assert paris.to_epoch(datetime(2026, 1, 15, 10, 30)) == utc(2026, 1, 15, 9, 30)
    assert paris.to_epoch(datetime(2026, 10, 25, 2, 30)) == utc(2026, 10, 25, 0, 30)
    with pytest.raises(WallTimeError):
        paris.to_epoch(datetime(2026, 3, 29, 2, 30))


def test_local_datetime() -> None:
    assert zone("Europe/Paris").local_datetime(utc(2026, 7, 15, 8, 30)) == datetime(2026, 7, 15, 10, 30)


def test_zone_names() -> None:
    assert is_valid_zone("Europe/Paris")
    assert is_valid_zone("UTC")
    assert not is_valid_zone("")
    assert not is_valid_zone("Mars/Olympus")
    assert not is_valid_zone(" Europe/Paris")
    assert not is_valid_zone("../etc/passwd")
    assert zone("Europe/Paris") is zone("Europe/Paris")
    assert zone("Not/AZone").name == "Europe/Paris"


# -- properties ---------------------------------------------------------------------------------------


@cache
def transitions(name: str) -> tuple[int, ...]:
    """Every instant in 1900..2100 where the zone's UTC offset changes (found by bisection)."""
    tz = ZoneInfo(name)

    def off(ts: int) -> float:
        value = datetime.fromtimestamp(ts, tz).utcoffset()
        return value.total_seconds() if value is not None else 0.0

    found: list[int] = []
    step = 86400 * 7
    prev_ts, prev = LO, off(LO)
    for ts in range(LO + step, HI + step, step):
        cur = off(ts)
        if cur != prev:
            lo, hi = prev_ts, ts
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if off(mid) == prev:
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
        prev_ts, prev = ts, cur
    return tuple(found) or (LO,)


@st.composite
def instants(draw: st.DrawFn, name: str) -> int:
    if draw(st.booleans()):
        return draw(st.integers(LO, HI))
    base = draw(st.sampled_from(transitions(name)))
    return base + draw(st.integers(-3 * 3600, 3 * 3600))


@settings(max_examples=200, deadline=None)
@given(st.data(), st.sampled_from(ZONES))
def test_format_matches_zoneinfo(data: st.DataObject, name: str) -> None:
    ts = data.draw(instants(name))
    expected = datetime.fromtimestamp(ts, ZoneInfo(name)).strftime("%Y-%m-%d %H:%M:%S")
    assert Zone(name).format(ts) == expected
    assert zone(name).format(ts) == expected  # the shared, cache-warm object agrees


@settings(max_examples=200, deadline=None)
@given(st.data(), st.sampled_from(ZONES))
def test_parse_inverts_format(data: st.DataObject, name: str) -> None:
    z = zone(name)
    ts = data.draw(instants(name))
    text = z.format(ts)
    back = z.parse(text)
    if back != ts:
        # only inside a fall-back hour's second occurrence: the first occurrence is taken, which is
        # earlier by exactly the change of offset
        assert back < ts
        assert z.format(back) == text
        assert ts - back == z.offset(back) - z.offset(ts)
        assert z.offset(back) > z.offset(ts)
    iso = z.format_iso(ts)
    if z.offset(ts) % 60 == 0:
        assert zone("UTC").parse(iso) == ts  # with an offset, there is no ambiguity at all
    else:
        # local mean time before ~1911 has offsets with seconds, which ISO-8601 cannot carry: the
        # offset is truncated to the minute (documented limitation)
        assert 0 <= abs(zone("UTC").parse(iso) - ts) < 60


def test_transitions_helper_finds_dst() -> None:
    paris = transitions("Europe/Paris")
    assert utc(2026, 3, 29, 1, 0) in paris
    assert utc(2026, 10, 25, 1, 0) in paris
    assert transitions("UTC") == (LO,)


# -- the extremes: any stored instant renders, no input overflows ----------------------------------------

EXTREME_ZONES = [*ZONES, "Pacific/Kiritimati", "Etc/GMT+12", "America/St_Johns", "Asia/Kathmandu"]
INT64 = 2**63 - 1
WALL = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"
FIRST_UTC = int(datetime(1, 1, 1, tzinfo=UTC).timestamp())  # what datetime represents, in UTC
LAST_UTC = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.integers(-INT64 - 1, INT64),
        st.integers(FIRST_UTC - 2 * 86400, FIRST_UTC + 2 * 86400),
        st.integers(LAST_UTC - 2 * 86400, LAST_UTC + 2 * 86400),
        st.integers(FIRST_UTC, LAST_UTC),
    ),
    st.sampled_from(EXTREME_ZONES),
)
def test_any_stored_instant_renders_in_any_zone(ts: int, name: str) -> None:
    """A list must never fail on stored data: every 64-bit instant has a wall clock in every zone, in
    the form clients parse; where datetime can say it, it is datetime's, else the nearest bound."""
    z = zone(name)
    text = z.format(ts)
    assert re.fullmatch(WALL, text), text
    shown = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")  # a real date of four-digit year
    try:
        expected = datetime.fromtimestamp(ts, ZoneInfo(name)).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, ValueError, OSError):
        # beyond datetime: the bound, or within its day with the zone's nearest known offset
        assert text[:10] == ("0001-01-01" if ts < 0 else "9999-12-31"), text
    else:
        assert text == expected.rjust(19, "0")  # strftime writes year 1 as '1'
    iso = z.format_iso(ts)
    assert iso.startswith(text.replace(" ", "T"))
    assert datetime.fromisoformat(iso).replace(tzinfo=None) == shown
    assert z.format_xml(ts) == iso
    assert isinstance(z.offset(ts), int)
    assert z.local_datetime(ts).year in range(1, 10000)


@pytest.mark.parametrize(
    ("name", "ts", "text"),
    [
        # stored before any range was enforced, then the group moved east: the wall clock is past 9999
        ("Pacific/Kiritimati", int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()), "9999-12-31 23:59:59"),
        ("Pacific/Kiritimati", int(datetime(9999, 12, 31, 9, 0, tzinfo=UTC).timestamp()), "9999-12-31 23:00:00"),
        ("Etc/GMT+12", int(datetime(1, 1, 1, 5, 0, tzinfo=UTC).timestamp()), "0001-01-01 00:00:00"),
        ("Etc/GMT+12", int(datetime(1, 1, 1, 13, 0, tzinfo=UTC).timestamp()), "0001-01-01 01:00:00"),
        ("Europe/Paris", -(2**63), "0001-01-01 00:00:00"),
        ("Europe/Paris", 2**63 - 1, "9999-12-31 23:59:59"),
        ("UTC", int(datetime(2150, 6, 1, 12, 0, tzinfo=UTC).timestamp()), "2150-06-01 12:00:00"),
    ],
)
def test_extreme_instants_examples(name: str, ts: int, text: str) -> None:
    assert zone(name).format(ts) == text


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01",
        "0001-01-01T00:00:00+14:00",  # an instant before year 1 in UTC
        "9999-12-31T23:59:59-12:00",  # an instant after 9999 in UTC
        "9999-12-31 23:59:59",
    ],
)
def test_parse_never_overflows(text: str) -> None:
    """Without a range the edges of datetime are refused as WallTimeError (a 400), not an overflow."""
    for name in ("Pacific/Kiritimati", "Etc/GMT+12", "Europe/Paris"):
        try:
            ts = zone(name).parse(text)
        except WallTimeError:
            continue
        assert FIRST_UTC - 86400 <= ts <= LAST_UTC + 86400


@pytest.mark.parametrize(
    ("text", "years", "ok"),
    [
        ("1900-01-01 00:00:00", (1900, 2200), True),
        ("2200-12-31 23:59:59", (1900, 2200), True),
        ("2200-12-31T23:59:59-12:00", (1900, 2200), True),  # the year as written is what counts
        ("1900-01-01T00:00:00+14:00", (1900, 2200), True),
        ("1899-12-31 23:59:59", (1900, 2200), False),
        ("2201-01-01", (1900, 2200), False),
        ("0001-01-01 00:00:00", (1900, 2200), False),
        ("9999-12-31T23:59:59-12:00", (1900, 2200), False),
        ("1850-05-01", (1800, 2200), True),
        ("1799-12-31", (1800, 2200), False),
    ],
)
def test_parse_years(text: str, years: tuple[int, int], ok: bool) -> None:
    z = zone("Pacific/Kiritimati")
    if ok:
        assert z.format(z.parse(text, years))  # and it renders
    else:
        with pytest.raises(WallTimeError, match=f"years {years[0]} to {years[1]}"):
            z.parse(text, years)


@pytest.mark.parametrize("offset", ["+14:00", "-12:00", "+05:45", "-03:30", "+18:00", "Z"])
def test_real_offsets_are_read(offset: str) -> None:
    ts = zone("Europe/Paris").parse(f"2026-07-15T10:00:00{offset}")
    assert zone("UTC").parse(zone("UTC").format_iso(ts)) == ts


@pytest.mark.parametrize("offset", ["+19:00", "-24:00", "+05:60", "+99:99"])
def test_impossible_offsets_are_refused(offset: str) -> None:
    with pytest.raises(WallTimeError, match="offset"):
        zone("Europe/Paris").parse(f"2026-07-15T10:00:00{offset}")
