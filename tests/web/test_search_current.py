"""Search kept current at publish time: the index follows the workflow, a citizen's search never builds it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from web_helpers import TestClient, make_record, publish_directly


def indexed_versions() -> set[str]:
    from hub.store.db import session_scope
    from hub.store.models import SearchDocRow

    with session_scope() as s:
        return set(s.scalars(select(SearchDocRow.version)))


def test_the_first_search_after_a_publish_builds_nothing(client: TestClient, users: list[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.web import search

    version = publish_directly(make_record())
    assert version in indexed_versions()  # indexed by the publish transition itself

    def no_build(*_: object, **__: object) -> str:
        raise AssertionError("a search request segmented a document: it built the index")

    monkeypatch.setattr(search, "document_text", no_build)
    html = client.get("/search", params={"q": "补偿款"}).text
    assert "汉阴县2026年第一批征地补偿公示" in html and "共找到 <strong>1</strong> 条结果" in html


def test_a_withdrawn_record_leaves_the_search_index_in_the_withdrawal_itself(client: TestClient,
                                                                             users: list[str]) -> None:
    from hub import workflow
    from hub.store.db import session_scope

    version = publish_directly(make_record())
    with session_scope() as s:
        workflow.withdraw(s, version, "office", comment="数据有误")
    assert version not in indexed_versions()
    assert "共找到 <strong>0</strong>" in client.get("/search", params={"q": "补偿款"}).text


def test_sync_catches_up_versions_published_around_the_workflow(client: TestClient, users: list[str]) -> None:
    """Rows marked published without the workflow (an old database, a bulk import) are added by ``sync``."""
    from hub.store.db import session_scope
    from hub.store.models import SearchDocRow
    from hub.web import search

    version = publish_directly(make_record())
    with session_scope() as s:
        search.unindex(s, [version])
        assert s.get(SearchDocRow, version) is None
        assert search.sync(s) == 1
    assert version in indexed_versions()
