"""What the headless commands share: opening seatsync's data, finding a company, tables, progress."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from app.commands.render import printable, table
from app.errors import SeatsyncError

if TYPE_CHECKING:
    from app.services.container import Services
    from app.services.sync.service import RunSummary

#: What every error line of the headless commands starts with, once.
PREFIX = "seatsync:"


class UnknownCompany(SeatsyncError):
    """No company of seatsync's matches"""


class BadArguments(SeatsyncError):
    """The command cannot run as given (exit code 2); the message says what to change."""

    @property
    def message(self) -> str:  # the specifics say it all
        return self.detail or super().message


_opened: Services | None = None


def use_context(context: Services | None) -> None:
    """Run the commands on this context (the demo and tests); None: open the user's data."""
    global _opened
    _opened = context


@contextmanager
def app_context() -> Iterator[Services]:
    if _opened is not None:
        yield _opened
        return
    from app.bootstrap import open_context

    context = open_context()
    try:
        yield context
    finally:
        context.close()


def resolve_company(context: Services, text: str | None) -> int | None:
    """A company by seatsync id, PSA id or name (case-insensitive); None for all."""
    if text is None:
        return None
    companies = context.uow.companies.all()
    wanted = text.strip().casefold()
    for test in (lambda c: str(c.id) == wanted, lambda c: c.psa_id == wanted, lambda c: c.name.casefold() == wanted):
        found = [c for c in companies if test(c)]
        if len(found) == 1:
            return found[0].id
    close = [c.name for c in companies if wanted in c.name.casefold()][:5]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UnknownCompany(f"{text!r}{hint}")


def summary_table(summary: RunSummary) -> str:
    """One row per tenant, then what went wrong: why the run stopped (said once), then each other failure."""
    from app.services.sync.findings import grouped, needing_attention  # a run's, not --help's import

    if not summary.results:
        return "No tenant to sync: add companies first."
    rows = [(r.name or r.tenant_id, r.status.value, len(r.go) if summary.dry_run else len(r.applied),
             len(r.held), len(r.findings)) for r in summary.results]
    head = ("Tenant", "Status", "Planned" if summary.dry_run else "Written", "Held", "Findings")
    parts = [table(head, rows, right=(2, 3, 4))]
    problems = [f"  {printable(problem)}" for problem in summary.problems()]  # why the run stopped, once
    if problems:
        parts.append("Problems:\n" + "\n".join(problems))
    findings = [f for r in summary.results for f in r.findings]
    if findings:  # each one needing attention, named by tenant; those for information counted
        names = {r.tenant_id: r.name or r.tenant_id for r in summary.results}
        lines = [line for group in grouped(findings)
                 for line in group.lines(lambda f: names.get(f.tenant_id, f.tenant_id), each=group.text.attention)]
        parts.append("Findings:\n" + "\n".join(f"  {printable(line)}" for line in lines))
    attention = needing_attention(findings)
    parts.append(f"{len(summary.results)} tenant(s): {summary.writes} write(s), {summary.held} held for approval, "
                 f"{len(summary.failed)} failed" + (f", {attention} finding(s) need attention." if attention else "."))
    return "\n\n".join(parts)


def error_line(error: BaseException | str) -> str:
    """The error's message after one "seatsync: " (a message that starts with it keeps only one)."""
    text = str(error).strip()
    while text[: len(PREFIX)].lower() == PREFIX:
        text = text[len(PREFIX):].lstrip()
    return f"{PREFIX} {text}"


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal a person watches (not a pipe, a file, a log or cron's mail)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def progress_bar(total: int, stream: TextIO | None = None) -> Callable[[object], None] | None:
    """A text progress bar on ``stream`` (stderr), advanced once per finished tenant.

    None when the stream is not a terminal: logs and cron's mail get the summary only.
    """
    out = sys.stderr if stream is None else stream
    if not is_terminal(out):
        return None
    done = 0

    def step(_result: object) -> None:
        nonlocal done
        done += 1
        width = 30
        filled = width * done // max(total, 1)
        out.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} tenants")
        if done >= total:
            out.write("\n")
        out.flush()

    return step


def confirmed(question: str) -> bool:
    """A person's yes on the terminal (anything else, or Ctrl+D, is no)."""
    try:
        return input(question).strip().lower() in ("y", "yes")
    except EOFError:
        print()
        return False
