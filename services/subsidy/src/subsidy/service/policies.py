"""Policy versions in the database: the bundled files loaded once, admin drafts, publishing.

A published version is immutable: claims and entitlements pin its id, so publishing a new
version never changes what was decided under an earlier one.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from opc_shared.clock import SHANGHAI
from opc_shared.db import dicts
from opc_shared.errors import Conflict, InvalidInput, NotFound
from subsidy.adapters.tables import district_cities
from subsidy.adapters.tables import policy_versions as table
from subsidy.domain.policy import CHENGDU_CODES, Policy, PolicyError, bundled_documents, in_force_in_city, parse_policy

DEFAULT_POLICY_SET = "chengdu-ai-opc"
_NAMESPACE = uuid.UUID("0b6c1f8e-6f0e-4d6a-9a57-0c0ffee50b51")
_parsed: dict[uuid.UUID, Policy] = {}
_bundled_loaded: set[int] = set()


def version_id(policy_set: str, version: str) -> uuid.UUID:
    """Bundled versions get the same id in every process and every database."""
    return uuid.uuid5(_NAMESPACE, f"{policy_set}:{version}")


def required_codes(policy_set: str) -> tuple[str, ...] | None:
    return CHENGDU_CODES if policy_set == DEFAULT_POLICY_SET else None


def parse(document: dict[str, Any]) -> Policy:
    try:
        return parse_policy(document, required_codes=required_codes(str(document.get("policy_set", ""))))
    except PolicyError as exc:
        raise InvalidInput([(f"document.{exc.where}", "value_error", str(exc))]) from None


async def ensure_bundled(session: AsyncSession) -> None:
    """The policy files shipped in the repo are published versions (idempotent, once per process)."""
    key = id(session.bind)
    if key in _bundled_loaded:
        return
    for doc in bundled_documents():
        policy = parse(doc)
        await session.execute(
            insert(table)
            .values(
                id=version_id(policy.policy_set, policy.version),
                policy_set=policy.policy_set,
                version=policy.version,
                city=policy.city,
                status="published",
                effective_from=policy.effective_from,
                document=doc,
                created_by="policy-file",
                published_by="policy-file",
                published_at=datetime.combine(policy.effective_from, datetime.min.time(), tzinfo=SHANGHAI),
            )
            .on_conflict_do_nothing()
        )
    _bundled_loaded.add(key)


async def policy_by_id(session: AsyncSession, vid: uuid.UUID) -> Policy:
    cached = _parsed.get(vid)
    if cached is not None:
        return cached
    row = (await session.execute(select(table.c.document, table.c.status).where(table.c.id == vid))).first()
    if row is None:
        raise NotFound({"en": "policy version", "zh-CN": "政策版本"}, str(vid))
    policy = parse_policy(row.document)
    if row.status == "published":  # drafts may still change; published ones never do
        _parsed[vid] = policy
    return policy


async def published(session: AsyncSession, policy_set: str = DEFAULT_POLICY_SET) -> list[tuple[uuid.UUID, Policy]]:
    await ensure_bundled(session)
    ids = (
        await session.execute(select(table.c.id).where(table.c.policy_set == policy_set, table.c.status == "published"))
    ).scalars()
    return [(vid, await policy_by_id(session, vid)) for vid in ids]


DEFAULT_CITY = "chengdu"


async def city_of(session: AsyncSession, district: str | None) -> str:
    """The district's city as the registry's community events told us; Chengdu until told otherwise."""
    if district is None:
        return DEFAULT_CITY
    city = (
        await session.execute(select(district_cities.c.city).where(district_cities.c.district == district))
    ).scalar_one_or_none()
    return city or DEFAULT_CITY


async def in_force_on(
    session: AsyncSession, day: date, *, district: str | None = None, city: str | None = None
) -> tuple[uuid.UUID, Policy] | None:
    """The published version in force on ``day`` for the city of ``district`` (or ``city``)."""
    await ensure_bundled(session)
    city = city or await city_of(session, district)
    ids = (await session.execute(select(table.c.id).where(table.c.city == city, table.c.status == "published"))).scalars()
    versions = [(vid, await policy_by_id(session, vid)) for vid in ids]
    chosen = in_force_in_city([p for _, p in versions], city, day)
    if chosen is None:
        return None
    return next((vid, p) for vid, p in versions if p is chosen)


async def create_draft(session: AsyncSession, document: dict[str, Any], actor: str) -> dict:
    await ensure_bundled(session)
    policy = parse(document)
    vid = uuid.uuid4()
    stored = (
        (
            await session.execute(
                insert(table)
                .values(
                    id=vid,
                    policy_set=policy.policy_set,
                    version=policy.version,
                    city=policy.city,
                    status="draft",
                    effective_from=policy.effective_from,
                    document=document,
                    created_by=actor,
                )
                .on_conflict_do_nothing()
                .returning(table)
            )
        )
        .mappings()
        .first()
    )
    if stored is None:
        raise Conflict(f"version {policy.version} of {policy.policy_set} already exists")
    return dict(stored)


async def publish(session: AsyncSession, vid: uuid.UUID, actor: str, now: datetime) -> dict:
    row = (
        (
            await session.execute(
                update(table)
                .where(table.c.id == vid, table.c.status == "draft")
                .values(status="published", published_by=actor, published_at=now)
                .returning(table)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        await get(session, vid)
        raise Conflict("only a draft can be published; published versions never change")
    return dict(row)


async def get(session: AsyncSession, vid: uuid.UUID) -> dict:
    row = (await session.execute(select(table).where(table.c.id == vid))).mappings().first()
    if row is None:
        raise NotFound({"en": "policy version", "zh-CN": "政策版本"}, str(vid))
    return dict(row)


async def list_versions(session: AsyncSession) -> list[dict]:
    await ensure_bundled(session)
    rows = await session.execute(
        select(
            table.c.id,
            table.c.policy_set,
            table.c.version,
            table.c.city,
            table.c.status,
            table.c.effective_from,
            table.c.created_by,
            table.c.created_at,
            table.c.published_at,
        ).order_by(table.c.policy_set, table.c.effective_from, table.c.version)
    )
    return dicts(rows)
