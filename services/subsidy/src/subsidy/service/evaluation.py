"""Re-evaluating a programme year over every firm: the what-if of a draft policy, and estimates.

One aggregation reads each firm's invoiced base of the year from ``base_entries``; the exact
integer rule (:func:`~subsidy.domain.compute.rate_amount`, held equal to the explained engine by
a unit test) turns it into amounts, totalled by programme and district. Nothing is written:
real entitlements keep the version they pinned.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, func, select

from opc_shared.auth import Principal
from opc_shared.db import Work
from opc_shared.errors import DomainError, Forbidden, NotFound
from subsidy.adapters.tables import accounts, base_entries, entitlements
from subsidy.domain.compute import Facts, evaluate, rate_rule
from subsidy.domain.policy import Policy
from subsidy.service import policies
from subsidy.service.entitlements import CATEGORY_OF_BASE


def invoiced_programmes(policy: Policy) -> dict[str, list]:
    """category → the automatic rate programmes whose base it is."""
    out: dict[str, list] = defaultdict(list)
    for p in policy.programmes.values():
        if p.mode == "automatic" and p.kind == "rate" and p.base in CATEGORY_OF_BASE:
            out[CATEGORY_OF_BASE[p.base]].append(p)
    return out


def aggregation(policy: Policy, year: int):
    """The one query re-evaluation needs: each firm's base of the year per category, handed over as
    one array of bases per district and category (a few wide rows instead of 10⁵ narrow ones)."""
    column = base_entries.c.total_fen if policy.cost_basis == "tax_included" else base_entries.c.amount_fen
    per_firm = (
        select(
            base_entries.c.firm_id,
            base_entries.c.district,
            base_entries.c.category,
            func.sum(column).cast(BigInteger).label("base"),
        )
        .where(base_entries.c.year == year)
        .group_by(base_entries.c.firm_id, base_entries.c.district, base_entries.c.category)
        .cte("per_firm")
    )
    firms = select(func.count(func.distinct(per_firm.c.firm_id))).scalar_subquery()
    return select(per_firm.c.district, per_firm.c.category, func.array_agg(per_firm.c.base), firms).group_by(
        per_firm.c.district, per_firm.c.category
    )


def total_up(policy: Policy, rows) -> dict[str, Any]:
    """Each firm's amount by the exact integer rule → totals by programme and by district (pure)."""
    by_category = invoiced_programmes(policy)
    programmes: dict[str, int] = defaultdict(int)
    districts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    firms = 0
    for district, category, bases, firm_count in rows:
        firms = firm_count
        for programme in by_category.get(category, ()):
            p, q, ceiling = rate_rule(programme)
            if ceiling is None:
                amount = sum(max(b, 0) * p // q for b in bases)
            else:
                amount = sum(min(max(b, 0) * p // q, ceiling) for b in bases)
            programmes[programme.code] += amount
            districts[district][programme.code] += amount
    return {
        "firms": firms,
        "programmes": dict(sorted(programmes.items())),
        "districts": {d: dict(sorted(v.items())) for d, v in sorted(districts.items())},
        "total_fen": sum(programmes.values()),
    }


async def simulate(work: Work, principal: Principal, version_id: uuid.UUID, year: int) -> dict[str, Any]:
    if principal.district != "*" or not principal.has_any("admin"):
        raise Forbidden("simulating a policy over all firms is for city-wide admins")
    policy = await policies.policy_by_id(work.session, version_id)
    rows = (await work.session.execute(aggregation(policy, year))).all()
    simulated = total_up(policy, rows)
    current = (
        await work.session.execute(
            select(entitlements.c.programme, func.sum(entitlements.c.amount_fen))
            .where(entitlements.c.year == year, entitlements.c.programme.in_(list(simulated["programmes"]) or [""]))
            .group_by(entitlements.c.programme)
        )
    ).all()
    simulated["current_programmes"] = {code: int(total) for code, total in sorted(current)}
    simulated["policy_set"], simulated["policy_version"], simulated["year"] = policy.policy_set, policy.version, year
    return simulated


async def estimate(work: Work, principal: Principal, firm_id: uuid.UUID, year: int, today: date) -> list[dict[str, Any]]:
    """What the firm would get now under the version in force, and what it is owed so far."""
    s = work.session
    district = (await s.execute(select(accounts.c.district).where(accounts.c.firm_id == firm_id))).scalar_one_or_none()
    if district is None or not principal.may_see_firm(firm_id, district):
        raise NotFound({"en": "firm", "zh-CN": "企业"}, firm_id)
    forced = await policies.in_force_on(s, min(today, date(year, 12, 31)), district=district)
    if forced is None:
        raise DomainError("policy_not_in_force", {"policy_set": policies.DEFAULT_POLICY_SET, "day": today.isoformat()})
    policy = forced[1]
    column = base_entries.c.total_fen if policy.cost_basis == "tax_included" else base_entries.c.amount_fen
    bases = dict(
        (
            await s.execute(
                select(base_entries.c.category, func.sum(column))
                .where(base_entries.c.firm_id == firm_id, base_entries.c.year == year)
                .group_by(base_entries.c.category)
            )
        ).all()
    )
    held = {
        r.programme: r
        for r in await s.execute(select(entitlements).where(entitlements.c.firm_id == firm_id, entitlements.c.year == year))
    }
    out = []
    for category, programmes in sorted(invoiced_programmes(policy).items()):
        for p in programmes:
            base = max(int(bases.get(category) or 0), 0)
            comp = evaluate(policy, p, Facts(base_fen=base))
            row = held.get(p.code)
            paid = (row.paid_fen - row.recovery_fen) if row else 0
            out.append(
                {
                    "programme": p.code,
                    "year": year,
                    "base_fen": base,
                    "would_get_fen": comp.amount_fen,
                    "paid_fen": paid,
                    "owed_fen": (row.amount_fen - paid) if row else comp.amount_fen,
                    "cap_left_fen": max((p.cap_per_year_fen or 0) - comp.amount_fen, 0),
                    "policy_version": policy.version,
                    "explanation": comp.explanation,
                }
            )
    return out
