"""The service-level clock of a registration case, with the legal counting rules.

"Licence in 3 working days" is a promise with legal semantics: counting starts the day
after acceptance (次日起算), a deadline ends at local 24:00 of its last working day, and
the time a founder spends correcting materials (补正) is not the office's time. Elapsed
time is therefore measured in working seconds (seconds that fall on a working day, Asia/
Shanghai time) outside pauses, and the due moment is when that measure reaches the budget.
Nothing here is stored but the facts (start, pauses, extension); every verdict is computed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from opc_shared.clock import SHANGHAI
from registry.domain.calendar import WorkingCalendar

WORKING_DAY = timedelta(days=1)
_CENT = Decimal("0.01")


class SlaError(Exception):
    """A request the clock's rules forbid; the service layer maps these to conflicts."""


class ExtensionAlreadyUsed(SlaError):
    pass


class ClockAlreadyPaused(SlaError):
    pass


class ClockNotPaused(SlaError):
    pass


class TimeRunsBackwards(SlaError):
    pass


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)


def _local_midnight(d: date) -> datetime:
    return datetime.combine(d, time(), tzinfo=SHANGHAI).astimezone(UTC)


@dataclass(frozen=True)
class Pause:
    """Materials correction (补正): [paused_at, resumed_at); an open pause has no resumed_at."""

    paused_at: datetime
    resumed_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "paused_at", _aware(self.paused_at, "paused_at"))
        if self.resumed_at is not None:
            object.__setattr__(self, "resumed_at", _aware(self.resumed_at, "resumed_at"))
            if self.resumed_at < self.paused_at:
                raise TimeRunsBackwards(f"resumed at {self.resumed_at} before pausing at {self.paused_at}")

    @property
    def is_open(self) -> bool:
        return self.resumed_at is None


