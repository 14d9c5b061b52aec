from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opc_shared.clock import SHANGHAI
from registry.domain.calendar import CalendarNotLoaded, seeded_calendar
from registry.domain.sla import (
    STANDARD_LADDER,
    ClockAlreadyPaused,
    ClockNotPaused,
    ExtensionAlreadyUsed,
    Ladder,
    LadderStep,
    Pause,
    SlaClock,
    TimeRunsBackwards,
    due_steps,
    step_moment,
)

CAL = seeded_calendar(2026)
DAY = 86_400.0


def local(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, s, tzinfo=SHANGHAI)


# Monday 2 March 2026, an ordinary week: counting starts Tuesday 3, three working days end Thursday 24:00
MONDAY = local(2026, 3, 2, 10)
PLAIN = SlaClock.start(MONDAY, 3)


def test_due_is_local_midnight_after_the_nth_working_day() -> None:
    due = PLAIN.due(CAL)
    assert due == local(2026, 3, 6)
    assert due is not None and due.tzinfo is UTC


def test_the_acceptance_day_never_counts_even_late_at_night() -> None:
    assert SlaClock.start(local(2026, 3, 1, 23, 59), 3).due(CAL) == local(2026, 3, 5)


def test_the_local_date_decides_not_the_utc_date() -> None:
    # 17:30 UTC on Sunday is 01:30 on Monday in Chengdu
    started = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)
    assert SlaClock.start(started, 3).due(CAL) == local(2026, 3, 6)


def test_due_across_the_spring_festival() -> None:
    # accepted Friday 13 February: Saturday 14 (worked), then 24 and 25 after the break
    assert SlaClock.start(local(2026, 2, 13, 15), 3).due(CAL) == local(2026, 2, 26)
    # accepted on the worked Saturday itself
    assert SlaClock.start(local(2026, 2, 14, 9), 3).due(CAL) == local(2026, 2, 27)


def test_due_across_national_day() -> None:
    # 8, 9 and the worked Saturday 10 October
    assert SlaClock.start(local(2026, 9, 30, 16), 3).due(CAL) == local(2026, 10, 11)
    # Friday 18 September: Sunday 20 is worked, Mid-Autumn (25–27) is skipped: 20–24, 28, 29
    assert SlaClock.start(local(2026, 9, 18, 16), 7).due(CAL) == local(2026, 9, 30)
    # two more: 30 September, then the whole National Day break, then 8 October
    assert SlaClock.start(local(2026, 9, 18, 16), 9).due(CAL) == local(2026, 10, 9)


def test_a_one_working_day_pause_moves_due_by_one_working_day() -> None:
    clock = PLAIN.pause(local(2026, 3, 3)).resume(local(2026, 3, 4))
    assert clock.due(CAL) == local(2026, 3, 7)


def test_a_pause_over_a_weekend_moves_nothing() -> None:
    clock = SlaClock.start(local(2026, 3, 5, 10), 3)
    assert clock.due(CAL) == local(2026, 3, 11)
    paused = clock.pause(local(2026, 3, 7, 9)).resume(local(2026, 3, 8, 18))
    assert paused.due(CAL) == local(2026, 3, 11)


def test_a_pause_over_a_holiday_moves_nothing() -> None:
    clock = SlaClock.start(local(2026, 2, 13, 15), 3)
    paused = clock.pause(local(2026, 2, 16, 9)).resume(local(2026, 2, 22, 18))
    assert paused.due(CAL) == local(2026, 2, 26)


def test_a_part_day_pause_carries_into_the_next_working_day() -> None:
    # four working days end Friday 24:00; five paused hours spill over the weekend into Monday
    clock = SlaClock.start(MONDAY, 4)
    assert clock.due(CAL) == local(2026, 3, 7)
    paused = clock.pause(local(2026, 3, 3, 10)).resume(local(2026, 3, 3, 15))
    assert paused.due(CAL) == local(2026, 3, 9, 5)


def test_a_pause_on_the_acceptance_day_only_counts_once_counting_starts() -> None:
    same_day = PLAIN.pause(local(2026, 3, 2, 11)).resume(local(2026, 3, 2, 17))
    assert same_day.due(CAL) == local(2026, 3, 6)
    overnight = PLAIN.pause(local(2026, 3, 2, 11)).resume(local(2026, 3, 3, 6))
    assert overnight.due(CAL) == local(2026, 3, 6, 6)


def test_while_paused_due_is_unknown_and_remaining_time_frozen() -> None:
    paused = PLAIN.pause(local(2026, 3, 3, 12))
    assert paused.is_paused and paused.due(CAL) is None
    frozen = paused.remaining_working_seconds(local(2026, 3, 3, 13), CAL)
    assert frozen == 2.5 * DAY
    assert paused.remaining_working_seconds(local(2026, 3, 20), CAL) == frozen


