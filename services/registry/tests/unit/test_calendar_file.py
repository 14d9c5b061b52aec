"""The calendar file ops load when the State Council publishes a year: checked offline with the API's rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registry.calendar_file import CalendarFileError, dumps, export, read

CALENDARS = Path(__file__).parents[2] / "calendars"


def test_the_shipped_2026_file_is_the_package_schedule() -> None:
    data = read(CALENDARS / "2026.json")
    assert data == json.loads(dumps(export(2026)))
    assert {"day": "2026-10-07", "kind": "holiday", "name": "国庆节"} in data["days"]


def test_the_2027_template_is_refused_until_filled_from_the_notice() -> None:
    with pytest.raises(CalendarFileError, match="template"):
        read(CALENDARS / "2027.template.json")


def test_a_file_with_wrong_entries_names_each(tmp_path: Path) -> None:
    bad = tmp_path / "2027.json"
    bad.write_text(
        json.dumps(
            {
                "year": 2027,
                "source": "typo test",
                "days": [
                    {"day": "2027-01-01", "kind": "holiday"},
                    {"day": "2027-01-02", "kind": "holiday"},  # a Saturday
                    {"day": "2028-01-03", "kind": "holiday"},
                    {"day": "2027-01-01", "kind": "holiday"},
                    {"day": "2027-01-04", "kind": "rest"},
                ],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(CalendarFileError) as exc:
        read(bad)
    text = str(exc.value)
    assert "days.1.kind" in text and "days.2.day" in text and "days.3.day" in text and "days.4.kind" in text
    assert "days.0" not in text
