import random

import bm25s
import numpy as np
import pytest

from matching.domain.text import TextIndex, Tokenizer

DOCS = [
    "专注竖屏短剧与文旅宣传片，从剧本创作到拍摄剪辑一条龙",
    "四川音乐学院毕业生创办，提供广告配音、旁白、方言配音和原创配乐",
    "为政务和企业开发大模型智能体、知识库问答和RAG检索增强应用",
    "图像、文本、语音数据标注与清洗，大模型语料整理",
    "数字人主播二十四小时直播带货，抖音快手投流运营",
    "亚马逊、TikTok Shop 和独立站运营，多语种商品文案翻译",
    "三维建模、角色动画和Unity互动展厅，做过博物馆数字文物",
]


def test_tokenizer_keeps_catalogue_words_whole_and_drops_stopwords() -> None:
    tokens = Tokenizer().tokens("我们需要数字人直播带货，并完成短视频剪辑和RAG开发")
    assert {"数字人", "直播", "带货", "短视频", "剪辑", "rag"} <= set(tokens)
    assert "我们" not in tokens and "需要" not in tokens and "，" not in tokens


def test_scores_equal_bm25s_lucene_on_the_same_tokens() -> None:
    tok = Tokenizer()
    corpus = [tok.tokens(d) for d in DOCS]
    index = TextIndex(k1=1.5, b=0.75)
    for slot, tokens in enumerate(corpus):
        index.add(slot, tokens)
    reference = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    reference.index(corpus, show_progress=False)
    for query in ("短剧剧本拍摄", "数据标注语料", "智能体 RAG 知识库", "直播带货 投流"):
        q = tok.tokens(query)
        ours = index.scores(q)
        theirs = reference.get_scores(q)
        assert np.allclose(ours, theirs, rtol=1e-4, atol=1e-5), query
        assert ours.max() > 0


def test_edits_and_removals_score_exactly_like_a_fresh_index() -> None:
    rng = random.Random(7)
    tok = Tokenizer()
    live: dict[str, list[str]] = {}
    slot_of: dict[str, int] = {}
    index = TextIndex()
    next_slot = 0
    for _step in range(300):
        key = f"firm-{rng.randrange(40)}"
        if rng.random() < 0.15 and key in live:
            index.remove(slot_of.pop(key))
            del live[key]
            continue
        tokens = tok.tokens(rng.choice(DOCS) + " " + rng.choice(DOCS)[: rng.randrange(5, 20)])
        if key in slot_of:
            index.remove(slot_of[key])
        index.add(next_slot, tokens)
        slot_of[key], live[key] = next_slot, tokens
        next_slot += 1
    fresh = TextIndex()
    for i, key in enumerate(sorted(live)):
        fresh.add(i, live[key])
    query = tok.tokens("短剧 配音 数据标注 直播带货")
    ours, theirs = index.scores(query), fresh.scores(query)
    for i, key in enumerate(sorted(live)):
        assert ours[slot_of[key]] == pytest.approx(theirs[i], rel=1e-5)
    compacted = index.remap({old: new for new, old in enumerate(sorted(slot_of.values()))})
    order = sorted(slot_of.values())
    assert np.allclose(compacted.scores(query)[: len(order)], ours[order], rtol=1e-5)


def test_a_slot_is_written_once() -> None:
    index = TextIndex()
    index.add(0, ["剧本"])
    with pytest.raises(ValueError):
        index.add(0, ["配音"])