def test_remaining_working_seconds() -> None:
    assert PLAIN.remaining_working_seconds(MONDAY, CAL) == 3 * DAY
    assert PLAIN.remaining_working_seconds(local(2026, 3, 3, 12), CAL) == 2.5 * DAY
    assert PLAIN.remaining_working_seconds(local(2026, 3, 6), CAL) == 0
    # overrun shows as negative, and the weekend adds none
    assert PLAIN.remaining_working_seconds(local(2026, 3, 8, 12), CAL) == -DAY


def test_pausing_and_resuming_out_of_turn_is_refused() -> None:
    paused = PLAIN.pause(local(2026, 3, 3, 12))
    with pytest.raises(ClockAlreadyPaused):
        paused.pause(local(2026, 3, 3, 13))
    with pytest.raises(ClockNotPaused):
        PLAIN.resume(local(2026, 3, 3, 13))
    with pytest.raises(TimeRunsBackwards):
        paused.resume(local(2026, 3, 3, 11))
    with pytest.raises(TimeRunsBackwards):
        PLAIN.pause(local(2026, 3, 2, 9))
    resumed = paused.resume(local(2026, 3, 3, 14))
    with pytest.raises(TimeRunsBackwards):
        resumed.pause(local(2026, 3, 3, 13))


def test_the_clock_is_immutable() -> None:
    paused = PLAIN.pause(local(2026, 3, 3, 12))
    assert PLAIN.pauses == () and not PLAIN.is_paused
    assert paused.pauses == (Pause(local(2026, 3, 3, 12)),)


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SlaClock.start(datetime(2026, 3, 2, 10), 3)


def test_one_extension_with_a_reason() -> None:
    extended = PLAIN.extend(2, "  site statement pending from the talent office  ")
    assert extended.extension_reason == "site statement pending from the talent office"
    assert extended.due(CAL) == local(2026, 3, 10)
    with pytest.raises(ExtensionAlreadyUsed):
        extended.extend(1, "again")


@pytest.mark.parametrize(("days", "reason"), [(0, "why"), (-1, "why"), (2, ""), (2, "   ")])
def test_an_extension_needs_days_and_a_reason(days: int, reason: str) -> None:
    with pytest.raises(ValueError):
        PLAIN.extend(days, reason)


def test_overdue_is_strictly_after_due() -> None:
    assert not PLAIN.is_overdue(local(2026, 3, 5, 23, 59), CAL)
    assert not PLAIN.is_overdue(local(2026, 3, 6), CAL)
    assert PLAIN.is_overdue(local(2026, 3, 6, 0, 0, 1), CAL)
    # a deadline that ended on Friday is missed on Saturday, though no working time passes
    friday = SlaClock.start(MONDAY, 4)
    assert friday.is_overdue(local(2026, 3, 7, 10), CAL)


def test_overdue_is_judged_at_completion_when_there_is_one() -> None:
    late_now = local(2026, 3, 20)
    assert not PLAIN.is_overdue(late_now, CAL, completed_at=local(2026, 3, 5, 17))
    assert PLAIN.is_overdue(late_now, CAL, completed_at=local(2026, 3, 6, 9))


def test_overdue_while_paused() -> None:
    early = PLAIN.pause(local(2026, 3, 4, 9))
    assert not early.is_overdue(local(2026, 4, 30), CAL)
    # a pause started after the deadline passed does not rescue the case
    late = PLAIN.pause(local(2026, 3, 9, 9))
    assert late.is_overdue(local(2026, 3, 9, 10), CAL)


def test_working_days_used_excludes_pauses_and_rest_days() -> None:
    assert PLAIN.working_days_used(local(2026, 3, 4, 12), CAL) == Decimal("1.50")
    paused = PLAIN.pause(local(2026, 3, 3, 9)).resume(local(2026, 3, 3, 15))
    assert paused.working_days_used(local(2026, 3, 4, 12), CAL) == Decimal("1.25")
    festival = SlaClock.start(local(2026, 2, 13, 15), 3)
    assert festival.working_days_used(local(2026, 2, 25), CAL) == Decimal("2.00")
    assert PLAIN.working_days_used(MONDAY, CAL) == Decimal("0.00")
    assert PLAIN.working_days_used(local(2026, 3, 3, 8), CAL) == Decimal("0.33")


def test_running_past_the_loaded_calendar_refuses() -> None:
    clock = SlaClock.start(local(2026, 12, 30, 10), 3)
    with pytest.raises(CalendarNotLoaded) as exc:
        clock.due(CAL)
    assert exc.value.year == 2027


def test_ladder_moments() -> None:
    warn, escalate, again = STANDARD_LADDER.steps
    assert step_moment(warn, PLAIN, CAL) == local(2026, 3, 5)
    assert step_moment(escalate, PLAIN, CAL) == PLAIN.due(CAL)
    assert step_moment(again, PLAIN, CAL) == local(2026, 3, 7)


