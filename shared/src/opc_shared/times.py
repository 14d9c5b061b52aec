"""One time format for every API and event, and one way to say a time to a person.

Machines get RFC 3339 in UTC with ``Z`` (``2026-11-29T16:00:00Z``) whatever zone a value was
computed in: use :data:`UtcDateTime` in response models and event contracts, :func:`rfc3339`
where a time is written into JSON by hand. People read Asia/Shanghai local time in words
(:func:`local_text`), never a raw timestamp. Dates and times a client sends are bounded
(:data:`ApiDate`, :data:`ApiDateTime`), so an extreme value is a 422 naming the field instead of
an overflow deep in a query.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import AfterValidator, AwareDatetime, PlainSerializer, WithJsonSchema

from opc_shared.clock import SHANGHAI

#: The range a date or time from a client may take: wide for any real record, far from overflow.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)


def rfc3339(moment: datetime) -> str:
    """``2026-11-29T16:00:00Z`` (microseconds only when there are any); refuses naive datetimes."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no place in the API: give it a time zone")
    utc = moment.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def _to_utc(moment: datetime) -> datetime:
    if not MIN_DATE <= moment.date() <= MAX_DATE:
        raise ValueError(f"must lie between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}")
    return moment.astimezone(UTC)


#: A point in time in an API model or event: accepted with any offset, held and written as UTC ``Z``.
UtcDateTime = Annotated[
    AwareDatetime,
    AfterValidator(_to_utc),
    PlainSerializer(rfc3339, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
#: A time a client sends (query or body): must carry a zone, bounded, normalised to UTC.
ApiDateTime = UtcDateTime
#: A calendar date a client sends: bounded, so date arithmetic and the database never overflow.
ApiDate = Annotated[date, Ge(MIN_DATE), Le(MAX_DATE)]


def _is_time_key(key: object) -> bool:
    return isinstance(key, str) and (key == "at" or key.endswith("_at"))


def normalize_times(value: Any, key: object = None) -> Any:
    """A JSON document whose ``at`` / ``*_at`` members are times, each rewritten as RFC 3339 UTC ``Z``.

    For free-form details (timelines, sign-offs) written before every writer used :func:`rfc3339`."""
    if isinstance(value, dict):
        return {k: normalize_times(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_times(v, key) for v in value]
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, str) and _is_time_key(key):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return rfc3339(moment) if moment.tzinfo is not None else value
    return value


#: A free-form JSON object (e.g. a timeline entry's detail) whose ``*_at`` times are written as UTC ``Z``.
JsonWithTimes = Annotated[dict[str, Any], PlainSerializer(normalize_times, return_type=dict[str, Any], when_used="json")]

_WEEKDAYS_ZH = "一二三四五六日"
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def local_text(moment: datetime, lang: str) -> str:
    """A time as a person in Chengdu reads it: ``2026年11月29日（星期日）24:00`` / ``Sun 29 Nov 2026, 24:00``.

    Midnight is written as 24:00 of the day before, because a deadline "by the end of 29 November"
    is what a due time of 00:00 on the 30th means to a founder."""
    local = moment.astimezone(SHANGHAI)
    day, clock = local.date(), local.strftime("%H:%M")
    if local.time() == time(0):
        day, clock = day - timedelta(days=1), "24:00"
    if lang == "en":
        return f"{_WEEKDAYS_EN[day.weekday()]} {day.day} {_MONTHS_EN[day.month - 1]} {day.year}, {clock} (Beijing time)"
    return f"{day.year}年{day.month}月{day.day}日（星期{_WEEKDAYS_ZH[day.weekday()]}）{clock}"
