"""Migrations: fresh databases, upgrades that keep data, refusal of newer databases."""

from __future__ import annotations

import hashlib
import importlib
from datetime import UTC, date, datetime
from decimal import Decimal

import peewee
import pytest

from app import __version__
from app.billing import operations as ops
from app.billing import types as core
from app.models import (
    DatabaseTooNew,
    close_database,
    current_version,
    latest_version,
    migrate,
    open_database,
)
from app.models import (
    schema as schema,
)
from app.models.codec import operation_to_json
from app.models.database import BaseModel, postgresql_database, sqlite_database
from app.models.fields import instant_text
from app.models.records import ConsentStatus, HeldStatus, JournalState, RunStatus, SyncOutcome, SyncOutcomeRecord
from app.models.repositories import (
    Approvals,
    AuditLog,
    Catalog,
    Companies,
    Exclusions,
    Inventory,
    Journal,
    Mappings,
    MicrosoftConnections,
    Profiles,
    PsaConnections,
    SyncOutcomes,
    SyncRuns,
    Tenants,
)
from app.services.settings import ApprovalPolicy, Settings
from tests.models.pg_schema import describe

V1 = importlib.import_module("app.models.migrations.0001_initial")
T0 = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)
TENANT = "8c1f3a2e-0d4b-4a57-9b7e-1f2a3b4c5d6e"
SKU = "c42b9cae-ea4f-4ab7-9717-81576235ccac"


def _app_models() -> list[type[BaseModel]]:
    importlib.import_module("app.models.repositories")  # imports every model module

    def walk(cls):  # type: ignore[no-untyped-def]
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    return [m for m in walk(BaseModel) if m.__module__.startswith("app.models.")]


def _schema(db) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return db.execute_sql(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
        "AND name != 'schema_version' ORDER BY name"
    ).fetchall()


def test_discovered_migrations_are_numbered_without_gaps():
    migrations = schema.discover()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "0001_initial" and latest_version() == len(migrations) >= 2


def test_a_new_database_is_at_the_latest_version_in_wal_with_foreign_keys(tmp_path):
    db = open_database(tmp_path / "new" / "seatsync.db")
    try:
        assert current_version(db) == latest_version()
        assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert migrate(db) == []  # nothing left to apply
    finally:
        close_database()


def test_migrations_build_exactly_the_schema_the_models_declare(tmp_path):
    migrated = sqlite_database(tmp_path / "migrated.db")
    migrate(migrated)
    declared = sqlite_database(tmp_path / "declared.db")
    models = _app_models()
    with declared.bind_ctx(models):
        declared.create_tables(models)
    try:
        assert _schema(migrated) == _schema(declared)
    finally:
        migrated.close()
        declared.close()


@pytest.mark.postgresql
def test_on_postgresql_the_migrations_build_exactly_the_schema_the_models_declare(postgres_server):
    """Columns with their types (money NUMERIC, instants TIMESTAMPTZ, days DATE), constraints, indexes."""
    migrated = postgresql_database(postgres_server.new_database(migrated=False))
    declared = postgresql_database(postgres_server.new_database(migrated=False))
    try:
        assert migrate(migrated) == list(range(1, latest_version() + 1))
        models = _app_models()
        with declared.bind_ctx(models):
            declared.create_tables(models)
        described = describe(migrated)
        assert described == describe(declared)
        types = {(table, column): kind for table, column, kind, _, _ in described["columns"]}
        assert types["psa_product", "price"] == "numeric"
        assert types["audit_entry", "at"] == "timestamp with time zone"
        assert types["psa_agreement", "start"] == "date"
    finally:
        for database in (migrated, declared):
            database.close_all()


