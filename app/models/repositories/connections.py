"""PSA connections and the Microsoft partner connections: their non-secret settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from peewee import IntegrityError

from app.models.connections import MicrosoftConnection, PsaConnection, Tenant
from app.models.records import MicrosoftConnectionRecord, PsaConnectionRecord, RecordInUse, RecordNotFound
from app.models.repositories._base import Repository

# Setting names that would hold a credential: those belong in the keyring.
_SECRET_NAME = re.compile(r"secret|password|passwd|private|token|api_?key|credential", re.IGNORECASE)


def _check_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    for name in settings:
        if _SECRET_NAME.search(str(name)):
            raise ValueError(
                f"setting {name!r} looks like a credential: store it with SecretStore, not in the database"
            )
    return dict(settings)


def _psa(row: PsaConnection) -> PsaConnectionRecord:
    return PsaConnectionRecord(
        id=row.id, kind=row.kind, name=row.name, settings=row.settings, created_at=row.created_at
    )


class PsaConnections(Repository):
    def create(self, *, kind: str, name: str, settings: Mapping[str, Any] | None = None) -> PsaConnectionRecord:
        if not kind.strip():
            raise ValueError("a PSA connection needs a kind")
        if not name.strip():
            raise ValueError("a PSA connection needs a name")
        row = PsaConnection.create(
            kind=kind, name=name.strip(), settings=_check_settings(settings or {}), created_at=self._now()
        )
        return _psa(row)

    def update(
        self, connection_id: int, *, name: str | None = None, settings: Mapping[str, Any] | None = None
    ) -> PsaConnectionRecord:
        row = self._row(connection_id)
        if name is not None:
            if not name.strip():
                raise ValueError("a PSA connection needs a name")
            row.name = name.strip()
        if settings is not None:
            row.settings = _check_settings(settings)
        row.save()
        return _psa(row)

    def get(self, connection_id: int) -> PsaConnectionRecord:
        return _psa(self._row(connection_id))

    def all(self) -> list[PsaConnectionRecord]:
        return [_psa(row) for row in PsaConnection.select().order_by(PsaConnection.id)]

    def delete(self, connection_id: int) -> None:
        """Remove the connection and its cached companies, agreements and products.

        Refused (RecordInUse) while billing profiles use its products.
        """
        row = self._row(connection_id)
        try:
            with self.atomic():
                row.delete_instance()
        except IntegrityError:
            raise RecordInUse(f"PSA connection '{row.name}' still has billing profiles; remove them first.") from None

    @staticmethod
    def _row(connection_id: int) -> PsaConnection:
        row = PsaConnection.get_or_none(PsaConnection.id == connection_id)
        if row is None:
            raise RecordNotFound(f"(PSA connection {connection_id})")
        return row


def _ms(row: MicrosoftConnection) -> MicrosoftConnectionRecord:
    return MicrosoftConnectionRecord(
        id=row.id,
        name=row.name,
        kind=row.kind,
        partner_tenant_id=row.partner_tenant_id,
        client_id=row.client_id,
        authority_url=row.authority_url,
        graph_url=row.graph_url,
        partner_center_url=row.partner_center_url,
        created_at=row.created_at,
    )


class MicrosoftConnections(Repository):
    def save(self, record: MicrosoftConnectionRecord) -> MicrosoftConnectionRecord:
        """Create (``record.id`` 0) or update a partner connection."""
        values = {
            "name": record.name,
            "kind": record.kind,
            "partner_tenant_id": record.partner_tenant_id,
            "client_id": record.client_id,
            "authority_url": record.authority_url,
            "graph_url": record.graph_url,
            "partner_center_url": record.partner_center_url,
        }
        if not record.id:
            return _ms(MicrosoftConnection.create(created_at=self._now(), **values))
        row = self._row(record.id)
        for name, value in values.items():
            setattr(row, name, value)
        row.save()
        return _ms(row)

    def get(self, connection_id: int) -> MicrosoftConnectionRecord:
        return _ms(self._row(connection_id))

    def all(self) -> list[MicrosoftConnectionRecord]:
        return [_ms(row) for row in MicrosoftConnection.select().order_by(MicrosoftConnection.id)]

    def delete(self, connection_id: int) -> None:
        """Remove a partner connection; refused (RecordInUse) while customer tenants belong to it."""
        row = self._row(connection_id)
        with self.atomic():
            tenants = Tenant.select().where(Tenant.partner == row.id).count()
            if tenants:
                raise RecordInUse(f"partner connection '{row.name}' is how seatsync reads {tenants} customer "
                                  "tenant(s); it stays while they belong to it. To give it another app or secret, "
                                  "edit it.")
            row.delete_instance()

    @staticmethod
    def _row(connection_id: int) -> MicrosoftConnection:
        row = MicrosoftConnection.get_or_none(MicrosoftConnection.id == connection_id)
        if row is None:
            raise RecordNotFound(f"(Microsoft connection {connection_id})")
        return row
