"""Chinese text relevance: rjieba tokens scored with Okapi BM25, kept fresh edit by edit.

bm25s builds a fine static index, but a profile edit must show in results within seconds,
and rebuilding 100,000 documents takes longer than that. So the index here is incremental:
an edit appends the new version under a new slot and tombstones the old one; document
frequencies are maintained exactly, so scores equal a fresh BM25 over the live documents
(``tests/unit/test_text.py`` checks them against bm25s' Lucene variant). Tombstones are
compacted away once they are a quarter of the slots.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable

import numpy as np
import rjieba

from matching.domain.catalogue import CAPABILITIES, DISTRICT_NAMES, SECTORS

_STOPWORDS = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "或",
        "为",
        "在",
        "是",
        "有",
        "我们",
        "我",
        "你",
        "您",
        "他",
        "她",
        "它",
        "这",
        "那",
        "一个",
        "一支",
        "一些",
        "需要",
        "希望",
        "要求",
        "进行",
        "提供",
        "相关",
        "可以",
        "能够",
        "负责",
        "以及",
        "并",
        "等",
        "对",
        "把",
        "被",
        "将",
        "从",
        "到",
        "由",
        "于",
        "其",
        "之",
        "以",
        "也",
        "都",
        "就",
        "很",
        "更",
        "最",
        "个",
        "家",
        "项",
        "次",
        "能",
        "会",
        "做",
        "让",
        "给",
        "用",
        "要",
        "公司",
        "团队",
        "服务",
        "工作室",
        "完成",
        "成都",
        "成都市",
    ]
)
_TOKEN = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+(?:[.+#-][a-z0-9]+)*", re.IGNORECASE)


class Tokenizer:
    """rjieba with the catalogue's keywords, sector and district names in its dictionary."""

    def __init__(self, extra_words: Iterable[str] = ()) -> None:
        self._jieba = rjieba.Jieba()
        words = {k for c in CAPABILITIES for k in c.keywords}
        words |= {zh for zh, _ in SECTORS.values()} | {zh for zh, _ in DISTRICT_NAMES.values()}
        words |= {"文旅", "短视频", "短剧", "带货", "数字人", "智能体", "大模型", "宣传片", "非遗", "熊猫", *extra_words}
        for word in sorted(words):
            if re.fullmatch(r"[\u4e00-\u9fff]{2,}", word):
                self._jieba.add_word(word, 50000, None)
        self._lock = threading.Lock()

    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        with self._lock:
            for run in _TOKEN.findall(text):
                if run.isascii():
                    out.append(run.lower())
                    continue
                for word in self._jieba.cut(run, True):
                    if word not in _STOPWORDS and (len(word) > 1 or word in {"剧", "歌", "画", "游"}):
                        out.append(word)
        return out


class TextIndex:
    """Okapi BM25, Lucene variant (its idf, no (k1+1) factor), over documents addressed by integer slot."""

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._vocab: dict[str, int] = {}
        self._post_ids: list[list[int]] = []
        self._post_tf: list[list[float]] = []
        self._arrays: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._weights: dict[int, tuple[float, np.ndarray, np.ndarray]] = {}
        self._df: list[int] = []
        self._doc_terms: dict[int, np.ndarray] = {}
        self._doc_len = np.zeros(1024, dtype=np.float32)
        self._live_docs = 0
        self._live_len = 0.0
        self.size = 0  # slots ever used (live + tombstoned)

    @property
    def live_documents(self) -> int:
        return self._live_docs

    def _grow(self, slot: int) -> None:
        if slot >= len(self._doc_len):
            grown = np.zeros(max(slot + 1, 2 * len(self._doc_len)), dtype=np.float32)
            grown[: len(self._doc_len)] = self._doc_len
            self._doc_len = grown

    def add(self, slot: int, tokens: list[str]) -> None:
        """Index ``tokens`` under ``slot`` (a slot is written once; edits use a new slot)."""
        if slot in self._doc_terms:
            raise ValueError(f"slot {slot} already holds a document")
        self._grow(slot)
        counts = Counter(tokens)
        term_ids = []
        for term, tf in counts.items():
            tid = self._vocab.get(term)
            if tid is None:
                tid = self._vocab[term] = len(self._df)
                self._df.append(0)
                self._post_ids.append([])
                self._post_tf.append([])
            self._post_ids[tid].append(slot)
            self._post_tf[tid].append(float(tf))
            self._df[tid] += 1
            self._arrays.pop(tid, None)
            self._weights.pop(tid, None)
            term_ids.append(tid)
        self._doc_terms[slot] = np.asarray(term_ids, dtype=np.int32)
        self._doc_len[slot] = len(tokens)
        self._live_docs += 1
        self._live_len += len(tokens)
        self.size = max(self.size, slot + 1)

    def remove(self, slot: int) -> None:
        """Tombstone a slot: its postings stay until compaction but stop counting."""
        terms = self._doc_terms.pop(slot, None)
        if terms is None:
            return
        for tid in terms.tolist():
            self._df[tid] -= 1
        self._live_docs -= 1
        self._live_len -= float(self._doc_len[slot])

    def _postings(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        arrays = self._arrays.get(tid)
        if arrays is None:
            arrays = (np.asarray(self._post_ids[tid], dtype=np.int64), np.asarray(self._post_tf[tid], dtype=np.float32))
            self._arrays[tid] = arrays
        return arrays

    def _term_weights(self, tid: int, avg_len: float) -> tuple[np.ndarray, np.ndarray]:
        """``tf / (tf + k1·(1 − b + b·len/avg_len))`` per posting, cached until the term's postings
        or the average length change (so a read-mostly index scores a term in one multiply-add)."""
        cached = self._weights.get(tid)
        if cached is not None and cached[0] == avg_len:
            return cached[1], cached[2]
        ids, tf = self._postings(tid)
        weight = (tf / (tf + self.k1 * (1.0 - self.b + self.b * self._doc_len[ids] / avg_len))).astype(np.float32)
        self._weights[tid] = (avg_len, ids, weight)
        return ids, weight

    def scores(self, query: list[str], size: int | None = None) -> np.ndarray:
        """BM25 of every slot against ``query`` (tombstoned slots included; the caller masks them)."""
        out = np.zeros(size or self.size, dtype=np.float32)
        if not self._live_docs:
            return out
        avg_len = self._live_len / self._live_docs
        n = self._live_docs
        for term, qtf in Counter(query).items():
            tid = self._vocab.get(term)
            if tid is None or self._df[tid] <= 0:
                continue
            idf = math.log(1.0 + (n - self._df[tid] + 0.5) / (self._df[tid] + 0.5))
            ids, weight = self._term_weights(tid, avg_len)
            out[ids] += np.float32(qtf * idf) * weight
        return out

    def tombstoned_share(self) -> float:
        return 0.0 if not self.size else 1.0 - self._live_docs / self.size

    def remap(self, mapping: dict[int, int]) -> TextIndex:
        """A compacted copy: live slots renumbered by ``mapping`` (old → new)."""
        fresh = TextIndex(self.k1, self.b)
        terms_by_id = {tid: term for term, tid in self._vocab.items()}
        for old, new in sorted(mapping.items(), key=lambda kv: kv[1]):
            terms = self._doc_terms.get(old)
            if terms is None:
                continue
            tokens: list[str] = []
            for tid in terms.tolist():
                ids, tf = self._postings(tid)
                count = int(tf[np.searchsorted(ids, old)]) if ids.size and ids[np.searchsorted(ids, old)] == old else 0
                tokens.extend([terms_by_id[tid]] * count)
            fresh.add(new, tokens)
        return fresh