def _fill_v1(db) -> None:  # type: ignore[no-untyped-def]
    """One or more rows in every table of version 1, written as version 1 wrote them."""
    t = instant_text(T0)
    m = {model.__name__: model for model in V1.MODELS}
    psa = m["PsaConnection"].create(
        kind="connectwise", name="Main", settings='{"company_id":"acme","site":"na.myconnectwise.net"}', created_at=t
    )
    ms = m["MicrosoftConnection"].create(
        name="Partner", partner_tenant_id="p-1", client_id="app-1", authority_url="https://login.example",
        graph_url="https://graph.example", partner_center_url="https://pc.example", created_at=t,
    )
    company = m["PsaCompany"].create(
        connection=psa, psa_id="19", name="Contoso", identifier="CONTOSO", domains='["contoso.com"]', active=True
    )
    tenant = m["Tenant"].create(
        tenant_id=TENANT, name="Contoso Ltd", default_domain="contoso.com", verified_domains='["contoso.com"]',
        consent_status="granted", partner=ms, added_at=t,
    )
    m["TenantCompany"].create(tenant=tenant, company=company, filter_field="office", filter_value="Leeds", created_at=t)
    m["PsaAgreement"].create(
        connection=psa, psa_id="A7", company_psa_id="19", name="Managed 365", type_name="MSP", cycle="monthly",
        anchor="calendar", start="2024-01-01", prorates=True, status="active", currency="GBP", fetched_at=t,
    )
    product = m["PsaProduct"].create(
        connection=psa, psa_id="P1", identifier="M365-BP", description="Business Premium", price="18.10",
        cost="15.4000", active=True, fetched_at=t,
    )
    profile = m["BillingProfile"].create(
        name="BP retail", product=product, price_kind="percent", price_fixed=None, price_percent="12.5",
        billing_option="billable", allowed_agreement_types='["MSP"]', created_at=t, updated_at=t,
    )
    m["Mapping"].create(
        tenant=tenant, sku_id=SKU, subscription_id="", filter_field="office", filter_value="Leeds", profile=profile,
        agreement_psa_id="A7", basis="purchased", basis_param="", usernames_in_description=True,
        start_date_override="2024-04-01", negative_proration=False, included_quantity=2, minimum_quantity=5,
        description_override="Seats", created_at=t, updated_at=t,
    )
    m["Exclusion"].create(tenant=None, sku_id="f30db892-07e9-47e9-837c-80727f46fd3d", reason="Flow Free", created_at=t)
    snapshot = m["InventorySnapshot"].create(tenant=tenant, name="Contoso Ltd", fetched_at=t)
    lic = m["SnapshotLicense"].create(
        snapshot=snapshot, sku_id=SKU, part_number="SPB", name="Business Premium", enabled=10, warning=1,
        suspended=0, locked_out=0, consumed=8,
    )
    m["SnapshotSubscription"].create(
        license=lic, subscription_id="S1", sku_id=SKU, offer_name="BP annual", quantity=11, term="P1Y",
        billing_cycle="monthly", status="active", commitment_end="2025-02-28", cancellation_allowed_until=None,
        auto_renew=True, is_trial=False,
    )
    run = m["SyncRun"].create(
        started_at=t, finished_at=t, status="succeeded", trigger="schedule", scope="", operations_planned=3,
        operations_applied=2, operations_failed=1, findings=4, error="",
    )
    entry = m["JournalEntry"].create(
        op_key="op-held", state="held", operation='{"v":1}', tenant_id=TENANT, psa_record_id="", attempts=0,
        error="", sync_run=run, created_at=t, updated_at=t,
    )
    m["JournalEntry"].create(
        op_key="op-done", state="done", operation='{"v":1}', tenant_id=TENANT, psa_record_id="991", attempts=1,
        error="", sync_run=run, created_at=t, updated_at=t,
    )
    m["HeldOperation"].create(
        entry=entry, status="held", reason="decrease", decided_by="", decided_at=None, created_at=t
    )
    m["AuditEntry"].create(
        at=t, actor="sync (schedule)", tenant_id=TENANT, company_id="19", company_name="Contoso", agreement_id="A7",
        product_id="P1", action="set_quantity", before_quantity=7, after_quantity=8, before_amount="126.70",
        after_amount="144.80", reason="assigned 8", psa_record_id="991", op_key="op-done",
    )
    m["Setting"].create(key="approval.policy", value='"hold_decreases"', updated_at=t)


