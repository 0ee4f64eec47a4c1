"""Personal data in citizens' text: masked for staff, removed for publication, and the gate that refuses it."""

from __future__ import annotations

import pytest
from consultkit import id_number

from hub.consult.privacy import REMOVED, deidentify, mask_text, publication_findings


def test_staff_see_validated_numbers_masked_and_other_numbers_as_written() -> None:
    idn = id_number()
    masked, changed = mask_text(f"身份证{idn}，手机139 1234 5678，补贴3.8万元，文号汉政发〔2026〕12号")
    assert changed and idn not in masked and "139****5678" in masked
    assert "3.8万元" in masked and "〔2026〕12号" in masked
    assert mask_text("没有个人信息的问题")[1] is False


@pytest.mark.parametrize("text", [
    "我叫李四，想问补贴的事", "联系人李四", "家住城关镇五一村三组", "住新华路12号", "电话13912345678",
    "卡号6222021234567890128", "编号 1234 5678 9012", "139****5678",
])
def test_de_identification_leaves_nothing_the_gate_refuses(text: str) -> None:
    cleaned = deidentify(text, names=["李四"])
    assert publication_findings(cleaned, names=["李四"]) == [], cleaned
    assert "李四" not in cleaned


def test_the_gate_refuses_a_number_or_the_askers_name_typed_back_in() -> None:
    assert publication_findings("请拨打13912345678咨询") != []
    assert publication_findings("王五您好，补贴已发放", names=["王五"]) != []
    assert publication_findings("住在五一村三组") != []
    assert publication_findings("补贴每亩3.8万元，已于11月发放。") == []
    assert REMOVED in deidentify("电话13912345678")
