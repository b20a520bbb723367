"""Autotask records as the port's values: companies, Recurring Service
contracts as agreements, services as products.

- PsaCompany: ``companyName``; ``companyNumber`` as identifier; domains from
  ``webAddress`` and a "Domains" company UDF (comma or space separated).
- Agreement: only Recurring Service contracts (the only type that carries
  contract services; contractType label "Recurring Service"). Billing
  periods start on the contract's start date (anniversary anchor; reported
  as calendar when the two coincide). ``contractPeriodType`` Monthly or
  Yearly gives the cycle; Quarterly and Semi-Annual contracts have no cycle
  in the port and are left out. ``prorates`` is False when a "Disable
  Proration" UDF on the contract or its company says yes, or when seatsync's
  settings disable proration for the company.
- Product: a service; price = ``unitPrice``, cost = ``unitCost``.

A record that does not read (a field of the wrong type, a date that does
not parse, an amount beyond any bill) is ``AutotaskMalformedResponse``
naming the record (``decoded``), never a KeyError or ValueError.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from app.billing.types import Agreement, AgreementStatus, Anchor, Cycle, Product
from app.services.psa.autotask import wire
from app.services.psa.autotask.errors import AutotaskMalformedResponse
from app.services.psa.port import PsaCompany, PsaError

T = TypeVar("T")

PRORATION_UDF = "Disable Proration"
DOMAINS_UDF = "Domains"
RECURRING_SERVICE = "Recurring Service"
CYCLES = {"monthly": Cycle.MONTHLY, "yearly": Cycle.ANNUAL, "annual": Cycle.ANNUAL, "annually": Cycle.ANNUAL}
_YES = {"yes", "y", "true", "1", "on", "x"}
_DOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")


def decoded(what: str, decode: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``decode(*args)``, a record that does not read named as Autotask's malformed answer."""
    try:
        return decode(*args, **kwargs)
    except PsaError:
        raise
    except ValueError as error:
        raise AutotaskMalformedResponse(f"{what}: {error}") from None
    except (AttributeError, KeyError, TypeError, ArithmeticError):
        raise AutotaskMalformedResponse(f"{what} has a field of the wrong type") from None


def truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _YES


def domains(record: dict[str, Any], udf_name: str = DOMAINS_UDF) -> tuple[str, ...]:
    found: list[str] = []
    web = str(record.get("webAddress") or "").strip().lower()
    if web:
        host = re.sub(r"^[a-z]+://", "", web).split("/")[0].split(":")[0]
        host = host[4:] if host.startswith("www.") else host
        found.append(host)
    found.extend(part.strip().lower() for part in re.split(r"[,;\s]+", wire.udf(record, udf_name) or ""))
    return tuple(dict.fromkeys(d for d in found if _DOMAIN.match(d)))


def company(record: dict[str, Any], udf_name: str = DOMAINS_UDF) -> PsaCompany:
    return PsaCompany(id=str(record["id"]), name=str(record.get("companyName") or ""),
                      identifier=str(record.get("companyNumber") or ""), domains=domains(record, udf_name),
                      active=record.get("isActive") is not False)


def agreement(record: dict[str, Any], *, type_label: str, period_label: str, status_label: str, prorates: bool,
              today: date, currency: str) -> Agreement | None:
    """An Agreement for a Recurring Service contract, or None when the port cannot represent it."""
    cycle = CYCLES.get(period_label.strip().lower())
    if cycle is None or type_label.lower() != RECURRING_SERVICE.lower():
        return None
    start = wire.parse_day(record.get("startDate"), "startDate")
    end = wire.parse_day(record["endDate"], "endDate") if record.get("endDate") else None
    if status_label.lower() != "active":
        status = AgreementStatus.INACTIVE
    elif end is not None and end < today:
        status = AgreementStatus.EXPIRED
    else:
        status = AgreementStatus.ACTIVE
    calendar = start.day == 1 and (cycle is Cycle.MONTHLY or start.month == 1)
    return Agreement(id=str(record["id"]), company_id=str(record.get("companyID")),
                     name=str(record.get("contractName") or ""), type_name=type_label, cycle=cycle,
                     anchor=Anchor.CALENDAR if calendar else Anchor.ANNIVERSARY, start=start, prorates=prorates,
                     status=status, currency=currency)


def product(record: dict[str, Any]) -> Product:
    return Product(id=str(record["id"]), identifier=str(record.get("name") or ""),
                   description=str(record.get("invoiceDescription") or record.get("description")
                                   or record.get("name") or ""),
                   price=wire.money(record.get("unitPrice"), "unitPrice"),
                   cost=wire.money(record.get("unitCost"), "unitCost"),
                   active=record.get("isActive") is not False)