def test_a_version_1_database_with_data_upgrades_intact(tmp_path):
    path = tmp_path / "v1.db"
    old = sqlite_database(path)
    assert migrate(old, target=1) == [1]
    with old.bind_ctx(V1.MODELS):
        _fill_v1(old)
        counts = {model._meta.table_name: model.select().count() for model in V1.MODELS}
    assert all(counts.values()), f"every v1 table holds data: {counts}"
    old.close()

    db = open_database(path)
    try:
        assert current_version(db) == latest_version()
        # Every row is kept, but the held operation's journal entry: since 0003 the journal
        # records writes attempted only, and the held operation keeps the operation itself.
        expected = {**counts, "journal_entry": counts["journal_entry"] - 1}
        for table, count in expected.items():
            assert db.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] == count, table

        [psa] = PsaConnections().all()
        assert (psa.kind, psa.name, dict(psa.settings)) == (
            "connectwise", "Main", {"company_id": "acme", "site": "na.myconnectwise.net"})
        assert MicrosoftConnections().all()[0].partner_tenant_id == "p-1"
        [company] = Companies().all()
        assert (company.psa_id, company.domains) == ("19", ("contoso.com",))
        tenant = Tenants().get(TENANT)
        assert (tenant.consent_status, tenant.added_at) == (ConsentStatus.GRANTED, T0)
        [link] = Tenants().links_of_tenant(TENANT)
        assert link.user_filter == core.UserFilter(field=core.FilterField.OFFICE, value="Leeds")
        [agreement] = Catalog().agreements(psa.id)
        assert (agreement.start, agreement.currency) == (date(2024, 1, 1), "GBP")
        [profile] = Profiles().all()
        assert profile.product.price.as_tuple() == Decimal("18.10").as_tuple()
        assert profile.product.cost.as_tuple() == Decimal("15.4000").as_tuple()
        assert profile.price == core.PricePolicy(kind=core.PriceKind.PERCENT, percent=Decimal("12.5"))
        [mapping] = Mappings().for_tenant(TENANT)
        assert (mapping.basis, mapping.start_date_override, mapping.minimum_quantity) == (
            core.QuantityBasis.PURCHASED, date(2024, 4, 1), 5)
        assert Exclusions().all()[0].reason == "Flow Free"
        inventory = Inventory().latest(TENANT)
        assert inventory is not None and inventory.licenses[0].purchased == 11
        assert inventory.licenses[0].subscriptions[0].commitment_end == date(2025, 2, 28)
        [run] = SyncRuns().recent()
        assert (run.status, run.operations_applied, run.findings) == (RunStatus.SUCCEEDED, 2, 4)
        assert (run.tenants_synced, run.tenants_failed, run.operations_held) == (0, 0, 0)  # new in v2
        done = Journal().get("op-done")
        assert (done.state, done.psa_record_id, done.sync_run_id) == (JournalState.DONE, "991", run.id)
        assert Journal().get("op-held") is None
        [held] = Approvals().held()
        assert (held.status, held.reason, held.op_key, held.tenant_id, held.created_at) == (
            HeldStatus.HELD, "decrease", "op-held", TENANT, T0)
        [audit] = AuditLog().query(company="19")
        assert (audit.before_amount, audit.after_amount) == (Decimal("126.70"), Decimal("144.80"))
        assert Settings().approval_policy() is ApprovalPolicy.HOLD_DECREASES
    finally:
        close_database()


def _v2_operation(key: str, kind: ops.OpKind, quantity: int) -> str:
    return operation_to_json(ops.Operation(
        key=key, kind=kind, row=core.RowKey(tenant_id=TENANT, sku_id=SKU), agreement_id="A7", product_id="P1",
        marker="seatsync:bp", effective=date(2024, 3, 1), quantity=quantity, before=quantity - 1,
        unit_price=Decimal("18.10"), amount=Decimal("18.10")))


