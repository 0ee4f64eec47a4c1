"""The narration script: what the announcer *says*, distinct from what the screen shows.

A screen can show "http://…", "〔2017〕168号", "12.5%" or "35㎡"; a voice must say
"扫描屏幕上的二维码", "二〇一七年第一百六十八号", "百分之十二点五", "三十五平方米".
``speech_text`` turns one piece of screen text into its spoken form, the way a
Chinese announcer reads it:

- URLs, e-mail addresses and "扫码/二维码" prompts → "扫描屏幕上的二维码" (once);
- 文号 ``〔2017〕168号`` / ``[2017]168号`` → "二〇一七年第一百六十八号";
- years (``2017年``, ``2017-11-15``) digit by digit with 〇; dates → 年月日; times → 点/分;
- percentages, decimals, thousands separators, ranges (``3-5``), money (元/万元/亿元);
- telephone numbers and long digit strings (≥ 5 digits without a unit) digit by digit, 一 as 幺 not used
  (government announcers read 一);
- units (km, kg, m², ㎡, ℃, %) by their Chinese names;
- Latin letters left are dropped (espeak would switch to English for them), except
  a few that announcers read as letters are kept as Chinese words (none by default).

Numbers are read with cn2an (``an2cn``), which follows the 国家标准 reading of
integers and decimals; everything else is regular expressions in this module,
because the order matters (a year must be read before its digits become a number).
"""

from __future__ import annotations

import re

import cn2an

QR_PHRASE = "扫描屏幕上的二维码"

_DIGITS = "〇一二三四五六七八九"
_URL = re.compile(r"(?:https?://|www\.)[^\s，。；、）)」』”]+|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
                  r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:cn|com|net|org|gov)(?:/[^\s，。；、）)]*)?", re.I)
_DOC_NO = re.compile(r"[〔\[［(（]\s*(\d{4})\s*[〕\]］)）]\s*(\d+)\s*号")
_DATE_DASH = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:日)?")
_YEAR = re.compile(r"(\d{4})(?=年)")
_YEAR_RANGE = re.compile(r"(\d{4})\s*[-—–~～至]\s*(\d{4})(?=年)")
_TIME = re.compile(r"(?<![\d.])(\d{1,2})[:：](\d{2})(?![\d])")
_PHONE = re.compile(r"(?<![\d.])(\d{3,4})-(\d{7,8})(?![\d])|(?<![\d.])(1\d{10})(?![\d])")
_LONG_DIGITS = re.compile(r"(?<![\d.])\d{5,}(?![\d.]|\s*(?:元|万|亿|人|户|个|项|平方|公|千|米|吨|次|名|份|件|家))")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*[%％]")
_PERMILLE = re.compile(r"(\d+(?:\.\d+)?)\s*‰")
_RANGE = re.compile(r"(\d+(?:\.\d+)?)\s*[-—–~～]\s*(\d+(?:\.\d+)?)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_QR_WORDS = re.compile(r"(?:请)?(?:扫码|扫描二维码|扫一扫二维码|扫二维码)")
_LATIN = re.compile(r"[A-Za-z]+")
#: symbols an announcer reads as words ("互联网+" is 互联网加); espeak would switch to English for them
_SYMBOLS = str.maketrans({"+": "加", "＋": "加", "&": "和", "＆": "和", "×": "乘", "=": "等于", "＝": "等于"})

#: Units an announcer reads by name (longest first so "km²" wins over "km").
UNITS: tuple[tuple[str, str], ...] = (
    ("km²", "平方公里"), ("m²", "平方米"), ("m³", "立方米"), ("㎡", "平方米"), ("㎞", "公里"),
    ("km/h", "公里每小时"), ("km", "公里"), ("kg", "千克"), ("kW·h", "千瓦时"), ("kWh", "千瓦时"),
    ("kW", "千瓦"), ("mm", "毫米"), ("cm", "厘米"), ("℃", "摄氏度"), ("°C", "摄氏度"), ("t", "吨"),
    ("m", "米"), ("g", "克"), ("L", "升"), ("h", "小时"),
)
_UNIT = re.compile(r"(\d)\s*(" + "|".join(re.escape(u) for u, _ in UNITS) + r")(?![A-Za-z])")
_UNIT_NAME = dict(UNITS)


def digits(text: str) -> str:
    """Digit by digit, 〇 for zero (how years and numbers like 文号 years are read)."""
    return "".join(_DIGITS[int(d)] for d in text if d.isdigit())


def number(text: str) -> str:
    """An Arabic number (integer or decimal) as Chinese words: 168 → 一百六十八, 12.5 → 十二点五."""
    return str(cn2an.an2cn(text, "low"))


def _qr_once(text: str) -> str:
    """A URL or a scan prompt becomes the QR phrase; two in a row say it once."""
    text = _URL.sub(QR_PHRASE, text)
    text = _QR_WORDS.sub(QR_PHRASE, text)
    text = re.sub(f"(?:{QR_PHRASE})(?:二维码)?", QR_PHRASE, text)
    text = re.sub(f"{QR_PHRASE}[，、,\\s]*(?:或|或者|并)?[，、,\\s]*(?:登录|访问|打开|进入)?[，、,\\s]*{QR_PHRASE}",
                  QR_PHRASE, text)
    # "家长可登录扫描屏幕上的二维码" → "家长可扫描屏幕上的二维码"
    text = re.sub(f"(?:登录|访问|打开|进入|浏览|查看)(?:网址|网站|网页|链接)?[：:]?\\s*{QR_PHRASE}", QR_PHRASE, text)
    # "扫描屏幕上的二维码查看全文，或扫描屏幕上的二维码" → said once in a sentence
    return re.sub(f"({QR_PHRASE}[^。！？]*?)[，,、\\s]*(?:或者|或|并)?{QR_PHRASE}", r"\1", text)


def speech_text(text: str) -> str:
    """The spoken form of ``text`` (one slide's or cue's screen text)."""
    t = _qr_once(text)
    t = _DOC_NO.sub(lambda m: f"{digits(m.group(1))}年第{number(m.group(2))}号", t)
    t = _DATE_DASH.sub(lambda m: f"{digits(m.group(1))}年{number(str(int(m.group(2))))}月"
                                 f"{number(str(int(m.group(3))))}日", t)
    t = _YEAR_RANGE.sub(lambda m: f"{digits(m.group(1))}至{digits(m.group(2))}", t)
    t = _YEAR.sub(lambda m: digits(m.group(1)), t)
    t = _TIME.sub(lambda m: f"{number(str(int(m.group(1))))}点"
                            + ("整" if m.group(2) == "00" else f"{number(str(int(m.group(2))))}分"), t)
    t = _PHONE.sub(lambda m: digits(m.group(0)), t)
    t = _THOUSANDS.sub("", t)
    t = _LONG_DIGITS.sub(lambda m: digits(m.group(0)), t)
    t = _PERCENT.sub(lambda m: f"百分之{number(m.group(1))}", t)
    t = _PERMILLE.sub(lambda m: f"千分之{number(m.group(1))}", t)
    t = _UNIT.sub(lambda m: f"{m.group(1)}{_UNIT_NAME[m.group(2)]}", t)
    t = _RANGE.sub(lambda m: f"{m.group(1)}至{m.group(2)}", t)
    t = _NUMBER.sub(lambda m: number(m.group(0)), t)
    t = t.translate(_SYMBOLS)
    t = _LATIN.sub("", t)
    t = re.sub(r"[〔〕\[\]［］【】《》“”‘’\"'|｜/\\_*#]", "", t)
    return re.sub(r"\s+", "", t)
