"""Each demand's best suppliers, for many demands at once: candidate generation for assignment.

10,000 random demands against 100,000 suppliers are ~150 M (demand, eligible supplier) scores. Each is
computed as ``SupplierIndex.score`` computes it (the same float32 operations, in the same order, so the
same floats) by compiled loops (numba), and each demand keeps only its best ``m+1``:

- **A table per wanted capability**, built once per call: a column per live supplier with it (slot
  order) holding what the score reads (capabilities, capacity left, rating, fairness lift, price
  floor, district), and per query term that the capability's demands use, the term's postings among
  the table's columns with their BM25 weights ``tf/(tf + k1·(…))``.
- **Per demand**, over its wanted capabilities' tables (a supplier with an earlier wanted capability
  is scored in that table only): BM25 by adding each of its terms' postings (``qtf·idf`` times the
  weight, in ``TextIndex.scores``' order of terms), the best BM25 among the eligible (the text term's
  normaliser), then every score in vector loops, with ``budget/floor`` taken as ``budget·(1/floor)``
  rounded up, an upper bound exact wherever the price term needs no division. The best ``m+1`` (ties
  by slot) are kept in a heap; a block of 128 columns none of whose bounds reaches the heap's weakest
  is skipped, and a column that may enter gets its exact price term first.

The numpy version before it (per group of demands: term rows copied out of dense tables, matrix
products, a price-banded bound, ``argpartition``, the best by the bound rescored) spent ~20 ns per
score in copies, products and partitions; this spends ~10, on 2 threads (``README.md``, Performance).
``tests/unit/test_shortlists.py`` compares each demand's top and (m+1)-th score with
``SupplierIndex.score`` alone, float for float.

The loops run on the calling thread (no numba threads) and release the GIL. They are compiled on
first use (~6 s) and cached beside this module (``cache=True``; the image sets ``NUMBA_CACHE_DIR``),
so later processes load them in ~0.3 s.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from matching.domain.catalogue import BIT
from matching.domain.index import SupplierIndex
from matching.domain.scoring import DemandQuery

_POSITION = {bit: bit.bit_length() - 1 for bit in BIT.values()}
#: Scores a thread is worth starting for (~20 ms of work).
_WORK_PER_THREAD = 5_000_000


def top_candidates(
    index: SupplierIndex, queries: list[DemandQuery], m: int, *, threads: int = 2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each demand's best ``m`` slots and scores (best first, ties by slot, −inf padded) and its
    (m+1)-th best score (−inf if none), as ranking each demand alone gives them.

    The scoring runs on up to ``threads`` threads (it releases the GIL; a thread per ~5 M scores at
    most): the same CPU time, less wall time where a core is free."""
    d_count = len(queries)
    slots_out = np.zeros((d_count, m), dtype=np.int64)
    scores_out = np.full((d_count, m), -np.inf)
    beyond = np.full(d_count, -np.inf)
    if not d_count:
        return slots_out, scores_out, beyond
    n, c, w, text = index.size, index._cols, index.weights, index.text
    # -- each demand: its capability positions (query order), coverage shares, terms, budget, home
    keys: list[list[int]] = []
    cover: list[list[tuple[int, float]]] = []
    counts: list[dict[int, int]] = []
    for q in queries:
        known = [(BIT[code], weight) for code, weight in q.capabilities.items() if code in BIT]
        total = float(sum(weight for _, weight in known)) or 1.0
        cover.append([(bit, weight / total) for bit, weight in known])
        keys.append(sorted({_POSITION[bit] for bit, _ in known}))
        found: dict[int, int] = {}
        for tok in index.tokenizer.tokens(q.text):
            tid = text._vocab.get(tok)
            if tid is not None and text._df[tid] > 0:
                found[tid] = found.get(tid, 0) + 1
        counts.append(found)
    positions = sorted({p for key in keys for p in key})
    table_of = {p: i for i, p in enumerate(positions)}
    vocabulary = sorted({tid for found in counts for tid in found})
    term_of = {tid: i for i, tid in enumerate(vocabulary)}
    # -- the capability tables: columns (live suppliers with the capability, slot order)
    masks = np.where(c["live"][:n], c["mask"][:n], 0)
    slot_parts = [np.flatnonzero((masks >> p) & 1) for p in positions]
    table_start = np.zeros(len(positions) + 1, dtype=np.int64)
    table_start[1:] = np.cumsum([part.size for part in slot_parts])
    col_slot = np.concatenate(slot_parts) if slot_parts else np.zeros(0, dtype=np.int64)
    table_bit = np.asarray([1 << p for p in positions], dtype=np.int64)
    floors = c["price_min"][col_slot]
    column = {
        "mask": masks[col_slot],
        "room": c["room"][col_slot],
        "rating": c["rating"][col_slot],
        "lift": c["lift"][col_slot],
        "district": c["district"][col_slot],
        # price floors and their divisors as float64 (exact below 2⁵³ fen), for the exact price term
        "floor": floors.astype(np.float64),
        "divisor": np.maximum(floors, 1).astype(np.float64),
    }
    # for the bound: 1/floor rounded up (by more than the roundings of float32(budget)·inverse); −1 for
    # no floor (price term 0.5), 2 for a floor of 0 (within every budget: 1); the supplier-only terms summed
    column["inverse"] = np.select([floors < 0, floors == 0], [-1.0, 2.0], (1.0 / column["divisor"]) * (1.0 + 2.0**-20)).astype(
        np.float32
    )
    column["static"] = (
        np.float32(w.capacity) * column["room"]
        + np.float32(w.rating) * column["rating"]
        + np.float32(w.fairness) * column["lift"]
    )
    # -- term postings per table: (table, term) → the term's weights at the table's columns, for the
    # terms its demands use
    used = np.zeros((len(positions), max(len(vocabulary), 1)), dtype=np.bool_)
    for key, found in zip(keys, counts, strict=True):
        for p in key:
            for tid in found:
                used[table_of[p], term_of[tid]] = True
    row_of = np.full(used.shape, -1, dtype=np.int64)
    row_of[used] = np.arange(int(used.sum()))
    column_in = np.full((len(positions), max(n, 1)), -1, dtype=np.int32)
    for t, part in enumerate(slot_parts):
        column_in[t, part] = np.arange(part.size)
    avg_len = text._live_len / text._live_docs if text._live_docs else 1.0
    idf = np.zeros(len(vocabulary), dtype=np.float64)
    live_docs = text._live_docs
    ids_parts, weight_parts = [], []
    for u, tid in enumerate(vocabulary):
        df = text._df[tid]
        idf[u] = np.log(1.0 + (live_docs - df + 0.5) / (df + 0.5))
        ids, weight = text._term_weights(tid, avg_len)
        ids_parts.append(ids)
        weight_parts.append(weight)
    term_first = np.zeros(len(vocabulary) + 1, dtype=np.int64)
    term_first[1:] = np.cumsum([part.size for part in ids_parts])
    # each live slot's tables (CSR by slot), so a posting visits only the tables its supplier is in
    col_table = np.repeat(np.arange(len(positions)), [part.size for part in slot_parts])
    by_slot = np.argsort(col_slot, kind="stable")
    slot_tables_start = np.searchsorted(col_slot[by_slot], np.arange(n + 1))
    entry_start, entry_col, entry_weight = _postings_by_table(
        row_of,
        column_in,
        slot_tables_start,
        col_table[by_slot],
        term_first,
        np.concatenate(ids_parts) if ids_parts else np.zeros(0, dtype=np.int64),
        np.concatenate(weight_parts) if weight_parts else np.zeros(0, dtype=np.float32),
        n,
    )
    # -- the demands, flattened (processed grouped by capability set: rows stay in cache)
    key_start = np.zeros(d_count + 1, dtype=np.int64)
    key_start[1:] = np.cumsum([len(k) for k in keys])
    key_table = np.asarray([table_of[p] for key in keys for p in key], dtype=np.int64)
    cover_start = np.zeros(d_count + 1, dtype=np.int64)
    cover_start[1:] = np.cumsum([len(x) for x in cover])
    cover_bit = np.asarray([bit for x in cover for bit, _ in x], dtype=np.int64)
    cover_share = np.asarray([share for x in cover for _, share in x], dtype=np.float32)
    term_start = np.zeros(d_count + 1, dtype=np.int64)
    term_start[1:] = np.cumsum([len(f) for f in counts])
    term_u = np.asarray([term_of[tid] for f in counts for tid in f], dtype=np.int64)
    # float32(qtf·idf), as TextIndex.scores weighs each term
    term_weight = np.asarray([qtf * idf[term_of[tid]] for f in counts for tid, qtf in f.items()], dtype=np.float32)
    budget = np.asarray([np.nan if q.budget_max_fen is None else float(q.budget_max_fen) for q in queries])
    home = np.asarray([-2 if q.district is None else index._districts.get(q.district, -1) for q in queries], dtype=np.int64)
    excluded = [sorted(index._slot[f] for f in q.exclude if f in index._slot) for q in queries]
    exclude_start = np.zeros(d_count + 1, dtype=np.int64)
    exclude_start[1:] = np.cumsum([len(x) for x in excluded])
    exclude_slot = np.asarray([s for x in excluded for s in x], dtype=np.int64)
    order = np.asarray(sorted(range(d_count), key=lambda d: keys[d]), dtype=np.int64)
    weights = np.asarray([w.text, w.coverage, w.capacity, w.price, w.locality, w.rating, w.fairness], dtype=np.float32)
    width = np.diff(table_start)
    work = np.asarray([sum(int(width[table_of[p]]) for p in key) for key in keys], dtype=np.int64)
    widest = int(work.max(initial=0))

    def run(part: np.ndarray) -> None:
        _top(
            m, part, weights, table_start, table_bit, col_slot, column["mask"], column["room"], column["rating"],
            column["lift"], column["floor"], column["divisor"], column["inverse"], column["static"], column["district"],
            entry_start, entry_col, entry_weight, row_of, column_in,
            key_start, key_table, cover_start, cover_bit, cover_share, term_start, term_u, term_weight,
            budget, home, exclude_start, exclude_slot,
            *(np.zeros(max(widest, 1), dtype=np.float32) for _ in range(2)),
            slots_out, scores_out, beyond,
        )  # fmt: skip

    # the loops release the GIL: ``threads`` parts of about equal work (columns scored), each writing
    # its own demands' rows
    threads = max(1, min(threads, int(work.sum()) // _WORK_PER_THREAD))
    if threads == 1:
        run(order)
    else:
        done = np.cumsum(work[order])
        cuts = np.searchsorted(done, done[-1] * np.arange(1, threads) / threads)
        with ThreadPoolExecutor(threads, thread_name_prefix="shortlists") as pool:
            list(pool.map(run, np.split(order, cuts)))
    return slots_out, scores_out, beyond


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _postings_by_table(
    row_of, column_in, slot_tables_start, slot_tables, term_first, ids, weight, n
):  # fmt: skip  # pragma: no cover - compiled
    """Each (table, term) row's postings among the table's columns, in column order: starts per row,
    columns and weights (two passes over the terms' postings: count, then fill)."""
    rows = row_of.max() + 1 if row_of.size else 0
    start = np.zeros(rows + 1, dtype=np.int64)
    for u in range(term_first.size - 1):
        for k in range(term_first[u], term_first[u + 1]):
            s = ids[k]
            if s < n:
                for e in range(slot_tables_start[s], slot_tables_start[s + 1]):
                    r = row_of[slot_tables[e], u]
                    if r >= 0:
                        start[r + 1] += 1
    for r in range(rows):
        start[r + 1] += start[r]
    entry_col = np.empty(start[rows], dtype=np.uint32)  # unsigned: indexing with it needs no wraparound check
    entry_weight = np.empty(start[rows], dtype=np.float32)
    at = start.copy()
    for u in range(term_first.size - 1):
        for k in range(term_first[u], term_first[u + 1]):
            s = ids[k]
            if s < n:
                for e in range(slot_tables_start[s], slot_tables_start[s + 1]):
                    t = slot_tables[e]
                    r = row_of[t, u]
                    if r >= 0:
                        entry_col[at[r]] = column_in[t, s]
                        entry_weight[at[r]] = weight[k]
                        at[r] += 1
    return start, entry_col, entry_weight


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _top(
    m, order, weights, table_start, table_bit, col_slot, col_mask, col_room, col_rating, col_lift, col_floor,
    col_divisor, col_inverse, col_static, col_district,
    entry_start, entry_col, entry_weight, row_of, column_in,
    key_start, key_table, cover_start, cover_bit, cover_share, term_start, term_u, term_weight,
    budget, home, exclude_start, exclude_slot, acc, bound, slots_out, scores_out, beyond,
):  # fmt: skip  # pragma: no cover - compiled
    k = m + 1
    best_score = np.empty(k, dtype=np.float32)
    best_slot = np.empty(k, dtype=np.int64)
    half, one, zero = np.float32(0.5), np.float32(1.0), np.float32(0.0)
    gone = np.float32(-np.inf)
    w_text, w_coverage, w_capacity, w_price = weights[0], weights[1], weights[2], weights[3]
    w_locality, w_rating, w_fairness = weights[4], weights[5], weights[6]
    for d in order:
        # pass 1: BM25 of every column of every wanted table (each term's row once); the best among
        # the eligible (not in an earlier wanted table, not excluded)
        top = zero
        earlier = 0
        base = 0
        for j in range(key_start[d], key_start[d + 1]):
            t = key_table[j]
            lo, width = table_start[t], table_start[t + 1] - table_start[t]
            a = acc[base : base + width]
            masks = col_mask[lo : lo + width]
            a[:] = zero
            for e in range(term_start[d], term_start[d + 1]):  # in TextIndex.scores' order of terms
                r = row_of[t, term_u[e]]
                qw = term_weight[e]
                for x in range(entry_start[r], entry_start[r + 1]):
                    a[entry_col[x]] += qw * entry_weight[x]
            for e in range(exclude_start[d], exclude_start[d + 1]):
                col = column_in[t, exclude_slot[e]]
                if col >= 0:
                    a[col] = gone
            for col in range(width):
                v = a[col] if (masks[col] & earlier) == 0 else zero
                top = v if v > top else top
            base += width
            earlier |= table_bit[t]
        # pass 2: each column's score (−inf if not eligible), then the best k, ties by slot
        count = 0
        floor_bar = gone
        no_budget = np.isnan(budget[d])
        b = budget[d]
        h = home[d]
        top_safe = top if top > zero else one  # top 0: every eligible BM25 is 0, so is the text term
        earlier = 0
        base = 0
        for j in range(key_start[d], key_start[d + 1]):
            t = key_table[j]
            lo, width = table_start[t], table_start[t + 1] - table_start[t]
            a = acc[base : base + width]
            u = bound[:width]
            _bound(
                a, u, col_mask[lo : lo + width], col_static[lo : lo + width], col_inverse[lo : lo + width],
                col_district[lo : lo + width], cover_bit[cover_start[d] : cover_start[d + 1]],
                cover_share[cover_start[d] : cover_start[d + 1]], earlier, top_safe, no_budget, b, h, weights,
            )  # fmt: skip
            for first in range(0, width, 128):  # a block none of whose bounds reaches the bar is skipped whole
                last = min(first + 128, width)
                if count == k:
                    reach = 0
                    for col in range(first, last):
                        reach += u[col] >= floor_bar
                    if reach == 0:
                        continue
                for col in range(first, last):
                    if u[col] < floor_bar or u[col] == gone:  # −inf: not eligible
                        continue
                    i = lo + col
                    mask = col_mask[i]
                    coverage = zero
                    for x in range(cover_start[d], cover_start[d + 1]):
                        coverage += cover_share[x] * (one if (mask & cover_bit[x]) != 0 else zero)
                    f = col_floor[i]
                    price = half if (no_budget or f < 0) else (one if f <= b else np.float32(b / col_divisor[i]))
                    locality = one if h == -2 else (one if col_district[i] == h else zero)
                    score = (  # SupplierIndex.score's operations, in its order
                        zero
                        + w_text * (a[col] / top_safe)
                        + w_coverage * coverage
                        + w_capacity * col_room[i]
                        + w_price * price
                        + w_locality * locality
                        + w_rating * col_rating[i]
                        + w_fairness * col_lift[i]
                    )
                    if score < floor_bar:
                        continue
                    slot = col_slot[i]
                    if count < k:
                        best_score[count] = score
                        best_slot[count] = slot
                        count += 1
                        if count == k:  # heapify: the weakest kept at the root
                            for at in range(k // 2 - 1, -1, -1):
                                _sift_down(best_score, best_slot, at, k)
                            floor_bar = best_score[0]
                    elif score > best_score[0] or slot < best_slot[0]:
                        best_score[0] = score
                        best_slot[0] = slot
                        _sift_down(best_score, best_slot, 0, k)
                        floor_bar = best_score[0]
            base += width
            earlier |= table_bit[t]
        # best first, ties by slot
        for a_ in range(1, count):
            s, v = best_score[a_], best_slot[a_]
            z = a_ - 1
            while z >= 0 and (best_score[z] < s or (best_score[z] == s and best_slot[z] > v)):
                best_score[z + 1] = best_score[z]
                best_slot[z + 1] = best_slot[z]
                z -= 1
            best_score[z + 1] = s
            best_slot[z + 1] = v
        for a_ in range(min(count, m)):
            slots_out[d, a_] = best_slot[a_]
            scores_out[d, a_] = best_score[a_]
        if count > m:
            beyond[d] = best_score[m]


#: What the bound adds above the exact score's float32 roundings (scores are below 2; each of the two
#: sums of eight terms is off by less than 1e-6).
_MARGIN = np.float32(1e-5)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _bound(
    a, u, masks, static, inverse, district, cover_bit, cover_share, earlier, top, no_budget, b, h, weights
):  # fmt: skip  # pragma: no cover - compiled
    """An upper bound ``u`` of each column's score from its BM25 in ``a``: the terms summed in another
    order (the supplier-only ones precombined in ``static``) plus ``_MARGIN``, the price term as
    ``min(1, budget·inverse)`` (1/floor rounded up: no division; 1 where inverse > 1); −inf where the column is not eligible (in
    an earlier wanted table; excluded ones have −inf BM25). Simple loops: they compile to vector
    instructions, and read ~24 bytes a column instead of the exact score's ~60."""
    half, one, zero = np.float32(0.5), np.float32(1.0), np.float32(0.0)
    gone = np.float32(-np.inf)
    w_text, w_coverage, w_price, w_locality = weights[0], weights[1], weights[3], weights[4]
    bf = np.float32(b)
    local = w_locality if h == -2 else zero  # anywhere: every column is local
    for col in range(a.size):
        v = inverse[col]
        price = half if (no_budget or v < zero) else (one if v > one else min(one, bf * v))
        here = w_locality if district[col] == h else local
        u[col] = (
            gone if (masks[col] & earlier) != 0 else (w_text * (a[col] / top) + static[col] + w_price * price + here + _MARGIN)
        )
    for x in range(cover_bit.size):
        bit, share = cover_bit[x], w_coverage * cover_share[x]
        for col in range(a.size):
            u[col] += share if (masks[col] & bit) != 0 else zero


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _sift_down(score, slot, at, size):  # pragma: no cover - compiled
    """Restores the heap (the weakest kept at the root: lowest score, then highest slot) below ``at``.
    Scalars only inside the loop (a helper taking the arrays would count references at every call)."""
    value, where = score[at], slot[at]
    while True:
        child = 2 * at + 1
        if child >= size:
            break
        v, w = score[child], slot[child]
        right = child + 1
        if right < size and (score[right] < v or (score[right] == v and slot[right] > w)):
            child, v, w = right, score[right], slot[right]
        if not (v < value or (v == value and w > where)):
            break
        score[at], slot[at] = v, w
        at = child
    score[at], slot[at] = value, where
