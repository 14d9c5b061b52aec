from datetime import UTC, datetime, timedelta
from decimal import Decimal

from compute_ledger.domain.pricing import Price, PriceBook, Tolerance, rate_gpu, rate_tokens, to_fen, verdict

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 6, 1, tzinfo=UTC)


def test_rounding_is_half_up_once_on_the_exact_product() -> None:
    assert to_fen(Decimal("0.5")) == 1 and to_fen(Decimal("1.49999")) == 1 and to_fen(Decimal("2.5")) == 3
    gpu = Price("gpu", "A800", 1, T0, fen_per_gpu_hour=Decimal("1000.5"))
    assert rate_gpu(gpu, 5400) == 1501  # 1500.75
    assert rate_gpu(gpu, 1) == 0  # 0.2779 fen
    tok = Price(
        "tokens",
        "m",
        1,
        T0,
        fen_per_m_input=Decimal("0.3"),
        fen_per_m_cached_input=Decimal("0.1"),
        fen_per_m_output=Decimal("1.2"),
    )
    # 1,500,000 × 0.3 + 500,000 × 0.1 + 1,250,000 × 1.2 = 2,000,000 / 1e6 = 2.0 (no per-part rounding)
    assert rate_tokens(tok, 1_500_000, 500_000, 1_250_000) == 2


def test_the_table_in_force_at_the_start_of_the_record() -> None:
    book = PriceBook(
        [Price("gpu", "A800", 2, T1, fen_per_gpu_hour=Decimal(900)), Price("gpu", "A800", 1, T0, fen_per_gpu_hour=Decimal(1000))]
    )
    assert book.in_force("gpu", "A800", datetime(2025, 12, 31, tzinfo=UTC)) is None
    assert book.in_force("gpu", "A800", T0).version == 1
    assert book.in_force("gpu", "A800", datetime(2026, 5, 31, 23, 59, tzinfo=UTC)).version == 1
    assert book.in_force("gpu", "A800", T1).version == 2
    assert book.in_force("gpu", "H20", T1) is None
    # the batch path's integer form agrees at every edge, a microsecond either side included
    us = lambda moment: (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)  # noqa: E731
    for at in (datetime(2025, 12, 31, tzinfo=UTC), T0, T0 - timedelta(microseconds=1), T1 - timedelta(microseconds=1), T1):
        assert book.in_force_us("gpu", "A800", us(at)) == book.in_force("gpu", "A800", at)
    assert book.in_force_us("gpu", "H20", us(T1)) is None


def test_tolerance_is_the_larger_of_a_floor_and_basis_points() -> None:
    tol = Tolerance(bp=100, min_fen=1)
    assert verdict(101, 100, tol) is None and verdict(102, 100, tol) == "over" and verdict(98, 100, tol) == "under"
    assert verdict(10_100, 10_000, tol) is None and verdict(10_101, 10_000, tol) == "over"
    assert verdict(5, None, tol) == "unpriced"
