"""Progress for long work: a bar on a terminal, plain lines otherwise (CI logs, pipes)."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager


@contextmanager
def progress_reporter(enabled: bool = True, stream=None):
    """Yields a callback (stage, done, total). Draws on stderr so stdout stays parseable."""
    stream = stream or sys.stderr
    if not enabled:
        yield lambda stage, done, total: None
        return
    if stream.isatty():
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        tasks: dict[str, int] = {}
        with Progress(TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                      TimeRemainingColumn(), console=Console(file=stream), transient=False) as bar:
            def update(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            yield update
        return

    last: dict[str, float] = {}

    def lines(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done in (0, total) or now - last.get(stage, 0) >= 1.0:
            last[stage] = now
            print(f"{stage}: {done}/{total}", file=stream, flush=True)

    yield lines
