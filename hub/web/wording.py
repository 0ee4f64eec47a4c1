"""Refusals in the editor's language: the hub's typed errors as the console shows them.

The workflow, the role matrix and the renderers word their errors for the CLI
and the logs (``author (author) may not record.approve …``, ``wechat: title is
40 characters > limit 32``). An editor reads Chinese, so the console translates
at its edge, here, with one table of patterns; a message no pattern knows keeps
its text behind a Chinese lead-in rather than reaching the page bare.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from hub.web.pages import ROLE_NAMES, STATE_NAMES

VERBS = {"submit": "提交审核", "approve": "审核通过", "reject": "退回", "publish": "发布", "withdraw": "撤回"}
ACTIONS = {
    "record.view": "查看信息", "record.create": "新建信息", "record.edit": "修改信息", "record.submit": "提交审核",
    "record.approve": "审核通过", "record.reject": "退回", "finding.waive": "豁免检查结果", "record.publish": "发布",
    "record.withdraw": "撤回", "record.urge": "督办", "delivery.view": "查看发布情况", "delivery.retry": "重试发送",
    "delivery.cancel": "取消发送", "recipients.view": "查看短信接收人", "audit.view": "查看审计日志",
    "users.manage": "管理账号", "channels.manage": "管理渠道账号", "tv.collect": "电视台取片",
}
#: renditions that are not one channel's own kind (a channel's kind reads as the channel's label)
_KIND_LABELS = {"summary": "摘要", "print": "报纸版面", "qr": "二维码", "video": "电视节目包"}


def kind_label(kind: str) -> str:
    """What an editor calls a rendition kind (微信公众号, 政务微博, 摘要…): channel labels come from the registry."""
    from hub.channels.registry import labels

    return _KIND_LABELS.get(kind) or labels().get(kind, kind)


_CJK = re.compile(r"[\u4e00-\u9fff]")


def _state(s: str) -> str:
    return STATE_NAMES.get(s, s)


def _states(listed: str) -> str:
    return "、".join(f"“{_state(x.strip())}”" for x in listed.split(","))


Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]
RULES: list[Rule] = [
    (re.compile(r"^(\S+) \((\w+)( \(inactive\))?\) may not ([\w.]+)(?: for records of (.+))?$"),
     lambda m: f"{m[1]}（{ROLE_NAMES.get(m[2], m[2])}{'，已停用' if m[3] else ''}）无权{ACTIONS.get(m[4], m[4])}"
               + (f"（“{m[5]}”的信息）" if m[5] else "") + "。"),
    (re.compile(r"^sign in to .+$"), lambda m: "请先登录。"),
    (re.compile(r"^cannot (\w+) \S+: it is (\w+) \(only from (.+)\)$"),
     lambda m: f"无法{VERBS.get(m[1], m[1])}：该信息当前为“{_state(m[2])}”，只有{_states(m[3])}状态可以{VERBS.get(m[1], m[1])}。"),
    (re.compile(r"^cannot (\w+) \S+: superseded by version (\w+)$"),
     lambda m: f"无法{VERBS.get(m[1], m[1])}：该版本已被新版本 {m[2]} 取代，请打开最新版本办理。"),
    (re.compile(r"^\S+ cannot (\w+) \S+: it is their own record$"),
     lambda m: f"不能{VERBS.get(m[1], m[1])}本人撰写的信息，需由其他审核人办理。"),
    (re.compile(r"^\S+ cannot waive findings of \S+: it is their own record$"),
     lambda m: "不能豁免本人撰写信息的检查结果，需由其他审核人办理。"),
    (re.compile(r"^cannot approve \S+: (\d+) blocking finding\(s\) not waived: .*$"),
     lambda m: f"无法审核通过：还有 {m[1]} 项必须处理的检查问题，请遮盖、修改或逐项豁免。"),
    (re.compile(r"^(\w+) needs a comment saying why$"), lambda m: f"{VERBS.get(m[1], m[1])}需要填写意见。"),
    (re.compile(r"^cannot \w+ \S+: someone changed it meanwhile; reload and retry$"),
     lambda m: "该信息刚被他人办理，请刷新页面后再试。"),
    (re.compile(r"^a waiver needs a reason$"), lambda m: "豁免需要填写理由。"),
    (re.compile(r"^cannot waive finding \d+: \S+ is (\w+)$"),
     lambda m: f"该信息已是“{_state(m[1])}”，不能再豁免检查结果。"),
    (re.compile(r"^finding \d+ was already waived by (\S+)$"), lambda m: f"该检查结果已由 {m[1]} 豁免。"),
    (re.compile(r"^unknown user (\S+)$"), lambda m: f"账号 {m[1]} 不存在。"),
    (re.compile(r"^(\w+): (?:override )?title is (\d+) characters > limit (\d+).*$"),
     lambda m: f"{kind_label(m[1])}标题 {m[2]} 字，超过上限 {m[3]} 字，请缩短。"),
    (re.compile(r"^(\w+): digest is (\d+) characters > limit (\d+).*$"),
     lambda m: f"{kind_label(m[1])}摘要 {m[2]} 字，超过上限 {m[3]} 字，请缩短。"),
    (re.compile(r"^(\w+): (?:override|content) is (\d+) characters (?:>|≥) limit (\d+).*$"),
     lambda m: f"{kind_label(m[1])}正文 {m[2]} 字，超过上限 {m[3]} 字，请缩短。"),
    (re.compile(r"^sms: override does not match the approved template.*$"),
     lambda m: "短信改写与已备案的短信模板不一致：只能修改模板中的参数部分。"),
    (re.compile(r"^sms: parameter \{(\d+)\} \((\w+)\) .* is (\d+) characters.*$"),
     lambda m: f"短信模板第 {m[1]} 个参数为 {m[3]} 字，超过模板允许的长度。"),
    (re.compile(r"^sms: parameter \{(\d+)\} \((\w+)\) is empty$"), lambda m: f"短信模板第 {m[1]} 个参数为空。"),
    (re.compile(r"^sms: parameter \{(\d+)\} .* contains a URL.*$"),
     lambda m: f"短信模板第 {m[1]} 个参数含有网址：网址只能放在模板固定文字中。"),
    (re.compile(r"^sms: (\d+) segments > budget (\d+).*$"),
     lambda m: f"短信长度为 {m[1]} 条（计费条数），超过上限 {m[2]} 条，请缩短。"),
]


def in_chinese(message: str) -> str:
    """``message`` as an editor should read it (already-Chinese messages pass through)."""
    text = message.strip()
    for pattern, words in RULES:
        m = pattern.match(text)
        if m is not None:
            return words(m)
    if _CJK.search(text):
        return text
    return f"操作未能完成（{text}）。请联系政务公开办或技术人员。"