def test_a_version_2_journal_keeps_writes_attempted_and_moves_held_operations_apart(tmp_path):
    """0003: every version 2 journal state and hold status lands where the engine expects it."""
    path = tmp_path / "v2.db"
    old = sqlite_database(path)
    assert migrate(old, target=2) == [1, 2]
    t, later = instant_text(T0), instant_text(datetime(2024, 3, 2, 9, 30, tzinfo=UTC))
    m = {model.__name__: model for model in V1.MODELS}  # the journal's shape did not change in 0002
    with old.bind_ctx(V1.MODELS):
        run = m["SyncRun"].create(started_at=t, status="partial", trigger="manual", scope="", operations_planned=0,
                                  operations_applied=0, operations_failed=0, findings=0, error="")
        # key: (journal state, attempts, hold status or None)
        rows = {
            "done": ("done", 1, None), "failed": ("failed", 2, None), "interrupted": ("pending", 1, None),
            "approved": ("pending", 0, "approved"), "waiting": ("held", 0, "held"),
            "begun-then-held": ("held", 1, "held"), "approved-and-done": ("done", 1, "approved"),
            "rejected": ("held", 0, "rejected"),
        }
        for key, (state, attempts, status) in rows.items():
            entry = m["JournalEntry"].create(
                op_key=key, state=state, operation=_v2_operation(key, ops.OpKind.SET_QUANTITY, 12),
                tenant_id=TENANT, psa_record_id="L-1" if state == "done" else "", attempts=attempts,
                error="400" if state == "failed" else "", sync_run=run, created_at=t, updated_at=t)
            if status:
                m["HeldOperation"].create(entry=entry, status=status, reason=f"{key} reason",
                                          decided_by="" if status == "held" else "ana",
                                          decided_at=None if status == "held" else later, created_at=t)
    old.close()

    db = open_database(path)
    try:
        journal = {e.op_key: e for e in Journal().entries()}
        assert {key: e.state for key, e in journal.items()} == {
            "done": JournalState.DONE, "failed": JournalState.FAILED, "interrupted": JournalState.PENDING,
            "begun-then-held": JournalState.UNKNOWN,  # the PSA may have it: read before writing again
            "approved-and-done": JournalState.DONE,
        }
        done = journal["done"]
        assert (done.kind, done.agreement_id, done.marker, done.quantity, done.psa_record_id) == (
            "set_quantity", "A7", "seatsync:bp", 12, "L-1")
        assert (done.sync_run_id, done.created_at, journal["failed"].attempts, journal["failed"].error) == (
            run.id, T0, 2, "400")
        assert Journal().last_written(TENANT) == {"seatsync:bp": 12}
        assert [e.op_key for e in Journal().unsettled(TENANT)] == ["interrupted", "begun-then-held"]

        held = {h.op_key: h for h in Approvals().held(status=None)}
        assert {key: h.status for key, h in held.items()} == {
            "approved": HeldStatus.APPROVED, "waiting": HeldStatus.HELD, "begun-then-held": HeldStatus.HELD,
            "approved-and-done": HeldStatus.APPLIED, "rejected": HeldStatus.REJECTED,
        }
        rejected = held["rejected"]
        assert (rejected.reason, rejected.decided_by, rejected.decided_at, rejected.created_at) == (
            "rejected reason", "ana", datetime(2024, 3, 2, 9, 30, tzinfo=UTC), T0)
        assert held["waiting"].operation().key == "waiting" and Approvals().approved_keys(TENANT) == {"approved"}

        # The widened CHECK constraints hold: the new states are accepted, the old "held" is not.
        Journal().conclude("begun-then-held", JournalState.NOT_APPLIED)
        with pytest.raises(peewee.IntegrityError):
            db.execute_sql("UPDATE journal_entry SET state = 'held' WHERE op_key = 'done'")
        with pytest.raises(peewee.IntegrityError):
            db.execute_sql("UPDATE held_operation SET status = 'pending' WHERE op_key = 'waiting'")
        assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        close_database()


def _digest(path) -> str:  # type: ignore[no-untyped-def]
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_database_from_a_newer_seatsync_is_refused_untouched(tmp_path):
    path = tmp_path / "future.db"
    db = open_database(path)
    newer = latest_version() + 1
    db.execute_sql(
        "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
        (newer, f"{newer:04d}_from_the_future", instant_text(T0)),
    )
    db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    close_database()
    before = _digest(path)

    with pytest.raises(DatabaseTooNew) as raised:
        open_database(path)

    message = str(raised.value)
    assert str(path) in message
    assert f"schema version {newer}" in message
    assert f"seatsync {__version__}" in message and f"up to {latest_version()}" in message
    assert "update seatsync" in message.lower()
    assert raised.value.context["found"] == newer
    assert _digest(path) == before


