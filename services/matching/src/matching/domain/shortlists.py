"""Each demand's best suppliers, for many demands at once: candidate generation for assignment.

10,000 random demands against 100,000 suppliers are ~150 M (demand, eligible supplier) scores. Filling a
term table per group of demands and running the price, locality and normalisation arithmetic and an
``argpartition`` over every score (``index.iter_score_blocks``) took most of the time; here each score
costs a share of one matrix product and one partition, and only a few hundred per demand are finished:

- **A table per capability**, built once per call: a column per live supplier with the capability, a
  row per query term (its ``idf·tf/(tf + k1·(…))`` weights) and rows for the capabilities, the
  supplier-only terms, price-floor bands and districts. A group of demands wanting the same
  capabilities copies its terms' rows out of each of its capabilities' tables (contiguous copies, not
  a scatter per term and capability); a supplier with two of them is kept in the table of the first.
- **An upper bound, exact but for the price**: the score is linear in those rows except the price fit
  ``min(1, budget/floor)``, which is bounded by its value at the floor band's lowest floor, so one
  product gives ``U ≥ score`` (equal below the budget and without one). Each table's ``depth`` best by
  ``U`` are rescored exactly; when the ``depth+1``-th ``U`` of every table is no better than the
  demand's ``m+1``-th exact score, no supplier left out can enter its top ``m+1``. Otherwise that
  demand is rescored over every eligible supplier (none of 10,000 random ones at the default depth
  2m = 128; 8 at 96, 1,249 at 80).

Scores equal ``SupplierIndex.score`` up to float32 rounding (the same terms summed in another order),
as ``index.score_blocks`` does; ``tests/unit/test_shortlists.py`` compares them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matching.domain.catalogue import BIT
from matching.domain.index import SupplierIndex
from matching.domain.scoring import DemandQuery

_POSITION = {bit: bit.bit_length() - 1 for bit in BIT.values()}
#: Geometric bands of positive price floors; the bound is loose by < one band's ratio of the price term.
_BANDS = 8
#: A coefficient that takes a supplier out of a table (it is scored in an earlier one).
_AWAY = np.float32(-1e4)


@dataclass(frozen=True)
class _Tables:
    """Per capability position ``p``: ``block[p]`` (row × live supplier with it, in slot order) holds
    the weights of its demands' query terms (``term_row[p]``), then rows every table has: has-capability
    (``has_row``), the supplier-only terms (``base_row``), price-floor bands (``band_row``: no floor,
    then ``band_floor`` upwards) and districts."""

    slot: dict[int, np.ndarray]
    block: dict[int, np.ndarray]
    floor: dict[int, np.ndarray]
    band: dict[int, np.ndarray]  # column → band (0: no floor)
    term_row: dict[int, dict[int, int]]  # per table
    has_row: dict[int, int]  # rows from here on are shared, counted from the end
    base_row: int
    band_row: int
    band_floor: np.ndarray  # lowest floor of each band (−1: no floor)
    district_row: dict[int, int]


def _tables(index: SupplierIndex, terms: dict[int, list[int]], districts: list[int]) -> _Tables:
    """The tables of capability positions ``terms`` (position → the query terms of its demands)."""
    n, c, w, text = index.size, index._cols, index.weights, index.text
    positions = sorted(terms)
    masks = np.where(c["live"][:n], c["mask"][:n], 0)
    floors = c["price_min"][:n][masks != 0]
    positive = floors[floors > 0]
    # band 0: no floor (−1); band 1: from 0 to the lowest positive floor; then geometric bands
    geometric = np.geomspace(positive.min(), positive.max(), _BANDS + 1)[:-1].astype(np.int64) if positive.size else []
    band_floor = np.concatenate([[-1, 0], np.unique(geometric)]).astype(np.int64)
    # rows shared by every table after its own terms' rows (counted from the end)
    has_row = {p: -(len(positions) + 1 + band_floor.size + len(districts)) + i for i, p in enumerate(positions)}
    base_row = -(1 + band_floor.size + len(districts))
    band_row = -(band_floor.size + len(districts))
    district_row = {h: -len(districts) + i for i, h in enumerate(districts)}
    shared = len(positions) + 1 + band_floor.size + len(districts)
    slot = {p: np.flatnonzero((masks >> p) & 1) for p in positions}
    height = {p: len(terms[p]) + shared for p in positions}
    offset, total = {}, 0
    for p in positions:
        offset[p], total = total, total + height[p] * slot[p].size
    flat = np.zeros(total, dtype=np.float32)
    block = {p: flat[offset[p] : offset[p] + height[p] * slot[p].size].reshape(height[p], slot[p].size) for p in positions}
    term_row = {p: {tid: i for i, tid in enumerate(terms[p])} for p in positions}
    # every posting of every query term, spread over its supplier's columns (one per wanted capability
    # it has) and kept where that capability's demands use the term
    vocabulary = sorted({tid for p in positions for tid in terms[p]})
    row_of = np.full((len(positions), max(len(vocabulary), 1)), -1, dtype=np.int64)
    for i, p in enumerate(positions):
        for j, tid in enumerate(vocabulary):
            row_of[i, j] = term_row[p].get(tid, -1)
    col_slot = np.concatenate([slot[p] for p in positions]) if positions else np.zeros(0, dtype=np.int64)
    col_table = np.concatenate([np.full(slot[p].size, i) for i, p in enumerate(positions)]) if positions else col_slot
    col_start = np.concatenate([offset[p] + np.arange(slot[p].size) for p in positions]) if positions else col_slot
    col_stride = np.concatenate([np.full(slot[p].size, slot[p].size) for p in positions]) if positions else col_slot
    order = np.argsort(col_slot, kind="stable")
    ptr = np.searchsorted(col_slot[order], np.arange(n + 1))
    avg_len = text._live_len / text._live_docs if text._live_docs else 1.0
    ids_parts: list[np.ndarray] = []
    value_parts: list[np.ndarray] = []
    term_parts: list[np.ndarray] = []
    for j, tid in enumerate(vocabulary):
        df = text._df[tid]
        idf = np.float32(np.log(1.0 + (text._live_docs - df + 0.5) / (df + 0.5)))
        ids, weight = text._term_weights(tid, avg_len)
        inside = ids < n
        ids_parts.append(ids[inside])
        value_parts.append(weight[inside] * idf)
        term_parts.append(np.full(ids_parts[-1].size, j))
        if sum(part.size for part in ids_parts) > 250_000 or j == len(vocabulary) - 1:  # bounded temporaries
            ids, value, term = np.concatenate(ids_parts), np.concatenate(value_parts), np.concatenate(term_parts)
            ids_parts, value_parts, term_parts = [], [], []
            reps = ptr[ids + 1] - ptr[ids]
            at = order[np.repeat(ptr[ids] - (np.cumsum(reps) - reps), reps) + np.arange(int(reps.sum()))]
            row = row_of[col_table[at], np.repeat(term, reps)]
            used = row >= 0
            at = at[used]
            flat[col_start[at] + row[used] * col_stride[at]] = np.repeat(value, reps)[used]
    base = np.float32(w.capacity) * c["room"][:n] + np.float32(w.rating) * c["rating"][:n]
    base += np.float32(w.fairness) * c["lift"][:n]
    floor, band = {}, {}
    for p in positions:
        s, b = slot[p], block[p]
        for q, r in has_row.items():
            b[r] = (masks[s] >> q) & 1
        b[base_row] = base[s]
        floor[p] = c["price_min"][s]
        band[p] = np.where(floor[p] < 0, 0, np.searchsorted(band_floor[1:], floor[p], side="right"))
        b[band_row + band[p], np.arange(s.size)] = 1.0
        for h, r in district_row.items():
            b[r] = c["district"][s] == h
    return _Tables(slot, block, floor, band, term_row, has_row, base_row, band_row, band_floor, district_row)


def _price_fit(floor: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """``scoring.price_fit`` over arrays (budget NaN: none), as ``SupplierIndex.score`` computes it."""
    fit = np.where(floor <= budget, 1.0, budget / np.maximum(floor, 1))
    return np.where((floor < 0) | np.isnan(budget), 0.5, fit).astype(np.float32)


def top_candidates(
    index: SupplierIndex, queries: list[DemandQuery], m: int, *, depth: int | None = None, chunk_cells: int = 4_000_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each demand's best ``m`` slots and scores (best first, ties by slot, −inf padded) and its
    (m+1)-th best score (−inf if none), as ranking each demand alone gives them.

    ``depth`` (default ``2m``) is how many of each capability table are rescored exactly per demand;
    it changes the time taken, never the result. Groups are scored in chunks of ``chunk_cells``.

    Meant for BLAS on one thread (the matching process sets it, ``matching/main.py``): thousands of
    small products, each finished before a second thread would pay for itself; on a busy machine
    OpenBLAS's waiting threads took 2–4× the CPU time (and wall)."""
    depth = max(depth or 2 * m, m + 1)
    slots_out = np.zeros((len(queries), m), dtype=np.int64)
    scores_out = np.full((len(queries), m), -np.inf)
    beyond = np.full(len(queries), -np.inf)
    text = index.text
    groups: dict[tuple[int, ...], list[int]] = {}
    counts: list[dict[int, int]] = []
    for d, q in enumerate(queries):
        groups.setdefault(tuple(sorted({_POSITION[BIT[code]] for code in q.capabilities if code in BIT})), []).append(d)
        found: dict[int, int] = {}
        for tok in index.tokenizer.tokens(q.text):
            tid = text._vocab.get(tok)
            if tid is not None and text._df[tid] > 0:
                found[tid] = found.get(tid, 0) + 1
        counts.append(found)
    home = np.array([-2 if q.district is None else index._districts.get(q.district, -1) for q in queries], dtype=np.int64)
    terms: dict[int, set[int]] = {}
    for key, members in groups.items():
        for p in key:
            used = terms.setdefault(p, set())
            for d in members:
                used.update(counts[d])
    tables = _tables(index, {p: sorted(t) for p, t in terms.items()}, sorted({int(h) for h in home if h >= 0}))
    for key, members in groups.items():
        width = sum(tables.slot[p].size for p in key)
        if width == 0:
            continue
        step = max(1, chunk_cells // width)
        for first in range(0, len(members), step):
            rows = np.asarray(members[first : first + step], dtype=np.int64)
            slot, score = _Group(index, tables, queries, counts, key, rows, home).best(m + 1, depth)
            kept = min(m, score.shape[1])
            slots_out[rows, :kept] = slot[:, :kept]
            scores_out[rows, :kept] = score[:, :kept]
            if score.shape[1] > m:
                beyond[rows] = score[:, m]
    return slots_out, scores_out, beyond


class _Group:
    """Demands wanting the same capabilities (positions ``key``): their bound tables, one per capability."""

    def __init__(
        self,
        index: SupplierIndex,
        tables: _Tables,
        queries: list[DemandQuery],
        counts: list[dict[int, int]],
        key: tuple[int, ...],
        rows: np.ndarray,
        home: np.ndarray,
    ) -> None:
        w = index.weights
        self.tables, self.key, self.price = tables, key, np.float32(w.price)
        r = rows.size
        term_col: dict[int, int] = {}
        entries: list[tuple[int, int, int]] = []
        for i, d in enumerate(rows.tolist()):
            for tid, qtf in counts[d].items():
                entries.append((i, term_col.setdefault(tid, len(term_col)), qtf))
        n_terms, n_bands = len(term_col), tables.band_floor.size
        homes = sorted({int(h) for h in home[rows] if h >= 0})
        shared = [tables.has_row[p] for p in key] + [tables.base_row] + list(range(tables.band_row, tables.band_row + n_bands))
        shared += [tables.district_row[h] for h in homes]
        # rows 0..r-1: the query terms (bm25); rows r..2r-1: everything else, so one product per table
        qx = np.zeros((2 * r, n_terms + len(shared)), dtype=np.float32)
        if entries:
            qi, qc, qv = (np.asarray(x) for x in zip(*entries, strict=True))
            qx[qi, qc] = qv
        ext = qx[r:]
        budget = np.full(r, np.nan)
        for i, d in enumerate(rows.tolist()):
            q = queries[d]
            known = {_POSITION[BIT[code]]: weight for code, weight in q.capabilities.items() if code in BIT}
            total = float(sum(known.values())) or 1.0
            for j, p in enumerate(key):
                ext[i, n_terms + j] = np.float32(w.coverage) * np.float32(known.get(p, 0) / total)
            if q.budget_max_fen is not None:
                budget[i] = float(q.budget_max_fen)
        ext[:, n_terms + len(key)] = 1.0
        # each band's price term at its lowest floor: an upper bound on the band's (exact without a budget)
        band = n_terms + len(key) + 1
        self.band_fit = np.float32(w.price) * _price_fit(tables.band_floor[None, :], budget[:, None])
        ext[:, band : band + n_bands] = self.band_fit
        ext[:, band : band + n_bands] += np.where(home[rows] == -2, np.float32(w.locality), 0).astype(np.float32)[:, None]
        for j, h in enumerate(homes):
            ext[:, band + n_bands + j] = np.where(home[rows] == h, np.float32(w.locality), 0)
        self.excluded = self._excluded(index, queries, rows)
        products = {}
        best = np.zeros(r, dtype=np.float32)
        for j, p in enumerate(key):
            if j:  # suppliers with an earlier wanted capability are scored in that table
                ext[:, n_terms + j - 1] = _AWAY
            out = qx @ np.take(tables.block[p], [tables.term_row[p][tid] for tid in term_col] + shared, axis=0)
            for i, cols in self.excluded.get(p, []):
                out[i, cols] = 0.0
                out[r + i, cols] = -np.inf
            if out.shape[1]:
                np.maximum(best, out[:r].max(axis=1), out=best)
            products[p] = out
        # text = w.text · bm25 / the demand's best bm25 among its eligible suppliers (0 if none matches)
        alpha = np.where(best > 0, np.float32(w.text) / np.where(best > 0, best, 1), 0).astype(np.float32)[:, None]
        self.bound: dict[int, np.ndarray] = {}
        for p, out in products.items():
            bound = out[:r]
            bound *= alpha
            bound += out[r:]
            self.bound[p] = bound
        self.budget, self.r = budget, r

    def _excluded(self, index: SupplierIndex, queries: list[DemandQuery], rows: np.ndarray) -> dict[int, list]:
        """Per capability: (row, columns of its table) of each demand's excluded suppliers."""
        out: dict[int, list[tuple[int, np.ndarray]]] = {}
        for i, d in enumerate(rows.tolist()):
            if queries[d].exclude:
                drop = [index._slot[f] for f in queries[d].exclude if f in index._slot]
                for p in self.key:
                    cols = np.flatnonzero(np.isin(self.tables.slot[p], drop))
                    if cols.size:
                        out.setdefault(p, []).append((i, cols))
        return out

    def best(self, k: int, depth: int) -> tuple[np.ndarray, np.ndarray]:
        """Per demand the ``k`` best slots and exact scores, best first, ties by slot (−inf padded)."""
        slot, score, outside = self._candidates(slice(None), depth)
        slot, score = _top(slot, score, k)
        edge = score[:, k - 1] if score.shape[1] >= k else np.full(self.r, -np.inf, dtype=np.float32)
        redo = np.flatnonzero(outside > edge)
        if redo.size:  # a supplier beyond the depth might still enter: score these demands in full
            full_slot, full_score, _ = self._candidates(redo, None)
            full_slot, full_score = _top(full_slot, full_score, k)
            slot[redo], score[redo] = full_slot[:, : slot.shape[1]], full_score[:, : score.shape[1]]
        return slot, score.astype(np.float64)

    def _candidates(self, rows: np.ndarray | slice, depth: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each table's ``depth`` best columns by the bound (all if None) for ``rows``, rescored
        exactly, and per row the best bound left out."""
        t = self.tables
        slots, scores = [], []
        budget, band_fit = self.budget[rows][:, None], self.band_fit[rows]
        outside = np.full(budget.shape[0], -np.inf, dtype=np.float32)
        for p in self.key:
            bound = self.bound[p][rows]
            width = bound.shape[1]
            if width == 0:
                continue
            if depth is not None and width > depth:
                part = np.argpartition(bound, width - depth - 1, axis=1)
                cols = part[:, width - depth :]
                left = np.take_along_axis(bound, part[:, width - depth - 1 : width - depth], axis=1)[:, 0]
                np.maximum(outside, left, out=outside)
            else:
                cols = np.broadcast_to(np.arange(width), bound.shape)
            value = np.take_along_axis(bound, cols, axis=1)
            fit = _price_fit(t.floor[p][cols], budget)
            exact = value + (self.price * fit - np.take_along_axis(band_fit, t.band[p][cols], axis=1))
            exact[value < -1.0] = -np.inf  # taken out of this table (or excluded)
            slots.append(t.slot[p][cols])
            scores.append(exact)
        return np.concatenate(slots, axis=1), np.concatenate(scores, axis=1), outside


def _top(slot: np.ndarray, score: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row the ``k`` best (slot, score) pairs, best first, ties by slot."""
    if score.shape[1] > k:
        part = np.argpartition(-score, k - 1, axis=1)[:, :k]
        slot, score = np.take_along_axis(slot, part, axis=1), np.take_along_axis(score, part, axis=1)
    order = np.lexsort((slot, -score), axis=-1)
    return np.take_along_axis(slot, order, axis=1), np.take_along_axis(score, order, axis=1)
