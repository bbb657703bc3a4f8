"""The availability engine: hand-written cases, then properties checked against a brute-force model."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrdv.agenda.slots import CalendarSchedule, Slot, compute_slots, free_places

MINUTE = 60
HOUR = 3600
DAY0 = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp())  # a Monday, 00:00 UTC


def at(hour: int, minute: int = 0) -> int:
    return DAY0 + hour * HOUR + minute * MINUTE


def calendar(
    calendar_id: int = 1,
    *,
    capacity: int = 1,
    interval: int = 15,
    openings: Sequence[tuple[int, int]] = (),
    blocks: Sequence[tuple[int, int]] = (),
    appointments: Sequence[tuple[int, int]] = (),
) -> CalendarSchedule:
    return CalendarSchedule(calendar_id, capacity, interval, openings, blocks, appointments)


def slots_of(
    schedules: Sequence[CalendarSchedule],
    duration_minutes: int,
    *,
    earliest: int = at(0),
    latest: int = at(24),
    cal_qty: int = 1,
    min_capacity: int = 1,
) -> list[Slot]:
    return compute_slots(
        schedules, duration_minutes * MINUTE, at(0), at(24), earliest, latest, cal_qty, min_capacity
    )


def starts_of(slots: Iterable[Slot]) -> list[int]:
    return [slot.start for slot in slots]


def times(*hours_minutes: tuple[int, int]) -> list[int]:
    return [at(hour, minute) for hour, minute in hours_minutes]


MORNING = (at(9), at(12))


# --- hand-written examples -------------------------------------------------------------------------


def test_simple_opening_offers_every_interval_while_the_duration_fits() -> None:
    slots = slots_of([calendar(openings=[MORNING])], 30)

    assert starts_of(slots) == [at(9) + step * 15 * MINUTE for step in range(11)]  # 09:00 .. 11:30
    assert all(slot.capacity == 1 and slot.calendar_ids == (1,) for slot in slots)


def test_appointment_removes_overlapping_starts() -> None:
    slots = slots_of([calendar(openings=[MORNING], appointments=[(at(10), at(10, 30))])], 30)

    assert starts_of(slots) == times(
        (9, 0), (9, 15), (9, 30), (10, 30), (10, 45), (11, 0), (11, 15), (11, 30)
    )


def test_appointment_end_becomes_a_start_off_the_grid() -> None:
    hourly = calendar(interval=60, openings=[MORNING], appointments=[(at(10), at(10, 30))])

    assert starts_of(slots_of([hourly], 30)) == times((9, 0), (10, 30), (11, 0))


def test_busy_end_off_the_grid_is_offered() -> None:
    half_hourly = calendar(interval=30, openings=[MORNING], appointments=[(at(9), at(10, 20))])

    assert starts_of(slots_of([half_hourly], 30)) == times((10, 20), (10, 30), (11, 0), (11, 30))


def test_block_takes_every_place_and_its_end_is_a_start() -> None:
    blocked = calendar(capacity=3, interval=60, openings=[MORNING], blocks=[(at(9, 30), at(10, 10))])

    slots = slots_of([blocked], 30)

    assert starts_of(slots) == times((9, 0), (10, 10), (11, 0))  # 09:00-09:30 only touches the block
    assert [slot.capacity for slot in slots] == [3, 3, 3]


def test_block_touching_a_slot_does_not_overlap_it() -> None:
    blocked = calendar(interval=30, openings=[MORNING], blocks=[(at(9, 30), at(11))])

    assert starts_of(slots_of([blocked], 30)) == times((9, 0), (11, 0), (11, 30))


def test_capacity_left_is_capacity_minus_the_peak_of_overlapping_appointments() -> None:
    shared = calendar(
        capacity=3,
        openings=[MORNING],
        appointments=[(at(10), at(10, 30)), (at(10, 15), at(10, 45))],
    )

    places = {slot.start: slot.capacity for slot in slots_of([shared], 30)}

    assert places[at(9, 30)] == 3
    assert places[at(9, 45)] == 2  # [09:45, 10:15) meets only the first appointment
    assert places[at(10)] == 1  # both overlap during [10:15, 10:30)
    assert places[at(10, 15)] == 1
    assert places[at(10, 30)] == 2
    assert places[at(10, 45)] == 3


def test_full_capacity_offers_nothing_and_overbooking_is_not_negative() -> None:
    overbooked = calendar(
        capacity=1, openings=[MORNING], appointments=[(at(9), at(12)), (at(9), at(12)), (at(10), at(11))]
    )

    assert slots_of([overbooked], 30) == []
    assert free_places(overbooked, at(10), at(10, 30)) == 0


def test_two_calendars_are_merged_per_start() -> None:
    first = calendar(1, openings=[(at(9), at(10))])
    second = calendar(2, openings=[(at(9, 30), at(11))], capacity=2)

    slots = {slot.start: slot for slot in slots_of([second, first], 30)}

    assert slots[at(9)] == Slot(at(9), 1, (1,))
    assert slots[at(9, 30)] == Slot(at(9, 30), 3, (1, 2))
    assert slots[at(10)] == Slot(at(10), 2, (2,))
    assert sorted(slots) == times((9, 0), (9, 15), (9, 30), (9, 45), (10, 0), (10, 15), (10, 30))


def test_cal_qty_keeps_starts_enough_calendars_can_take() -> None:
    first = calendar(1, openings=[(at(9), at(10))])
    second = calendar(2, openings=[(at(9, 30), at(11))])

    assert slots_of([first, second], 30, cal_qty=2) == [Slot(at(9, 30), 2, (1, 2))]


def test_min_capacity_keeps_starts_with_enough_places() -> None:
    first = calendar(1, capacity=1, openings=[(at(9), at(10))])
    second = calendar(2, capacity=2, openings=[(at(9, 30), at(10, 30))], appointments=[(at(10), at(10, 30))])

    slots = slots_of([first, second], 30, min_capacity=2)

    assert slots == [Slot(at(9, 30), 3, (1, 2))]


def test_touching_openings_are_merged_into_one() -> None:
    # Merged, [09:00, 11:00) holds a 60-minute start at 09:45 across the seam, and the grid runs from
    # 09:00 only: 10:00 (the second opening's own start) is not a candidate.
    touching = calendar(interval=45, openings=[(at(10), at(11)), (at(9), at(10))])

    assert starts_of(slots_of([touching], 60)) == times((9, 0), (9, 45))


def test_overlapping_openings_are_merged_into_one() -> None:
    overlapping = calendar(
        interval=60, openings=[(at(9), at(10, 30)), (at(10), at(11)), (at(9, 15), at(9, 45))]
    )

    assert starts_of(slots_of([overlapping], 60)) == times((9, 0), (10, 0))


def test_grid_is_anchored_at_the_opening_start_not_at_the_window() -> None:
    opening = calendar(interval=30, openings=[(at(9, 10), at(12))])

    assert starts_of(compute_slots([opening], 30 * MINUTE, at(10), at(11), at(0), at(24))) == times(
        (10, 10), (10, 40)
    )


def test_window_and_notice_bounds() -> None:
    opening = calendar(interval=30, openings=[MORNING])

    def starts(window_start: int, window_end: int, earliest: int, latest: int) -> list[int]:
        return starts_of(compute_slots([opening], 30 * MINUTE, window_start, window_end, earliest, latest))

    every_start = times((9, 0), (9, 30), (10, 0), (10, 30), (11, 0), (11, 30))
    assert starts(at(0), at(24), at(0), at(24)) == every_start
    assert starts(at(10), at(11), at(0), at(24)) == times((10, 0), (10, 30))  # window_end excluded
    assert starts(at(0), at(24), at(10), at(11)) == times((10, 0), (10, 30), (11, 0))  # latest included
    assert starts(at(0), at(24), at(10, 1), at(24)) == times((10, 30), (11, 0), (11, 30))
    assert starts(at(0), at(24), at(11), at(10)) == []


def test_duration_longer_than_every_opening_offers_nothing() -> None:
    assert slots_of([calendar(openings=[MORNING])], 181) == []
    assert starts_of(slots_of([calendar(openings=[MORNING])], 180)) == [at(9)]


def test_free_places_examples() -> None:
    shared = calendar(
        capacity=2, openings=[MORNING], blocks=[(at(11), at(11, 30))], appointments=[(at(10), at(10, 30))]
    )

    assert free_places(shared, at(9), at(9, 30)) == 2
    assert free_places(shared, at(9, 50), at(10, 20)) == 1
    assert free_places(shared, at(10, 50), at(11, 10)) == 0  # overlaps the block
    assert free_places(shared, at(8, 50), at(9, 20)) == 0  # starts before the opening
    assert free_places(shared, at(11, 30), at(12)) == 2  # right after the block, up to the closing
    assert free_places(shared, at(11, 45), at(12, 15)) == 0  # ends after the closing
    assert free_places(shared, at(9), at(9)) == 0


def test_an_offer_can_be_rechecked_exactly_with_a_one_second_window() -> None:
    opening = calendar(interval=30, openings=[MORNING])

    def offered(start: int) -> bool:
        return compute_slots([opening], 30 * MINUTE, start, start + 1, at(0), at(24)) != []

    assert offered(at(9, 30))
    assert not offered(at(9, 40))  # room, but not a candidate start
    assert free_places(opening, at(9, 40), at(10, 10)) == 1


def test_empty_and_inverted_intervals_are_ignored() -> None:
    odd = calendar(
        interval=60,
        openings=[MORNING, (at(14), at(14)), (at(16), at(15))],
        blocks=[(at(10), at(10)), (at(11), at(10))],
        appointments=[(at(9, 20), at(9, 20))],
    )

    assert starts_of(slots_of([odd], 60)) == times((9, 0), (10, 0), (11, 0))


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="Duration"):
        compute_slots([calendar(openings=[MORNING])], 0, at(0), at(24), at(0), at(24))
    with pytest.raises(ValueError, match="only once"):
        compute_slots([calendar(1), calendar(1)], 60, at(0), at(24), at(0), at(24))
    with pytest.raises(ValueError, match="capacity"):
        calendar(capacity=0)
    with pytest.raises(ValueError, match="interval"):
        calendar(interval=0)


def test_no_calendar_no_slot() -> None:
    assert compute_slots([], 60, at(0), at(24), at(0), at(24)) == []


# --- brute-force model ---------------------------------------------------------------------------
# Everything generated below sits on whole minutes, so a minute-by-minute model is exact. It knows
# nothing of merging, sweeps or bisections: a minute is open when some opening covers it, and so on.


def minute_of(epoch: int) -> int:
    assert (epoch - DAY0) % MINUTE == 0
    return (epoch - DAY0) // MINUTE


@dataclass
class BruteCalendar:
    schedule: CalendarSchedule

    def __post_init__(self) -> None:
        self.open_minutes = self._covered(self.schedule.openings)
        self.blocked_minutes = self._covered(self.schedule.blocks)
        self.appointments_at: Counter[int] = Counter()
        for start, end in self.schedule.appointments:
            self.appointments_at.update(range(minute_of(start), minute_of(end)))

    @staticmethod
    def _covered(intervals: Iterable[tuple[int, int]]) -> set[int]:
        return {minute for start, end in intervals for minute in range(minute_of(start), minute_of(end))}

    def places(self, start: int, duration: int) -> int:
        """Places left for the whole of [start, start + duration), in epoch seconds."""
        minutes = range(minute_of(start), minute_of(start + duration))
        if any(minute not in self.open_minutes or minute in self.blocked_minutes for minute in minutes):
            return 0
        peak = max(self.appointments_at[minute] for minute in minutes)
        return max(self.schedule.capacity - peak, 0)

    def grid_starts(self) -> set[int]:
        """Opening starts (a covered minute right after an uncovered one) and every interval after."""
        starts: set[int] = set()
        for minute in self.open_minutes:
            if minute - 1 in self.open_minutes:
                continue
            covered = minute
            while covered in self.open_minutes:  # to the end of this stretch of open minutes
                if (covered - minute) % self.schedule.interval == 0:
                    starts.add(DAY0 + covered * MINUTE)
                covered += 1
        return starts

    def candidate_starts(self) -> set[int]:
        busy = [*self.schedule.blocks, *self.schedule.appointments]
        return self.grid_starts() | {end for start, end in busy if end > start}


@dataclass(frozen=True)
class Scenario:
    schedules: list[CalendarSchedule]
    duration: int
    window_start: int
    window_end: int
    earliest_start: int
    latest_start: int

    def slots(self, cal_qty: int = 1, min_capacity: int = 1) -> list[Slot]:
        return compute_slots(
            self.schedules,
            self.duration,
            self.window_start,
            self.window_end,
            self.earliest_start,
            self.latest_start,
            cal_qty,
            min_capacity,
        )

    def in_bounds(self, start: int) -> bool:
        return (
            self.window_start <= start < self.window_end and self.earliest_start <= start <= self.latest_start
        )


HORIZON_MINUTES = 12 * 60


def minute_intervals(longest: int, shortest: int = 1) -> st.SearchStrategy[tuple[int, int]]:
    return st.tuples(st.integers(0, HORIZON_MINUTES), st.integers(shortest, longest)).map(
        lambda drawn: (at(0, drawn[0]), at(0, drawn[0] + drawn[1]))
    )


@st.composite
def calendar_schedules(draw: st.DrawFn, calendar_id: int) -> CalendarSchedule:
    return CalendarSchedule(
        calendar_id=calendar_id,
        capacity=draw(st.integers(1, 3)),
        interval=draw(st.sampled_from([5, 10, 15, 20, 30])),
        openings=draw(st.lists(minute_intervals(240), max_size=4)),
        blocks=draw(st.lists(minute_intervals(90, shortest=0), max_size=3)),
        appointments=draw(st.lists(minute_intervals(90, shortest=0), max_size=8)),
    )


@st.composite
def scenarios(draw: st.DrawFn, max_calendars: int = 3) -> Scenario:
    calendar_count = draw(st.integers(1, max_calendars))
    schedules = [draw(calendar_schedules(calendar_id)) for calendar_id in range(1, calendar_count + 1)]
    minute = st.integers(-60, HORIZON_MINUTES + 300).map(lambda drawn: at(0, drawn))
    window_start, window_end = sorted((draw(minute), draw(minute)))
    if draw(st.booleans()):
        window_start, window_end = at(-1), at(24)
    earliest_start = draw(st.one_of(st.just(at(-1)), minute))
    latest_start = draw(st.one_of(st.just(at(24)), minute))
    duration = draw(st.integers(1, 120)) * MINUTE
    return Scenario(schedules, duration, window_start, window_end, earliest_start, latest_start)


def offered_by_calendar(slots: Iterable[Slot]) -> dict[int, set[int]]:
    offered: dict[int, set[int]] = {}
    for slot in slots:
        for calendar_id in slot.calendar_ids:
            offered.setdefault(calendar_id, set()).add(slot.start)
    return offered


# --- properties ----------------------------------------------------------------------------------


@given(scenarios())
def test_no_offered_start_overlaps_a_block_or_exceeds_capacity(scenario: Scenario) -> None:
    brutes = {schedule.calendar_id: BruteCalendar(schedule) for schedule in scenario.schedules}
    for slot in scenario.slots():
        for calendar_id in slot.calendar_ids:
            brute = brutes[calendar_id]
            minutes = range(minute_of(slot.start), minute_of(slot.start + scenario.duration))
            assert not any(minute in brute.blocked_minutes for minute in minutes)
            peak = max(brute.appointments_at[minute] for minute in minutes)
            assert peak < brute.schedule.capacity


@given(scenarios())
def test_every_offered_slot_lies_inside_an_opening_and_the_bounds(scenario: Scenario) -> None:
    brutes = {schedule.calendar_id: BruteCalendar(schedule) for schedule in scenario.schedules}
    for slot in scenario.slots():
        assert scenario.in_bounds(slot.start)
        for calendar_id in slot.calendar_ids:
            minutes = range(minute_of(slot.start), minute_of(slot.start + scenario.duration))
            assert all(minute in brutes[calendar_id].open_minutes for minute in minutes)


@given(scenarios())
def test_every_free_grid_start_is_offered(scenario: Scenario) -> None:
    offered = offered_by_calendar(scenario.slots())
    for schedule in scenario.schedules:
        brute = BruteCalendar(schedule)
        for start in brute.grid_starts():
            if scenario.in_bounds(start) and brute.places(start, scenario.duration) > 0:
                assert start in offered.get(schedule.calendar_id, set())


@given(scenarios())
def test_offered_starts_are_exactly_the_free_candidates_with_brute_force_places(scenario: Scenario) -> None:
    slots = scenario.slots()
    offered = offered_by_calendar(slots)
    expected_places: Counter[int] = Counter()
    for schedule in scenario.schedules:
        brute = BruteCalendar(schedule)
        expected = {
            start: brute.places(start, scenario.duration)
            for start in brute.candidate_starts()
            if scenario.in_bounds(start)
        }
        free = {start for start, places in expected.items() if places > 0}
        assert offered.get(schedule.calendar_id, set()) == free
        expected_places.update({start: expected[start] for start in free})
    assert {slot.start: slot.capacity for slot in slots} == dict(expected_places)


@given(scenarios(), st.randoms(use_true_random=False))
def test_recomputing_gives_identical_results_whatever_the_input_order(
    scenario: Scenario, shuffler: random.Random
) -> None:
    first = scenario.slots()

    def shuffled(intervals: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        copy = list(intervals)
        shuffler.shuffle(copy)
        return copy

    reordered = [
        replace(
            schedule,
            openings=shuffled(schedule.openings),
            blocks=shuffled(schedule.blocks),
            appointments=shuffled(schedule.appointments),
        )
        for schedule in reversed(scenario.schedules)
    ]
    assert scenario.slots() == first
    assert replace(scenario, schedules=reordered).slots() == first
    assert [slot.start for slot in first] == sorted({slot.start for slot in first})
    assert all(list(slot.calendar_ids) == sorted(slot.calendar_ids) for slot in first)


@given(scenarios(), st.lists(st.integers(-60, HORIZON_MINUTES + 300), max_size=20))
def test_free_places_agrees_with_compute_slots(scenario: Scenario, sample_minutes: list[int]) -> None:
    offered = offered_by_calendar(scenario.slots())
    for schedule in scenario.schedules:
        brute = BruteCalendar(schedule)
        calendar_offers = offered.get(schedule.calendar_id, set())
        for start in calendar_offers:
            assert free_places(schedule, start, start + scenario.duration) > 0
        for start in brute.candidate_starts() - calendar_offers:
            if scenario.in_bounds(start):
                assert free_places(schedule, start, start + scenario.duration) == 0
        # Anywhere, on the grid or not, free_places is the brute-force count of places left.
        for start in (at(0, minute) for minute in sample_minutes):
            assert free_places(schedule, start, start + scenario.duration) == brute.places(
                start, scenario.duration
            )


@given(scenarios())
def test_merged_capacity_is_the_sum_of_free_places_over_the_listed_calendars(scenario: Scenario) -> None:
    schedules = {schedule.calendar_id: schedule for schedule in scenario.schedules}
    for slot in scenario.slots():
        end = slot.start + scenario.duration
        per_calendar = [
            free_places(schedules[calendar_id], slot.start, end) for calendar_id in slot.calendar_ids
        ]
        assert all(places > 0 for places in per_calendar)
        assert slot.capacity == sum(per_calendar)


@given(scenarios(), st.integers(1, 4), st.integers(1, 7))
def test_cal_qty_and_min_capacity_only_filter(scenario: Scenario, cal_qty: int, min_capacity: int) -> None:
    unfiltered = scenario.slots()
    expected = [
        slot for slot in unfiltered if len(slot.calendar_ids) >= cal_qty and slot.capacity >= min_capacity
    ]
    assert scenario.slots(cal_qty, min_capacity) == expected


@settings(max_examples=25)
@given(scenarios(max_calendars=1), st.integers(-3, 3))
def test_shifting_everything_in_time_shifts_the_slots(scenario: Scenario, days: int) -> None:
    # Profiles use times relative to the window: the absolute epoch must not matter.
    shift = days * 86_400 * 365

    def moved(intervals: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        return [(start + shift, end + shift) for start, end in intervals]

    schedule = scenario.schedules[0]
    shifted_schedule = replace(
        schedule,
        openings=moved(schedule.openings),
        blocks=moved(schedule.blocks),
        appointments=moved(schedule.appointments),
    )
    shifted = compute_slots(
        [shifted_schedule],
        scenario.duration,
        scenario.window_start + shift,
        scenario.window_end + shift,
        scenario.earliest_start + shift,
        scenario.latest_start + shift,
    )
    assert shifted == [
        Slot(slot.start + shift, slot.capacity, slot.calendar_ids) for slot in scenario.slots()
    ]
