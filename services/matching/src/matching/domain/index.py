"""The in-memory supply list every ranking reads: columns of numbers plus the text index.

A replica keeps one ``SupplierIndex`` and applies profile changes to it as they are read
from the database (see ``service/index_refresh.py``); ranking 100,000 suppliers is then a
handful of numpy expressions over the columns, and only the top few become Python objects
with explanations.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from uuid import UUID

import numpy as np

from matching.domain.catalogue import BIT, POSITION, mask_of
from matching.domain.scoring import (
    DEFAULT_WEIGHTS,
    EXPOSURE_HALF_LIFE,
    RATING_PRIOR_COUNT,
    RATING_PRIOR_MEAN,
    Candidate,
    DemandQuery,
    SupplierFacts,
    Weights,
    explain,
)
from matching.domain.text import TextIndex, Tokenizer

_COLUMNS = {
    "mask": np.int64,
    "cap_left": np.int32,
    "capacity": np.int32,
    "price_min": np.int64,
    "district": np.int32,
    "rating": np.float32,
    "exposure": np.float32,
    "room": np.float32,  # capacity left / capacity
    "lift": np.float32,  # the fairness term, from exposures
    "live": np.bool_,
}


@dataclass(frozen=True)
class Scored:
    """Eligible slots of one query with their score and components (parallel arrays)."""

    slots: np.ndarray
    score: np.ndarray
    components: dict[str, np.ndarray]


class SupplierIndex:
    def __init__(self, weights: Weights = DEFAULT_WEIGHTS, tokenizer: Tokenizer | None = None) -> None:
        self.weights = weights
        self.tokenizer = tokenizer or Tokenizer()
        self.text = TextIndex()
        self._cols = {name: np.zeros(1024, dtype=dtype) for name, dtype in _COLUMNS.items()}
        self._facts: list[SupplierFacts | None] = []
        self._slot: dict[UUID, int] = {}
        self._districts: dict[str, int] = {}
        self.size = 0

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, firm_id: UUID) -> bool:
        return firm_id in self._slot

    def facts(self, firm_id: UUID) -> SupplierFacts | None:
        slot = self._slot.get(firm_id)
        return None if slot is None else self._facts[slot]

    # -- writes ---------------------------------------------------------------------------

    def upsert(self, facts: SupplierFacts) -> None:
        """Add or replace one supplier; a changed description takes a new slot (see TextIndex)."""
        old = self._slot.get(facts.firm_id)
        if old is not None and self._facts[old] is not None and self._facts[old].description == facts.description:
            self._write(old, facts)
            return
        if old is not None:
            self._drop(old)
        slot = self.size
        self._ensure(slot + 1)
        self.size += 1
        self._facts.append(None)
        self._write(slot, facts)
        self.text.add(slot, self.tokenizer.tokens(f"{facts.firm_name} {facts.description}"))
        self._slot[facts.firm_id] = slot
        if self.size > 1024 and self.text.tombstoned_share() > 0.25:
            self.compact()

    def remove(self, firm_id: UUID) -> None:
        slot = self._slot.pop(firm_id, None)
        if slot is not None:
            self._drop(slot)

    def set_exposure(self, firm_id: UUID, exposures_90d: int) -> None:
        slot = self._slot.get(firm_id)
        if slot is not None and self._facts[slot] is not None:
            self._write(slot, replace(self._facts[slot], exposures_90d=exposures_90d))

    def _drop(self, slot: int) -> None:
        self._cols["live"][slot] = False
        self._facts[slot] = None
        self.text.remove(slot)

    def _ensure(self, n: int) -> None:
        current = len(self._cols["live"])
        if n <= current:
            return
        size = max(n, 2 * current)
        for name, col in self._cols.items():
            grown = np.zeros(size, dtype=col.dtype)
            grown[:current] = col
            self._cols[name] = grown

    def _write(self, slot: int, f: SupplierFacts) -> None:
        c = self._cols
        c["mask"][slot] = mask_of(code for code in f.capabilities if code in BIT)
        c["capacity"][slot] = max(f.capacity, 1)
        c["cap_left"][slot] = max(f.capacity - f.active_engagements, 0)
        c["price_min"][slot] = -1 if f.price_min_fen is None else f.price_min_fen
        c["district"][slot] = self._districts.setdefault(f.district, len(self._districts))
        mean = (f.rating_sum + RATING_PRIOR_MEAN * RATING_PRIOR_COUNT) / (f.rating_count + RATING_PRIOR_COUNT)
        c["rating"][slot] = (mean - 1.0) / 4.0
        c["exposure"][slot] = f.exposures_90d
        c["room"][slot] = c["cap_left"][slot] / c["capacity"][slot]
        c["lift"][slot] = EXPOSURE_HALF_LIFE / (EXPOSURE_HALF_LIFE + f.exposures_90d)
        c["live"][slot] = f.matchable and c["cap_left"][slot] > 0
        self._facts[slot] = f

    def compact(self) -> None:
        live_slots = [s for s in range(self.size) if self._facts[s] is not None]
        mapping = {old: new for new, old in enumerate(live_slots)}
        self.text = self.text.remap(mapping)
        idx = np.asarray(live_slots, dtype=np.int64)
        for name, col in self._cols.items():
            fresh = np.zeros(max(1024, 2 * len(live_slots)), dtype=col.dtype)
            fresh[: len(live_slots)] = col[idx]
            self._cols[name] = fresh
        self._facts = [self._facts[s] for s in live_slots]
        self._slot = {f.firm_id: i for i, f in enumerate(self._facts) if f is not None}
        self.size = len(live_slots)

    # -- reads ----------------------------------------------------------------------------

    def score(self, query: DemandQuery) -> Scored:
        n, c, w = self.size, self._cols, self.weights
        required = [(BIT[code], weight) for code, weight in query.capabilities.items() if code in BIT]
        total = float(sum(weight for _, weight in required)) or 1.0
        wanted = 0
        for bit, _ in required:
            wanted |= bit
        # live: matchable with capacity left (kept up to date on write)
        slots = np.flatnonzero(((c["mask"][:n] & wanted) != 0) & c["live"][:n])
        if query.exclude:
            drop = [self._slot[f] for f in query.exclude if f in self._slot]
            if drop:
                slots = slots[~np.isin(slots, drop)]
        masks = c["mask"][slots]
        coverage = np.zeros(slots.size, dtype=np.float32)
        for bit, weight in required:
            coverage += np.float32(weight / total) * ((masks & bit) != 0)
        bm25 = self.text.scores(self.tokenizer.tokens(query.text), n)[slots] if slots.size else np.zeros(0, np.float32)
        top = float(bm25.max()) if bm25.size else 0.0
        text = bm25 / np.float32(top) if top > 0 else np.zeros_like(bm25)
        if query.budget_max_fen is None:
            price = np.full(slots.size, 0.5, dtype=np.float32)
        else:
            floor = c["price_min"][slots]
            budget = float(query.budget_max_fen)
            price = np.where(floor < 0, 0.5, np.where(floor <= budget, 1.0, budget / np.maximum(floor, 1))).astype(np.float32)
        if query.district is None:
            locality = np.ones(slots.size, dtype=np.float32)
        else:
            locality = (c["district"][slots] == self._districts.get(query.district, -1)).astype(np.float32)
        components = {
            "text": text,
            "coverage": coverage,
            "capacity": c["room"][slots],
            "price": price,
            "locality": locality,
            "rating": c["rating"][slots],
            "fairness": c["lift"][slots],
        }
        score = np.zeros(slots.size, dtype=np.float32)
        for name, value in components.items():
            score += np.float32(getattr(w, name)) * value
        return Scored(slots, score, components)

    def top(self, scored: Scored, limit: int) -> np.ndarray:
        """Positions (into ``scored``) of the best ``limit``, best first; ties by slot."""
        chosen = np.arange(scored.slots.size) if scored.slots.size <= limit else np.argpartition(-scored.score, limit - 1)[:limit]
        return chosen[np.lexsort((scored.slots[chosen], -scored.score[chosen]))]

    def rank(self, query: DemandQuery, limit: int = 20) -> list[Candidate]:
        scored = self.score(query)
        # Reasons list capabilities by weight, then in catalogue order (never in storage order).
        ordered = sorted(query.capabilities, key=lambda code: (-query.capabilities[code], POSITION.get(code, len(POSITION))))
        out = []
        for pos in self.top(scored, limit).tolist():
            slot = int(scored.slots[pos])
            facts = self._facts[slot]
            assert facts is not None
            components = {name: round(float(v[pos]), 4) for name, v in scored.components.items()}
            covered = [code for code in ordered if code in facts.capabilities]
            missing = [code for code in ordered if code not in facts.capabilities]
            out.append(
                Candidate(
                    firm_id=facts.firm_id,
                    score=round(float(scored.score[pos]), 4),
                    components=components,
                    covered=tuple(covered),
                    missing=tuple(missing),
                    explanation=explain(query, facts, components, covered, missing),
                )
            )
        return out

    def capacity_left(self, slot: int) -> int:
        """Engagements the supplier in ``slot`` can still take (0 when it is out of matching)."""
        return int(self._cols["cap_left"][slot]) if self._cols["live"][slot] else 0

    def firm_at(self, slot: int) -> UUID:
        facts = self._facts[slot]
        assert facts is not None
        return facts.firm_id

    def live_facts(self) -> list[SupplierFacts]:
        return [f for f in self._facts if f is not None]


@dataclass(frozen=True)
class ScoreBlock:
    """Scores of a group of demands that want the same capabilities against every supplier eligible
    for them: ``score[i, j]`` is demand ``demands[i]`` against slot ``slots[j]`` (−inf: excluded)."""

    demands: np.ndarray
    slots: np.ndarray
    score: np.ndarray  # float32, len(demands) × len(slots)


def _groups(index: SupplierIndex, queries: list[DemandQuery]) -> tuple[dict[int, list[int]], dict[int, np.ndarray]]:
    """Demands by wanted capability set, and each set's eligible (live, capable) slots."""
    n, c = index.size, index._cols
    groups: dict[int, list[int]] = {}
    for d, q in enumerate(queries):
        wanted = 0
        for code in q.capabilities:
            if code in BIT:
                wanted |= BIT[code]
        groups.setdefault(wanted, []).append(d)
    eligible = {wanted: np.flatnonzero(((c["mask"][:n] & wanted) != 0) & c["live"][:n]) for wanted in groups}
    return groups, eligible


