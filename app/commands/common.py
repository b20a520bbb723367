"""What the headless commands share: opening seatsync's data, finding a company, tables."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from app.commands.render import table
from app.errors import SeatsyncError

if TYPE_CHECKING:
    from app.bootstrap import Context
    from app.services.sync.service import RunSummary


class UnknownCompany(SeatsyncError):
    """No company of seatsync's matches"""


_opened: Context | None = None


def use_context(context: Context | None) -> None:
    """Run the commands on this context (the demo and tests); None: open the user's data."""
    global _opened
    _opened = context


@contextmanager
def app_context() -> Iterator[Context]:
    if _opened is not None:
        yield _opened
        return
    from app.bootstrap import open_context

    context = open_context()
    try:
        yield context
    finally:
        context.close()


def resolve_company(context: Context, text: str | None) -> int | None:
    """A company by seatsync id, PSA id or name (case-insensitive); None for all."""
    if text is None:
        return None
    companies = context.companies.all()
    wanted = text.strip().casefold()
    for test in (lambda c: str(c.id) == wanted, lambda c: c.psa_id == wanted, lambda c: c.name.casefold() == wanted):
        found = [c for c in companies if test(c)]
        if len(found) == 1:
            return found[0].id
    close = [c.name for c in companies if wanted in c.name.casefold()][:5]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UnknownCompany(f"{text!r}{hint}")


def summary_table(summary: RunSummary) -> str:
    """One row per tenant, then each failure in full (what failed and what to do)."""
    if not summary.results:
        return "No tenant to sync: add companies first."
    rows = [(r.name or r.tenant_id, r.status.value, len(r.go) if summary.dry_run else len(r.applied),
             len(r.held), len(r.findings)) for r in summary.results]
    head = ("Tenant", "Status", "Planned" if summary.dry_run else "Written", "Held", "Findings")
    parts = [table(head, rows, right=(2, 3, 4))]
    problems = [f"  {r.name or r.tenant_id}: {r.error}" for r in summary.results if r.error]
    if problems:
        parts.append("Problems:\n" + "\n".join(problems))
    parts.append(f"{len(summary.results)} tenant(s): {summary.writes} write(s), {summary.held} held for approval, "
                 f"{len(summary.failed)} failed.")
    return "\n\n".join(parts)


def progress_bar(total: int, stream=sys.stderr):  # noqa: ANN001
    """A text progress bar on stderr, advanced once per finished tenant."""
    done = 0

    def step(_result: object) -> None:
        nonlocal done
        done += 1
        width = 30
        filled = width * done // max(total, 1)
        stream.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} tenants")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return step


def print_rows(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    print(table(headers, rows))
