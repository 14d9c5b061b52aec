"""pool allocations recounted from the latest version of each record

Revision ID: 0006
Revises: 0005

Before restatements moved the counters, a ``correction_of`` of a pool record left ``drawn`` and
``over_quota`` counting the version it replaced, and an allocation created after a firm's pool
records did not count them. The ingest now keeps each allocation's counters equal to the units of
the latest version of each of the firm's records in the pool (within quota: ``drawn``; over it:
``over_quota``), so what a restatement gives back is what was counted; this sets existing counters
to that once. ``settled_drawn`` is left as it is: a firm that now draws less than it was settled
for keeps the credit, one that draws more is attributed the difference by the next settlement.
Units as ``domain.usage.pool_units`` (frozen here): GPU-seconds, or all tokens.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

RECOUNT = """
UPDATE ledger.pool_allocations a SET drawn = t.within, over_quota = t.over
FROM (
    SELECT a.pool_id, a.firm_id,
           coalesce(sum(u.units) FILTER (WHERE NOT u.over_quota), 0) AS within,
           coalesce(sum(u.units) FILTER (WHERE u.over_quota), 0) AS over
    FROM ledger.pool_allocations a
    JOIN ledger.firm_accounts f ON f.firm_id = a.firm_id
    LEFT JOIN LATERAL (
        SELECT u.over_quota,
               CASE WHEN u.kind = 'gpu' THEN u.gpu_seconds
                    ELSE u.input_tokens + u.cached_input_tokens + u.output_tokens END AS units
        FROM ledger.usage u
        WHERE u.buyer_uscc = f.uscc AND (u.firm_id = a.firm_id OR u.firm_id IS NULL)
          AND u.pool_id = a.pool_id AND u.superseded_by IS NULL
    ) u ON true
    GROUP BY a.pool_id, a.firm_id
) t
WHERE a.pool_id = t.pool_id AND a.firm_id = t.firm_id AND (a.drawn, a.over_quota) <> (t.within, t.over)
"""


def upgrade() -> None:
    op.execute(RECOUNT)


def downgrade() -> None:
    pass  # the counters before were wrong; there is nothing to go back to
