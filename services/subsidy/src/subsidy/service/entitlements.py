"""Automatic entitlements: compute and model voucher from invoiced cost, graduate founder tiers.

The ledger's events are facts (one row per invoice, reversal or pool share); an entitlement is
recomputed from the sum of its year's facts every time one arrives, so the result never depends
on the order or the rounding of single invoices. Its policy version is pinned when the year's
first fact arrives. When a lower amount than was already paid results, the difference becomes a
recovery, netted against the recipient's next payout.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, select, true, update
from sqlalchemy.dialects.postgresql import insert

from opc_shared.auth import Principal
from opc_shared.clock import SHANGHAI
from opc_shared.contracts.ledger import InvoiceRecordedV1, InvoiceReversedV1, PoolSettlementAttributedV1
from opc_shared.contracts.matching import ScenarioDemoSelectedV1
from opc_shared.contracts.registry import FirmRegisteredV1, FirmStatusChangedV1
from opc_shared.db import Work, dicts
from opc_shared.errors import NotFound
from subsidy.adapters.tables import accounts, base_entries, district_cities, entitlements, firm_status_changes, recoveries
from subsidy.domain.compute import Facts, evaluate, fmt_yuan, rate_amount
from subsidy.domain.operation import months_of_normal_operation
from subsidy.domain.policy import Policy, Programme
from subsidy.service import policies

#: Which ledger category feeds which base.
CATEGORY_OF_BASE = {"invoiced_compute_cost": "compute", "invoiced_token_cost": "tokens"}


def automatic_programmes(policy: Policy, category: str) -> list[Programme]:
    return [p for p in policy.programmes.values() if p.mode == "automatic" and CATEGORY_OF_BASE.get(p.base) == category]


async def _add_entries(uow: Work, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert base facts; the unique (source, reference, category) makes a replay a no-op."""
    if not rows:
        return []
    added = await uow.session.execute(
        insert(base_entries)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(base_entries.c.year, base_entries.c.category, base_entries.c.amount_fen, base_entries.c.total_fen)
    )
    return dicts(added)


async def on_invoice_recorded(uow: Work, e: InvoiceRecordedV1, now: datetime) -> None:
    rows = [
        dict(
            firm_id=e.firm_id,
            district=e.district,
            year=e.issued_on.year,
            category=c.category,
            source="invoice",
            reference=e.invoice_number,
            issued_on=e.issued_on,
            amount_fen=c.amount_fen,
            tax_fen=c.tax_fen,
            total_fen=c.total_fen,
        )
        for c in e.categories
    ]
    for added in await _add_entries(uow, rows):
        await recompute(uow, e.firm_id, e.district, added, e.issued_on, now, reason=f"invoice {e.invoice_number}")


async def on_invoice_reversed(uow: Work, e: InvoiceReversedV1, now: datetime) -> None:
    year = e.reverses_issued_on.year
    rows = [
        dict(
            firm_id=e.firm_id,
            district=e.district,
            year=year,
            category=c.category,
            source="reversal",
            reference=e.invoice_number,
            issued_on=e.reverses_issued_on,
            amount_fen=-c.amount_fen,
            tax_fen=-c.tax_fen,
            total_fen=-c.total_fen,
        )
        for c in e.categories
    ]
    for added in await _add_entries(uow, rows):
        await recompute(
            uow,
            e.firm_id,
            e.district,
            added,
            e.reverses_issued_on,
            now,
            reason=f"red-letter invoice {e.invoice_number} reverses {e.reverses}",
        )


async def on_pool_settlement(uow: Work, e: PoolSettlementAttributedV1, now: datetime) -> None:
    rows = [
        dict(
            firm_id=e.firm_id,
            district=e.district,
            year=e.issued_on.year,
            category=e.category,
            source="pool",
            reference=f"{e.settlement_id}",
            issued_on=e.issued_on,
            amount_fen=e.amount_fen,
            tax_fen=e.tax_fen,
            total_fen=e.total_fen,
        )
    ]
    for added in await _add_entries(uow, rows):
        await recompute(
            uow,
            e.firm_id,
            e.district,
            added,
            e.issued_on,
            now,
            reason=f"pool settlement {e.settlement_id}",
        )


