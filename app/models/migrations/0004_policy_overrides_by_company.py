"""Version 4: approval-policy overrides name seatsync's company, not the PSA's company id.

Overrides were stored as ``approval.policy.company.<PSA company id>``; two
PSA connections may number their companies alike, so one override applied
to a company of each. They become ``approval.policy.company.<psa_company.id>``
(the row id, unique across connections). An override whose PSA id names
companies in several connections is kept for each of them (what it did
before); one naming no company any more is dropped.
"""

from __future__ import annotations

from peewee import Database

PREFIX = "approval.policy.company."


def up(db: Database) -> None:
    p = db.param  # ? on SQLite, %s on PostgreSQL
    rows = db.execute_sql(f"SELECT key, value, updated_at FROM setting WHERE substr(key, 1, {p}) = {p}",
                          (len(PREFIX), PREFIX)).fetchall()
    for key, value, updated_at in rows:
        psa_id = key[len(PREFIX):]
        companies = [row[0] for row in db.execute_sql(f"SELECT id FROM psa_company WHERE psa_id = {p}", (psa_id,))]
        db.execute_sql(f"DELETE FROM setting WHERE key = {p}", (key,))
        for company in companies:
            new_key = f"{PREFIX}{company}"
            db.execute_sql(f"DELETE FROM setting WHERE key = {p}", (new_key,))
            db.execute_sql(f"INSERT INTO setting (key, value, updated_at) VALUES ({p}, {p}, {p})",
                           (new_key, value, updated_at))