def test_a_failing_migration_leaves_the_database_at_the_last_good_version(tmp_path, monkeypatch):
    real = schema.discover()

    def broken_up(db) -> None:  # type: ignore[no-untyped-def]
        db.execute_sql("CREATE TABLE half_done (id INTEGER)")
        raise RuntimeError("disk on fire")

    broken = schema.Migration(version=2, name="0002_broken", up=broken_up)
    monkeypatch.setattr(schema, "discover", lambda: (real[0], broken))
    db = sqlite_database(tmp_path / "broken.db")
    try:
        with pytest.raises(RuntimeError, match="disk on fire"):
            migrate(db)
        assert current_version(db) == 1
        assert "half_done" not in db.get_tables()
    finally:
        db.close()


def test_migrating_to_an_unknown_target_is_refused(tmp_path):
    db = sqlite_database(tmp_path / "x.db")
    try:
        with pytest.raises(ValueError, match="no migration 99"):
            migrate(db, target=99)
    finally:
        db.close()


def test_a_version_3_policy_override_moves_to_each_company_its_psa_id_named(tmp_path):
    """0004: an override keyed by a PSA company id goes to every company with that id, and only to them."""
    path = tmp_path / "v3.db"
    old = sqlite_database(path)
    assert migrate(old, target=3) == [1, 2, 3]
    t = instant_text(T0)
    m = {model.__name__: model for model in V1.MODELS}  # settings and companies kept their version 1 shape
    with old.bind_ctx(V1.MODELS):
        cw = m["PsaConnection"].create(kind="connectwise", name="CW", settings="{}", created_at=t)
        halo = m["PsaConnection"].create(kind="halopsa", name="Halo", settings="{}", created_at=t)
        ids = {(connection.name, psa_id): m["PsaCompany"].create(
            connection=connection, psa_id=psa_id, name=f"{connection.name} {psa_id}", identifier="", domains="[]",
            active=True).id for connection, psa_id in ((cw, "12"), (halo, "12"), (cw, "13"))}
        for key, value in (("approval.policy.company.12", '"hold_all"'), ("approval.policy.company.99", '"apply_all"'),
                           ("approval.policy.company.13", '"hold_decreases"'), ("approval.policy", '"apply_all"')):
            m["Setting"].create(key=key, value=value, updated_at=t)
    old.close()

    open_database(path)
    try:
        settings = Settings()
        assert settings.approval_overrides() == {
            str(ids["CW", "12"]): ApprovalPolicy.HOLD_ALL, str(ids["Halo", "12"]): ApprovalPolicy.HOLD_ALL,
            str(ids["CW", "13"]): ApprovalPolicy.HOLD_DECREASES}  # "99" named no company: dropped
        assert settings.approval_policy() is ApprovalPolicy.APPLY_ALL
    finally:
        close_database()


def test_a_version_4_audit_entry_gets_the_connection_whose_agreement_it_names_when_only_one_has_it(tmp_path):
    """0005: entries written before connections were recorded are placed where that is certain."""
    path = tmp_path / "v4.db"
    old = sqlite_database(path)
    assert migrate(old, target=4) == [1, 2, 3, 4]
    t = instant_text(T0)
    m = {model.__name__: model for model in V1.MODELS}  # agreements and the audit kept their version 1 shape
    with old.bind_ctx(V1.MODELS):
        cw = m["PsaConnection"].create(kind="connectwise", name="CW", settings="{}", created_at=t)
        halo = m["PsaConnection"].create(kind="halopsa", name="Halo", settings="{}", created_at=t)
        for connection, agreement in ((cw, "7"), (halo, "7"), (cw, "8")):
            m["PsaAgreement"].create(connection=connection, psa_id=agreement, company_psa_id="12", name="",
                                     type_name="", cycle="monthly", anchor="calendar", start="2024-01-01",
                                     prorates=True, status="active", currency="USD", fetched_at=t)
        for agreement in ("7", "8", "9"):
            m["AuditEntry"].create(at=t, actor="seatsync", tenant_id=TENANT, company_id="12", company_name="",
                                   agreement_id=agreement, product_id="3", action="create_line", reason="",
                                   psa_record_id="", op_key=f"k{agreement}")
    old.close()

    open_database(path)
    try:
        placed = {e.agreement_id: e.connection_id for e in AuditLog().query()}
        assert placed == {"7": None, "8": cw.id, "9": None}  # 7: both PSAs have one; 9: neither
    finally:
        close_database()