def test_ladder_moments_across_national_day() -> None:
    clock = SlaClock.start(local(2026, 9, 30, 16), 3)
    moments = [step_moment(s, clock, CAL) for s in STANDARD_LADDER]
    assert moments == [local(2026, 10, 10), local(2026, 10, 11), local(2026, 10, 13)]


def test_ladder_steps_fire_in_order_and_once() -> None:
    assert due_steps(PLAIN, CAL, local(2026, 3, 4, 12), set()) == []
    assert due_steps(PLAIN, CAL, local(2026, 3, 5), set()) == ["warn"]
    assert due_steps(PLAIN, CAL, local(2026, 3, 6, 8), {"warn"}) == ["escalate"]
    assert due_steps(PLAIN, CAL, local(2026, 3, 9), set()) == ["warn", "escalate", "escalate_again"]
    assert due_steps(PLAIN, CAL, local(2026, 3, 9), {"warn", "escalate"}) == ["escalate_again"]
    assert due_steps(PLAIN, CAL, local(2026, 3, 9), {"warn", "escalate", "escalate_again"}) == []


def test_a_short_budget_warns_from_the_start() -> None:
    clock = SlaClock.start(MONDAY, 1)
    assert step_moment(LadderStep("warn", -1), clock, CAL) == MONDAY
    assert due_steps(clock, CAL, MONDAY, set()) == ["warn"]


def test_a_pause_holds_back_steps_not_yet_reached() -> None:
    paused = PLAIN.pause(local(2026, 3, 4, 9))
    assert step_moment(STANDARD_LADDER.steps[0], paused, CAL) is None
    assert due_steps(paused, CAL, local(2026, 4, 30), set()) == []
    # a step reached before the pause still fires during it
    after_warning = PLAIN.pause(local(2026, 3, 5, 9))
    assert due_steps(after_warning, CAL, local(2026, 4, 30), set()) == ["warn"]


def test_custom_ladder_and_its_rules() -> None:
    ladder = Ladder.of(("remind", -2), ("warn", -1))
    assert due_steps(PLAIN, CAL, local(2026, 3, 4), set(), ladder=ladder) == ["remind"]
    with pytest.raises(ValueError, match="order"):
        Ladder.of(("escalate", 0), ("warn", -1))
    with pytest.raises(ValueError, match="unique"):
        Ladder.of(("warn", -1), ("warn", 0))


# 2026 is the loaded year: keep starts, budgets and pauses well inside it
starts = st.datetimes(datetime(2026, 1, 1), datetime(2026, 8, 31), timezones=st.just(SHANGHAI))
budgets = st.integers(1, 10)
pauses = st.tuples(st.timedeltas(timedelta(0), timedelta(days=40)), st.timedeltas(timedelta(0), timedelta(days=20)))


@given(starts, budgets, pauses)
def test_a_pause_never_brings_due_forward(started: datetime, days: int, pause: tuple[timedelta, timedelta]) -> None:
    clock = SlaClock.start(started, days)
    offset, length = pause
    paused = clock.pause(started + offset).resume(started + offset + length)
    before, after = clock.due(CAL), paused.due(CAL)
    assert before is not None and after is not None
    assert after >= before


@given(starts, budgets, pauses)
def test_due_ends_counted_time_on_a_working_day(started: datetime, days: int, pause: tuple[timedelta, timedelta]) -> None:
    offset, length = pause
    clock = SlaClock.start(started, days).pause(started + offset).resume(started + offset + length)
    due = clock.due(CAL)
    assert due is not None
    last_counted = (due - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
    assert CAL.is_working_day(last_counted)
    assert clock.remaining_working_seconds(due, CAL) == 0
    assert not clock.is_overdue(due, CAL)
    assert clock.is_overdue(due + timedelta(microseconds=1), CAL)


@given(starts, budgets, st.integers(0, 30), st.integers(0, 10))
def test_whole_day_pauses_keep_due_at_local_midnight(started: datetime, days: int, skip: int, length: int) -> None:
    first_paused = started.date() + timedelta(days=1 + skip)
    paused_at = datetime.combine(first_paused, time(), tzinfo=SHANGHAI)
    clock = SlaClock.start(started, days).pause(paused_at).resume(paused_at + timedelta(days=length))
    due = clock.due(CAL)
    assert due is not None
    assert due.astimezone(SHANGHAI).time() == time()
    last_counted = due.astimezone(SHANGHAI).date() - timedelta(days=1)
    paused_days = CAL.working_days_between(first_paused - timedelta(days=1), first_paused + timedelta(days=length - 1))
    assert CAL.working_days_between(started.date(), last_counted) == days + (paused_days if paused_at < due else 0)
