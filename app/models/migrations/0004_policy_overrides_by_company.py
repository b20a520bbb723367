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
    rows = db.execute_sql("SELECT key, value, updated_at FROM setting WHERE substr(key, 1, ?) = ?",
                          (len(PREFIX), PREFIX)).fetchall()
    for key, value, updated_at in rows:
        psa_id = key[len(PREFIX):]
        companies = [row[0] for row in db.execute_sql("SELECT id FROM psa_company WHERE psa_id = ?", (psa_id,))]
        db.execute_sql("DELETE FROM setting WHERE key = ?", (key,))
        for company in companies:
            db.execute_sql("INSERT OR REPLACE INTO setting (key, value, updated_at) VALUES (?, ?, ?)",
                           (f"{PREFIX}{company}", value, updated_at))
