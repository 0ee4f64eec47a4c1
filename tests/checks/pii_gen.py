"""Generators of checksum-valid personal data for the checks' tests (never real people)."""

from __future__ import annotations

import random
from datetime import date, timedelta

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
REGIONS = ("610921", "110105", "310107", "440305", "510104", "610113", "420106", "330106", "230102", "650102")
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "138", "139", "145", "147", "150", "151", "152",
                   "155", "157", "158", "159", "166", "170", "173", "176", "177", "178", "180", "181", "183",
                   "186", "187", "188", "189", "191", "193", "195", "198", "199")
CARD_BINS = ("622202", "621700", "622848", "623059", "621661", "622588", "625965", "436742", "524091", "955880")


def id_number(rng: random.Random) -> str:
    """An 18-digit resident ID with a real birth date and a valid GB 11643 check character."""
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 80))
    body = f"{rng.choice(REGIONS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def luhn_complete(body: str) -> str:
    for d in "0123456789":
        candidate = body + d
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            x = int(ch) * (2 if i % 2 else 1)
            total += x - 9 if x > 9 else x
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def bank_card(rng: random.Random) -> str:
    """A Luhn-valid 16–19 digit card number with a known BIN."""
    length = rng.choice((16, 17, 18, 19))
    prefix = rng.choice(CARD_BINS)
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    return luhn_complete(body)


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + "".join(str(rng.randrange(10)) for _ in range(8))
