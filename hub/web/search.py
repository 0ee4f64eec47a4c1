"""Chinese full-text search of the portal: jieba-segmented text in SQLite FTS5 or PostgreSQL.

Chinese has no spaces, so neither SQLite's ``unicode61`` tokenizer nor
PostgreSQL's ``simple`` configuration can find words in it. We segment with
jieba (search mode, which also emits the shorter words inside long ones) and
store the tokens separated by spaces in ``search_docs``; the database then only
has to match whole tokens:

- SQLite: an FTS5 table ``search_fts`` mirrors ``search_docs`` (ranked by bm25,
  title weighted ×10);
- PostgreSQL: a GIN index over ``to_tsvector('simple', tokens)`` (ranked by ts_rank).

Neither the FTS5 virtual table nor an expression GIN index can be declared in
the SQLAlchemy models, so ``ensure_index`` creates them with ``IF NOT EXISTS``
at start-up (and lazily before the first write): idempotent, safe to run from
every process. The index is derived data kept current by the workflow itself, never
by a citizen's request (issue 19: the first search after publishing 1,000 records took
12 s): the publish transition writes a ``search_pending`` row in its own transaction
(``index_after_commit``), so the intent commits with the publication; right after the
commit the version is segmented (outside SQLite's write lock) and its document written
through ``session_scope`` (``BEGIN IMMEDIATE``), retried while another writer holds the
lock (``hub.store.db.retry_locked``); if that still fails, the pending row stays and
every maintenance pass (``hub.queue.runtime``) writes what is pending (``index_pending``).
The withdrawal drops the version in its own transaction (``unindex``). ``sync`` catches
an index up with what is published (a database from before this, or rows written around
the workflow) and is never called from a request.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

import jieba
from sqlalchemy import Engine, delete, event, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hub.record import Record
from hub.store.models import SearchDocRow, SearchPendingRow, VersionRow
from hub.timeutil import utcnow

log = logging.getLogger(__name__)

_READY: set[str] = set()
_LOCK = threading.Lock()
#: Tokens made only of punctuation or spaces carry no meaning for search.
_WORDISH = re.compile(r"\w", re.UNICODE)
#: The longest query we segment (a pasted paragraph is cut, not refused).
MAX_QUERY_CHARS = 100
_FTS_DDL = ("CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
            "version UNINDEXED, title, tokens, tokenize = 'unicode61')")


def warm_up() -> None:
    """Load jieba's dictionary in the background (≈1 s) so the first search is not slow."""
    threading.Thread(target=jieba.initialize, name="jieba-init", daemon=True).start()


def ensure_index(engine: Engine) -> None:
    """Create the dialect's full-text structure over ``search_docs`` if it is missing (idempotent)."""
    key = str(engine.url)
    if key in _READY:
        return
    with _LOCK:
        if key in _READY:
            return
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(text(_FTS_DDL))
            elif engine.dialect.name == "postgresql":
                conn.execute(text("CREATE INDEX IF NOT EXISTS ix_search_docs_tsv ON search_docs "
                                  "USING gin (to_tsvector('simple', tokens))"))
        _READY.add(key)


def _ensure_in(session: Session) -> None:
    """``ensure_index`` from inside a writing transaction: on SQLite through the session's own connection
    (another connection would wait for this transaction's write lock)."""
    engine: Engine = session.get_bind()  # type: ignore[assignment]
    if str(engine.url) in _READY:
        return
    if engine.dialect.name == "sqlite":
        session.execute(text(_FTS_DDL))
    else:
        ensure_index(engine)


def segment(value: str) -> list[str]:
    """Jieba search-mode tokens, lower-cased, without punctuation-only tokens."""
    return [t.lower() for t in jieba.cut_for_search(value) if t.strip() and _WORDISH.search(t)]


def _query_tokens(query: str) -> list[str]:
    """Tokens of a query in precise mode (whole words; search mode indexed them too), deduplicated."""
    seen: list[str] = []
    for t in jieba.cut(query[:MAX_QUERY_CHARS]):
        t = t.strip().lower()
        if t and _WORDISH.search(t) and t not in seen:
            seen.append(t)
    return seen[:20]


def document_text(record: Record) -> str:
    """What a citizen may search for: title, numbers, department, places and the whole body."""
    parts = [record.title, record.index_no or "", record.doc_no or "", record.department or "",
             record.domain or "", record.item or "", record.region or "", record.stage or "",
             *record.addressees, *record.body_text(), *(a.name for a in record.attachments)]
    return "\n".join(p for p in parts if p)