@dataclass(frozen=True)
class SlaClock:
    """A budget of working days from acceptance, with pauses and at most one extension."""

    started_at: datetime
    working_days: int
    pauses: tuple[Pause, ...] = ()
    extension_days: int = 0
    extension_reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "started_at", _aware(self.started_at, "started_at"))
        if self.working_days < 1:
            raise ValueError(f"working_days must be at least 1, got {self.working_days}")
        if self.extension_days < 0 or (self.extension_days > 0) != bool(self.extension_reason):
            raise ValueError("an extension needs a positive number of days and a reason, or neither")
        previous_end = self.started_at
        for i, p in enumerate(self.pauses):
            if p.paused_at < previous_end:
                raise TimeRunsBackwards(f"pause {i} starts at {p.paused_at}, before {previous_end}")
            if p.resumed_at is None:
                if i != len(self.pauses) - 1:
                    raise ValueError("only the last pause may still be open")
            else:
                previous_end = p.resumed_at

    @classmethod
    def start(cls, at: datetime, working_days: int) -> SlaClock:
        return cls(started_at=at, working_days=working_days)

    @property
    def is_paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].is_open

    @property
    def counting_from(self) -> datetime:
        """Local midnight after the day of acceptance: the acceptance day itself never counts."""
        return _local_midnight(self.started_at.astimezone(SHANGHAI).date() + timedelta(days=1))

    @property
    def budget(self) -> timedelta:
        return (self.working_days + self.extension_days) * WORKING_DAY

    def pause(self, at: datetime) -> SlaClock:
        if self.is_paused:
            raise ClockAlreadyPaused(f"the clock has been paused since {self.pauses[-1].paused_at}")
        return replace(self, pauses=(*self.pauses, Pause(at)))

    def resume(self, at: datetime) -> SlaClock:
        if not self.is_paused:
            raise ClockNotPaused("the clock is running; there is nothing to resume")
        open_pause = self.pauses[-1]
        return replace(self, pauses=(*self.pauses[:-1], Pause(open_pause.paused_at, at)))

    def extend(self, days: int, reason: str) -> SlaClock:
        """The one extension the rules allow; a second would let a case drift indefinitely."""
        if self.extension_days:
            raise ExtensionAlreadyUsed(f"already extended by {self.extension_days} working day(s): {self.extension_reason}")
        if days < 1:
            raise ValueError(f"an extension must add at least one working day, got {days}")
        if not reason or not reason.strip():
            raise ValueError("an extension needs a reason")
        return replace(self, extension_days=days, extension_reason=reason.strip())

    def _free_intervals(self, calendar: WorkingCalendar, until: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
        """Counting intervals in time order: working-day hours outside pauses.

        Stops at ``until`` or at the start of an open pause; without either it runs until
        the calendar refuses a year it has not loaded.
        """
        stop = until
        if self.is_paused:
            open_start = self.pauses[-1].paused_at
            stop = open_start if stop is None else min(stop, open_start)
        closed = [(p.paused_at, p.resumed_at) for p in self.pauses if p.resumed_at is not None]
        day = self.counting_from.astimezone(SHANGHAI).date()
        while True:
            day_start = _local_midnight(day)
            if stop is not None and day_start >= stop:
                return
            day_end = _local_midnight(day + timedelta(days=1))
            if calendar.is_working_day(day):
                cursor = day_start
                end = day_end if stop is None else min(day_end, stop)
                for p_start, p_end in closed:
                    if p_end <= cursor or p_start >= end:
                        continue
                    if p_start > cursor:
                        yield cursor, p_start
                    cursor = max(cursor, p_end)
                if cursor < end:
                    yield cursor, end
            day += timedelta(days=1)

    def _elapsed(self, until: datetime, calendar: WorkingCalendar) -> timedelta:
        until = _aware(until, "until")
        return sum((end - start for start, end in self._free_intervals(calendar, until)), timedelta())

    def _moment_elapsed_reaches(self, amount: timedelta, calendar: WorkingCalendar) -> datetime | None:
        """The earliest moment the counted time reaches ``amount``; None if a pause hides it."""
        if amount <= timedelta():
            return self.started_at
        left = amount
        for start, end in self._free_intervals(calendar):
            if left <= end - start:
                return start + left
            left -= end - start
        return None

    def due(self, calendar: WorkingCalendar) -> datetime | None:
        """When the budget runs out; None while paused, because nobody knows when it resumes."""
        if self.is_paused:
            return None
        return self._moment_elapsed_reaches(self.budget, calendar)

    def _due_as_of(self, moment: datetime, calendar: WorkingCalendar) -> datetime:
        """The due moment if an open pause ended at ``moment``: what the deadline was worth then."""
        clock = self.resume(max(moment, self.pauses[-1].paused_at)) if self.is_paused else self
        due = clock.due(calendar)
        if due is None:  # pragma: no cover - a resumed clock always has a due moment
            raise RuntimeError("a running clock without a due moment")
        return due

    def is_overdue(self, now: datetime, calendar: WorkingCalendar, completed_at: datetime | None = None) -> bool:
        """Past the due moment at completion, or now if still open; a pause started late does not rescue it."""
        moment = _aware(completed_at if completed_at is not None else now, "completed_at or now")
        return moment > self._due_as_of(moment, calendar)

    def remaining_working_seconds(self, now: datetime, calendar: WorkingCalendar) -> float:
        """Negative once overrun; frozen while paused because paused time is not counted."""
        return (self.budget - self._elapsed(now, calendar)).total_seconds()

    def working_days_used(self, until: datetime, calendar: WorkingCalendar) -> Decimal:
        """Working days from acceptance to ``until`` without pauses, to two places, for statistics."""
        used = Decimal(self._elapsed(until, calendar) // timedelta(microseconds=1)) / Decimal(86_400_000_000)
        return used.quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LadderStep:
    """Fire ``offset_working_days`` working days of counted time from due: -1 is one day before."""

    name: str
    offset_working_days: int


@dataclass(frozen=True)
class Ladder:
    """Escalation steps in firing order; ordered offsets make ladder order the order in time."""

    steps: tuple[LadderStep, ...]

    def __post_init__(self) -> None:
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"ladder step names must be unique: {names}")
        offsets = [s.offset_working_days for s in self.steps]
        if offsets != sorted(offsets):
            raise ValueError(f"ladder steps must be in order of offset: {offsets}")

    @classmethod
    def of(cls, *steps: tuple[str, int]) -> Ladder:
        return cls(tuple(LadderStep(name, offset) for name, offset in steps))

    def __iter__(self) -> Iterator[LadderStep]:
        return iter(self.steps)


STANDARD_LADDER = Ladder.of(("warn", -1), ("escalate", 0), ("escalate_again", 1))


def step_moment(step: LadderStep, clock: SlaClock, calendar: WorkingCalendar) -> datetime | None:
    """When ``step`` fires; None while a pause hides a moment the counted time has not reached."""
    return clock._moment_elapsed_reaches(clock.budget + step.offset_working_days * WORKING_DAY, calendar)


def due_steps(
    clock: SlaClock,
    calendar: WorkingCalendar,
    now: datetime,
    already_fired: Iterable[str],
    ladder: Ladder = STANDARD_LADDER,
) -> list[str]:
    """Steps whose moment has come and that have not fired, so a re-run never fires twice."""
    now = _aware(now, "now")
    fired = set(already_fired)
    ready = []
    for step in ladder:
        if step.name in fired:
            continue
        moment = step_moment(step, clock, calendar)
        if moment is None or moment > now:
            break
        ready.append(step.name)
    return ready
