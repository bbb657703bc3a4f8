"""Recurrence expansion: wall-clock recurrence across DST, exceptions, bounds, validation, parsing."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr  # type: ignore[import-untyped,unused-ignore]
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from openrdv.agenda.recurrence import expand_occurrences, parse_exdates, validate_rrule
from openrdv.agenda.slots import CalendarSchedule, compute_slots

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600


def epoch(tz: tzinfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=tz).timestamp())


def local(tz: ZoneInfo, instant: int) -> datetime:
    return datetime.fromtimestamp(instant, tz)


def expand(
    start: datetime,
    end: datetime,
    rrule: str | None,
    tz: ZoneInfo,
    window: tuple[int, int],
    exdates: Sequence[datetime] = (),
) -> list[tuple[int, int]]:
    return expand_occurrences(start, end, rrule, exdates, tz, window[0], window[1])


YEAR_2026_PARIS = (epoch(PARIS, 2026, 1, 1), epoch(PARIS, 2027, 1, 1))
YEAR_2026_NEW_YORK = (epoch(NEW_YORK, 2026, 1, 1), epoch(NEW_YORK, 2027, 1, 1))


# --- wall-clock recurrence across DST ------------------------------------------------------------


def test_weekly_monday_opening_keeps_9_to_12_across_paris_dst_changes() -> None:
    occurrences = expand(
        datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 12), "FREQ=WEEKLY;BYDAY=MO", PARIS, YEAR_2026_PARIS
    )

    assert len(occurrences) == 44  # every Monday from 2 March to 28 December 2026
    for start, end in occurrences:
        assert local(PARIS, start).weekday() == 0
        assert (local(PARIS, start).hour, local(PARIS, start).minute) == (9, 0)
        assert (local(PARIS, end).hour, local(PARIS, end).minute) == (12, 0)
        assert end - start == 3 * HOUR
    starts = {local(PARIS, start).date().isoformat(): start for start, _ in occurrences}
    # Summer time starts on Sunday 29 March and ends on Sunday 25 October 2026.
    assert starts["2026-03-23"] == epoch(UTC, 2026, 3, 23, 8)  # UTC+1
    assert starts["2026-03-30"] == epoch(UTC, 2026, 3, 30, 7)  # UTC+2
    assert starts["2026-10-19"] == epoch(UTC, 2026, 10, 19, 7)  # UTC+2
    assert starts["2026-10-26"] == epoch(UTC, 2026, 10, 26, 8)  # UTC+1
    assert local(PARIS, starts["2026-03-23"]).utcoffset() == timedelta(hours=1)
    assert local(PARIS, starts["2026-03-30"]).utcoffset() == timedelta(hours=2)
    assert local(PARIS, starts["2026-10-26"]).utcoffset() == timedelta(hours=1)


def test_weekly_monday_opening_keeps_9_to_12_across_new_york_dst_changes() -> None:
    occurrences = expand(
        datetime(2026, 3, 2, 9),
        datetime(2026, 3, 2, 12),
        "FREQ=WEEKLY;BYDAY=MO",
        NEW_YORK,
        YEAR_2026_NEW_YORK,
    )

    assert all(
        local(NEW_YORK, start).hour == 9 and local(NEW_YORK, end).hour == 12 for start, end in occurrences
    )
    starts = {local(NEW_YORK, start).date().isoformat(): start for start, _ in occurrences}
    # Daylight saving time starts on Sunday 8 March and ends on Sunday 1 November 2026.
    assert starts["2026-03-02"] == epoch(UTC, 2026, 3, 2, 14)  # UTC-5
    assert starts["2026-03-09"] == epoch(UTC, 2026, 3, 9, 13)  # UTC-4
    assert starts["2026-10-26"] == epoch(UTC, 2026, 10, 26, 13)  # UTC-4
    assert starts["2026-11-02"] == epoch(UTC, 2026, 11, 2, 14)  # UTC-5


@pytest.mark.parametrize(
    ("tz", "first_day", "change_day"),
    [
        (PARIS, datetime(2026, 3, 26, 9), "2026-03-29"),
        (PARIS, datetime(2026, 10, 22, 9), "2026-10-25"),
        (NEW_YORK, datetime(2026, 3, 5, 9), "2026-03-08"),
        (NEW_YORK, datetime(2026, 10, 29, 9), "2026-11-01"),
    ],
)
def test_daily_rule_keeps_wall_clock_through_the_change_day(
    tz: ZoneInfo, first_day: datetime, change_day: str
) -> None:
    window = (int(first_day.replace(tzinfo=tz).timestamp()) - HOUR, epoch(tz, 2026, 12, 31))
    occurrences = expand(first_day, first_day + timedelta(hours=3), "FREQ=DAILY;COUNT=7", tz, window)

    assert len(occurrences) == 7
    days = [local(tz, start).date().isoformat() for start, _ in occurrences]
    assert change_day in days
    for start, end in occurrences:
        assert (local(tz, start).hour, local(tz, end).hour) == (9, 12)
        assert end - start == 3 * HOUR
    offsets = {local(tz, start).utcoffset() for start, _ in occurrences}
    assert len(offsets) == 2


def test_nonexistent_wall_time_is_shifted_forward_and_ambiguous_takes_the_first() -> None:
    window = YEAR_2026_PARIS
    spring = expand(datetime(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 4), None, PARIS, window)
    # 02:30 does not exist that night: read with the winter offset it is 03:30 summer time.
    assert spring == [(epoch(UTC, 2026, 3, 29, 1, 30), epoch(UTC, 2026, 3, 29, 2))]

    autumn = expand(datetime(2026, 10, 25, 2, 30), datetime(2026, 10, 25, 3, 30), None, PARIS, window)
    # 02:30 happens twice: the first one, still summer time (UTC+2), is taken.
    assert autumn == [(epoch(UTC, 2026, 10, 25, 0, 30), epoch(UTC, 2026, 10, 25, 2, 30))]


def test_window_edges_near_a_fall_back_are_compared_as_instants_not_wall_times() -> None:
    # 25 October 2026, Paris: 02:50 (first, summer time) is 00:50 UTC, while the window's end at
    # 01:10 UTC reads 02:10 on the wall, earlier than 02:50.
    window = (epoch(UTC, 2026, 10, 25, 0, 0), epoch(UTC, 2026, 10, 25, 1, 10))
    occurrences = expand(
        datetime(2026, 10, 20, 2, 50), datetime(2026, 10, 20, 3, 0), "FREQ=DAILY", PARIS, window
    )

    assert [start for start, _ in occurrences] == [epoch(UTC, 2026, 10, 25, 0, 50)]


def test_occurrence_inverted_by_the_gap_becomes_a_point() -> None:
    # 02:30 reads as 03:30 summer time, after the 03:15 end: the occurrence is clamped to zero length.
    occurrences = expand(
        datetime(2026, 3, 29, 2, 30), datetime(2026, 3, 29, 3, 15), None, PARIS, YEAR_2026_PARIS
    )

    assert occurrences == [(epoch(UTC, 2026, 3, 29, 1, 30), epoch(UTC, 2026, 3, 29, 1, 30))]


@pytest.mark.parametrize(
    ("tz", "month", "days_around_change"),
    [
        (NEW_YORK, 3, (2, 9)),
        (NEW_YORK, 10, (26,)),
        (NEW_YORK, 11, (2,)),
        (PARIS, 3, (23, 30)),
        (PARIS, 10, (19, 26)),
    ],
)
def test_slots_on_expanded_openings_start_at_9_local_on_both_sides_of_the_change(
    tz: ZoneInfo, month: int, days_around_change: tuple[int, ...]
) -> None:
    window = (epoch(tz, 2026, month, 1), epoch(tz, 2026, month + 1, 1))
    openings = expand(datetime(2026, 1, 5, 9), datetime(2026, 1, 5, 12), "FREQ=WEEKLY;BYDAY=MO", tz, window)
    schedule = CalendarSchedule(1, 1, 60, openings, (), ())

    slots = compute_slots([schedule], 60 * 60, window[0], window[1], window[0], window[1])

    assert slots
    assert {(local(tz, slot.start).hour, local(tz, slot.start).minute) for slot in slots} == {
        (9, 0),
        (10, 0),
        (11, 0),
    }
    nine_o_clock_days = {local(tz, slot.start).day for slot in slots if local(tz, slot.start).hour == 9}
    assert set(days_around_change) <= nine_o_clock_days


# --- exceptions, COUNT, UNTIL, windows -----------------------------------------------------------

MONDAY = (datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 12))


def monday_starts(
    rrule: str | None, exdates: Sequence[datetime] = (), window: tuple[int, int] = YEAR_2026_PARIS
) -> list[str]:
    occurrences = expand(*MONDAY, rrule, PARIS, window, exdates)
    return [local(PARIS, start).strftime("%Y-%m-%d %H:%M") for start, _ in occurrences]


MARCH_2026 = (epoch(PARIS, 2026, 3, 1), epoch(PARIS, 2026, 4, 1))


def test_exdates_remove_occurrences_by_start_wall_time() -> None:
    starts = monday_starts("FREQ=WEEKLY", [datetime(2026, 3, 9, 9), datetime(2026, 3, 23, 9)], MARCH_2026)

    assert starts == ["2026-03-02 09:00", "2026-03-16 09:00", "2026-03-30 09:00"]


def test_exdate_at_midnight_removes_that_days_occurrences() -> None:
    twice_a_day = expand(
        datetime(2026, 3, 2, 9),
        datetime(2026, 3, 2, 10),
        "FREQ=DAILY;BYHOUR=9,14",
        PARIS,
        MARCH_2026,
        [datetime(2026, 3, 3)],
    )

    days = [local(PARIS, start).strftime("%d %H") for start, _ in twice_a_day][:6]
    assert days == ["02 09", "02 14", "04 09", "04 14", "05 09", "05 14"]


def test_exdate_not_matching_an_occurrence_removes_nothing_and_the_first_occurrence_can_be_excluded() -> None:
    assert monday_starts("FREQ=WEEKLY", [datetime(2026, 3, 9, 10)], MARCH_2026) == monday_starts(
        "FREQ=WEEKLY", (), MARCH_2026
    )
    assert monday_starts("FREQ=WEEKLY", [datetime(2026, 3, 2, 9)], MARCH_2026)[0] == "2026-03-09 09:00"
    assert monday_starts(None, [datetime(2026, 3, 2, 9)]) == []


def test_aware_exdates_are_read_in_the_event_zone() -> None:
    exdate = datetime(2026, 3, 9, 8, tzinfo=UTC)  # 09:00 in Paris

    assert "2026-03-09 09:00" not in monday_starts("FREQ=WEEKLY", [exdate], MARCH_2026)


def test_exdates_parsed_from_text_apply() -> None:
    exdates = parse_exdates("2026-03-09 09:00:00,20260316T090000")

    assert monday_starts("FREQ=WEEKLY", exdates, MARCH_2026) == [
        "2026-03-02 09:00",
        "2026-03-23 09:00",
        "2026-03-30 09:00",
    ]


def test_count_is_honoured() -> None:
    assert len(monday_starts("FREQ=DAILY;COUNT=10")) == 10
    assert monday_starts("RRULE:FREQ=WEEKLY;COUNT=3") == [
        "2026-03-02 09:00",
        "2026-03-09 09:00",
        "2026-03-16 09:00",
    ]


def test_count_window_far_from_the_start_still_counts_from_the_first_occurrence() -> None:
    late_march = (epoch(PARIS, 2026, 3, 10), epoch(PARIS, 2026, 4, 1))

    assert monday_starts("FREQ=DAILY;COUNT=10", window=late_march) == ["2026-03-10 09:00", "2026-03-11 09:00"]


def test_first_occurrence_is_kept_even_when_the_rule_does_not_match_it() -> None:
    wednesday = (datetime(2026, 3, 4, 9), datetime(2026, 3, 4, 12))
    occurrences = expand(*wednesday, "FREQ=WEEKLY;BYDAY=MO;COUNT=2", PARIS, MARCH_2026)

    assert [local(PARIS, start).day for start, _ in occurrences] == [4, 9, 16]


@pytest.mark.parametrize(
    ("until", "last"),
    [
        ("20261231T000000Z", "2026-12-29 09:00"),  # a Tuesday; 31 December is a Thursday
        ("20260310T080000Z", "2026-03-10 09:00"),  # UTC instant of the last start: inclusive
        ("20260310T075959Z", "2026-03-09 09:00"),
        ("20260310", "2026-03-10 09:00"),  # a date bounds the whole day
        ("20260310T090000", "2026-03-10 09:00"),  # a floating wall time in the event's zone
        ("20260310T085959", "2026-03-09 09:00"),
    ],
)
def test_until_is_honoured_and_inclusive(until: str, last: str) -> None:
    starts = monday_starts(f"FREQ=WEEKLY;BYDAY=MO,TU;UNTIL={until}")

    assert starts[-1] == last
    assert starts[0] == "2026-03-02 09:00"


def test_rule_is_case_insensitive_and_tolerates_blanks() -> None:
    assert monday_starts(" rrule:freq=weekly;count=2 ") == ["2026-03-02 09:00", "2026-03-09 09:00"]


def test_without_rule_the_single_occurrence_is_returned_when_it_overlaps() -> None:
    start, end = epoch(PARIS, 2026, 3, 2, 9), epoch(PARIS, 2026, 3, 2, 12)

    assert expand(*MONDAY, None, PARIS, YEAR_2026_PARIS) == [(start, end)]
    assert expand(*MONDAY, "", PARIS, YEAR_2026_PARIS) == [(start, end)]
    assert expand(*MONDAY, None, PARIS, (end - 1, end + 10)) == [(start, end)]
    assert expand(*MONDAY, None, PARIS, (start - 10, start + 1)) == [(start, end)]
    assert expand(*MONDAY, None, PARIS, (end, end + HOUR)) == []  # touching is not overlapping
    assert expand(*MONDAY, None, PARIS, (start - HOUR, start)) == []
    assert expand(*MONDAY, None, PARIS, (start, start)) == []
    assert expand(*MONDAY, None, PARIS, (-(2**40), 2**40)) == [(start, end)]  # absurd windows are fine


def test_occurrences_straddling_the_window_edges_are_included() -> None:
    window = (epoch(PARIS, 2026, 3, 9, 10), epoch(PARIS, 2026, 3, 16, 10))

    assert monday_starts("FREQ=WEEKLY", window=window) == ["2026-03-09 09:00", "2026-03-16 09:00"]


@pytest.mark.parametrize(
    "rrule",
    ["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=MONTHLY;BYDAY=2TU", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=2"],
)
def test_infinite_rule_with_a_far_window_is_fast(rrule: str) -> None:
    far_window = (epoch(PARIS, 2125, 1, 1), epoch(PARIS, 2126, 1, 1))

    began = time.perf_counter()
    occurrences = expand(*MONDAY, rrule, PARIS, far_window)
    elapsed = time.perf_counter() - began

    assert occurrences
    assert all(local(PARIS, start).year == 2125 and local(PARIS, start).hour == 9 for start, _ in occurrences)
    assert elapsed < 0.25  # about a millisecond when not restarted at the window


def test_far_window_keeps_the_phase_of_an_every_other_week_rule() -> None:
    far_window = (epoch(PARIS, 2125, 1, 1), epoch(PARIS, 2125, 3, 1))

    occurrences = expand(*MONDAY, "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR", PARIS, far_window)

    days = [local(PARIS, start).date() for start, _ in occurrences]
    assert {day.strftime("%a") for day in days} == {"Mon", "Fri"}
    # Weeks counted from the first occurrence's week (Monday 2 March 2026): even ones only.
    assert all((day - MONDAY[0].date()).days // 7 % 2 == 0 for day in days)
    assert len(days) == 8


FIRST_MONDAY = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("rrule", "in_phase"),
    [
        ("FREQ=DAILY;INTERVAL=3", lambda day: (day - FIRST_MONDAY).days % 3 == 0),
        ("FREQ=WEEKLY;INTERVAL=2", lambda day: (day - FIRST_MONDAY).days % 14 == 0),
        (
            "FREQ=MONTHLY;INTERVAL=5",
            lambda day: day.day == 2 and (day.year * 12 + day.month - 2026 * 12 - 3) % 5 == 0,
        ),
        ("FREQ=YEARLY;INTERVAL=3", lambda day: (day.month, day.day) == (3, 2) and (day.year - 2026) % 3 == 0),
    ],
)
def test_far_window_keeps_the_phase_of_the_interval(rrule: str, in_phase: Callable[[date], bool]) -> None:
    window = (epoch(PARIS, 2125, 1, 1), epoch(PARIS, 2131, 1, 1))
    window_days = (date(2131, 1, 1) - date(2125, 1, 1)).days

    occurrences = expand(*MONDAY, rrule, PARIS, window)

    expected = [
        day for day in (date(2125, 1, 1) + timedelta(days=n) for n in range(window_days)) if in_phase(day)
    ]
    assert [local(PARIS, start).date() for start, _ in occurrences] == expected
    assert all(local(PARIS, start).hour == 9 for start, _ in occurrences)


def test_invalid_event_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        expand(datetime(2026, 3, 2, 9, tzinfo=PARIS), datetime(2026, 3, 2, 12), None, PARIS, YEAR_2026_PARIS)
    with pytest.raises(ValueError, match="end before"):
        expand(datetime(2026, 3, 2, 12), datetime(2026, 3, 2, 9), None, PARIS, YEAR_2026_PARIS)
    with pytest.raises(ValueError, match="FREQ"):
        expand(*MONDAY, "FREQ=SOMETIMES", PARIS, YEAR_2026_PARIS)


# --- expansion agrees with a plain dateutil walk from the first occurrence ------------------------

ZONES = [PARIS, NEW_YORK, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata")]


def comma_list(numbers: list[int]) -> str:
    return ",".join(map(str, numbers))


@st.composite
def rules(draw: st.DrawFn) -> str:
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.integers(1, 3))}"]
    if draw(st.booleans()):
        days = draw(
            st.lists(st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]), min_size=1, unique=True)
        )
        if freq in ("MONTHLY", "YEARLY") and draw(st.booleans()):
            days = [f"{draw(st.sampled_from([1, 2, -1]))}{day}" for day in days]
        parts.append("BYDAY=" + ",".join(days))
    if freq != "WEEKLY" and draw(st.booleans()):
        parts.append(f"BYMONTHDAY={draw(st.sampled_from([1, 15, 28, 31, -1]))}")
    if draw(st.booleans()):
        parts.append(
            "BYMONTH=" + comma_list(draw(st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True)))
        )
    if draw(st.booleans()):
        parts.append(
            "BYHOUR=" + comma_list(draw(st.lists(st.integers(0, 23), min_size=1, max_size=2, unique=True)))
        )
    if draw(st.booleans()):
        parts.append(f"BYSETPOS={draw(st.sampled_from([1, 2, -1]))}")
    if draw(st.integers(0, 3)) == 0:  # rules without COUNT are the ones restarted near the window
        parts.append(f"COUNT={draw(st.integers(1, 40))}")
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(['MO', 'SU', 'WE']))}")
    return ";".join(parts)


def reference_expansion(
    start_local: datetime, end_local: datetime, rule: str, tz: ZoneInfo, window_start: int, window_end: int
) -> list[tuple[int, int]]:
    """Walk every occurrence from the first one with dateutil, then keep those overlapping the window."""
    latest = datetime.fromtimestamp(window_end, tz).replace(tzinfo=None) + timedelta(days=3)
    local_starts = {start_local}
    for occurrence in cast(Any, rrulestr(rule, dtstart=start_local)):
        if occurrence > latest:
            break
        local_starts.add(occurrence)
    occurrences = set()
    for local_start in local_starts:
        start = int(local_start.replace(tzinfo=tz).timestamp())
        end = max(start, int((local_start + (end_local - start_local)).replace(tzinfo=tz).timestamp()))
        if start < window_end and (end > window_start or (end == start and start >= window_start)):
            occurrences.add((start, end))
    return sorted(occurrences)


@settings(max_examples=300, deadline=None)
@given(
    rules(),
    st.datetimes(min_value=datetime(2016, 1, 1), max_value=datetime(2027, 1, 1)),
    st.integers(1, 12 * 60),
    st.sampled_from(ZONES),
    st.one_of(
        st.datetimes(min_value=datetime(2016, 1, 1), max_value=datetime(2031, 1, 1)),
        st.datetimes(min_value=datetime(2027, 1, 1), max_value=datetime(2031, 1, 1)),
    ),
    st.integers(1, 60),
)
def test_expansion_matches_a_walk_from_the_first_occurrence(
    rule: str,
    start_local: datetime,
    length_minutes: int,
    tz: ZoneInfo,
    window_from: datetime,
    window_days: int,
) -> None:
    assume(validate_rrule(rule) is None)
    start_local = start_local.replace(second=0, microsecond=0)
    end_local = start_local + timedelta(minutes=length_minutes)
    window_start = int(window_from.replace(tzinfo=UTC).timestamp())
    window_end = window_start + window_days * 86_400

    expected = reference_expansion(start_local, end_local, rule, tz, window_start, window_end)
    assert expand_occurrences(start_local, end_local, rule, [], tz, window_start, window_end) == expected


# --- validation and parsing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "rrule",
    [
        "FREQ=DAILY",
        "RRULE:FREQ=DAILY;COUNT=10",
        "FREQ=WEEKLY;BYDAY=MO,TU;UNTIL=20261231T000000Z",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;WKST=SU",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO",
        "FREQ=YEARLY;BYYEARDAY=100",
        "FREQ=DAILY;BYHOUR=9,14;BYMINUTE=30",
        "FREQ=DAILY;UNTIL=20260301",
        "freq=daily;until=20260301T120000",
    ],
)
def test_valid_rules_are_accepted(rrule: str) -> None:
    assert validate_rrule(rrule) is None


@pytest.mark.parametrize(
    "rrule",
    [
        "",
        "RRULE:",
        "garbage",
        "COUNT=3",
        "FREQ=FORTNIGHTLY",
        "FREQ=HOURLY",
        "FREQ=MINUTELY;INTERVAL=15",
        "FREQ=DAILY;FREQ=WEEKLY",
        "FREQ=DAILY;FOO=1",
        "FREQ=DAILY;;COUNT=2",
        "FREQ=DAILY;COUNT=",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;INTERVAL=-1",
        "FREQ=DAILY;INTERVAL=100000",
        "FREQ=DAILY;COUNT=0",
        "FREQ=DAILY;COUNT=ten",
        "FREQ=DAILY;COUNT=3;UNTIL=20261231T000000Z",
        "FREQ=DAILY;UNTIL=2026-12-31",
        "FREQ=DAILY;UNTIL=20261341",
        "FREQ=DAILY;UNTIL=20261231T250000Z",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=WEEKLY;BYDAY=MO,",
        "FREQ=WEEKLY;BYDAY=2MO",
        "FREQ=MONTHLY;BYDAY=60MO",
        "FREQ=WEEKLY;BYMONTHDAY=1",
        "FREQ=MONTHLY;BYWEEKNO=3",
        "FREQ=DAILY;BYYEARDAY=3",
        "FREQ=MONTHLY;BYMONTH=13",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=DAILY;BYHOUR=24",
        "FREQ=DAILY;BYMINUTE=1.5",
        "FREQ=DAILY;BYSETPOS=1",
        "FREQ=DAILY;WKST=XX",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",
        "FREQ=YEARLY;BYWEEKNO=1;BYMONTH=7",
    ],
)
def test_invalid_rules_get_an_error_sentence(rrule: str) -> None:
    error = validate_rrule(rrule)

    assert error is not None
    assert error[0].isupper() and error.endswith(".")


def test_non_string_rule_gets_an_error_sentence() -> None:
    assert validate_rrule(cast(str, 5)) == "A recurrence rule must be a string."


def test_rule_that_never_occurs_is_refused_quickly() -> None:
    began = time.perf_counter()
    assert (
        validate_rrule("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")
        == "The recurrence rule can never produce an occurrence."
    )
    assert time.perf_counter() - began < 2


def test_parse_exdates_accepts_the_documented_forms() -> None:
    assert parse_exdates("2026-03-09 09:30:15, 2026-03-10 09:30,2026-03-11,20260312T093000") == [
        datetime(2026, 3, 9, 9, 30, 15),
        datetime(2026, 3, 10, 9, 30),
        datetime(2026, 3, 11),
        datetime(2026, 3, 12, 9, 30),
    ]
    assert parse_exdates(["2026-03-09T09:30:00", "20260313", "2026-03-14 10:00,2026-03-15"]) == [
        datetime(2026, 3, 9, 9, 30),
        datetime(2026, 3, 13),
        datetime(2026, 3, 14, 10),
        datetime(2026, 3, 15),
    ]
    assert parse_exdates(None) == []
    assert parse_exdates("") == []
    assert parse_exdates("  ") == []
    assert parse_exdates([]) == []


@pytest.mark.parametrize(
    "value",
    [
        "tomorrow",
        "2026-13-01",
        "2026-02-30 10:00",
        "2026-03-09 25:00",
        "2026-03-09 09:00:00Z",
        "2026-03-09+01:00",
        "2026/03/09",
        "20260309T0930",
        "2026-03-09,,2026-03-10",
        "2026-03-09,",
        ["2026-03-09", "nope"],
    ],
)
def test_parse_exdates_rejects_garbage_with_a_sentence(value: str | list[str]) -> None:
    with pytest.raises(ValueError) as raised:
        parse_exdates(value)

    message = str(raised.value)
    assert message[0].isupper() and message.endswith(".")


def test_parse_exdates_rejects_non_strings() -> None:
    with pytest.raises(ValueError, match="string"):
        parse_exdates(cast(list[str], [20260309]))
    with pytest.raises(ValueError, match="string"):
        parse_exdates(cast(str, 20260309))
