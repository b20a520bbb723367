"""The first-run guide's steps, read from what is stored: which are done, which comes next.

Setting seatsync up is six steps, in this order: connect the PSA, create
billing profiles (PSA products with a price), connect Microsoft, add
companies (Partner Center customers matched to PSA companies), map licenses
to a profile and an agreement, and preview what the first sync will bill.
Each step is done when the database says so; the first step not done is the
next one. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.services.psa.factory import KINDS
from app.services.uow import UnitOfWork

#: The steps in order: (key, title).
STEPS = (("psa", "Connect your PSA"), ("profiles", "Create billing profiles"), ("microsoft", "Connect Microsoft"),
         ("companies", "Add companies"), ("mappings", "Map licenses"), ("preview", "Preview the first sync"))


class StepState(StrEnum):
    DONE = "done"
    NEXT = "next"
    TODO = "to do"


@dataclass(frozen=True, kw_only=True)
class SetupStep:
    key: str  # psa | profiles | microsoft | companies | mappings | preview
    title: str
    detail: str  # what is there, or what the step is for
    state: StepState

    @property
    def done(self) -> bool:
        return self.state is StepState.DONE


@dataclass(frozen=True)
class SetupGuide:
    steps: tuple[SetupStep, ...]

    @property
    def complete(self) -> bool:
        return all(step.done for step in self.steps)

    @property
    def done(self) -> int:
        return sum(1 for step in self.steps if step.done)

    @property
    def psa_connected(self) -> bool:
        return self.step("psa").done

    def step(self, key: str) -> SetupStep:
        return next(step for step in self.steps if step.key == key)


def _plural(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def read_guide(uow: UnitOfWork, *, previewed: bool = False) -> SetupGuide:
    """The steps as stored now. ``previewed``: the first sync's preview was opened (the window remembers it);
    a sync that has run counts as previewed too."""
    psas = uow.psa_connections.all()
    profiles = uow.profiles.all()
    microsoft = uow.microsoft_connections.all()
    companies = uow.tenants.linked_companies()  # counted, not read: 5,000 companies and 40,000 mappings are common
    mappings = uow.mappings.count()
    synced = uow.runs.last_finished() is not None
    names = ", ".join(f"{KINDS[p.kind].label if p.kind in KINDS else p.kind} '{p.name}'" for p in psas)
    found = [
        ("psa", bool(psas),
         f"Connected: {names}" if psas else "ConnectWise PSA, Autotask or HaloPSA: where the agreements are billed."),
        ("profiles", bool(profiles),
         _plural(len(profiles), "billing profile", "billing profiles") if profiles else
         "A profile is a PSA product and its price; every license is billed through one."),
        ("microsoft", bool(microsoft),
         f"Partner tenant {microsoft[0].partner_tenant_id}" if microsoft else
         "The partner's app in Microsoft Entra ID, to read each customer's licenses."),
        ("companies", bool(companies),
         _plural(companies, "company", "companies") + " with a tenant" if companies else
         "Match your Partner Center customers to PSA companies."),
        ("mappings", bool(mappings),
         _plural(mappings, "license mapped", "licenses mapped") if mappings else
         "Give each license a billing profile and an agreement."),
        ("preview", previewed or synced,
         "A sync has run." if synced else "Seen: what each license should bill." if previewed else
         "See what each license should bill before anything is written to the PSA."),
    ]
    titles = dict(STEPS)
    steps, next_found = [], False
    for key, done, detail in found:
        if done:
            state = StepState.DONE
        elif not next_found:
            state, next_found = StepState.NEXT, True
        else:
            state = StepState.TODO
        steps.append(SetupStep(key=key, title=titles[key], detail=detail, state=state))
    return SetupGuide(tuple(steps))
