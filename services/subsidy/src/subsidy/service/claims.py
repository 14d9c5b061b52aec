"""Claims on application: apply with evidence, answer the deficiency notice, review, decide.

The unique evidence numbers go into ``evidence_uses`` (primary key kind + number), so the
database itself refuses the same contract, invoice or certificate behind a second claim, in any
programme and any year. Every step lands on the audit trail.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from opc_shared.auth import STAFF_ROLES, Principal
from opc_shared.clock import SHANGHAI
from opc_shared.concurrency import check_version
from opc_shared.contracts.subsidy import ClaimDecidedV1
from opc_shared.db import Work, dicts
from opc_shared.errors import DomainError, Forbidden, InvalidInput, NotFound
from opc_shared.pagination import Keyset, Page, PageParams
from opc_shared.scoping import Scope, readable
from subsidy.adapters.tables import accounts, audit_trail, claim_evidence, claims, evidence_uses
from subsidy.domain import claims as rules
from subsidy.domain.calendar import CalendarNotLoaded
from subsidy.domain.compute import Computation, Ineligible, evaluate
from subsidy.domain.policy import Policy, Programme
from subsidy.service import budgets, calendar, policies

APPROVED = ("approved", "partly_approved", "scheduled", "paid")
NOT_FOUND = {"en": "claim", "zh-CN": "补贴申请"}


def _refusal(exc: rules.ClaimRuleBroken) -> DomainError:
    code = {"four_eyes": "four_eyes", "decision": "decision_invalid"}.get(exc.code, "claim_state")
    return DomainError(code, {"reason": {"zh-CN": exc.zh, "en": exc.en}})


async def audit(work: Work, claim_id: uuid.UUID, action: str, actor: str, at: datetime, **detail: Any) -> None:
    await work.session.execute(
        insert(audit_trail).values(entity="claim", entity_id=str(claim_id), action=action, actor=actor, at=at, detail=detail)
    )


async def _granted(work: Work, programme: Programme, recipient_id: str, year: int, exclude: uuid.UUID | None) -> tuple[int, int]:
    """What this recipient was already granted within the cap's scope, and the programme's count this year."""
    s = work.session
    scope = [claims.c.programme == programme.code, claims.c.recipient_id == recipient_id, claims.c.status.in_(APPROVED)]
    if programme.cap_per_year_fen is not None:
        scope.append(claims.c.year == year)
    if exclude is not None:
        scope.append(claims.c.id != exclude)
    granted = (await s.execute(select(func.coalesce(func.sum(claims.c.approved_fen), 0)).where(*scope))).scalar_one()
    count = 0
    if programme.count_per_year is not None:
        count = (
            await s.execute(
                select(func.count()).where(
                    claims.c.programme == programme.code, claims.c.year == year, claims.c.status.in_(APPROVED)
                )
            )
        ).scalar_one()
    return int(granted), int(count)


async def _compute(work: Work, policy: Policy, programme: Programme, claim: dict, facts_raw: dict) -> Computation:
    granted, count = await _granted(work, programme, claim["recipient_id"], claim["year"], claim.get("id"))
    facts = rules.facts_from(facts_raw)
    facts = type(facts)(**{**facts.__dict__, "already_granted_fen": granted, "granted_count": count})
    return evaluate(policy, programme, facts)


async def _check(
    work: Work, policy: Policy, programme: Programme, claim: dict, kind: str, evidence_kinds: set[str], facts: dict
) -> tuple[Computation | None, list[rules.Missing]]:
    """The computation (when the facts allow one) and the whole deficiency notice."""
    comp, wrong_fact = None, []
    try:
        comp = await _compute(work, policy, programme, claim, facts)
    except Ineligible as exc:
        wrong_fact.append(rules.Missing(f"facts.{exc.field}", exc.zh, exc.en))
    return comp, rules.deficiencies(programme, kind, evidence_kinds, facts) + wrong_fact


def _day_for(year: int, today: date) -> date:
    """A claim pins the version in force for its base period: its year, up to today."""
    return min(today, date(year, 12, 31))


async def _recipient(work: Work, principal: Principal, body: dict) -> tuple[str, str, uuid.UUID | None, str]:
    """(kind, id, firm id, district) of the recipient, checked against who is asking."""
    kind = body["recipient_kind"]
    if kind == "firm":
        firm_id = body.get("firm_id") or (uuid.UUID(principal.firm_id) if principal.firm_id else None)
        if firm_id is None:
            raise InvalidInput([("firm_id", "missing", "a firm's claim names the firm")])
        district = (
            await work.session.execute(select(accounts.c.district).where(accounts.c.firm_id == firm_id))
        ).scalar_one_or_none()
        if district is None or not principal.may_see_firm(firm_id, district):
            raise NotFound({"en": "firm", "zh-CN": "企业"}, firm_id)
        return kind, str(firm_id), firm_id, district
    if not principal.has_any(*STAFF_ROLES):
        raise Forbidden("claims for people, communities and operators are filed by staff")
    district = body.get("district") or principal.district
    if not principal.may_see_district(district) or district == "*":
        raise Forbidden(f"district {district} is not yours")
    recipient_id = body.get("recipient_id")
    if not recipient_id:
        raise InvalidInput([("recipient_id", "missing", "required for a recipient that is not a firm")])
    return kind, str(recipient_id), None, district


async def _store_evidence(work: Work, claim_id: uuid.UUID, programme: Programme, evidence: list[dict]) -> None:
    unique_kinds = {e.kind for e in programme.evidence if e.unique}
    s = work.session
    for item in evidence:
        await s.execute(
            insert(claim_evidence)
            .values(claim_id=claim_id, **{k: item[k] for k in ("kind", "number", "document_ref", "checksum")})
            .on_conflict_do_nothing()
        )
        if item["kind"] in unique_kinds or item["kind"] == "invoice":
            try:
                async with s.begin_nested():
                    await s.execute(
                        insert(evidence_uses).values(
                            kind=item["kind"], number=item["number"], claim_id=claim_id, programme=programme.code
                        )
                    )
            except IntegrityError:
                owner = (
                    await s.execute(
                        select(evidence_uses.c.claim_id).where(
                            evidence_uses.c.kind == item["kind"], evidence_uses.c.number == item["number"]
                        )
                    )
                ).scalar_one_or_none()
                if owner != claim_id:
                    raise DomainError("evidence_already_used", {"kind": item["kind"], "number": item["number"]}) from None


async def _review_due(work: Work, submitted: date, policy: Policy) -> date | None:
    try:
        return (await calendar.working_days(work)).add(submitted, policy.review_working_days)
    except CalendarNotLoaded:
        return None  # set once the registry has published the year's calendar


async def apply(work: Work, principal: Principal, body: dict, now: datetime) -> dict:
    kind, recipient_id, firm_id, district = await _recipient(work, principal, body)
    today = now.astimezone(SHANGHAI).date()
    day = _day_for(body["year"], today)
    forced = await policies.in_force_on(work.session, day, district=district)
    if forced is None:
        raise DomainError("policy_not_in_force", {"policy_set": policies.DEFAULT_POLICY_SET, "day": day.isoformat()})
    vid, policy = forced
    if body["programme"] not in policy.programmes:
        raise InvalidInput([("programme", "value_error", f"not a programme of {policy.policy_set} {policy.version}")])
    programme = policy.programme(body["programme"])
    claim_id = uuid.uuid4()
    claim = {"id": claim_id, "recipient_id": recipient_id, "year": body["year"]}
    facts = dict(body.get("facts") or {})
    if body.get("requested_fen") is not None:
        facts.setdefault("requested_fen", body["requested_fen"])
    if programme.mode != "application":
        raise InvalidInput([("programme", "value_error", f"{programme.name_en} accrues automatically, no claim")])
    for extra in ("bank_account", "recipient_code"):
        if body.get(extra):
            facts[extra] = body[extra]
    comp, missing = await _check(work, policy, programme, claim, kind, {e["kind"] for e in body["evidence"]}, facts)
    status = "incomplete" if missing else "submitted"
    await work.session.execute(
        insert(claims).values(
            id=claim_id,
            programme=programme.code,
            policy_version_id=vid,
            recipient_kind=kind,
            recipient_id=recipient_id,
            firm_id=firm_id,
            district=district,
            year=body["year"],
            status=status,
            facts=facts,
            requested_fen=int(facts.get("requested_fen") or (comp.amount_fen if comp else 0)),
            computed_fen=comp.amount_fen if comp else 0,
            missing=[m.as_dict() for m in missing],
            applicant=principal.sub,
            submitted_at=now,
            review_due_on=None if missing else await _review_due(work, today, policy),
        )
    )
    await _store_evidence(work, claim_id, programme, body["evidence"])
    await audit(work, claim_id, "applied", principal.sub, now, status=status, missing=len(missing))
    return await get(work, principal, claim_id)


async def _load(work: Work, principal: Principal, claim_id: uuid.UUID, *, lock: bool = False) -> dict:
    query = select(claims).where(claims.c.id == claim_id)
    if lock:
        query = query.with_for_update()
    row = (await work.session.execute(query)).mappings().first()
    if row is None or not _may_see(principal, row):
        raise NotFound(NOT_FOUND, claim_id)
    return dict(row)


def _may_see(principal: Principal, row: dict) -> bool:
    if principal.has_any(*STAFF_ROLES) and principal.may_see_district(row["district"]):
        return True
    return row["firm_id"] is not None and principal.firm_id == str(row["firm_id"])


async def get(work: Work, principal: Principal, claim_id: uuid.UUID) -> dict:
    row = await _load(work, principal, claim_id)
    policy = await policies.policy_by_id(work.session, row["policy_version_id"])
    programme = policy.programme(row["programme"])
    evidence = [
        dict(r)
        for r in (await work.session.execute(select(claim_evidence).where(claim_evidence.c.claim_id == claim_id))).mappings()
    ]
    explanation = None
    if not row["missing"]:
        comp = await _compute(work, policy, programme, row, row["facts"])
        explanation = comp.explanation
    return {
        **row,
        "policy_set": policy.policy_set,
        "policy_version": policy.version,
        "clause": programme.clause_zh,
        "evidence": evidence,
        "explanation": explanation,
    }


async def supplement(work: Work, principal: Principal, claim_id: uuid.UUID, version: int, body: dict, now: datetime) -> dict:
    """The one answer to the deficiency notice: the missing items, all at once."""
    row = await _load(work, principal, claim_id, lock=True)
    check_version(row["version"], version)
    if row["status"] != "incomplete":
        raise DomainError("claim_state", {"reason": {"zh-CN": "申请材料已齐全", "en": "the claim is not incomplete"}})
    policy = await policies.policy_by_id(work.session, row["policy_version_id"])
    programme = policy.programme(row["programme"])
    facts = {**row["facts"], **(body.get("facts") or {})}
    await _store_evidence(work, claim_id, programme, body.get("evidence") or [])
    kinds = set(
        (await work.session.execute(select(claim_evidence.c.kind).where(claim_evidence.c.claim_id == claim_id))).scalars()
    )
    comp, missing = await _check(work, policy, programme, row, row["recipient_kind"], kinds, facts)
    status = "incomplete" if missing else "submitted"
    today = now.astimezone(SHANGHAI).date()
    await work.session.execute(
        update(claims)
        .where(claims.c.id == claim_id)
        .values(
            facts=facts,
            missing=[m.as_dict() for m in missing],
            status=status,
            computed_fen=comp.amount_fen if comp else 0,
            requested_fen=int(facts.get("requested_fen") or (comp.amount_fen if comp else 0)),
            review_due_on=None if missing else await _review_due(work, today, policy),
            version=row["version"] + 1,
        )
    )
    await audit(work, claim_id, "supplemented", principal.sub, now, status=status, missing=len(missing))
    return await get(work, principal, claim_id)


def _reviewer_of(principal: Principal, row: dict) -> None:
    if not principal.has_any("reviewer", "admin") or not principal.may_see_district(row["district"]):
        raise Forbidden("reviewing needs the reviewer role in the claim's district")


async def start_review(work: Work, principal: Principal, claim_id: uuid.UUID, version: int, now: datetime) -> dict:
    row = await _load(work, principal, claim_id, lock=True)
    _reviewer_of(principal, row)
    check_version(row["version"], version)
    try:
        status = rules.move(row["status"], "under_review")
        if principal.sub == row["applicant"]:
            raise rules.ClaimRuleBroken("four_eyes", "审核人不能是申请人", "the reviewer may not be the applicant")
    except rules.ClaimRuleBroken as exc:
        raise _refusal(exc) from None
    await work.session.execute(
        update(claims).where(claims.c.id == claim_id).values(status=status, reviewer=principal.sub, version=row["version"] + 1)
    )
    await audit(work, claim_id, "review_started", principal.sub, now)
    return await get(work, principal, claim_id)


async def decide(work: Work, principal: Principal, claim_id: uuid.UUID, version: int, body: dict, now: datetime) -> dict:
    row = await _load(work, principal, claim_id, lock=True)
    _reviewer_of(principal, row)
    check_version(row["version"], version)
    decision, reasons = body["decision"], list(body.get("reasons") or [])
    policy = await policies.policy_by_id(work.session, row["policy_version_id"])
    programme = policy.programme(row["programme"])
    try:
        rules.check_four_eyes(applicant=row["applicant"], reviewer=row["reviewer"], approver=principal.sub)
        status = rules.move(row["status"], decision)
        # recomputed at decision time: another claim of the same recipient may have used the cap since
        computed = (await _compute(work, policy, programme, row, row["facts"])).amount_fen
        amount = rules.decided_amount(decision, computed, body.get("approved_fen"), reasons)
    except rules.ClaimRuleBroken as exc:
        raise _refusal(exc) from None
    budget_id = None
    if amount > 0:
        budget_id = await budgets.reserve(work, programme.code, row["year"], row["district"], amount)
    await work.session.execute(
        update(claims)
        .where(claims.c.id == claim_id)
        .values(
            status=status,
            approver=principal.sub,
            approved_fen=amount,
            computed_fen=computed,
            reasons=reasons,
            decided_at=now,
            budget_id=budget_id,
            version=row["version"] + 1,
        )
    )
    await audit(work, claim_id, "decided", principal.sub, now, decision=decision, approved_fen=amount, reasons=reasons)
    work.publish(
        ClaimDecidedV1(
            recipient_kind=row["recipient_kind"],
            recipient_id=row["recipient_id"],
            district=row["district"],
            claim_id=claim_id,
            programme=programme.code,
            policy_set=policy.policy_set,
            policy_version=policy.version,
            decision=decision,
            requested_fen=row["requested_fen"],
            approved_fen=amount,
            reasons=reasons,
            decided_at=now,
        )
    )
    return await get(work, principal, claim_id)


async def trail(work: Work, principal: Principal, claim_id: uuid.UUID) -> list[dict]:
    await _load(work, principal, claim_id)
    rows = await work.session.execute(
        select(audit_trail)
        .where(audit_trail.c.entity == "claim", audit_trail.c.entity_id == str(claim_id))
        .order_by(audit_trail.c.id)
    )
    return dicts(rows)


KEYSET = Keyset(claims.c.submitted_at, claims.c.id)
#: Staff read their district's claims, a firm its own.
CLAIM_SCOPE = Scope(district=claims.c.district, firm=claims.c.firm_id)


async def list_for(
    work: Work, principal: Principal, *, status: str | None, district: str | None, page: PageParams, today: date
) -> Page:
    query = readable(select(claims), principal, CLAIM_SCOPE, district=district)
    if status == "overdue":
        query = query.where(claims.c.status.in_(("submitted", "under_review")), claims.c.review_due_on < today)
    elif status:
        query = query.where(claims.c.status == status)
    return await KEYSET.fetch(work.session, query, page)
