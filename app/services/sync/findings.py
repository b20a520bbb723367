"""What each kind of finding means and what a person does about it.

The planner and the engine report findings (``app.billing.operations.Finding``)
in their own terms; the sync result in the window, the tray's sentence and
the headless summary all word them from this one table, grouped by kind, so
a run that wrote nothing never reads as "nothing to do" while a finding
stands. Findings that need no action to bill right (unassigned seats, a
commitment above usage) are listed for information and not counted as
needing attention.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.billing.operations import Finding, FindingKind


@dataclass(frozen=True)
class FindingText:
    title: str
    #: What to do, in one sentence.
    advice: str
    #: False: for information only; billing is right without a person acting.
    attention: bool = True


K = FindingKind
#: Every kind, in the order a person should look at them (what stops billing first).
TEXTS: dict[FindingKind, FindingText] = {
    K.PARTIAL_READ: FindingText(
        "The PSA's answer was incomplete",
        "Nothing was written for the tenant; sync again later, and check the PSA if it persists."),
    K.OTHER_INSTALLATION: FindingText(
        "Billed by another seatsync installation",
        "Stop syncing the tenant in one of the two installations; until then the row is not synced."),
    K.MISSING_AGREEMENT: FindingText(
        "Agreement not found in the PSA",
        "Map the license to an agreement that exists (the license's mapping on the company's page)."),
    K.INACTIVE_AGREEMENT: FindingText(
        "Agreement not active",
        "Nothing is billed on it: make the agreement active in the PSA, or map the license to an active one."),
    K.AGREEMENT_TYPE_NOT_ALLOWED: FindingText(
        "Billing profile not allowed on the agreement's type",
        "Allow the type in the billing profile, or map the license to an agreement of an allowed type."),
    K.INACTIVE_PRODUCT: FindingText(
        "Product inactive in the PSA",
        "Make the product active in the PSA, or give the billing profile an active product."),
    K.UNMAPPED_LICENSE: FindingText(
        "License without a billing profile",
        "Its seats are not billed: map it on the company's page, or exclude it if it is not billed."),
    K.DUPLICATE_OWNED_LINE: FindingText(
        "Two open seatsync lines for one license",
        "Cancel all but one of them in the PSA; until then the row is not synced."),
    K.FOREIGN_LINE: FindingText(
        "Held: another tool's line bills the same product",
        "Adopt, cancel or ignore the line under Migrate (or `main.py migrate`); until then the row is not synced."),
    K.POSSIBLE_DUPLICATE: FindingText(
        "Possible duplicate: a line seatsync does not manage bills the same product",
        "If it bills the same seats (another tool, or added by hand), end it in the PSA; otherwise leave it."),
    K.LICENSES_GONE: FindingText(
        "Licenses gone in Microsoft",
        "The change waits in Approvals: approve it if the customer really gave them up, else check access."),
    K.SUSPICIOUS_DROP: FindingText(
        "Large drop in seats",
        "The decrease waits in Approvals: approve or reject it there."),
    K.VERIFY_MISMATCH: FindingText(
        "The PSA differs from what was written",
        "Check the agreement in the PSA; the next sync compares again."),
    K.LOW_MARGIN: FindingText(
        "Margin under the minimum",
        "Raise the billing profile's price, or correct the product's cost in the PSA (the minimum margin is in "
        "Settings; 0 %: only seats billed below cost)."),
    K.PRICE_DRIFT: FindingText(
        "Line price differs from its billing profile",
        "seatsync sets a line's price only when it creates it: change the price on the line in the PSA (when "
        "the customer has been told), or the billing profile's price."),
    K.MANUAL_EDIT: FindingText(
        "A seatsync line was edited in the PSA",
        "seatsync sets it back to Microsoft's count; change seats in Microsoft 365, not in the PSA."),
    K.COMMITMENT_ABOVE_USAGE: FindingText(
        "More seats committed than assigned",
        "The customer pays Microsoft for them until the commitment ends: review it before renewal.",
        attention=False),
    K.UNASSIGNED_SEATS: FindingText(
        "Unassigned seats",
        "Paid for and unused: assign or remove them in Microsoft 365.", attention=False),
}


@dataclass(frozen=True)
class FindingGroup:
    kind: FindingKind
    text: FindingText
    findings: tuple[Finding, ...]

    def lines(self, name: Callable[[Finding], str] | None = None, *, each: bool = True) -> list[str]:
        """The group as plain text: title and count, what to do, then (``each``) every finding's own words,
        after ``name(finding)`` when given (the tenant's, where a list spans tenants)."""
        head = f"{self.text.title} ({len(self.findings)}): {self.text.advice}"
        if not each:
            return [head]
        return [head] + [f"  • {name(f) + ': ' if name else ''}{f.message or f.kind.value.replace('_', ' ')}"
                         for f in self.findings]


def grouped(findings: Iterable[Finding]) -> list[FindingGroup]:
    """The findings grouped by kind, in ``TEXTS`` order."""
    by_kind: dict[FindingKind, list[Finding]] = {}
    for finding in findings:
        by_kind.setdefault(finding.kind, []).append(finding)
    return [FindingGroup(kind, text, tuple(by_kind[kind])) for kind, text in TEXTS.items() if kind in by_kind]


def needing_attention(findings: Iterable[Finding]) -> int:
    return sum(1 for finding in findings if TEXTS[finding.kind].attention)