_PENDING = "hub.search.pending"
#: How long the write right after a publish is retried while another writer holds SQLite's lock (counted from
#: the first try, whose busy timeout is 5 s: so at least one more try); then the maintenance pass writes it.
AFTER_COMMIT_RETRY_S = 8.0
#: Pending versions indexed per maintenance pass (each is segmented, ≈1 ms a page of text).
PENDING_BATCH = 200


def index_after_commit(session: Session, version: str) -> None:
    """Have ``version`` indexed: a ``search_pending`` row in ``session``'s transaction (the publish transition's),
    then the document written right after that transaction commits.

    The pending row commits with the publication, so the intent cannot be lost: if the write after the
    commit fails (a writer held SQLite's lock past the retries, the process died), the next maintenance pass
    writes it (``index_pending``). After the commit, not inside: segmenting a long document (and loading
    jieba's dictionary, ≈1 s, the first time in a process) inside the publishing transaction would hold
    SQLite's write lock meanwhile.
    """
    if session.get(SearchPendingRow, version) is None:
        session.add(SearchPendingRow(version=version, queued_at=utcnow()))
    session.info.setdefault(_PENDING, set()).add(version)


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


@event.listens_for(Session, "after_commit")
def _index_after_commit(session: Session) -> None:
    pending: set[str] = session.info.pop(_PENDING, set())
    if pending:
        index_pending(_engine_of(session), versions=sorted(pending), retry_s=AFTER_COMMIT_RETRY_S)


def index_pending(engine: Engine | None = None, *, versions: list[str] | None = None,
                  retry_s: float = AFTER_COMMIT_RETRY_S) -> int:
    """Write the search documents of pending versions (``versions``, else the oldest ``PENDING_BATCH``); how many.

    Read and segmented outside any transaction; then one write transaction through the project's write path
    (``session_scope``: ``BEGIN IMMEDIATE`` on SQLite) writes the documents and deletes their pending rows,
    retried while the database is locked (``retry_locked``). A version no longer published only loses its
    pending row. When the write still fails, the pending rows stay and the next maintenance pass
    (``hub.queue.runtime``) tries again: never a citizen's request.
    """
    from hub.store.db import get_engine, read_scope, retry_locked, session_scope
    from hub.store.repo import record_of

    engine = engine or get_engine()
    url = engine.url.render_as_string(hide_password=False)
    try:
        with read_scope(url) as conn, Session(bind=conn) as reader:
            query = select(SearchPendingRow.version)
            if versions is not None:
                query = query.where(SearchPendingRow.version.in_(versions))
            wanted = list(reader.scalars(query.order_by(SearchPendingRow.queued_at).limit(PENDING_BATCH)))
            rows = [(v, reader.get(VersionRow, v)) for v in wanted]
            docs = [(v, row.record_id, row.title, record_of(row)) for v, row in rows
                    if row is not None and row.state == "published"]
        if not wanted:
            return 0
        segmented = [(v, rid, title, " ".join(segment(document_text(r))), " ".join(segment(r.title)))
                     for v, rid, title, r in docs]  # before the write transaction starts

        def write() -> int:
            written = 0
            with session_scope(url) as s:
                for version, record_id, title, tokens, title_tokens in segmented:
                    if s.scalar(select(VersionRow.state).where(VersionRow.version == version)) == "published":
                        written += int(_write_doc(s, version, record_id, title, tokens, title_tokens))
                s.execute(delete(SearchPendingRow).where(SearchPendingRow.version.in_(wanted)))
            return written

        return retry_locked(write, budget=retry_s)
    except OperationalError as exc:  # the publication is committed and its pending row with it
        log.warning("search: published version(s) not indexed yet (%s); the next maintenance pass retries",
                    str(exc.orig)[:120])
        return 0


def _write_doc(session: Session, version: str, record_id: str, title: str, tokens: str, title_tokens: str) -> bool:
    _ensure_in(session)
    if session.get(SearchDocRow, version) is not None:
        return False
    session.add(SearchDocRow(version=version, record_id=record_id, title=title, tokens=tokens, updated_at=utcnow()))
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("INSERT INTO search_fts(version, title, tokens) VALUES (:v, :t, :b)"),
                        {"v": version, "t": title_tokens, "b": tokens})
    session.flush()
    return True


def index_version(session: Session, row: VersionRow) -> bool:
    """Add one version to the index in ``session``'s transaction (``sync``); False when it is there already."""
    if session.get(SearchDocRow, row.version) is not None:
        return False
    from hub.store.repo import record_of

    record = record_of(row)
    return _write_doc(session, row.version, row.record_id, row.title, " ".join(segment(document_text(record))),
                      " ".join(segment(record.title)))