class TooManyScores(ValueError):
    """More (demand, eligible supplier) scores than a batch may hold."""


def score_blocks(index: SupplierIndex, queries: list[DemandQuery], *, max_cells: int = 50_000_000) -> list[ScoreBlock]:
    """``SupplierIndex.score`` of many demands at once: demands grouped by their wanted capability
    set share one eligible supplier set, and their BM25 is one matrix product (query terms × the
    eligible documents' term weights) instead of a pass over every posting per demand. Equal to
    ``index.score(q)`` per demand up to float32 rounding (the same terms, summed in another order).
    Raises ``TooManyScores`` when the blocks would exceed ``max_cells`` (then each demand's shortlist,
    ``shortlists.top_candidates``, is the tool).

    What depends on the supplier alone is computed once for all groups: each query term's weighted
    postings (``idf·tf/(tf + k1·(…))``) split by capability among live suppliers, so a group
    scatters only the postings of its own capabilities' suppliers (not every posting of the term),
    and the capacity, rating and fairness terms and ``1/floor`` over every slot."""
    groups, eligible = _groups(index, queries)
    cells = sum(len(ds) * eligible[m].size for m, ds in groups.items())
    if cells > max_cells:
        raise TooManyScores(f"{cells} scores exceed the batch limit of {max_cells}")
    return list(_blocks(index, queries, groups, eligible))


