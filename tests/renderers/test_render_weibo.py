"""The Weibo post: 140 characters as Weibo counts them, the link, topics without #, a picture."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from renderkit import load_record

from hub.errors import RenderError
from hub.record import ChannelOverride, Record
from hub.renderers.weibo import LIMIT, render_weibo, weibo_length


def test_weibo_counts_ascii_as_half_and_a_link_as_at_least_twelve() -> None:
    """Full-width 1, ASCII ½ (rounded up), a URL max(its weight, 12)."""
    assert weibo_length("汉" * 10) == 10
    assert weibo_length("ab" * 5) == 5
    assert weibo_length("a") == 1
    assert weibo_length("看 http://a.cn/s/x") == 1 + 1 + 12
    assert weibo_length("https://www.hanyin.gov.cn/s/abcdefg" + "x" * 40) == 18 + 20


@pytest.mark.parametrize("name", ["sample", "gongshi", "policy", "jiedu"])
def test_posts_fit_140_with_the_link_and_carry_topics_outside_the_text(ctx_of, store, name: str) -> None:  # type: ignore[no-untyped-def]
    """≤ 140 counted with the link; the link is the weibo short link; no #话题# in status; topics as facts."""
    record = load_record(name)
    ctx = ctx_of(record)
    r = render_weibo(record, ctx, store)
    text = r.facts["text"]
    assert weibo_length(text) == r.facts["chars"] <= LIMIT
    assert ctx.short_url("weibo") in text
    assert "#" not in text
    assert r.facts["topics"][0] == "政务公开"
    assert text.startswith("【" + "·".join(r.facts["topics"]) + "】")
    if record.domain:
        assert record.domain in r.facts["topics"]
    pic = Image.open(io.BytesIO(r.files["pic"].path.read_bytes()))
    assert pic.format == "JPEG" and pic.width == 1080 and r.files["pic"].bytes < 5 * 1024 * 1024


def test_a_very_long_title_is_shortened_at_a_clause_with_an_ellipsis(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """Generated text is a draft: it drops the summary, then cuts the title; the link carries the rest."""
    record = Record(id="x", title="关于进一步加强基层政务公开，全面提升政务服务水平，" * 10)
    text = render_weibo(record, ctx_of(record), store).facts["text"]
    assert weibo_length(text) <= LIMIT and "…" in text


def test_an_override_with_a_topic_or_over_140_is_an_error(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """An editor's text is never cut: #话题# or more than 140 raises RenderError naming the rule."""
    record = load_record("sample")
    tagged = record.model_copy(update={"overrides": {"weibo": ChannelOverride(text="#政务公开# 五公开措施来了")}})
    with pytest.raises(RenderError, match="#话题#"):
        render_weibo(tagged, ctx_of(tagged), store)
    long = record.model_copy(update={"overrides": {"weibo": ChannelOverride(text="长" * 130)}})
    with pytest.raises(RenderError, match=r"> limit 140"):
        render_weibo(long, ctx_of(long), store)


def test_an_override_wins_and_gets_the_link_appended(ctx_of, store) -> None:  # type: ignore[no-untyped-def]
    """The share API needs a link on the safe domain: it is added when the editor left it out."""
    record = load_record("sample").model_copy(update={"overrides": {"weibo": ChannelOverride(text="五公开措施来了")}})
    ctx = ctx_of(record)
    assert render_weibo(record, ctx, store).facts["text"] == f"五公开措施来了 {ctx.short_url('weibo')}"


@pytest.mark.parametrize("name", ["sample", "gongshi", "policy", "jiedu"])
def test_the_post_never_repeats_the_title_and_always_carries_the_summary(ctx_of, store, name: str) -> None:  # type: ignore[no-untyped-def]
    """Issue 11: not title + link alone, and not the title twice (the picture card carries it)."""
    from hub.renderers.summary import summarize

    record = load_record(name)
    text = render_weibo(record, ctx_of(record), store).facts["text"]
    assert record.title not in text
    summary = summarize(record).text
    assert summary[:20] in text
