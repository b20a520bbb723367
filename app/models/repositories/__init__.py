"""Repositories: the only code that reads and writes the models.

They take and return the billing core's types (app/billing/types.py) or the
frozen records of app/models/records.py, never a peewee row.
"""

from __future__ import annotations

from app.models.repositories.audit import AuditLog
from app.models.repositories.catalog import Catalog, Profiles
from app.models.repositories.config import ConfigChanges
from app.models.repositories.connections import MicrosoftConnections, PsaConnections
from app.models.repositories.contacts import ContactSync
from app.models.repositories.custom import CustomLicenses
from app.models.repositories.customers import Companies, Tenants
from app.models.repositories.exclusions import Exclusions
from app.models.repositories.findings import TenantFindings
from app.models.repositories.foreign import ForeignDecisions
from app.models.repositories.ignored import IgnoredAccounts
from app.models.repositories.inventory import Inventory
from app.models.repositories.journal import Approvals, Journal
from app.models.repositories.locks import Locks
from app.models.repositories.mappings import Mappings
from app.models.repositories.outcomes import SyncOutcomes
from app.models.repositories.rules import Rules
from app.models.repositories.runners import Runners
from app.models.repositories.runs import SyncRuns

__all__ = [
    "Approvals",
    "AuditLog",
    "Catalog",
    "Companies",
    "ConfigChanges",
    "ContactSync",
    "CustomLicenses",
    "Exclusions",
    "ForeignDecisions",
    "IgnoredAccounts",
    "Inventory",
    "Journal",
    "Locks",
    "Mappings",
    "MicrosoftConnections",
    "Profiles",
    "PsaConnections",
    "Rules",
    "Runners",
    "SyncOutcomes",
    "SyncRuns",
    "TenantFindings",
    "Tenants",
]
