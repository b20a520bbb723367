"""Who may do what in a team's database: four roles that PostgreSQL itself enforces (docs/team.md).

The window hides what a person may not do, but the database is what refuses
it: a desktop with an old or altered seatsync, a script or a psql session
gets the same answer. The roles are NOLOGIN group roles, each holding the
one below it, and a person's login user is a member of one:

- ``seatsync_viewer`` reads everything;
- ``seatsync_technician`` also runs a sync: it writes what a sync writes
  (the journal, held changes but not their decisions, the audit, runs,
  outcomes, inventory snapshots, locks, the PSA catalogue cache, tenants'
  consent, the runner's status);
- ``seatsync_billing`` also maps licenses, edits billing profiles,
  exclusions, tenants and their companies, the settings (the approval rules
  are settings), and approves or rejects held changes;
- ``seatsync_owner`` may do everything, the connections too.

Every table of seatsync's is in exactly one category of ``WRITERS`` (a test
fails on a table none names). Column privileges cannot tell a decision
apart from a sync's own update of a held change (applied, superseded), so a
trigger on ``held_operation`` refuses a decision to a user who is not in
billing, with SQLSTATE 42501 like any other refusal. The user that owns
the tables (the one that ran ``team init``) and a superuser count as
owners; on SQLite everyone is the owner (one desktop owns its file).

``init_roles`` may run again at any time, e.g. after an upgrade added a
table: it makes what is missing and sets every table's grants afresh.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from enum import Enum

from peewee import Database, SqliteDatabase

from app.errors import SeatsyncError
from app.models import database as _database
from app.models.setting import Setting
from app.services.settings import Settings


class Role(Enum):
    """A seatsync role, the least first."""

    VIEWER = "viewer"
    TECHNICIAN = "technician"
    BILLING = "billing"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    @property
    def group(self) -> str:
        """The NOLOGIN group role in PostgreSQL."""
        return f"seatsync_{self.value}"

    @property
    def noun(self) -> str:
        """As in "your database user (alice) is …"."""
        return {"viewer": "a viewer", "technician": "a technician", "billing": "a billing user",
                "owner": "an owner"}[self.value]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank

    def may(self, ability: Ability) -> bool:
        return self.at_least(ability.needs)

    def refusal(self, ability: Ability) -> str:
        """Why this role may not do ``ability`` (for a tooltip); '' when it may."""
        if self.may(ability):
            return ""
        return f"{ability.doing.capitalize()} needs the {ability.needs.value} role (you are {self.noun})."

    @property
    def may_sync(self) -> bool:
        return self.may(Ability.SYNC)

    @property
    def may_map(self) -> bool:
        return self.may(Ability.MAP)

    @property
    def may_approve(self) -> bool:
        return self.may(Ability.APPROVE)

    @property
    def may_edit_settings(self) -> bool:
        return self.may(Ability.EDIT_SETTINGS)

    @property
    def may_manage_connections(self) -> bool:
        return self.may(Ability.MANAGE_CONNECTIONS)

    def abilities(self) -> list[tuple[str, bool]]:
        """What a person with this role may and may not do, in words."""
        return [("read everything", True)] + [(a.doing, self.may(a)) for a in Ability]


class Ability(Enum):
    """What the window offers or withholds, and the least role that may do it."""

    SYNC = ("syncing", Role.TECHNICIAN)
    MAP = ("mapping licenses, billing profiles and exclusions", Role.BILLING)
    APPROVE = ("approving or rejecting held changes", Role.BILLING)
    EDIT_SETTINGS = ("changing the settings (approval rules, caps, schedule, notifications)", Role.BILLING)
    MANAGE_TENANTS = ("adding customer tenants, or moving them to another partner connection", Role.BILLING)
    MANAGE_CONNECTIONS = ("adding, changing or removing connections", Role.OWNER)

    @property
    def doing(self) -> str:
        return str(self.value[0])

    @property
    def needs(self) -> Role:
        return Role(self.value[1].value)


#: Who writes each table of seatsync's beside reading it, and what a write to it is, in words. Every
#: table is in exactly one category; the viewer writes nothing, and every role reads every table.
WRITERS: dict[Role, dict[str, str]] = {
    Role.OWNER: {
        "schema_version": "upgrading the database",
        "psa_connection": "changing the PSA connections",
        "microsoft_connection": "changing the Microsoft connection",
    },
    Role.BILLING: {
        "mapping": "mapping licenses",
        "billing_profile": "changing billing profiles",
        "exclusion": "excluding licenses",
        "ignored_account": "ignoring accounts",
        "setting": "changing the settings",
        "tenant": "adding or removing tenants",
        "tenant_company": "linking tenants to companies",
        "config_change": "changing billing configuration",
        "foreign_line_decision": "deciding about other tools' lines",
        "mapping_rule": "changing mapping rules",
        "rule_mapping": "mapping licenses",
        "custom_license": "changing custom licenses",
    },
    Role.TECHNICIAN: {
        "sync_run": "syncing",
        "tenant_sync_outcome": "syncing",
        "tenant_finding": "syncing",
        "journal_entry": "syncing",
        "held_operation": "holding changes for approval",
        "audit_entry": "syncing",
        "sync_lock": "syncing",
        "contact_sync_setting": "syncing contacts",
        "contact_match": "syncing contacts",
        "contact_write": "syncing contacts",
        "runner_status": "reporting the runner's status",
        "inventory_snapshot": "reading tenants' licenses",
        "snapshot_license": "reading tenants' licenses",
        "snapshot_subscription": "reading tenants' licenses",
        "psa_company": "reading the PSA's catalogue",
        "psa_agreement": "reading the PSA's catalogue",
        "psa_product": "reading the PSA's catalogue",
    },
}
#: Columns a role may update in a table another role writes: a sync records each tenant's access (consent, GDAP).
COLUMN_WRITERS: dict[str, tuple[Role, tuple[str, ...]]] = {
    "tenant": (Role.TECHNICIAN, ("consent_status", "gdap_state", "gdap_ends", "gdap_detail", "access_checked_at"))}
DECISION_REFUSED = "approving or rejecting a held change needs the seatsync_billing role"
_DECISION_GUARD = f"""
    CREATE OR REPLACE FUNCTION seatsync_decision_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (NEW.status IN ('approved', 'rejected')
                AND (TG_OP = 'INSERT' OR (NEW.status, NEW.op_key, NEW.tenant_id, NEW.operation, NEW.decided_by,
                     NEW.decided_at) IS DISTINCT FROM (OLD.status, OLD.op_key, OLD.tenant_id, OLD.operation,
                     OLD.decided_by, OLD.decided_at)))
            OR (TG_OP = 'UPDATE' AND OLD.status IN ('approved', 'rejected') AND NEW.status = 'held') THEN
            IF NOT (pg_has_role(current_user, 'seatsync_billing', 'MEMBER')
                    OR pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER'))
            THEN
                RAISE EXCEPTION '{DECISION_REFUSED}' USING ERRCODE = '42501';
            END IF;
        END IF;
        RETURN NEW;
    END $$"""
_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.@-]{0,62}")


class NotATeamDatabase(SeatsyncError):
    """Roles are for a team's PostgreSQL database, and this is not one."""
    advice = "Give the team database with --database postgresql://…, or move to it first (team migrate)."


class CannotSetUpRoles(SeatsyncError):
    """Setting up the roles needs the user that owns seatsync's tables, with CREATEROLE (or a superuser)."""
    advice = "Run team init as that user: --database postgresql://owner@host/db."


class BadUserName(SeatsyncError):
    """This name cannot be a database user."""
    advice = ("Use letters, digits, '_', '.', '@' or '-' (up to 63, starting with a letter or '_'), and not a "
              "name of seatsync's roles or one starting with pg_.")


def writer_of(table: str) -> Role:
    """The least role that writes ``table`` (the owner for a table no category names)."""
    return next((role for role, tables in WRITERS.items() if table in tables), Role.OWNER)


def categorized() -> set[str]:
    return {table for tables in WRITERS.values() for table in tables}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(db: Database) -> list[str]:
    return [row[0] for row in db.execute_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename").fetchall()]


def _sequences(db: Database) -> list[tuple[str, str]]:
    """(sequence, the table whose column owns it): the ids a table's inserts draw."""
    return [(row[0], row[1]) for row in db.execute_sql(
        "SELECT s.relname, t.relname FROM pg_class s "
        "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
        "AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
        "JOIN pg_class t ON t.oid = d.refobjid "
        "WHERE s.relkind = 'S' AND s.relnamespace = current_schema()::regnamespace ORDER BY 1").fetchall()]


def _require_postgresql(db: Database) -> None:
    if isinstance(db, SqliteDatabase):
        raise NotATeamDatabase()


def init_roles(db: Database) -> list[str]:
    """Make the four roles if missing and set every table's grants (in one transaction); what it did, in words.

    Run it as the user that owns seatsync's tables (it needs CREATEROLE, or
    to be a superuser), after ``team migrate`` and after each upgrade.
    """
    _require_postgresql(db)
    done: list[str] = []
    with _database.database_errors(), db.atomic():
        able, owns = db.execute_sql(
            "SELECT rolsuper OR rolcreaterole, rolsuper OR COALESCE(pg_has_role(current_user, "
            "(SELECT relowner FROM pg_class WHERE oid = to_regclass('schema_version')), 'MEMBER'), false) "
            "FROM pg_roles WHERE rolname = current_user").fetchone()
        if not (able and owns):
            user = db.execute_sql("SELECT current_user").fetchone()[0]
            raise CannotSetUpRoles(f"({user} {'does not own the tables' if able else 'lacks CREATEROLE'})")
        for role in Role:
            exists = db.execute_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (role.group,)).fetchone()
            if not exists:
                # Roles are the whole server's: another database's init may make one at the same moment.
                db.execute_sql(f"DO $$ BEGIN CREATE ROLE {role.group} NOLOGIN; "
                               "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
                done.append(f"made the role {role.group}")
        for lower, higher in zip(list(Role), list(Role)[1:], strict=False):
            db.execute_sql(f"GRANT {lower.group} TO {higher.group}")  # each role holds what the one below may
        name, schema_name, owns_database, owns_schema = db.execute_sql(
            "SELECT current_database(), current_schema(), "
            "pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), "
            "'MEMBER'), pg_has_role(current_user, (SELECT nspowner FROM pg_namespace "
            "WHERE nspname = current_schema()), 'MEMBER')").fetchone()
        schema = _quote(schema_name)
        # Everyone may connect and use the schema unless an administrator revoked it: then only its owner
        # may grant it back (and the viewers are given it here).
        if owns_database:
            db.execute_sql(f"GRANT CONNECT ON DATABASE {_quote(name)} TO {Role.VIEWER.group}")
        if owns_schema:
            db.execute_sql(f"GRANT USAGE ON SCHEMA {schema} TO {Role.VIEWER.group}")
        groups = ", ".join(role.group for role in Role)
        tables = _tables(db)
        for table in tables:
            name, writer = _quote(table), writer_of(table)
            db.execute_sql(f"REVOKE ALL ON {name} FROM {groups}")
            db.execute_sql(f"GRANT SELECT ON {name} TO {Role.VIEWER.group}")
            db.execute_sql(f"GRANT ALL ON {name} TO {Role.OWNER.group}")
            if writer is not Role.OWNER:
                db.execute_sql(f"GRANT INSERT, UPDATE, DELETE ON {name} TO {writer.group}")
            if table in COLUMN_WRITERS:
                role, columns = COLUMN_WRITERS[table]
                db.execute_sql(f"GRANT UPDATE ({', '.join(map(_quote, columns))}) ON {name} TO {role.group}")
        for sequence, table in _sequences(db):
            name, writer = _quote(sequence), writer_of(table)
            db.execute_sql(f"REVOKE ALL ON SEQUENCE {name} FROM {groups}")
            db.execute_sql(f"GRANT ALL ON SEQUENCE {name} TO {Role.OWNER.group}")
            if writer is not Role.OWNER:
                db.execute_sql(f"GRANT USAGE, SELECT ON SEQUENCE {name} TO {writer.group}")
        # A table a later upgrade adds is readable by all and writable by owners until init runs again.
        db.execute_sql(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {Role.VIEWER.group}")
        db.execute_sql(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT ALL ON TABLES TO {Role.OWNER.group}")
        db.execute_sql(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT ALL ON SEQUENCES TO {Role.OWNER.group}")
        if "held_operation" in tables:
            db.execute_sql(_DECISION_GUARD)
            db.execute_sql('DROP TRIGGER IF EXISTS seatsync_decision_guard ON "held_operation"')
            db.execute_sql('CREATE TRIGGER seatsync_decision_guard BEFORE INSERT OR UPDATE ON "held_operation" '
                           "FOR EACH ROW EXECUTE FUNCTION seatsync_decision_guard()")
        if "setting" in tables:
            # A sync names its lines with the installation's id, made on first use: made here, so a
            # technician's first sync need not write a setting.
            with db.bind_ctx([Setting]):
                Settings().installation_id  # noqa: B018
        loose = sorted(set(tables) - categorized())
        done.append(f"set the grants of {len(tables)} table(s)")
        if loose:
            done.append(f"no category names {', '.join(loose)}: only owners write them")
        done.append("approving or rejecting a held change needs the billing role")
    return done


def add_user(db: Database, name: str, role: Role, password: str | None) -> str:
    """Make login user ``name`` a member of ``role`` (made if missing, its other seatsync roles taken
    away if not); ``password`` (when given) is set, sent to the server already hashed. What it did, in words."""
    _require_postgresql(db)
    if not _USER.fullmatch(name) or name.lower().startswith("pg_") or name in {r.group for r in Role}:
        raise BadUserName(f"({name[:80]!r})")
    user = _quote(name)
    with _database.database_errors(), db.atomic():
        exists = db.execute_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
        secret = ""
        if password:
            from psycopg2.extensions import encrypt_password

            secret = encrypt_password(password, name, db.connection())
        if exists:
            if secret:
                db.execute_sql(f"ALTER ROLE {user} LOGIN PASSWORD %s", (secret,))
            for other in Role:
                if other is not role and db.execute_sql(
                        "SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                        "JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = %s AND u.rolname = %s",
                        (other.group, name)).fetchone():
                    db.execute_sql(f"REVOKE {other.group} FROM {user}")
            done = f"{name} is now {role.noun} ({role.group})"
        else:
            db.execute_sql(f"CREATE ROLE {user} LOGIN" + (" PASSWORD %s" if secret else ""),
                           (secret,) if secret else None)
            done = f"made the user {name}, {role.noun} ({role.group})"
        db.execute_sql(f"GRANT {role.group} TO {user}")
    return done


@dataclass(frozen=True)
class Connected:
    """The database user seatsync is connected as, and its seatsync role."""

    user: str
    role: Role


#: What ``whoami`` found for each open database, for the sentence of a refusal.
_known: weakref.WeakKeyDictionary[Database, Connected] = weakref.WeakKeyDictionary()


def whoami(db: Database) -> Connected:
    """The current user and its highest seatsync role (SQLite: the owner)."""
    if isinstance(db, SqliteDatabase):
        return Connected(user="", role=Role.OWNER)
    groups = [role.group for role in Role]
    user, owns, member = db.execute_sql(
        "SELECT current_user, r.rolsuper OR COALESCE(pg_has_role(current_user, c.relowner, 'MEMBER'), false), "
        "ARRAY(SELECT g.rolname FROM pg_roles g WHERE g.rolname = ANY(%s) "
        "AND pg_has_role(current_user, g.oid, 'MEMBER')) "
        "FROM pg_roles r LEFT JOIN pg_class c ON c.oid = to_regclass('schema_version') "
        "WHERE r.rolname = current_user", (groups,)).fetchone()
    role = Role.OWNER if owns else max((r for r in Role if r.group in member), key=lambda r: r.rank,
                                       default=Role.VIEWER)
    found = Connected(user=str(user), role=role)
    _known[db] = found
    return found


def connected_role(db: Database) -> Role:
    """The highest of owner > billing > technician > viewer the current user has (SQLite: the owner)."""
    return whoami(db).role


_TABLE = re.compile(r'permission denied for (?:table|relation) "?([A-Za-z0-9_]+)')
_SEQUENCE = re.compile(r'permission denied for sequence "?([A-Za-z0-9_]+?)_id_seq\b')


def explain_refusal(message: str) -> str:
    """The sentence for a change the database refused (SQLSTATE 42501): who, and which role it needs."""
    database = _database.db.obj
    known = _known.get(database) if database is not None else None
    if known is None and database is not None:
        try:  # asked on the refused statement's connection: its transaction was rolled back, or is void
            known = whoami(database)
        except Exception:  # noqa: BLE001 (the sentence then names the user without the role)
            known = None
    user = known.user if known else str(getattr(database, "connect_params", {}).get("user", "")) or "?"
    if DECISION_REFUSED in message:
        doing, needed = "approving or rejecting a held change", Role.BILLING
    elif match := _TABLE.search(message) or _SEQUENCE.search(message):
        table = match[1]
        needed = writer_of(table)
        doing = WRITERS.get(needed, {}).get(table, f"writing {table}")
    elif "must be owner" in message or "permission denied for schema" in message:
        return (f"your database user ({user}) does not own seatsync's tables; upgrading the database needs the "
                "user that owns them (the one that ran team init)")
    else:
        return f"your database user ({user}) may not do this (the database said: {message.strip()[:200]})"
    who = f"is {known.role.noun}" if known else "may not do this"
    return f"your database user ({user}) {who}; {doing} needs the {needed.value} role"


_database.explain_refusals_with(explain_refusal)
