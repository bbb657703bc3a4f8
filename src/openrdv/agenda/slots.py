"""The availability engine: which appointment starts each calendar can take.

Free time of a calendar is its opening windows (internet-availability occurrences, merged when they
overlap or touch) minus its busy time: a block takes every place, an appointment takes one place out of
``capacity``. A start ``s`` is offered on a calendar when ``[s, s + duration)`` lies inside one merged
opening, overlaps no block, and at every instant of it fewer than ``capacity`` appointments overlap.
Candidate starts are each merged opening's start, every ``interval`` minutes from it, and each block or
appointment end (the moment time or a place frees up), so free time right after a busy period is offered
even off the grid. All intervals are half-open ``[start, end)`` in UTC epoch seconds: touching is not
overlapping.

Internally each calendar becomes a step function "places left" over time (0 outside openings and
inside blocks, ``capacity - overlapping appointments`` elsewhere). A start's places are the minimum of
that function over ``[s, s + duration)``; ``free_places`` and ``compute_slots`` share this one
computation, so a booking re-check always agrees with the offer.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, repeat

__all__ = ["CalendarSchedule", "Slot", "compute_slots", "free_places"]


@dataclass(frozen=True, slots=True)
class CalendarSchedule:
    """Everything the engine needs to know about one calendar over the period considered.

    ``openings`` may overlap or touch (they are merged); ``blocks`` take all places; each of the
    ``appointments`` takes one place. Empty or inverted intervals are ignored. More appointments than
    ``capacity`` at some instant (an overbooking) simply leaves no place there.
    """

    calendar_id: int
    capacity: int
    interval: int  # minutes between two grid starts
    openings: Sequence[tuple[int, int]]
    blocks: Sequence[tuple[int, int]]
    appointments: Sequence[tuple[int, int]]

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"Calendar {self.calendar_id}: capacity must be 1 or more, not {self.capacity}.")
        if self.interval < 1:
            raise ValueError(f"Calendar {self.calendar_id}: interval must be 1 or more, not {self.interval}.")


@dataclass(frozen=True, slots=True)
class Slot:
    start: int
    capacity: int  # places left at this start, summed over calendar_ids
    calendar_ids: tuple[int, ...]  # calendars able to take this start, ascending


# A maximal stretch (start, end) with at least one place left, inside one merged opening, and the start
# of that opening (the grid is anchored there). A plain tuple: profiles are rebuilt on every request.
_FreeRun = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class _PlacesProfile:
    """The step function "places left" of one calendar, exact over the span it was built for.

    Times are relative to ``origin``: small ints sort and compare much faster in CPython than epoch
    seconds (which do not fit in one internal digit). ``places[i]`` holds on ``[times[i - 1], times[i])``,
    with ``places[0] == 0`` standing for all the time before ``times[0]``; the function is 0 after
    ``times[-1]``. That leading 0 makes a lookup two bisections and a slice, with no special case.
    """

    origin: int
    times: list[int]
    places: list[int]
    runs: list[_FreeRun]
    busy_ends: list[int]  # sorted ends of the blocks and appointments reaching the span

    def places_over(self, start: int, end: int) -> int:
        """Places left during the whole of ``[start, end)`` (relative times, ``end > start``)."""
        # The steps in force: from the one holding at ``start`` to the last one starting before ``end``.
        return min(self.places[bisect_right(self.times, start) : bisect_left(self.times, end) + 1])

    def places_over_each(self, starts: list[int], duration: int) -> list[int]:
        """``places_over(start, start + duration)`` for each of ``starts``, in one C-level pass."""
        times = self.times
        first_steps = map(bisect_right, repeat(times), starts)
        after_last_steps = [bisect_left(times, start + duration) + 1 for start in starts]
        return list(map(min, map(self.places.__getitem__, map(slice, first_steps, after_last_steps))))


def compute_slots(
    schedules: Sequence[CalendarSchedule],
    duration: int,
    window_start: int,
    window_end: int,
    earliest_start: int,
    latest_start: int,
    cal_qty: int = 1,
    min_capacity: int = 1,
) -> list[Slot]:
    """Bookable starts for an appointment of ``duration`` seconds, merged across ``schedules``.

    A start ``s`` is considered when ``window_start <= s < window_end`` and
    ``earliest_start <= s <= latest_start`` (minimum notice and maximum booking period, computed by the
    caller from its clock). It is kept when at least ``cal_qty`` calendars can take it and they have at
    least ``min_capacity`` places left in total. The result is sorted by start.

    Complexity: O(E log E) per calendar to build its places profile from its E openings, blocks and
    appointments (a sort plus one sweep), then only *feasible* starts are enumerated, run by run; each
    costs O(1) for a calendar of capacity 1 and O(log E + k) otherwise, k being the number of profile
    steps inside ``[s, s + duration)``. Infeasible grid points cost nothing, so the total is about
    O(E log E + S) for S offered (calendar, start) pairs.
    """
    if duration <= 0:
        raise ValueError(f"Duration must be positive, not {duration}.")
    _reject_duplicate_calendars(schedules)
    lowest_start = max(window_start, earliest_start)
    highest_start = min(window_end - 1, latest_start)
    if highest_start < lowest_start:
        return []

    places_by_start: dict[int, int] = {}
    calendars_by_start: dict[int, list[int]] = {}
    for schedule in sorted(schedules, key=lambda schedule: schedule.calendar_id):
        calendar_id = schedule.calendar_id
        starts, places_left = _calendar_starts(schedule, duration, lowest_start, highest_start)
        for start, places in zip(starts, places_left, strict=True):
            calendars = calendars_by_start.get(start)
            if calendars is None:
                places_by_start[start] = places
                calendars_by_start[start] = [calendar_id]
            else:
                places_by_start[start] += places
                calendars.append(calendar_id)

    return [
        Slot(start, places_by_start[start], tuple(calendars_by_start[start]))
        for start in sorted(places_by_start)
        if len(calendars_by_start[start]) >= cal_qty and places_by_start[start] >= min_capacity
    ]


def free_places(schedule: CalendarSchedule, start: int, end: int) -> int:
    """Places left on one calendar for the whole of ``[start, end)``.

    0 when the interval is empty, not inside one merged opening, or overlaps a block. This checks room
    only, not that ``start`` is one of the calendar's candidate starts (grid or busy end): for an exact
    re-check of an offer use ``compute_slots([schedule], end - start, start, start + 1, ...)``.
    """
    if end <= start:
        return 0
    profile = _build_profile(schedule, start, end)
    return profile.places_over(start - profile.origin, end - profile.origin)


def _calendar_starts(
    schedule: CalendarSchedule, duration: int, lowest_start: int, highest_start: int
) -> tuple[list[int], list[int]]:
    """Every candidate start of one calendar that fits, ascending, and the places left at each."""
    profile = _build_profile(schedule, lowest_start, highest_start + duration)
    origin = profile.origin
    lowest_start -= origin
    highest_start -= origin
    busy_ends = profile.busy_ends
    step = schedule.interval * 60
    starts: list[int] = []
    for run_start, run_end, grid_origin in profile.runs:
        # [first, last] is exactly where [s, s + duration) stays inside this run.
        first = max(run_start, lowest_start)
        last = min(run_end - duration, highest_start)
        if last < first:
            continue
        first_grid = grid_origin - ((grid_origin - first) // step) * step
        candidates = set(range(first_grid, last + 1, step))
        candidates.update(busy_ends[bisect_left(busy_ends, first) : bisect_right(busy_ends, last)])
        starts.extend(sorted(candidates))
    # Inside a run there is at least one place, and a calendar of capacity 1 has no more.
    places_left = [1] * len(starts) if schedule.capacity == 1 else profile.places_over_each(starts, duration)
    return [start + origin for start in starts], places_left


# Sweep event codes, packed with the time into one int (time * 8 + code) so that a plain integer sort
# orders the events. Each code moves a packed counter state by its delta: bit 0 is "inside an opening"
# (merged openings never overlap), the next bits hold twice the number of blocks in force, the bits from
# ``shift`` up the number of appointments in force. Equal times are applied together, so the order of
# codes within one time does not matter.
_OPENING_END, _BLOCK_END, _APPOINTMENT_END, _APPOINTMENT_START, _BLOCK_START, _OPENING_START = range(6)
_BUSY_END_CODES = (_BLOCK_END, _APPOINTMENT_END)


def _build_profile(schedule: CalendarSchedule, span_start: int, span_end: int) -> _PlacesProfile:
    """The places profile of ``schedule``, exact over ``[span_start, span_end)``, relative to ``span_start``.

    Busy intervals that end before the span cannot change it and are dropped (one ending exactly at
    ``span_start`` is kept: its end is a candidate start). Openings are merged *before* being filtered,
    because a merged opening that starts before the span still anchors the grid.
    """
    origin = span_start
    openings = [
        (start - origin, end - origin)
        for start, end in _merge_intervals(schedule.openings)
        if start < span_end and end > span_start
    ]
    if not openings:
        return _PlacesProfile(origin, [], [0], [], [])
    blocks = [
        (start - origin, end - origin)
        for start, end in schedule.blocks
        if start < end and start < span_end and end >= span_start
    ]
    appointments = [
        (start - origin, end - origin)
        for start, end in schedule.appointments
        if start < end and start < span_end and end >= span_start
    ]
    keys = [start * 8 + _OPENING_START for start, _ in openings]
    keys += [end * 8 + _OPENING_END for _, end in openings]
    keys += [start * 8 + _BLOCK_START for start, _ in blocks]
    keys += [end * 8 + _BLOCK_END for _, end in blocks]
    keys += [start * 8 + _APPOINTMENT_START for start, _ in appointments]
    keys += [end * 8 + _APPOINTMENT_END for _, end in appointments]
    keys.sort()

    # As few bits as the block count needs, so that states stay small ints too.
    shift = (2 * len(blocks) + 1).bit_length()
    appointment_unit = 1 << shift
    opening_and_blocks_mask = appointment_unit - 1
    deltas = (-1, -2, -appointment_unit, appointment_unit, 2, 1)
    # dict keeps, for each time, the state after all of its events (later entries overwrite earlier ones).
    state_after = dict(
        zip([key >> 3 for key in keys], accumulate([deltas[key & 7] for key in keys]), strict=True)
    )

    capacity = schedule.capacity
    places = [0]
    places += [
        max(capacity - (state >> shift), 0) if state & opening_and_blocks_mask == 1 else 0
        for state in state_after.values()
    ]
    times = list(state_after)
    # Times where places switch between none and some: runs start and end alternately, as the
    # function is 0 before the first time and after the last. (places has one more step than times.)
    run_edges = [
        time
        for time, before, after in zip(times, places, places[1:], strict=False)
        if (not before) != (not after)
    ]
    opening_starts = [start for start, _ in openings]
    runs = [
        (start, end, opening_starts[bisect_right(opening_starts, start) - 1])
        for start, end in zip(run_edges[::2], run_edges[1::2], strict=True)
    ]
    # Already sorted; duplicates are harmless to the bisections that read them.
    busy_ends = [key >> 3 for key in keys if key & 7 in _BUSY_END_CODES]
    return _PlacesProfile(origin, times, places, runs, busy_ends)


def _merge_intervals(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted union of ``intervals``; overlapping or touching ones become one."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(interval for interval in intervals if interval[0] < interval[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _reject_duplicate_calendars(schedules: Sequence[CalendarSchedule]) -> None:
    calendar_ids = [schedule.calendar_id for schedule in schedules]
    if len(set(calendar_ids)) != len(calendar_ids):
        raise ValueError("Each calendar may appear only once among the schedules.")