async def _pinned_row(uow: Work, firm_id: uuid.UUID, programme: str, year: int) -> dict | None:
    row = (
        (
            await uow.session.execute(
                select(entitlements)
                .where(entitlements.c.firm_id == firm_id, entitlements.c.programme == programme, entitlements.c.year == year)
                .with_for_update()
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


#: category → the automatic programme codes of every policy version this process has read.
_codes_by_category: dict[str, set[str]] = {}


async def recompute(
    uow: Work, firm_id: uuid.UUID, district: str, added: dict[str, Any], day: date, now: datetime, *, reason: str
) -> None:
    """Add one new base fact to the year's entitlements it feeds and recompute their amounts.

    The entitlement keeps a running base (the new fact's amount is added under the row's lock); the
    first fact of a year pins the version in force on its date and starts from the sum of every
    fact of that year already stored. Four statements per event in the steady state."""
    s = uow.session
    year, category = added["year"], added["category"]
    rows: list[dict] = []
    codes = _codes_by_category.get(category)
    if codes:
        rows = [
            dict(r)
            for r in (
                await s.execute(
                    select(entitlements)
                    .where(entitlements.c.firm_id == firm_id, entitlements.c.year == year, entitlements.c.programme.in_(codes))
                    .with_for_update()
                )
            ).mappings()
        ]
    fresh: set[str] = set()
    if not rows:
        forced = await policies.in_force_on(s, day, district=district)
        if forced is None:
            return  # no policy in force on that day: nothing accrues
        programmes = automatic_programmes(forced[1], category)
        _codes_by_category.setdefault(category, set()).update(p.code for p in programmes)
        for programme in programmes:
            created = await s.execute(
                insert(entitlements)
                .values(
                    firm_id=firm_id,
                    programme=programme.code,
                    year=year,
                    district=district,
                    policy_version_id=forced[0],
                    amount_fen=0,
                    base_fen=0,
                )
                .on_conflict_do_nothing()
                .returning(entitlements.c.programme)
            )
            fresh.update(created.scalars())
        rows = [
            dict(r)
            for r in (
                await s.execute(
                    select(entitlements)
                    .where(
                        entitlements.c.firm_id == firm_id,
                        entitlements.c.year == year,
                        entitlements.c.programme.in_([p.code for p in programmes]),
                    )
                    .with_for_update()
                )
            ).mappings()
        ]
    for row in rows:
        policy = await policies.policy_by_id(s, row["policy_version_id"])
        programme = policy.programme(row["programme"])
        if CATEGORY_OF_BASE.get(programme.base) != category:
            continue
        tax_included = policy.cost_basis == "tax_included"
        if row["programme"] in fresh:  # a new row starts from everything already stored for its year
            column = base_entries.c.total_fen if tax_included else base_entries.c.amount_fen
            base = (
                await s.execute(
                    select(func.coalesce(func.sum(column), 0)).where(
                        base_entries.c.firm_id == firm_id, base_entries.c.year == year, base_entries.c.category == category
                    )
                )
            ).scalar_one()
        else:
            base = (row["base_fen"] or 0) + (added["total_fen"] if tax_included else added["amount_fen"])
        base = int(base)
        # the integer form of the same rule (held equal to evaluate() by a unit test); explanations are rendered on read
        amount = rate_amount(programme, max(base, 0))
        await _settle(uow, row, amount, now, reason=reason, base_fen=base)


async def _settle(
    uow: Work, row: dict, amount: int, now: datetime, *, reason: str, base_fen: int | None = None, facts: dict | None = None
) -> None:
    """Store the new amount; what was paid (or scheduled) above it becomes a recovery."""
    outstanding = row["paid_fen"] + row["scheduled_fen"] - row["recovery_fen"]
    over = outstanding - amount
    values: dict[str, Any] = {"amount_fen": amount, "updated_at": now}
    if base_fen is not None:
        values["base_fen"] = base_fen
    if facts is not None:
        values["facts"] = facts
    if over > 0:
        values["recovery_fen"] = row["recovery_fen"] + over
        await uow.session.execute(
            insert(recoveries).values(
                id=uuid.uuid4(),
                recipient_kind="firm",
                recipient_id=str(row["firm_id"]),
                district=row["district"],
                programme=row["programme"],
                year=row["year"],
                amount_fen=over,
                remaining_fen=over,
                status="open",
                reason=reason[:500],
                created_at=now,
            )
        )
    await uow.session.execute(
        update(entitlements)
        .where(
            entitlements.c.firm_id == row["firm_id"],
            entitlements.c.programme == row["programme"],
            entitlements.c.year == row["year"],
        )
        .values(**values)
    )


# --- matching facts -------------------------------------------------------------------------


async def on_scenario_selected(uow: Work, e: ScenarioDemoSelectedV1, now: datetime) -> None:
    """A selected demonstration project: ≤ 30 % of its investment, ≤ 1,000,000 yuan, ≤ 20 a year.

    The count is the city's (each city's plan has its own yearly limit): a selection's city is the
    city of its district, as the registry's community events told us. Selections of a city's year
    are counted under a transaction-scoped advisory lock, so two arriving at once cannot both be the 20th."""
    s = uow.session
    await s.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"scenario_demo:{e.city}:{e.year}"))))
    day = e.selected_at.astimezone(SHANGHAI).date()
    added = await _add_entries(
        uow,
        [
            dict(
                firm_id=e.firm_id,
                district=e.district,
                year=e.year,
                category="scenario",
                source="scenario",
                reference=str(e.selection_id),
                issued_on=day,
                amount_fen=e.actual_investment_fen,
                tax_fen=0,
                total_fen=e.actual_investment_fen,
            )
        ],
    )
    if not added:
        return
    forced = await policies.in_force_on(s, min(day, date(e.year, 12, 31)), city=e.city)
    if forced is None or "scenario_demo" not in forced[1].programmes:  # another city's plan may have none
        return
    city_of_entry = func.coalesce(
        select(district_cities.c.city).where(district_cities.c.district == base_entries.c.district).scalar_subquery(),
        policies.DEFAULT_CITY,
    )
    rank = (
        await s.execute(
            select(func.count()).where(
                base_entries.c.source == "scenario", base_entries.c.year == e.year, city_of_entry == e.city
            )
        )
    ).scalar_one() - 1
    row = await _pinned_row(uow, e.firm_id, "scenario_demo", e.year)
    if row is None:
        await s.execute(
            insert(entitlements)
            .values(
                firm_id=e.firm_id,
                programme="scenario_demo",
                year=e.year,
                district=e.district,
                policy_version_id=forced[0],
                amount_fen=0,
                base_fen=0,
                facts={"projects": []},
            )
            .on_conflict_do_nothing()
        )
        row = await _pinned_row(uow, e.firm_id, "scenario_demo", e.year)
    assert row is not None
    policy = await policies.policy_by_id(s, row["policy_version_id"])
    comp = evaluate(policy, policy.programme("scenario_demo"), Facts(base_fen=e.actual_investment_fen, granted_count=rank))
    projects = [
        *(row["facts"] or {}).get("projects", []),
        {
            "selection_id": str(e.selection_id),
            "title": e.title,
            "investment_fen": e.actual_investment_fen,
            "rank": rank,
            "amount_fen": comp.amount_fen,
        },
    ]
    await _settle(
        uow,
        row,
        row["amount_fen"] + comp.amount_fen,
        now,
        reason=f"scenario {e.selection_id}",
        base_fen=(row["base_fen"] or 0) + e.actual_investment_fen,
        facts={"projects": projects},
    )


