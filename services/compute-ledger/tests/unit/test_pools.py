from hypothesis import given
from hypothesis import strategies as st

from compute_ledger.domain.pools import Draw, cost_of_units, draw, drew, largest_remainder, settle, unsettled


def test_largest_remainder_example() -> None:
    # 100 fen over 1:1:1 → 33.33 each; the one fen left goes to the first by id on a tie
    assert largest_remainder(100, {"a": 1, "b": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}
    assert largest_remainder(10, {"a": 7, "b": 2, "c": 1}) == {"a": 7, "b": 2, "c": 1}
    # 10 over 5:3:3 → 4.545, 2.727, 2.727: floors 4, 2, 2; the two fen left go to b and c (larger remainders)
    assert largest_remainder(10, {"a": 5, "b": 3, "c": 3}) == {"a": 4, "b": 3, "c": 3}


@given(st.integers(0, 10**12), st.dictionaries(st.text(min_size=1, max_size=4), st.integers(0, 10**9), min_size=1, max_size=30))
def test_largest_remainder_adds_up_exactly_and_stays_within_a_fen(total: int, weights: dict) -> None:
    if sum(weights.values()) == 0:
        return
    shares = largest_remainder(total, weights)
    assert sum(shares.values()) == total
    weight_sum = sum(weights.values())
    for key, weight in weights.items():
        exact = total * weight / weight_sum
        assert exact - 1 < shares[key] < exact + 1


class _Pool:
    """A pool's running settled totals; every settlement is checked: its shares add up to it exactly, none negative."""

    def __init__(self, quantity: int) -> None:
        self.quantity = quantity
        self.units = self.fen = self.tax_fen = 0

    def settle(self, cost: int, tax: int, draws: dict[str, int]) -> None:
        result = settle(
            cost_fen=cost,
            tax_fen=tax,
            quantity=self.quantity,
            settled_units=self.units,
            settled_fen=self.fen,
            settled_tax_fen=self.tax_fen,
            draws=draws,
        )
        assert sum(s.total_fen for s in result.shares.values()) == result.total_fen >= 0
        assert sum(s.tax_fen for s in result.shares.values()) == result.tax_fen >= 0
        assert all(0 <= s.tax_fen <= s.total_fen for s in result.shares.values())
        self.units, self.fen, self.tax_fen = self.units + result.units, self.fen + result.total_fen, self.tax_fen + result.tax_fen


@given(
    cost=st.integers(0, 10**10),
    tax_bp=st.integers(0, 1300),
    quantity=st.integers(1, 10**9),
    rounds=st.lists(st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 10**6), max_size=8), min_size=1, max_size=6),
)
def test_settlements_add_up_to_the_pool_cost_of_what_was_drawn(cost: int, tax_bp: int, quantity: int, rounds: list) -> None:
    tax = cost * tax_bp // (10_000 + tax_bp)
    pool = _Pool(quantity)
    for draws in rounds:
        fitted, left = {}, quantity - pool.units
        for firm, want in sorted(draws.items()):
            fitted[firm] = min(want, left)
            left -= fitted[firm]
        pool.settle(cost, tax, fitted)
        assert pool.fen == cost_of_units(cost, quantity, pool.units)
    if pool.units == quantity:
        assert pool.fen == cost


def test_a_record_is_within_quota_only_if_it_all_fits() -> None:
    assert draw(100, 60, 40).within == 40 and draw(100, 60, 41).over == 41


def test_a_stored_record_gives_back_what_it_counted() -> None:
    assert drew(40, over_quota=False) == Draw(40, 0) and drew(41, over_quota=True) == Draw(0, 41)


def test_a_firm_is_settled_up_to_the_most_it_drew() -> None:
    assert unsettled(7000, 6000) == 1000 and unsettled(2000, 6000) == 0 and unsettled(6000, 6000) == 0


@given(
    cost=st.integers(0, 10**10),
    tax_bp=st.integers(0, 1300),
    quantity=st.integers(1, 10**7),
    rounds=st.lists(
        st.tuples(
            st.dictionaries(st.sampled_from("abcdef"), st.integers(-(10**6), 10**6), max_size=6),
            st.integers(0, 10**10) | st.just(0),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_restatements_and_reversals_between_settlements_never_make_a_share_negative_nor_settle_a_unit_twice(
    cost: int, tax_bp: int, quantity: int, rounds: list
) -> None:
    """Between settlements firms draw more or, restated down, less (negative changes), and the pool's
    invoice may be partly reversed (its cost falls); each settlement attributes ``unsettled`` units per
    firm, a firm's settled units only rise, and what was attributed is never taken back."""
    drawn: dict[str, int] = {}
    settled_drawn: dict[str, int] = {}
    pool, bought = _Pool(quantity), cost
    for changes, reversed_fen in rounds:
        cost = max(0, cost - reversed_fen)
        for firm, change in sorted(changes.items()):
            drawn[firm] = max(0, min(quantity, drawn.get(firm, 0) + change))
        previous = pool.fen
        pool.settle(
            cost,
            cost * tax_bp // (10_000 + tax_bp),
            {f: n for f, d in drawn.items() if (n := unsettled(d, settled_drawn.get(f, 0)))},
        )
        for firm, d in drawn.items():
            settled_drawn[firm] = max(settled_drawn.get(firm, 0), d)
        assert pool.units == sum(settled_drawn.values())  # each firm's units settled once, up to the most it drew
        assert pool.fen == max(previous, cost_of_units(cost, quantity, pool.units)) <= bought and pool.tax_fen <= pool.fen
