"""Who may do what: the one role × action matrix, passwords, and staff accounts.

Every permission decision in the hub (CLI, workflow, web console, delivery
board, TV pickup) is ``can``/``require`` against ``MATRIX`` below, so a rule is
changed in exactly one place. Authors and reviewers are department staff: they
act only on their own department's records; the office and admin see every
department.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import InputError, PermissionDenied
from hub.store.models import UserRow
from hub.store.repo import audit
from hub.timeutil import utcnow


class Role(StrEnum):
    AUTHOR = "author"  # 撰稿人: business staff of a department; writes and submits
    REVIEWER = "reviewer"  # 审核人: the department's leader; approves, rejects, waives
    OFFICE = "office"  # 政务公开办: every department; publishes, withdraws, urges (督办)
    ADMIN = "admin"  # 管理员: users and channels
    STATION = "station"  # 电视台: collects TV packages
    SYSTEM = "system"  # the hub itself (ingest, the delivery engine); never a log-in account


class Action(StrEnum):
    RECORD_VIEW = "record.view"
    RECORD_CREATE = "record.create"
    RECORD_EDIT = "record.edit"
    RECORD_SUBMIT = "record.submit"
    RECORD_APPROVE = "record.approve"
    RECORD_REJECT = "record.reject"
    FINDING_WAIVE = "finding.waive"
    RECORD_PUBLISH = "record.publish"
    RECORD_WITHDRAW = "record.withdraw"
    RECORD_URGE = "record.urge"
    RECORD_ASSIGN = "record.assign"  # choose the 公开责任部门 of a record no department answers for
    DELIVERY_VIEW = "delivery.view"
    DELIVERY_RETRY = "delivery.retry"
    DELIVERY_CANCEL = "delivery.cancel"
    RECIPIENTS_VIEW = "recipients.view"
    AUDIT_VIEW = "audit.view"
    USERS_MANAGE = "users.manage"
    CHANNELS_MANAGE = "channels.manage"
    TV_COLLECT = "tv.collect"
    ACCOUNT_SELF = "account.self"  # one's own account: change one's password


_A, _R, _O, _D, _S, _SYS = Role.AUTHOR, Role.REVIEWER, Role.OFFICE, Role.ADMIN, Role.STATION, Role.SYSTEM

#: THE matrix: which roles may take each action.
MATRIX: dict[Action, frozenset[Role]] = {
    Action.RECORD_VIEW: frozenset({_A, _R, _O, _D, _SYS}),
    Action.RECORD_CREATE: frozenset({_A, _O, _SYS}),
    Action.RECORD_EDIT: frozenset({_A, _O, _SYS}),
    Action.RECORD_SUBMIT: frozenset({_A, _O, _SYS}),
    Action.RECORD_APPROVE: frozenset({_R}),
    Action.RECORD_REJECT: frozenset({_R}),
    Action.FINDING_WAIVE: frozenset({_R}),
    Action.RECORD_PUBLISH: frozenset({_O, _SYS}),
    Action.RECORD_WITHDRAW: frozenset({_O}),
    Action.RECORD_URGE: frozenset({_O}),
    Action.RECORD_ASSIGN: frozenset({_O}),
    Action.DELIVERY_VIEW: frozenset({_A, _R, _O, _D}),
    Action.DELIVERY_RETRY: frozenset({_O}),
    Action.DELIVERY_CANCEL: frozenset({_O}),
    Action.RECIPIENTS_VIEW: frozenset({_O, _D}),
    Action.AUDIT_VIEW: frozenset({_O, _D}),
    Action.USERS_MANAGE: frozenset({_D}),
    Action.CHANNELS_MANAGE: frozenset({_D}),
    Action.TV_COLLECT: frozenset({_S}),
    Action.ACCOUNT_SELF: frozenset({_A, _R, _O, _D, _S}),
}

#: Roles confined to their own department's records.
DEPARTMENT_SCOPED: frozenset[Role] = frozenset({Role.AUTHOR, Role.REVIEWER})

#: Roles a person can hold (``system`` is the hub itself).
PERSON_ROLES: tuple[Role, ...] = (Role.AUTHOR, Role.REVIEWER, Role.OFFICE, Role.ADMIN, Role.STATION)

#: The department of the seeded demo accounts (the sample record's 公开责任部门).
DEMO_DEPARTMENT = "汉阴县人民政府办公室"


class Principal(Protocol):
    """Anything that acts: a ``UserRow`` or ``SYSTEM_USER``."""

    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def department(self) -> str | None: ...
    @property
    def active(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class SystemUser:
    name: str = "system"
    role: str = Role.SYSTEM.value
    department: str | None = None
    active: bool = True


#: The hub acting on its own (ingest without a user, the delivery engine marking published).
SYSTEM_USER = SystemUser()


def _action(action: Action | str) -> Action:
    try:
        return Action(action)
    except ValueError:
        raise ValueError(f"unknown action {action!r}; actions are listed in hub.auth.Action") from None


def can(user: Principal | None, action: Action | str, *, department: str | None = None) -> bool:
    """May ``user`` take ``action`` (on a record of ``department``)?

    ``department=None`` asks about the role only (e.g. may this user open the
    review queue at all); pass the record's department (``""`` for a record
    without one) to apply the department rule.
    """
    act = _action(action)
    if user is None or not user.active:
        return False
    try:
        role = Role(user.role)
    except ValueError:
        return False
    if role not in MATRIX[act]:
        return False
    if department is not None and role in DEPARTMENT_SCOPED:
        return bool(user.department) and user.department == department
    return True


def require(user: Principal | None, action: Action | str, *, department: str | None = None) -> None:
    """``can`` or ``PermissionDenied`` naming the user, role, action and department."""
    if can(user, action, department=department):
        return
    act = _action(action)
    if user is None:
        raise PermissionDenied(f"sign in to {act.value}")
    where = f" for records of {department or '(no department)'}" if department is not None else ""
    state = "" if user.active else " (inactive)"
    raise PermissionDenied(f"{user.name} ({user.role}{state}) may not {act.value}{where}")


# --- passwords --------------------------------------------------------------------------

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a wrong name takes as long as a wrong password.

    Made on first use: hashing costs ~0.2 s, which every CLI start would otherwise pay.
    """
    return _hasher.hash("not-a-password-of-anyone")


MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """An argon2id hash (with its own salt and parameters) of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Does ``password`` match ``password_hash``? False for a mismatch or a malformed hash."""
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, name: str, password: str) -> UserRow | None:
    """The active user ``name`` if ``password`` is theirs, else None (same cost either way).

    A hash made with older argon2 parameters is upgraded on a successful log-in.
    """
    user = session.scalars(select(UserRow).where(UserRow.name == name)).first()
    if user is None or not user.active:
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


# --- accounts ---------------------------------------------------------------------------


def get_user(session: Session, name: str) -> UserRow | None:
    return session.scalars(select(UserRow).where(UserRow.name == name)).first()


def add_user(
    session: Session,
    name: str,
    role: str,
    department: str | None,
    password: str,
    *,
    actor: Any = None,
) -> UserRow:
    """Create a staff account; the password is stored only as an argon2 hash.

    Authors and reviewers need a department (their records are their department's).
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise InputError("user name must be 1 to 100 characters")
    try:
        role_ = Role(role)
    except ValueError:
        raise InputError(
            f"unknown role {role!r}; roles: {', '.join(r.value for r in PERSON_ROLES)}"
        ) from None
    if role_ is Role.SYSTEM:
        raise InputError("role 'system' is the hub itself, not an account")
    department = (department or "").strip() or None
    if role_ in DEPARTMENT_SCOPED and department is None:
        raise InputError(f"role {role_.value} needs --department")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if get_user(session, name) is not None:
        raise InputError(f"user {name} already exists")
    user = UserRow(
        name=name,
        password_hash=hash_password(password),
        role=role_.value,
        department=department,
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    audit(session, actor, "user.add", name, role=role_.value, department=department)
    return user


def demo_password() -> str:
    """The demo accounts' password: ``HUB_DEMO_PASSWORD`` when set, else a random one made now.

    Never a literal in the code or the README: a demo database copied to a server would
    otherwise open with a published password. ``hub demo`` and ``hub serve --seed-demo`` print it.
    """
    import os
    import secrets

    return os.environ.get("HUB_DEMO_PASSWORD") or secrets.token_urlsafe(12)


def seed_demo_users(session: Session, password: str) -> list[UserRow]:
    """The demo accounts author, reviewer, office, admin and station (idempotent).

    Accounts that already exist are left exactly as they are (password included).
    """
    users = []
    for role in PERSON_ROLES:
        existing = get_user(session, role.value)
        users.append(existing or add_user(session, role.value, role.value, DEMO_DEPARTMENT, password))
    return users


# --- account management (the admin's page, and everyone's own password) -------------------------


def _require_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"密码至少 {MIN_PASSWORD_LENGTH} 位。")


def set_active(session: Session, name: str, active: bool, *, actor: Any) -> UserRow:
    """Disable (or enable again) an account: a disabled user cannot sign in, and a signed-in one is out at once.

    The sign-in already refuses inactive accounts and every request reloads the user as active
    (``hub.web.pages.load_user``), so the flag is the whole mechanism. An admin cannot disable themself.
    """
    user = get_user(session, name)
    if user is None:
        raise InputError(f"账号 {name} 不存在。")
    if not active and getattr(actor, "name", actor) == name:
        raise InputError("不能停用自己的账号。")
    user.active = active
    audit(session, actor, "user.enable" if active else "user.disable", name)
    return user


def reset_password(session: Session, name: str, *, actor: Any) -> str:
    """A new random password for ``name`` (shown once to the admin, stored only as a hash)."""
    import secrets

    user = get_user(session, name)
    if user is None:
        raise InputError(f"账号 {name} 不存在。")
    password = secrets.token_urlsafe(9)
    user.password_hash = hash_password(password)
    audit(session, actor, "user.reset_password", name)
    return password


def change_password(session: Session, name: str, current: str, new: str) -> UserRow:
    """A user changes their own password: the current one must be right, the new one long enough and different."""
    user = get_user(session, name)
    if user is None or not user.active or not verify_password(user.password_hash, current):
        raise InputError("当前密码不正确。")
    _require_password(new)
    if new == current:
        raise InputError("新密码不能与当前密码相同。")
    user.password_hash = hash_password(new)
    audit(session, name, "user.change_password", name)
    return user


def set_role(session: Session, name: str, role: str, department: str | None, *, actor: Any) -> UserRow:
    """Change an account's role and department (chosen from lists on the page; checked here again)."""
    user = get_user(session, name)
    if user is None:
        raise InputError(f"账号 {name} 不存在。")
    try:
        role_ = Role(role)
    except ValueError:
        raise InputError(f"未知角色 {role!r}。") from None
    if role_ not in PERSON_ROLES:
        raise InputError("系统角色不能分配给账号。")
    department = (department or "").strip() or None
    if role_ in DEPARTMENT_SCOPED and department is None:
        raise InputError("撰稿人和审核人必须属于一个部门。")
    user.role, user.department = role_.value, department
    audit(session, actor, "user.set_role", name, role=role_.value, department=department)
    return user


def set_email(session: Session, name: str, email: str | None, *, actor: Any) -> UserRow:
    """A staff member's work e-mail address, for 督办 notices (empty clears it)."""
    user = get_user(session, name)
    if user is None:
        raise InputError(f"账号 {name} 不存在。")
    email = (email or "").strip() or None
    if email is not None and (len(email) > 200 or "@" not in email or " " in email):
        raise InputError(f"邮箱地址 {email!r} 无效。")
    user.email = email
    audit(session, actor, "user.set_email", name, email=email)
    return user
