"""Periodic work beside the relay (safe on several replicas; each item in its own transaction):

- attribute records whose firm registered while they were being written (the consumer attributes
  the rest at once);
- settle every invoiced pool for the month just ended (monthly settlement; on demand is an API call);
- close each city's month once its grace period has passed.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from sqlalchemy import text

from compute_ledger.domain.periods import ClosingRule, month_of, next_month
from compute_ledger.service import firm_accounts, periods, pools
from compute_ledger.settings import ComputeLedgerSettings
from opc_shared.clock import Clock
from opc_shared.db import Database
from opc_shared.errors import DomainError

log = structlog.get_logger("compute_ledger.jobs")


def previous_month(period: str) -> str:
    year, month = (int(x) for x in period.split("-"))
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


async def run_once(db: Database, clock: Clock) -> dict:
    settings: ComputeLedgerSettings = db.settings  # type: ignore[assignment]
    now = clock.now()
    done = {"attributed": 0, "settled": 0, "closed": 0}
    async with db.uow() as uow:
        done["attributed"] = await firm_accounts.attribute_usage(uow)
        await uow.commit()
    last_month = previous_month(month_of(now))
    async with db.sessionmaker() as session:
        due_pools = (
            (
                await session.execute(
                    text(
                        "SELECT pool_id FROM ledger.pools p WHERE invoice_number IS NOT NULL AND created_at < :end "
                        "AND NOT EXISTS (SELECT 1 FROM ledger.pool_settlements s "
                        "WHERE s.pool_id = p.pool_id AND s.period = :period)"
                    ),
                    {"period": last_month, "end": now},
                )
            )
            .scalars()
            .all()
        )
        cities = (
            (await session.execute(text("SELECT DISTINCT city FROM ledger.firm_accounts WHERE city IS NOT NULL"))).scalars().all()
        )
    for pool_id in due_pools:
        try:
            async with db.uow() as uow:
                if await pools.settle_pool(uow, pool_id, period=last_month, now=now, once=True):
                    done["settled"] += 1
                await uow.commit()
        except DomainError as exc:
            log.info("pool.not_settled", pool_id=str(pool_id), code=exc.code, **exc.params)
        except Exception:  # one pool must not hold back the others
            log.exception("pool.settlement_failed", pool_id=str(pool_id))
    rule = ClosingRule(settings.period_grace_days)
    if rule.may_close(last_month, now) and next_month(last_month) == month_of(now):
        for city in cities:
            try:
                async with db.uow() as uow:
                    await periods.close(uow, city, last_month, now=now, rule=rule)
                    await uow.commit()
                    done["closed"] += 1
            except DomainError:
                pass  # closed already
            except Exception:
                log.exception("period.close_failed", city=city, period=last_month)
    return done


async def run(db: Database, stop: asyncio.Event, clock: Clock) -> None:
    interval = db.settings.job_interval_s
    while not stop.is_set():
        try:
            await run_once(db, clock)
        except Exception:  # the next round retries
            log.exception("jobs.round_failed")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
