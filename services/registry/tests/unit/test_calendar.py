from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.domain.calendar import (
    CalendarEntry,
    CalendarNotLoaded,
    DayKind,
    WorkingCalendar,
    seed_entries,
    seeded_calendar,
)

H, W = DayKind.holiday, DayKind.workday

# The State Council's 2026 holiday notice (published November 2025), typed in by hand so the
# package is checked against the notice, not against itself. Only the deviations from the
# Monday–Friday rule appear: holidays falling on a weekend change nothing.
OFFICIAL_2026 = {
    # 元旦 1月1日–3日, 1月4日（周日）上班
    date(2026, 1, 1): H,
    date(2026, 1, 2): H,
    date(2026, 1, 4): W,
    # 春节 2月15日–23日 共9天, 2月14日（周六）、2月28日（周六）上班
    date(2026, 2, 14): W,
    date(2026, 2, 16): H,
    date(2026, 2, 17): H,
    date(2026, 2, 18): H,
    date(2026, 2, 19): H,
    date(2026, 2, 20): H,
    date(2026, 2, 23): H,
    date(2026, 2, 28): W,
    # 清明 4月4日–6日
    date(2026, 4, 6): H,
    # 劳动节 5月1日–5日, 5月9日（周六）上班
    date(2026, 5, 1): H,
    date(2026, 5, 4): H,
    date(2026, 5, 5): H,
    date(2026, 5, 9): W,
    # 端午 6月19日–21日
    date(2026, 6, 19): H,
    # 中秋 9月25日–27日 (a separate break in 2026: the festival falls on 25 September)
    date(2026, 9, 25): H,
    # 国庆 10月1日–7日, 9月20日（周日）、10月10日（周六）上班
    date(2026, 9, 20): W,
    date(2026, 10, 1): H,
    date(2026, 10, 2): H,
    date(2026, 10, 5): H,
    date(2026, 10, 6): H,
    date(2026, 10, 7): H,
    date(2026, 10, 10): W,
}


CAL_2026 = seeded_calendar(2026)


@pytest.fixture
def cal() -> WorkingCalendar:
    return CAL_2026


def test_package_agrees_with_the_official_2026_notice() -> None:
    entries = seed_entries(2026)
    assert {d: e.kind for d, e in entries.items()} == OFFICIAL_2026


def test_seed_entries_carry_the_holiday_name() -> None:
    entries = seed_entries(2026)
    assert entries[date(2026, 2, 14)] == CalendarEntry(DayKind.workday, "春节")
    assert entries[date(2026, 2, 16)] == CalendarEntry(DayKind.holiday, "春节")
    assert entries[date(2026, 9, 20)] == CalendarEntry(DayKind.workday, "国庆节")
    assert entries[date(2026, 9, 25)] == CalendarEntry(DayKind.holiday, "中秋")


def test_a_year_the_package_does_not_know_is_refused() -> None:
    with pytest.raises(CalendarNotLoaded) as exc:
        seed_entries(2003)
    assert exc.value.year == 2003 and "2003" in str(exc.value)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 13), True),  # Friday before the break
        (date(2026, 2, 14), True),  # Saturday worked (调休)
        (date(2026, 2, 15), False),  # Sunday, first day of the break
        (date(2026, 2, 18), False),  # Wednesday inside the break
        (date(2026, 2, 23), False),  # Monday, last day of the break
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday worked (调休)
        (date(2026, 3, 1), False),  # plain Sunday
        (date(2026, 9, 20), True),  # Sunday worked (调休)
        (date(2026, 9, 25), False),  # Mid-Autumn, a Friday
        (date(2026, 10, 7), False),
        (date(2026, 10, 8), True),
        (date(2026, 10, 10), True),  # Saturday worked (调休)
        (date(2026, 10, 11), False),
    ],
)
def test_is_working_day(cal: WorkingCalendar, day: date, working: bool) -> None:
    assert cal.is_working_day(day) is working


