"""``hub phone-key status | rotate [--batch N]``: which key holds the stored phone numbers, and re-encryption.

Thin: everything is in ``hub.audience.phones``. Rotation in practice: put the new
key first in ``HUB_PHONE_KEY`` (``new,old``) everywhere the hub runs, run
``hub phone-key rotate`` (resumable: run it again after an interruption), check
``hub phone-key status`` shows nothing left on the old key, then drop the old key —
unless ``phone_hash`` is keyed by it (no ``HUB_PHONE_HASH_KEY``), which ``status``
says. Nothing here prints a number or a key.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import Progress

from hub.audience import phones
from hub.cli import app, clean_errors
from hub.commands.subscribers import _actor  # the one "cli:<user>" audit actor of the SMS audience commands
from hub.store import repo
from hub.store.db import session_scope

key_app = typer.Typer(help="手机号加密密钥（HUB_PHONE_KEY）：各密钥下的号码数、轮换后重新加密。", no_args_is_help=True)
app.add_typer(key_app, name="phone-key")

_KINDS = {"current": "最新密钥", "older": "旧密钥", "fernet": "旧格式（Fernet）", "unknown": "无法识别的密钥"}


def _print_status(as_json: bool) -> int:
    with session_scope() as s:
        usage = phones.key_usage(s)
    source = phones.index_key_source()
    if as_json:
        typer.echo(json.dumps({"tables": usage.tables, "pending": usage.pending, "index_key": source},
                              ensure_ascii=False, indent=2))
        return usage.pending
    for table, counts in usage.tables.items():
        shown = "，".join(f"{_KINDS[k]} {n}" for k, n in counts.items())
        typer.echo(f"{table}: {shown}")
    if usage.pending:
        typer.echo(f"尚有 {usage.pending} 个号码不在最新密钥下：运行 `hub phone-key rotate`。")
    else:
        typer.echo("所有号码都在最新密钥下：旧密钥已不用于解密。")
    if source != phones.PHONE_HASH_KEY_ENV:
        typer.echo(f"注意：号码索引（phone_hash）的密钥取自 {phones.PHONE_KEY_ENV} 的最后一个密钥，"
                   "该密钥须留在列表末尾；要完全去掉它，需先设置 HUB_PHONE_HASH_KEY 并重建索引（尚无命令）。")
    return usage.pending


@key_app.command("status")
@clean_errors
def status(as_json: Annotated[bool, typer.Option("--json", help="输出 JSON。")] = False) -> None:
    """各表中的号码分别在哪个密钥下（只读报文头，不解密）；有待轮换的号码时退出码为 1。"""
    if _print_status(as_json):
        raise typer.Exit(1)


@key_app.command("rotate")
@clean_errors
def rotate(batch: Annotated[int, typer.Option(min=1, max=10_000, help="每个事务重新加密的行数。")] = 500) -> None:
    """把所有号码用 HUB_PHONE_KEY 的第一个（最新）密钥重新加密；分批提交，中断后再次运行即可继续。"""
    with session_scope() as s:
        usage = phones.key_usage(s)
    total = sum(sum(c.values()) for c in usage.tables.values())
    with Progress(transient=True) as bar:
        task = bar.add_task("重新加密手机号", total=total)
        report = phones.rotate_stored(session_scope, batch=batch,
                                      progress=lambda _table, n: bar.advance(task, n))
    with session_scope() as s:
        repo.audit(s, _actor(), "phone_key.rotate", "phone_enc", rotated=sum(report.rotated.values()),
                   current=sum(report.current.values()))
    for table in report.rotated:
        typer.echo(f"{table}: 重新加密 {report.rotated[table]}，原已在最新密钥下 {report.current[table]}")
    _print_status(False)
