"""Which department answers a question: its topic (catalog item or domain, or a department chosen).

Order: ``consult.toml [routing]`` names the department of an item or a domain;
else the department that published most records of that item (then of that
domain); else the office (``office_department``). The office can reassign.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from hub.catalog import get_catalog
from hub.consult.settings import get_consult_settings
from hub.errors import InputError
from hub.store.models import UserRow, VersionRow


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic choice: kind ``item`` / ``domain`` / ``department``; ``domain`` for items too."""

    kind: str
    name: str
    domain: str | None = None

    @property
    def value(self) -> str:
        """The form value that selects this topic (``i:领域/事项``, ``d:领域``, ``p:部门``)."""
        if self.kind == "item":
            return f"i:{self.domain}/{self.name}"
        return ("d:" if self.kind == "domain" else "p:") + self.name


def departments(session: Session) -> list[str]:
    """Departments a citizen may choose: those with staff accounts or published records, and the office."""
    names = set(session.scalars(select(UserRow.department).where(UserRow.active.is_(True),
                                                                  UserRow.department.is_not(None))))
    names |= set(session.scalars(select(VersionRow.department).where(VersionRow.state == "published",
                                                                      VersionRow.department.is_not(None))))
    names.add(get_consult_settings().office_department)
    return sorted(n for n in names if n)


def topic_choices(session: Session) -> list[tuple[str, list[Topic]]]:
    """The topic list of the form: one group per catalog domain (the domain, then its items), then departments."""
    groups: list[tuple[str, list[Topic]]] = []
    for d in get_catalog().domains:
        groups.append((d.name, [Topic("domain", d.name), *(Topic("item", i.name, d.name) for i in d.items)]))
    groups.append(("按部门", [Topic("department", n) for n in departments(session)]))
    return groups


def parse_topic(session: Session, value: str) -> Topic:
    """The topic of a form value, checked against the catalog and the department list."""
    kind, _, rest = value.partition(":")
    catalog = get_catalog()
    if kind == "i":
        domain, _, item = rest.partition("/")
        d = catalog.domain(domain)
        if d is not None and d.item(item) is not None:
            return Topic("item", item, domain)
    elif kind == "d" and catalog.domain(rest) is not None:
        return Topic("domain", rest)
    elif kind == "p" and rest in departments(session):
        return Topic("department", rest)
    raise InputError("请从列表中选择咨询事项或部门")


def _most_published(session: Session, column: InstrumentedAttribute[str | None], value: str) -> str | None:
    row = session.execute(
        select(VersionRow.department, func.count().label("n"))
        .where(column == value, VersionRow.state == "published", VersionRow.department.is_not(None))
        .group_by(VersionRow.department).order_by(func.count().desc(), VersionRow.department).limit(1)).first()
    return str(row[0]) if row else None


def department_for(session: Session, topic: Topic) -> str:
    """The department that answers ``topic``."""
    settings = get_consult_settings()
    if topic.kind == "department":
        return topic.name
    if topic.kind == "item":
        found = settings.routing.items.get(topic.name) or _most_published(session, VersionRow.item, topic.name)
        if found:
            return found
    domain = topic.domain if topic.kind == "item" else topic.name
    if domain:
        found = settings.routing.domains.get(domain) or _most_published(session, VersionRow.domain, domain)
        if found:
            return found
    return settings.office_department