@pytest.mark.parametrize(
    ("accepted", "n", "due"),
    [
        # accepted the day before the Spring Festival break, which is itself a worked Saturday
        (date(2026, 2, 14), 3, date(2026, 2, 26)),
        # accepted on the Friday: the worked Saturday counts, then the break is skipped
        (date(2026, 2, 13), 3, date(2026, 2, 25)),
        (date(2026, 2, 13), 1, date(2026, 2, 14)),
        # the worked Saturday 28 February after the break
        (date(2026, 2, 26), 3, date(2026, 3, 2)),
        # Friday 18 September: Saturday rests, Sunday 20 is worked
        (date(2026, 9, 18), 3, date(2026, 9, 22)),
        # Mid-Autumn Friday and the weekend are skipped
        (date(2026, 9, 24), 1, date(2026, 9, 28)),
        # National Day: 8, 9 and the worked Saturday 10 October
        (date(2026, 9, 30), 3, date(2026, 10, 10)),
        (date(2026, 9, 30), 4, date(2026, 10, 12)),
    ],
)
def test_add_working_days_across_2026_breaks(cal: WorkingCalendar, accepted: date, n: int, due: date) -> None:
    assert cal.add_working_days(accepted, n) == due
    assert cal.working_days_between(accepted, due) == n


def test_next_working_day_is_strictly_after(cal: WorkingCalendar) -> None:
    assert cal.next_working_day(date(2026, 3, 2)) == date(2026, 3, 3)
    assert cal.next_working_day(date(2026, 2, 14)) == date(2026, 2, 24)


def test_add_working_days_needs_a_positive_count(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        cal.add_working_days(date(2026, 3, 2), 0)


def test_working_days_in_2026(cal: WorkingCalendar) -> None:
    # 261 weekdays, 19 of them holidays, 6 weekend days worked
    assert cal.working_days_between(date(2025, 12, 31), date(2026, 12, 31)) == 248


def test_working_days_between_is_zero_for_an_empty_range(cal: WorkingCalendar) -> None:
    assert cal.working_days_between(date(2026, 3, 5), date(2026, 3, 5)) == 0
    assert cal.working_days_between(date(2026, 3, 5), date(2026, 3, 1)) == 0
    assert cal.working_days_between(date(2026, 2, 14), date(2026, 2, 23)) == 0


def test_running_past_the_last_loaded_year_refuses(cal: WorkingCalendar) -> None:
    # 31 December counts, then 2027 has no schedule yet
    with pytest.raises(CalendarNotLoaded) as exc:
        cal.add_working_days(date(2026, 12, 30), 3)
    assert exc.value.year == 2027
    assert "2027 is not loaded" in str(exc.value)
    assert isinstance(exc.value, LookupError)
    with pytest.raises(CalendarNotLoaded):
        cal.is_working_day(date(2027, 1, 4))
    with pytest.raises(CalendarNotLoaded):
        cal.working_days_between(date(2026, 12, 1), date(2027, 1, 10))
    with pytest.raises(CalendarNotLoaded):
        cal.is_working_day(date(2025, 12, 31))


def test_the_start_day_may_lie_in_an_unloaded_year(cal: WorkingCalendar) -> None:
    # 1–3 January are New Year's Day, Sunday 4 January is worked
    assert cal.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 4)


def test_calendar_is_immutable_and_consistent() -> None:
    overrides = {date(2026, 2, 16): DayKind.holiday}
    cal = WorkingCalendar(overrides, {2026})
    overrides[date(2026, 2, 17)] = DayKind.holiday
    assert not cal.is_working_day(date(2026, 2, 16))
    assert cal.is_working_day(date(2026, 2, 17))
    with pytest.raises(TypeError):
        cal.overrides[date(2026, 2, 18)] = DayKind.holiday  # type: ignore[index]
    with pytest.raises(ValueError, match="not declared loaded"):
        WorkingCalendar({date(2027, 2, 8): DayKind.holiday}, {2026})


@given(st.dates(date(2026, 1, 1), date(2026, 10, 31)), st.integers(1, 40))
def test_counting_and_adding_agree(start: date, n: int) -> None:
    cal = CAL_2026
    due = cal.add_working_days(start, n)
    assert cal.working_days_between(start, due) == n
    assert cal.is_working_day(due)
    brute = sum(cal.is_working_day(start + timedelta(days=i)) for i in range(1, (due - start).days + 1))
    assert brute == n


def test_horizon_counts_days_to_the_end_of_the_unbroken_run_of_loaded_years() -> None:
    from registry.domain.calendar import horizon

    today = date(2026, 11, 22)
    assert horizon({2026}, today) == (date(2026, 12, 31), 39, 2027)
    assert horizon({2026}, today).low
    assert horizon({2026, 2027}, today) == (date(2027, 12, 31), 404, 2028)
    assert not horizon({2026, 2027}, today).low
    assert horizon({2026, 2028}, today).missing_year == 2027  # a gap breaks the run
    assert horizon({2025, 2027}, today) == (None, 0, 2026)
    assert horizon({2026}, date(2026, 11, 16)).days_left == 45 and not horizon({2026}, date(2026, 11, 16)).low