def test_a_version_5_database_gains_an_empty_table_of_tenant_outcomes_that_runs_fill(tmp_path):
    """0006: earlier runs left no per-tenant outcome; a run after the upgrade stores one per tenant."""
    path = tmp_path / "v5.db"
    old = sqlite_database(path)
    assert migrate(old, target=5) == [1, 2, 3, 4, 5]
    assert "tenant_sync_outcome" not in old.get_tables()
    t = instant_text(T0)
    with old.bind_ctx(V1.MODELS):
        {model.__name__: model for model in V1.MODELS}["SyncRun"].create(
            started_at=t, finished_at=t, status="partial", trigger="schedule", scope="all", operations_planned=0,
            operations_applied=0, operations_failed=0, findings=0, error="Contoso: consent missing")
    old.close()

    db = open_database(path)
    try:
        assert current_version(db) == latest_version() >= 6
        [run] = SyncRuns().recent()
        assert (run.status, run.error) == (RunStatus.PARTIAL, "Contoso: consent missing")
        assert SyncOutcomes().latest() == {}
        stored = SyncOutcomeRecord(tenant_id=TENANT, status=SyncOutcome.FAILED, finished_at=T0, sync_run_id=run.id,
                                   error="consent missing")
        SyncOutcomes().record([stored])
        assert SyncOutcomes().latest() == {TENANT: stored}
        assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
    finally:
        close_database()


def test_a_version_6_database_keeps_its_connections_and_every_row_referencing_them(tmp_path):
    """0007: psa_connection is rebuilt without its kind check; ids, rows and foreign keys all survive."""
    path = tmp_path / "v6.db"
    old = sqlite_database(path)
    assert migrate(old, target=6) == [1, 2, 3, 4, 5, 6]
    t = instant_text(T0)
    m = {model.__name__: model for model in V1.MODELS}  # connections and their children kept their v1 shape
    with old.bind_ctx(V1.MODELS):
        made = [m["PsaConnection"].create(kind=kind, name=f"My {kind}", settings='{"site":"x"}', created_at=t)
                for kind in ("connectwise", "halopsa", "autotask", "connectwise")]
        made[1].delete_instance()  # a gap in the ids, which the rebuild keeps
        tenant = m["Tenant"].create(tenant_id=TENANT, name="Contoso", default_domain="", verified_domains="[]",
                                    consent_status="granted", partner=None, added_at=t)
        for n, connection in enumerate(made[::2] + made[3:]):
            company = m["PsaCompany"].create(connection=connection, psa_id=str(19 + n), name=f"Company {n}",
                                             identifier="", domains="[]", active=True)
            m["TenantCompany"].create(tenant=tenant, company=company, filter_field="", filter_value="",
                                      created_at=t)
            m["PsaAgreement"].create(connection=connection, psa_id="A7", company_psa_id=str(19 + n), name="",
                                     type_name="", cycle="monthly", anchor="calendar", start="2024-01-01",
                                     prorates=True, status="active", currency="USD", fetched_at=t)
            product = m["PsaProduct"].create(connection=connection, psa_id="P1", identifier="M365-BP",
                                             description="", price="18.10", cost="15.40", active=True,
                                             fetched_at=t)
            m["BillingProfile"].create(name=f"BP {n}", product=product, price_kind="psa", price_fixed=None,
                                       price_percent=None, billing_option="billable",
                                       allowed_agreement_types="[]", created_at=t, updated_at=t)
    tables = ("psa_connection", "psa_company", "tenant_company", "psa_agreement", "psa_product", "billing_profile")
    before = {table: old.execute_sql(f'SELECT * FROM "{table}" ORDER BY id').fetchall() for table in tables}
    assert [row[0] for row in before["psa_connection"]] == [made[0].id, made[2].id, made[3].id]
    old.close()

    db = open_database(path)
    try:
        assert current_version(db) == latest_version() >= 7
        for table in tables:  # the columns the version 6 table had (later versions append columns: 0011)
            rows = db.execute_sql(f'SELECT * FROM "{table}" ORDER BY id').fetchall()
            assert [row[:len(was)] for row, was in zip(rows, before[table], strict=True)] == before[table], table
        assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
        for child in ("psa_company", "psa_agreement", "psa_product"):
            assert [row[2] for row in db.execute_sql(f'PRAGMA foreign_key_list("{child}")')] == ["psa_connection"]

        # The kind is the registry's to check now; the references are enforced as before.
        db.execute_sql("UPDATE psa_connection SET kind = 'kaseya' WHERE id = ?", (made[2].id,))
        with pytest.raises(peewee.IntegrityError):
            db.execute_sql("INSERT INTO psa_company (connection_id, psa_id, name, identifier, domains, active) "
                           "VALUES (999, '1', 'x', '', '[]', 1)")
        with pytest.raises(peewee.IntegrityError):  # its product has a billing profile
            db.execute_sql("DELETE FROM psa_connection WHERE id = ?", (made[0].id,))
        db.execute_sql("DELETE FROM billing_profile")
        db.execute_sql("DELETE FROM psa_connection WHERE id = ?", (made[0].id,))
        for child in ("psa_company", "psa_agreement", "psa_product"):  # cascaded
            assert db.execute_sql(f'SELECT COUNT(*) FROM "{child}" WHERE connection_id = ?',
                                  (made[0].id,)).fetchone()[0] == 0
        assert db.execute_sql("SELECT COUNT(*) FROM tenant_company").fetchone()[0] == 2
    finally:
        close_database()