def unindex(session: Session, versions: set[str] | list[str]) -> None:
    """Drop versions from the index (the withdrawal transition calls it)."""
    if not versions:
        return
    _ensure_in(session)
    session.execute(delete(SearchPendingRow).where(SearchPendingRow.version.in_(list(versions))))
    session.execute(delete(SearchDocRow).where(SearchDocRow.version.in_(list(versions))))
    if session.get_bind().dialect.name == "sqlite":
        for v in versions:
            session.execute(text("DELETE FROM search_fts WHERE version = :v"), {"v": v})


def sync(session: Session) -> int:
    """Bring the index in line with what is published now; returns how many versions changed."""
    _ensure_in(session)
    published = set(session.scalars(select(VersionRow.version).where(VersionRow.state == "published")))
    indexed = set(session.scalars(select(SearchDocRow.version)))
    gone = indexed - published
    unindex(session, gone)
    for version in sorted(published - indexed):
        row = session.get(VersionRow, version)
        if row is not None:
            index_version(session, row)
    session.flush()
    return len(gone) + len(published - indexed)


@dataclass(frozen=True, slots=True)
class Hit:
    """One search result: the version row and a snippet split into (text, is_match) parts."""

    row: VersionRow
    snippet: list[tuple[str, bool]]


def _fts_expr(tokens: list[str], joiner: str) -> str:
    return joiner.join('"' + t.replace('"', '""') + '"' for t in tokens)


def _match(session: Session, tokens: list[str], *, any_token: bool, limit: int) -> list[str]:
    """Versions matching all (or any) tokens, best first."""
    if session.get_bind().dialect.name == "sqlite":
        sql = text("SELECT version FROM search_fts WHERE search_fts MATCH :q "
                   "ORDER BY bm25(search_fts, 0.0, 10.0, 1.0) LIMIT :n")
        expr = _fts_expr(tokens, " OR " if any_token else " ")
        return [r[0] for r in session.execute(sql, {"q": expr, "n": limit})]
    words = " ".join(t.replace("'", " ") for t in tokens)
    fn = "websearch_to_tsquery" if any_token else "plainto_tsquery"
    q = " or ".join(tokens) if any_token else words
    sql = text(f"SELECT version FROM search_docs WHERE to_tsvector('simple', tokens) @@ {fn}('simple', :q) "
               f"ORDER BY ts_rank(to_tsvector('simple', tokens), {fn}('simple', :q)) DESC LIMIT :n")
    return [r[0] for r in session.execute(sql, {"q": q, "n": limit})]


def search(session: Session, query: str, *, limit: int = 50) -> list[Hit]:
    """Published records matching ``query`` (all words; any word when none has all), one hit per record."""
    tokens = _query_tokens(query)
    if not tokens:
        return []
    ensure_index(_engine_of(session))
    # a version withdrawn a moment ago may still be in another process's uncommitted view: its state decides
    versions = _match(session, tokens, any_token=False, limit=limit) or \
        _match(session, tokens, any_token=True, limit=limit)
    from hub.store.repo import record_of

    hits: list[Hit] = []
    seen: set[str] = set()
    for v in versions:
        row = session.get(VersionRow, v)
        if row is None or row.state != "published" or row.record_id in seen:
            continue
        seen.add(row.record_id)
        hits.append(Hit(row, snippet("\n".join(record_of(row).body_text()), tokens)))
    return hits


def snippet(body: str, tokens: list[str], width: int = 60) -> list[tuple[str, bool]]:
    """About ``width`` characters of ``body`` around the first match, with matches marked."""
    flat = re.sub(r"\s+", " ", body)
    lowered = flat.lower()
    found = [i for i in (lowered.find(t) for t in tokens) if i >= 0]
    start = max(0, min(found) - width // 3) if found else 0
    part = flat[start:start + width]
    pattern = re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)), re.IGNORECASE)
    out: list[tuple[str, bool]] = [("…", False)] if start > 0 else []
    pos = 0
    for m in pattern.finditer(part):
        if m.start() > pos:
            out.append((part[pos:m.start()], False))
        out.append((m.group(0), True))
        pos = m.end()
    out.append((part[pos:], False))
    if start + width < len(flat):
        out.append(("…", False))
    return out


def stats(session: Session) -> dict[str, Any]:
    """How many versions the index holds (for /metrics and the docs)."""
    return {"documents": int(session.scalar(select(func.count()).select_from(SearchDocRow)) or 0)}
