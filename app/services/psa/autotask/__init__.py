"""Datto Autotask PSA: the REST client, the port adapter and their helpers."""

from __future__ import annotations

from app.services.psa.autotask.adapter import AUTOTASK_CAPABILITIES, AutotaskPsa
from app.services.psa.autotask.budget import EndpointGate, RequestBudget
from app.services.psa.autotask.client import AutotaskClient, AutotaskCredentials

__all__ = ["AUTOTASK_CAPABILITIES", "AutotaskClient", "AutotaskCredentials", "AutotaskPsa", "EndpointGate",
           "RequestBudget"]