# --- registry facts -------------------------------------------------------------------------


async def on_firm_registered(uow: Work, firm: FirmRegisteredV1, now: datetime, *, account: dict | None = None) -> None:
    """``account``: the row ``accounts.open_for_registered_firm`` returned, which already holds the
    registration facts (then neither the update nor refresh_graduate's read of the row is needed)."""
    if account is not None:
        await refresh_graduate(uow, firm.firm_id, now.astimezone(SHANGHAI).date(), now, firm=account)
        return
    await uow.session.execute(
        update(accounts)
        .where(accounts.c.firm_id == firm.firm_id)
        .values(
            uscc=firm.uscc,
            community_id=firm.community_id,
            founder_is_graduate=firm.founder_is_graduate,
            graduation_date=firm.graduation_date,
        )
    )
    await refresh_graduate(uow, firm.firm_id, now.astimezone(SHANGHAI).date(), now)


async def on_firm_status_changed(uow: Work, e: FirmStatusChangedV1, now: datetime, *, newest: bool = True) -> None:
    """The history keeps every change; the account's current status only follows the newest one."""
    await uow.session.execute(
        insert(firm_status_changes)
        .values(firm_id=e.firm_id, effective_date=e.effective_date, status=e.status)
        .on_conflict_do_nothing()
    )
    if newest:
        await uow.session.execute(update(accounts).where(accounts.c.firm_id == e.firm_id).values(status=e.status))
    await refresh_graduate(uow, e.firm_id, now.astimezone(SHANGHAI).date(), now)


