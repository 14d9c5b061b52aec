"""Community pools (统一采购、按需分配、动态结算): exact attribution of a pool's invoiced cost.

A pool of ``quantity`` units (GPU-seconds or tokens) costs ``cost_fen`` (tax included, from the
community's invoice, net of reversals). The cost of what has been drawn so far is
``round_half_up(cost × drawn / quantity)``, computed on the running total, so successive
settlements add up to the whole cost once the pool is drawn in full and never drift by a fen.
One settlement's cost is split between firms in proportion to what each drew since the last
settlement by the largest-remainder method (Hamilton): each firm gets the floor of its exact
share, and the fen left over go one each to the largest fractional parts, ties broken by firm id.
The shares therefore always add up exactly to the settlement's cost. Unused quota is the
community's cost and is attributed to nobody.

A firm's allocation counts the latest version of each of its records in the pool: ``drawn`` the
units within quota, ``over_quota`` the rest. A restatement (``correction_of``) gives back what the
version it replaces counted and then draws as any new record does; the other records' verdicts stand.
What a settlement attributed stays attributed: a firm is settled up to the most it has drawn
(``settled_drawn`` only rises), so a restatement down after a settlement leaves a credit its later
draws use first, and a settlement never carries a negative share (:func:`unsettled`). Likewise a
red-letter reversal of the pool's invoice after a settlement takes nothing back (see :func:`settle`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

K = TypeVar("K")


def largest_remainder(total: int, weights: Mapping[K, int]) -> dict[K, int]:
    """Split ``total`` fen in proportion to non-negative integer ``weights``; the parts sum to ``total``."""
    if total < 0:
        raise ValueError("total must be non-negative")
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must be non-negative")
    weight_sum = sum(weights.values())
    if weight_sum == 0:
        if total:
            raise ValueError("cannot split a non-zero amount over zero weights")
        return {k: 0 for k in weights}
    floors: dict[K, int] = {}
    remainders: list[tuple[int, str, K]] = []
    for key, weight in weights.items():
        q, r = divmod(total * weight, weight_sum)
        floors[key] = q
        remainders.append((-r, str(key), key))
    left = total - sum(floors.values())
    for _, _, key in sorted(remainders)[:left]:
        floors[key] += 1
    return floors


def cost_of_units(cost_fen: int, quantity: int, units: int) -> int:
    """The cost of ``units`` of a pool, half-up to the fen; capped at the whole pool."""
    units = min(units, quantity)
    return int((Decimal(cost_fen) * units / quantity).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Share:
    units: int
    total_fen: int
    tax_fen: int

    @property
    def amount_fen(self) -> int:
        return self.total_fen - self.tax_fen


@dataclass(frozen=True)
class Settlement:
    units: int
    total_fen: int
    tax_fen: int
    shares: dict


def settle(
    *,
    cost_fen: int,
    tax_fen: int,
    quantity: int,
    settled_units: int,
    settled_fen: int,
    settled_tax_fen: int,
    draws: Mapping[K, int],
) -> Settlement:
    """What one settlement attributes, given what earlier settlements already did.

    ``draws``: units each firm drew (within its quota) since the last settlement."""
    units = sum(draws.values())
    cumulative = settled_units + units
    # A red-letter reversal of the pool's invoice can leave the running cost below what was settled:
    # that stays attributed, and settlements attribute nothing until the running cost passes it again.
    total = max(0, cost_of_units(cost_fen, quantity, cumulative) - settled_fen)
    # Tax follows the total (a settlement never carries more tax than cost; a fen that rounding
    # would push ahead waits for the next settlement), and each firm's tax follows its total.
    tax = max(0, min(total, cost_of_units(tax_fen, quantity, cumulative) - settled_tax_fen))
    totals = largest_remainder(total, draws) if units else {k: 0 for k in draws}
    taxes = largest_remainder(tax, totals) if total else {k: 0 for k in draws}
    shares = {k: Share(draws[k], totals[k], taxes[k]) for k in draws}
    return Settlement(units, total, tax, shares)


@dataclass(frozen=True)
class Draw:
    """How one pool record lands on a firm's allocation: within quota, or over it (billed to the firm directly)."""

    within: int
    over: int


def draw(quota: int, drawn: int, units: int) -> Draw:
    """A record is within quota only if all of it fits; otherwise all of it is over quota."""
    if drawn + units <= quota:
        return Draw(units, 0)
    return Draw(0, units)


def drew(units: int, over_quota: bool) -> Draw:
    """What a stored record counts on its firm's allocation (given back when a restatement replaces it)."""
    return Draw(0, units) if over_quota else Draw(units, 0)


def unsettled(drawn: int, settled_drawn: int) -> int:
    """Units of a firm's allocation the next settlement attributes: what it drew beyond what it was
    settled for. Never negative: a firm that now draws less than it was settled for (a restatement
    down) is attributed nothing until it draws past its settled units again."""
    return max(0, drawn - settled_drawn)
