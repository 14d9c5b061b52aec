"""Pure tests of the plumbing every service shares: keyset cursors, scoping, If-Match, the
error hierarchy and aggregates' events. No HTTP, no database."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, DateTime, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import UUID

from opc_shared.aggregate import Aggregate
from opc_shared.auth import Principal
from opc_shared.concurrency import check_version, parse_if_match
from opc_shared.contracts import FirmRegisteredV1
from opc_shared.contracts.base import EventContract
from opc_shared.errors import PLATFORM_PROBLEMS, DomainError, Forbidden, NotFound, ProblemTable, VersionMismatch
from opc_shared.pagination import Keyset, PageParams
from opc_shared.problems import Problem
from opc_shared.scoping import Scope, may_read, readable, readable_condition, staff_district

md = MetaData()
items = Table(
    "items",
    md,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("district", String),
    Column("firm_id", UUID(as_uuid=True)),
    Column("founder_sub", String),
    Column("created_at", DateTime(timezone=True)),
)
KEYSET = Keyset(items.c.created_at, items.c.id)
SCOPE = Scope(district=items.c.district, firm=items.c.firm_id, account=items.c.founder_sub)


def sql(query) -> str:
    return str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def forge(parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


# --------------------------------------------------------------------------- keyset pagination


@given(st.datetimes(timezones=st.just(UTC)), st.uuids())
def test_cursor_round_trips(at: datetime, ident: uuid.UUID) -> None:
    assert KEYSET.decode(KEYSET.encode(at, ident)) == (at, ident)


def test_cursor_keeps_the_instant_whatever_the_offset() -> None:
    local = datetime(2026, 11, 22, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    at, _ = KEYSET.decode(KEYSET.encode(local, uuid.uuid4()))
    assert at == local and at.tzinfo == UTC


@pytest.mark.parametrize(
    "cursor",
    [
        forge(["2026-11-22T00:00:00+00:00", "nope"]),  # the issue's forged cursor: id is no UUID
        forge(["2026-11-22T00:00:00", str(uuid.uuid4())]),  # naive timestamp
        forge(["not a time", str(uuid.uuid4())]),
        forge([1, 2]),
        forge(["2026-11-22T00:00:00+00:00"]),
        forge({"a": 1}),
        forge(["0001-01-01T00:00:00+14:00", str(uuid.uuid4())]),  # underflows when moved to UTC
        forge(["2026-11-22T00:00:00+00:00", str(uuid.uuid4()), "0" * 12]),  # well formed, wrong check code
        Keyset(items.c.founder_sub, items.c.id).encode(datetime(2026, 11, 1, tzinfo=UTC), uuid.uuid4()),  # another list's
        "definitely-not-ours",
        "%%%",
        "",
    ],
)
def test_a_forged_cursor_is_a_422_naming_cursor(cursor: str) -> None:
    with pytest.raises(Problem) as info:
        KEYSET.decode(cursor)
    assert info.value.status == 422
    assert [(e.field, e.location) for e in info.value.errors] == [("cursor", "query")]


def test_a_string_keyed_list_still_refuses_a_cursor_it_did_not_issue() -> None:
    by_name = Keyset(items.c.created_at, items.c.founder_sub, id_type=str)
    assert by_name.decode(by_name.encode(datetime(2026, 11, 1, tzinfo=UTC), "nope"))[1] == "nope"
    with pytest.raises(Problem):
        by_name.decode(forge(["2026-11-22T00:00:00+00:00", "nope"]))


def test_keyset_orders_newest_first_and_continues_after_the_cursor() -> None:
    at, last = datetime(2026, 11, 1, tzinfo=UTC), uuid.uuid4()
    query = KEYSET.apply(select(items), PageParams(cursor=KEYSET.encode(at, last), limit=3))
    text = sql(query)
    assert "ORDER BY items.created_at DESC, items.id DESC" in text
    assert "(items.created_at, items.id) < (" in text and str(last) in text
    assert "LIMIT 4" in text  # one more than asked, to know whether a next page exists


def test_page_names_the_last_kept_row_only_when_more_exist() -> None:
    rows = [{"id": uuid.uuid4(), "created_at": datetime(2026, 11, 3 - i, tzinfo=UTC)} for i in range(3)]
    page = KEYSET.page(rows, PageParams(limit=2))
    assert page.items == rows[:2]
    assert KEYSET.decode(page.next_cursor) == (rows[1]["created_at"], rows[1]["id"])
    assert KEYSET.page(rows, PageParams(limit=3)).next_cursor is None


# --------------------------------------------------------------------------- scoping

CW = Principal("cw", "wuhou", frozenset({"caseworker"}))
CITY = Principal("city", "*", frozenset({"finance"}))
FIRM_ID = uuid.uuid4()
FOUNDER = Principal("founder-1", "wuhou", frozenset({"firm"}), firm_id=str(FIRM_ID))
OWNER = Principal("owner", "wuhou", frozenset({"scenario_owner"}))


def test_staff_read_their_district_and_city_wide_staff_read_all() -> None:
    assert "items.district = 'wuhou'" in sql(readable(select(items), CW, SCOPE))
    assert "WHERE" not in sql(readable(select(items), CITY, SCOPE))
    assert "items.district = 'jinjiang'" in sql(readable(select(items), CITY, SCOPE, district="jinjiang"))
    assert "items.district = 'wuhou'" in sql(readable(select(items), CW, SCOPE, district="wuhou"))


def test_a_district_outside_yours_is_refused_the_same_way_for_everyone() -> None:
    for principal in (CW, FOUNDER, OWNER):
        with pytest.raises(Forbidden):
            readable(select(items), principal, SCOPE, district="jinjiang")
    with pytest.raises(Forbidden):
        staff_district(CW, "jinjiang")


def test_firm_users_read_their_firm_or_what_they_opened_and_others_nothing() -> None:
    text = sql(readable(select(items), FOUNDER, SCOPE))
    assert FIRM_ID.hex in text.replace("-", "") and "items.founder_sub = 'founder-1'" in text
    with pytest.raises(Forbidden):
        readable(select(items), OWNER, SCOPE)  # no scope at all: a list is refused ...
    assert "false" in sql(select(items).where(readable_condition(OWNER, SCOPE))).lower()  # ... one record not found
    forged = Principal("x", "wuhou", frozenset({"firm"}), firm_id="not-a-uuid")
    assert "items.firm_id =" not in sql(readable(select(items), forged, SCOPE))
    with pytest.raises(Forbidden):
        staff_district(FOUNDER)


def test_the_single_record_condition_is_the_list_rule() -> None:
    assert "items.district = 'wuhou'" in sql(select(items).where(readable_condition(CW, SCOPE)))
    assert "true" in sql(select(items).where(readable_condition(CITY, SCOPE))).lower()
    owned = Scope(district=items.c.district, owned_by=lambda p: items.c.founder_sub == p.sub + "!")
    assert "items.founder_sub = 'founder-1!'" in sql(readable(select(items), FOUNDER, owned))


def test_a_callers_condition_is_built_once_and_stays_their_own() -> None:
    first = readable_condition(CW, SCOPE)
    assert readable_condition(Principal("cw", "wuhou", frozenset({"caseworker"})), SCOPE) is first, "reused"
    other = readable_condition(Principal("cw2", "jinjiang", frozenset({"caseworker"})), SCOPE)
    assert "items.district = 'jinjiang'" in sql(select(items).where(other))
    assert "items.district = 'wuhou'" in sql(select(items).where(readable_condition(CW, SCOPE)))
    assert readable_condition(CW, SCOPE, staff_roles=("admin",)) is not first, "another rule, another condition"
    twin = Scope(district=items.c.district, firm=items.c.firm_id, account=items.c.founder_sub)
    assert readable_condition(FOUNDER, twin) is not readable_condition(FOUNDER, SCOPE), "keyed by the scope itself"
    same_rule = [sql(select(items).where(readable_condition(FOUNDER, scope))) for scope in (twin, SCOPE)]
    assert same_rule[0] == same_rule[1]


def test_one_record_outside_scope_is_not_found() -> None:
    assert may_read(CW, "wuhou") and not may_read(CW, "jinjiang") and may_read(CITY, "jinjiang")
    assert may_read(FOUNDER, "wuhou", firm=FIRM_ID) and may_read(FOUNDER, "jinjiang", account="founder-1")
    assert not may_read(FOUNDER, "wuhou", firm=uuid.uuid4(), account="someone-else")
    assert NotFound("item", 7).params == {"resource": "item", "id": "7"}


# --------------------------------------------------------------------------- If-Match


@pytest.mark.parametrize(("header", "version"), [('"3"', 3), ('W/"3"', 3), ("3", 3), (' "12" ', 12)])
def test_if_match_spellings(header: str, version: int) -> None:
    assert parse_if_match(header) == version


@pytest.mark.parametrize("header", ['"three"', '"-1"', "*", '"1e3"', '"\u0663"', '"' + "9" * 30 + '"', '""'])
def test_malformed_if_match_is_a_422_naming_the_header(header: str) -> None:
    with pytest.raises(Problem) as info:
        parse_if_match(header)
    assert info.value.errors[0].field == "If-Match" and info.value.errors[0].location == "header"


def test_stale_version_is_a_version_mismatch() -> None:
    check_version(4, 4)
    with pytest.raises(VersionMismatch) as info:
        check_version(4, 3)
    assert info.value.params == {"current": 4, "sent": 3}


# --------------------------------------------------------------------------- errors


def test_domain_errors_carry_no_status_and_the_table_maps_them() -> None:
    table = ProblemTable({"claim_closed": (409, ("Closed", "Claim {id} is closed."), ("已关闭", "申报 {id} 已关闭。"))})
    err = DomainError("claim_closed", {"id": "c1"})
    assert not hasattr(err, "status")
    assert table[err.code].status == 409
    assert table["not_found"].status == 404 and "not_found" in table  # platform codes always there
    assert set(PLATFORM_PROBLEMS) <= table.codes()
    with pytest.raises(ValueError, match="platform code"):
        ProblemTable({"not_found": (410, ("a", "b"), ("c", "d"))})
    with pytest.raises(ValueError, match="not an error status"):
        ProblemTable({"fine": (200, ("a", "b"), ("c", "d"))})


# --------------------------------------------------------------------------- aggregates


@dataclass
class Firmish(Aggregate):
    id: uuid.UUID
    events: list[EventContract] = field(default_factory=list)

    def register(self) -> None:
        self.record(
            FirmRegisteredV1(firm_id=self.id, name="n", district="wuhou", founder_name="f", registered_at=datetime.now(UTC))
        )


def test_aggregate_hands_its_events_over_once() -> None:
    firm = Firmish(uuid.uuid4())
    firm.register()
    assert [e.event_type for e in firm.pull_events()] == ["opc.registry.firm.registered.v1"]
    assert firm.pull_events() == []