async def refresh_graduate(uow: Work, firm_id: uuid.UUID, today: date, now: datetime, *, firm: dict | None = None) -> None:
    """The graduate founder tier reached by ``today``, booked in the year it was reached.

    Top-up rule (policy parameter ``graduate_tiers``): a year's row holds the tier amount reached
    by then, less what earlier years' rows hold. ``firm``: the account row, if the caller holds it
    as it stands in this transaction."""
    s = uow.session
    if firm is None:
        firm = (await s.execute(select(accounts).where(accounts.c.firm_id == firm_id))).mappings().first()
    if firm is None or not firm["founder_is_graduate"]:
        return
    forced = await policies.in_force_on(s, today, district=firm["district"])
    if forced is None or "graduate_founder" not in forced[1].programmes:
        return
    changes = [
        (r.effective_date, r.status)
        for r in await s.execute(select(firm_status_changes).where(firm_status_changes.c.firm_id == firm_id))
    ]
    registered_on = firm["registered_at"].astimezone(SHANGHAI).date()
    months = months_of_normal_operation(registered_on, changes, today)
    earlier = (
        await s.execute(
            select(func.coalesce(func.sum(entitlements.c.amount_fen), 0)).where(
                entitlements.c.firm_id == firm_id,
                entitlements.c.programme == "graduate_founder",
                entitlements.c.year < today.year,
            )
        )
    ).scalar_one()
    row = await _pinned_row(uow, firm_id, "graduate_founder", today.year)
    if row is None:
        await s.execute(
            insert(entitlements)
            .values(
                firm_id=firm_id,
                programme="graduate_founder",
                year=today.year,
                district=firm["district"],
                policy_version_id=forced[0],
                amount_fen=0,
            )
            .on_conflict_do_nothing()
        )
        row = await _pinned_row(uow, firm_id, "graduate_founder", today.year)
    assert row is not None
    policy = await policies.policy_by_id(s, row["policy_version_id"])
    comp = evaluate(policy, policy.programme("graduate_founder"), Facts(months=months, already_granted_fen=int(earlier)))
    await _settle(
        uow,
        row,
        comp.amount_fen,
        now,
        reason=f"graduate tier as of {today}",
        facts={"months": months, "as_of": today.isoformat(), "already_granted_fen": int(earlier)},
    )


# --- reading --------------------------------------------------------------------------------