@pytest.mark.parametrize("connections", [0, 1])
def test_a_version_19_databases_tenants_belong_to_its_one_partner_connection(tmp_path, connections):
    """0020: a database kept one Microsoft partner connection; its tenants are that connection's, and it is a
    direct-bill account (a database without one keeps its tenants without a partner)."""
    path = tmp_path / "v19.db"
    old = sqlite_database(path)
    assert migrate(old, target=19)[-1] == 19
    t = instant_text(T0)
    for _ in range(connections):
        old.execute_sql('INSERT INTO "microsoft_connection" ("name", "partner_tenant_id", "client_id", '
                        '"authority_url", "graph_url", "partner_center_url", "created_at") '
                        "VALUES ('Partner', 'p', 'c', 'https://a', 'https://g', 'https://pc', ?)", (t,))
    for index in range(2):
        old.execute_sql('INSERT INTO "tenant" ("tenant_id", "name", "default_domain", "verified_domains", '
                        "\"consent_status\", \"added_at\") VALUES (?, ?, '', '[]', 'granted', ?)",
                        (f"{TENANT[:-1]}{index}", f"T{index}", t))
    old.close()

    open_database(path)
    try:
        partners = {r.partner_id for r in Tenants().all()}
        records = MicrosoftConnections().all()
        assert partners == ({records[0].id} if connections else {None})
        assert [r.kind for r in records] == ["direct"] * connections
    finally:
        close_database()


def test_a_migration_that_rebuilds_a_referenced_table_is_refused_inside_a_transaction(tmp_path):
    db = sqlite_database(tmp_path / "x.db")
    try:
        migrate(db, target=6)
        with db.atomic(), pytest.raises(RuntimeError, match="inside a transaction"):
            migrate(db)
        assert current_version(db) == 6
        assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        db.close()


def test_a_migration_that_leaves_broken_references_is_rolled_back(tmp_path, monkeypatch):
    real = schema.discover()

    def orphan_a_company(db) -> None:  # type: ignore[no-untyped-def]
        db.execute_sql("DELETE FROM psa_connection")

    broken = schema.Migration(version=7, name="0007_broken", up=orphan_a_company, foreign_keys=False)
    monkeypatch.setattr(schema, "discover", lambda: (*real[:6], broken))
    db = sqlite_database(tmp_path / "broken.db")
    try:
        migrate(db, target=6)
        with db.bind_ctx(V1.MODELS):
            connection = V1.PsaConnection.create(kind="halopsa", name="Halo", settings="{}", created_at="t")
            V1.PsaCompany.create(connection=connection, psa_id="1", name="C", identifier="", domains="[]",
                                 active=True)
        with pytest.raises(schema.MigrationBrokeReferences, match="psa_company"):
            migrate(db)
        assert current_version(db) == 6
        assert db.execute_sql("SELECT COUNT(*) FROM psa_connection").fetchone()[0] == 1
        assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        db.close()
