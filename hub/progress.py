"""Progress bars for long CLI work the user waits on (video render, SMS fan-out, bulk ingest, metrics).

Why one module on ``rich.progress``: the bars are drawn by rich (thread-safe,
redrawn in place, ETA), and the rule of *when* to draw is here once: only when
stderr is a terminal and nothing asked for machine output. A CI log, a service
journal, a pipe or ``--json`` gets no bar and no escape codes; the work is the
same either way.
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def on_terminal(console: Console | None = None) -> bool:
    """Whether a bar may be drawn: stderr is an interactive terminal (rich's own test, ``TERM=dumb`` too)."""
    console = console or Console(stderr=True)
    return console.is_terminal and not console.is_dumb_terminal


class Bar:
    """One task's bar: ``update(done)`` or ``advance(n)``; ``close()`` (or ``with``) ends it.

    ``enabled=None`` draws only on a terminal; ``False`` never (``--json``); ``True``
    always (a caller that knows better). ``count=True`` shows ``done/total`` (items)
    instead of a percentage (seconds of video).
    """

    def __init__(self, label: str, total: float, *, enabled: bool | None = None, count: bool = False,
                 console: Console | None = None) -> None:
        console = console or Console(stderr=True)
        self.enabled = on_terminal(console) if enabled is None else enabled
        self._progress: Progress | None = None
        if not self.enabled:
            return
        amount = MofNCompleteColumn() if count else TaskProgressColumn()
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), amount, TimeElapsedColumn(),
                                  TimeRemainingColumn(), console=console)
        self._task = self._progress.add_task(label, total=max(total, 1e-6) if not count else total)
        self._progress.start()

    def update(self, done: float, *, total: float | None = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total)

    def advance(self, n: float = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def close(self) -> None:
        """Stop drawing; the bar stays where the work got to (a timeout is not shown as done)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
