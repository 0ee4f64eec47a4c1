"""The extractive summary: 1–3 of the record's own sentences (≤ 120 characters) and 3–6 key points.

Why extractive: the summary goes out under the government's name on SMS, Weibo
and WeChat; a sentence the office actually wrote cannot misstate the policy.

How sentences are chosen: every body sentence is cut into words with jieba. A
sentence scores (a) the title words it contains (minus the issuing office's name,
which every notice repeats), each weighted by its rarity across sentences
(log(1 + N/df)), times three, plus (b) its centrality: the square-rooted body
frequency of its distinct words over the square root of its word count, so long
sentences do not win by length alone. Questions are damped (a summary states),
the first three sentences get a small lead bonus (notices state their purpose first). The best sentences that fit in 120
characters are kept in document order. For the sample notice this picks the
sentence that says what the notice does (推出“五公开”落地创新措施), not its first line.

Candidates are whole sentences of the body's prose only: no title, heading,
caption, addressee line or boilerplate (来源：…, 浏览次数) (issue 11). Key points are
the next best sentences, cut at a clause boundary to 40 characters, then list
items; not section headings, which on real pages say 第一章 总则.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import jieba

from hub.deliverables import Rendition
from hub.errors import RenderError
from hub.ingest.page import addressees_of  # at import time, not in a worker thread (see renderers.context)
from hub.record import ListBlock, Paragraph, Record
from hub.renderers.base import ArtifactStore, RenderContext
from hub.renderers.text import clauses, clean, cut, sentences

#: The rendition kind this module renders (its key in ``hub.renderers.RENDERERS``).
KIND = "summary"

jieba.setLogLevel(logging.WARNING)

#: The summary's hard limit in characters (WeChat digest, Weibo text, portal 内容概述 ≤ 100–120).
MAX_CHARS = 120
MAX_SENTENCES = 3
#: Sentences shorter than this are headings or fragments ("一是网上发。"), not summaries.
MIN_SENTENCE = 10
MIN_POINTS, MAX_POINTS = 3, 6
TITLE_WEIGHT = 3.0
QUESTION_PENALTY = 0.4
LEAD_SENTENCES, LEAD_BONUS = 3, 1.2
#: A second or third sentence must score at least this share of the best one.
FOLLOW_RATIO = 0.35
POINT_CHARS = 40
#: Words that carry no topic (function words, the generic nouns of every notice).
STOPWORDS = frozenset(
    "关于 通知 的 了 和 与 及 或 等 在 对 为 是 将 把 由 以 从 其 之 并 进一步 有关 工作 "
    "一是 二是 三是 四是 进行 开展 相关 各 现 就 如下 要求 我县 我们".split()
)


@dataclass(frozen=True, slots=True)
class Summary:
    """What the record says, in its own words.

    Parameters:
      sentences(list[str]): the chosen sentences in document order.
      text(str): the sentences joined, ≤ 120 characters.
      key_points(list[str]): 3–6 short points (fewer only if the record has fewer).
    """

    sentences: list[str]
    text: str
    key_points: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Sentence:
    pos: int
    text: str
    score: float


_WORD_RE = re.compile(r"[\w\u4e00-\u9fff]")


def _words(text: str) -> list[str]:
    """Content words: two characters or more, not a stopword, not pure digits or punctuation.

    jieba's HMM (new-word discovery) is off: scoring needs stable dictionary words, and
    the HMM pass doubles the cost of the summary on long bodies.
    """
    return [
        w for w in jieba.lcut(text, HMM=False)
        if len(w) >= 2 and w not in STOPWORDS and _WORD_RE.search(w) and not w.isdigit()
    ]


#: page boilerplate that is never the gist: source and counter lines, editor credits, print/close links
_BOILERPLATE = re.compile(r"^[【\[（(]?\s*(来源|信息来源|文章来源|浏览|浏览次数|浏览量|阅读|点击|责任编辑|编辑|作者|发布时间|"
                          r"发布日期|时间|打印|关闭|字号|字体|分享|扫一扫|附件|当前位置|您的位置|主办单位|联系电话|网站标识码)")
#: what a whole sentence ends with (a paragraph-final colon reads as a statement, see _normalise_end)
_WHOLE = re.compile(r"[。！？；!?;：:][”’」』）)]*$")


def _candidates(record: Record) -> list[str]:
    """Whole sentences of the body's prose, nothing else (issue 11).

    Not the title, not headings (they are blocks of their own), not table cells, not a line
    without end punctuation (a caption, a sub-title or a title repeated in the body), not an
    addressee line (各镇人民政府：) and not page boilerplate (来源：…, 浏览次数：…).
    """
    title = clean(record.title)
    out: list[str] = []
    texts: list[str] = []
    for block in record.body:
        if isinstance(block, Paragraph):
            texts.append(clean(block.text))
        elif isinstance(block, ListBlock):
            texts.extend(clean(item) for item in block.items)
    for text in texts:
        if not text or text == title or _BOILERPLATE.match(text) or _addressee(text):
            continue
        out.extend(s for s in sentences(text) if _WHOLE.search(s) and s.rstrip("。：:") != title)
    return out


def _addressee(text: str) -> bool:
    """``各镇人民政府，县政府各工作部门：``: the same rule the page reader uses."""
    return addressees_of(text) is not None


def _normalise_end(sentence: str) -> str:
    """A sentence that ends a paragraph with a colon ("…如下：") reads as a statement in a summary."""
    return re.sub(r"[：:]$", "。", sentence)


def _score(record: Record, cands: list[str]) -> list[_Sentence]:
    words = [_words(s) for s in cands]
    n = len(cands)
    tf = Counter(w for ws in words for w in ws)
    df = Counter(w for ws in words for w in set(ws))
    title = set(_words(clean(record.title))) - set(_words(record.department or ""))
    scored = []
    for pos, (text, ws) in enumerate(zip(cands, words, strict=True)):
        if not ws:
            continue
        distinct = set(ws)
        # what the title announces, weighted by rarity: "推出…落地创新措施" beats the ubiquitous "公开"
        topic = sum(math.log(1 + n / df[w]) for w in distinct & title)
        # how central the sentence is to the whole body
        central = sum(math.sqrt(tf[w]) for w in distinct) / math.sqrt(len(ws))
        score = TITLE_WEIGHT * topic + central
        if text.endswith(("?", "？")):
            score *= QUESTION_PENALTY  # a summary states; questions are Q&A headings or rhetoric
        if pos < LEAD_SENTENCES:
            score *= LEAD_BONUS  # notices state their purpose first (为…, 现就…通知如下)
        scored.append(_Sentence(pos, text, score))
    return sorted(scored, key=lambda s: (-s.score, s.pos))


def _choose(scored: list[_Sentence]) -> list[_Sentence]:
    chosen: list[_Sentence] = []
    used = 0
    top = scored[0].score if scored else 0.0
    for s in scored:
        text = _normalise_end(s.text)
        if len(chosen) == MAX_SENTENCES:
            break
        if len(text) < MIN_SENTENCE or used + len(text) > MAX_CHARS or text.endswith(("?", "？")):
            continue
        if chosen and s.score < FOLLOW_RATIO * top:
            break  # the rest would be filler, not the gist
        chosen.append(_Sentence(s.pos, text, s.score))
        used += len(text)
    if not chosen and scored:
        # every sentence is too long: keep the best one's leading clauses (still its own words)
        best = scored[0]
        chosen = [_Sentence(best.pos, _clause_prefix(best.text), best.score)]
    return sorted(chosen, key=lambda s: s.pos)


def _clause_prefix(sentence: str) -> str:
    out = ""
    for clause in clauses(sentence):
        if len(out) + len(clause) + 1 > MAX_CHARS:
            break
        out += clause
    out = out.rstrip("，,、：: ") if out else sentence[: MAX_CHARS - 1]
    return out + "。"


def _key_points(record: Record, ranked: list[_Sentence], summary: list[str]) -> list[str]:
    """3–6 points in the record's own words: the best sentences after the summary's, each cut at a
    clause boundary to 40 characters; then list items. Never section headings (on real pages they
    read 第一章 总则 or 指导思想) and never table cells."""
    points: list[str] = []

    def add(text: str) -> None:
        text = cut(clean(text).strip("：:，, "), POINT_CHARS)
        if text and len(text) >= 4 and text not in points and len(points) < MAX_POINTS:
            points.append(text)

    for pass_ in (0, 1):
        for s in ranked:
            if len(points) >= MAX_POINTS:
                return points
            if pass_ == 1 or (s.text not in summary and _normalise_end(s.text) not in summary):
                if len(s.text) >= MIN_SENTENCE:
                    add(s.text)
        if len(points) >= MIN_POINTS:
            return points
    for block in record.body:
        if isinstance(block, ListBlock):
            for item in block.items:
                add(sentences(item)[0] if sentences(item) else item)
    return points


@lru_cache(maxsize=256)
def _summarize_json(content: str) -> Summary:
    record = Record.model_validate_json(content)
    ranked = _score(record, _candidates(record))
    chosen = [s.text for s in _choose(ranked)]
    if not chosen:
        chosen = [cut(clean(record.title), MAX_CHARS)]
    text = "".join(chosen)
    return Summary(sentences=chosen, text=text, key_points=_key_points(record, ranked, chosen))


def summarize(record: Record) -> Summary:
    """Summarise ``record`` from its own sentences (pure; cached per content, since every renderer asks)."""
    return _summarize_json(record.model_dump_json())


def render_summary(record: Record, ctx: RenderContext, store: ArtifactStore) -> Rendition:
    """The summary rendition: a JSON artifact; facts carry ``text`` and ``key_points``.

    An editor's ``overrides.summary.text`` replaces the generated text but is held to
    the same 120-character limit.
    """
    s = summarize(record)
    text = s.text
    override = record.overrides.get("summary")
    if override and override.text:
        text = override.text.strip()
        if len(text) > MAX_CHARS:
            raise RenderError(f"summary: override is {len(text)} characters > limit {MAX_CHARS}")
    data = {"record_id": record.id, "version": ctx.version, "text": text,
            "sentences": s.sentences, "key_points": s.key_points,
            "overridden": text != s.text}
    blob = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
    main = store.put(blob, ".json", "application/json")
    return Rendition(KIND, record.id, ctx.version, main,
                     facts={"text": text, "chars": len(text), "key_points": s.key_points})