def _blocks(
    index: SupplierIndex, queries: list[DemandQuery], groups: dict[int, list[int]], eligible: dict[int, np.ndarray]
) -> Iterator[ScoreBlock]:
    """One block per group of ``score_blocks``."""
    c, w = index._cols, index.weights
    text = index.text
    tokens = [index.tokenizer.tokens(q.text) for q in queries]
    avg_len = text._live_len / text._live_docs if text._live_docs else 1.0
    n_docs = text._live_docs
    width = max(text.size, index.size)
    column_of = np.full(width, -1, dtype=np.int64)
    term_counts: list[dict[int, int]] = []
    for toks in tokens:
        counts: dict[int, int] = {}
        for tok in toks:
            tid = text._vocab.get(tok)
            if tid is not None and text._df[tid] > 0:
                counts[tid] = counts.get(tid, 0) + 1
        term_counts.append(counts)
    # each query term's weighted postings split by capability (live suppliers only), shared by
    # every group wanting that capability; built on first use
    live_masks = np.where(c["live"][: index.size], c["mask"][: index.size], 0)
    by_capability: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def postings(tid: int, bit: int) -> tuple[np.ndarray, np.ndarray]:
        found = by_capability.get((tid, bit))
        if found is None:
            df = text._df[tid]
            idf = np.float32(np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)))
            ids, weight = text._term_weights(tid, avg_len)
            inside = ids < index.size
            ids, weight = ids[inside], weight[inside]
            has = (live_masks[ids] & bit) != 0
            found = by_capability[(tid, bit)] = (ids[has], weight[has] * idf)
        return found

    n = index.size
    base_all = (
        np.float32(w.capacity) * c["room"][:n] + np.float32(w.rating) * c["rating"][:n] + np.float32(w.fairness) * c["lift"][:n]
    )
    per_floor_all = (1.0 / np.maximum(c["price_min"][:n], 1)).astype(np.float32)
    for wanted, ds in groups.items():
        slots = eligible[wanted]
        rows = np.asarray(ds, dtype=np.int64)
        if slots.size == 0:
            yield ScoreBlock(rows, slots, np.zeros((rows.size, 0), dtype=np.float32))
            continue
        # query-term matrix (qtf·idf) and document-term weights over this block's terms only
        term_col: dict[int, int] = {}
        q_entries: list[tuple[int, int, float]] = []
        for i, d in enumerate(ds):
            for tid, qtf in term_counts[d].items():
                col = term_col.setdefault(tid, len(term_col))
                q_entries.append((i, col, qtf))
        qm = np.zeros((rows.size, max(len(term_col), 1)), dtype=np.float32)
        dm = np.zeros((max(len(term_col), 1), slots.size), dtype=np.float32)
        if term_col:
            # each eligible slot's column in this block; a term's postings among the suppliers
            # of each wanted capability land in it (a supplier with two of them twice, same value)
            column_of[slots] = np.arange(slots.size)
            bits_wanted = [b for b in BIT.values() if wanted & b]
            for tid, col in term_col.items():
                for bit in bits_wanted:
                    ids, value = postings(tid, bit)
                    dm[col, column_of[ids]] = value
            column_of[slots] = -1
        if q_entries:
            qi, qc, qv = (np.asarray(x) for x in zip(*q_entries, strict=True))
            qm[qi, qc] = qv
        bm25 = qm @ dm
        # a demand's excluded suppliers are not candidates: out of its text normalisation too
        excluded = []
        for i, d in enumerate(ds):
            if queries[d].exclude:
                drop = [index._slot[f] for f in queries[d].exclude if f in index._slot]
                excluded.append((i, np.isin(slots, drop)))
                bm25[i, excluded[-1][1]] = 0.0
        top = bm25.max(axis=1, keepdims=True)
        # text = bm25 / the row's best (0 when nothing matches), times its weight: one pass
        score = bm25
        score *= np.where(top > 0, np.float32(w.text) / np.where(top > 0, top, 1), 0).astype(np.float32)
        masks = c["mask"][slots]
        # the supplier-only terms once per block, the demand-dependent ones per row
        score += base_all[slots][None, :]
        bits = [b for b in BIT.values() if wanted & b]
        has = np.stack([((masks & b) != 0).astype(np.float32) for b in bits])  # bits × slots
        coef = np.zeros((rows.size, len(bits)), dtype=np.float32)
        budget = np.full(rows.size, np.nan)
        home = np.full(rows.size, -2, dtype=np.int64)  # -2: anywhere, -1: a district nobody is in
        for i, d in enumerate(ds):
            q = queries[d]
            required = [(BIT[code], weight) for code, weight in q.capabilities.items() if code in BIT]
            total = float(sum(weight for _, weight in required)) or 1.0
            for bit, weight in required:
                coef[i, bits.index(bit)] += np.float32(weight / total)
            if q.budget_max_fen is not None:
                budget[i] = float(q.budget_max_fen)
            if q.district is not None:
                home[i] = index._districts.get(q.district, -1)
        score += (coef * np.float32(w.coverage)) @ has
        # price fit = 1 for a floor within the budget (a zero floor fits a zero budget), else
        # budget / floor; 0.5 without a floor or a budget
        floor = c["price_min"][slots]
        per_floor = per_floor_all[slots]
        price = np.multiply.outer((np.nan_to_num(budget) * w.price).astype(np.float32), per_floor)
        np.minimum(price, np.float32(w.price), out=price)
        np.copyto(price, np.float32(w.price), where=floor[None, :] <= budget[:, None])
        price[:, floor < 0] = np.float32(0.5 * w.price)
        price[np.isnan(budget)] = np.float32(0.5 * w.price)
        score += price
        del price
        locality = (home[:, None] == -2) | (c["district"][slots][None, :] == home[:, None])
        np.add(score, np.float32(w.locality), out=score, where=locality)
        for i, out in excluded:
            score[i, out] = -np.inf
        yield ScoreBlock(rows, slots, score)