async def explain_row(uow: Work, row: dict) -> dict[str, str]:
    policy = await policies.policy_by_id(uow.session, row["policy_version_id"])
    programme = policy.programme(row["programme"])
    f = row["facts"] or {}
    if programme.kind == "tiers":
        facts = Facts(months=int(f.get("months", 0)), already_granted_fen=int(f.get("already_granted_fen", 0)))
        text = dict(evaluate(policy, programme, facts).explanation)
    elif "projects" in f:  # one computation per selected project (per-project cap, count per year)
        parts = [
            evaluate(policy, programme, Facts(base_fen=p["investment_fen"], granted_count=p["rank"])).explanation
            for p in f["projects"]
        ]
        text = {
            lang: " ".join(f"[{p['title']}] {part[lang]}" for p, part in zip(f["projects"], parts, strict=True))
            for lang in ("zh-CN", "en")
        }
    else:
        text = dict(evaluate(policy, programme, Facts(base_fen=max(int(row["base_fen"] or 0), 0))).explanation)
    paid = row["paid_fen"] - row["recovery_fen"]
    owed = row["amount_fen"] - paid - row["scheduled_fen"]
    text["zh-CN"] += f"本年{programme.name_zh}累计应得 {fmt_yuan(row['amount_fen'])} 元，已支付 {fmt_yuan(paid)} 元"
    text["en"] += f" Owed for the year: {fmt_yuan(row['amount_fen'])} yuan; paid so far: {fmt_yuan(paid)} yuan"
    if row["scheduled_fen"]:
        text["zh-CN"] += f"，已排入支付批次 {fmt_yuan(row['scheduled_fen'])} 元"
        text["en"] += f"; scheduled for payment: {fmt_yuan(row['scheduled_fen'])} yuan"
    if owed < 0:
        text["zh-CN"] += f"，多付 {fmt_yuan(-owed)} 元将在下次支付中抵扣或追回。"
        text["en"] += f"; {fmt_yuan(-owed)} yuan overpaid will be netted against the next payment or recovered."
    else:
        text["zh-CN"] += f"，待支付 {fmt_yuan(owed)} 元。"
        text["en"] += f"; still to pay: {fmt_yuan(owed)} yuan."
    return text


def _firm_year_query() -> Select:
    """The account's district and a year's rows in one round trip: a full join on true gives one row per
    entitlement (each with the district), or the account alone, or the entitlements alone. Built once
    (building its two subqueries cost more than running it)."""
    firm_id = bindparam("firm_id")
    account = select(accounts.c.district.label("account_district")).where(accounts.c.firm_id == firm_id).subquery("a")
    of_year = select(entitlements).where(entitlements.c.firm_id == firm_id, entitlements.c.year == bindparam("year"))
    rows = of_year.subquery("e")
    return select(account, rows).select_from(account.outerjoin(rows, true(), full=True)).order_by(rows.c.programme)


_FIRM_YEAR = _firm_year_query()


async def for_firm(uow: Work, principal: Principal, firm_id: uuid.UUID, year: int) -> list[dict]:
    s = uow.session
    found = dicts(await s.execute(_FIRM_YEAR, {"firm_id": firm_id, "year": year}))
    district = found[0]["account_district"] if found else None
    rows = []
    for row in found:
        del row["account_district"]
        if row["programme"] is not None:  # a key column: None only on the account's row without entitlements
            rows.append(row)
    district = district or (rows[0]["district"] if rows else None)
    if district is None or not principal.may_see_firm(firm_id, district):
        raise NotFound({"en": "firm", "zh-CN": "企业"}, str(firm_id))
    out = []
    for row in rows:
        policy = await policies.policy_by_id(s, row["policy_version_id"])
        paid = row["paid_fen"] - row["recovery_fen"]
        out.append(
            {
                "programme": row["programme"],
                "year": row["year"],
                "amount_fen": row["amount_fen"],
                "base_fen": row["base_fen"],
                "paid_fen": paid,
                "scheduled_fen": row["scheduled_fen"],
                "owed_fen": row["amount_fen"] - paid - row["scheduled_fen"],
                "policy_set": policy.policy_set,
                "policy_version": policy.version,
                "clause": policy.programme(row["programme"]).clause_zh,
                "explanation": await explain_row(uow, row),
                "updated_at": row["updated_at"],
            }
        )
    return out
