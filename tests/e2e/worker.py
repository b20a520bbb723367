"""One sync in a process of its own, on a test's database and sandboxes (``python -m tests.e2e.worker``).

Reads a JSON spec from the file named by its argument: the data directory, the sandboxes' certificate
authority, the day, the secrets (sandbox ones: a throw-away keyring holds
them, as in the demo) and, optionally, ``crash_after``: an operation kind
after whose PSA call returns the process kills itself with SIGKILL, before
the journal records the outcome; and, optionally, ``installation``: the name
this database gives its lines (a second installation of seatsync);
``hostname``: the computer name this process gives (another computer's
process, on a shared team database); ``trigger``: what started the run
(``schedule``: the runner's). Prints the run's results as JSON, or, when
another process's run held the team database's run lock, ``coalesced``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import UTC, date
from pathlib import Path


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    if spec.get("hostname"):
        import socket

        socket.gethostname = lambda: spec["hostname"]
    from app.bootstrap import open_context
    from app.services.secrets import MemoryKeyring, SecretStore, microsoft_secret_key, psa_secret_key
    from app.services.sync import apply

    context = open_context(Path(spec["data_dir"]), secrets=SecretStore(MemoryKeyring()), ca_file=spec["ca"])
    try:
        if spec.get("installation"):
            from datetime import datetime

            from app.models.setting import Setting

            Setting.replace(key="installation.id", value=json.dumps(spec["installation"]),
                            updated_at=datetime.now(UTC)).execute()
        ms = context.uow.microsoft_connections.all()[0]
        context.secrets.set(microsoft_secret_key(ms.id, ms.name), spec["microsoft_secret"])
        record = context.uow.psa_connections.all()[0]
        for name, value in spec["psa_secrets"].items():
            context.secrets.set(psa_secret_key(record.id, name, record.name), value)
        today = date.fromisoformat(spec["today"])
        psa = context.psas.psa(record.id)
        if hasattr(psa, "today"):
            psa.today = lambda: today
        crash_after = spec.get("crash_after")
        if crash_after:
            execute = apply.Applier._execute

            def execute_then_die(self, op, by_id, by_marker):
                line = execute(self, op, by_id, by_marker)
                if op.kind.value == crash_after:
                    os.kill(os.getpid(), signal.SIGKILL)  # the PSA has it; the journal never hears
                return line

            apply.Applier._execute = execute_then_die
        from app.services.team.syncer import SyncRunningElsewhere

        try:
            summary = context.sync_service(today=lambda: today, workers=1).sync(
                actor="worker", trigger=spec.get("trigger", "manual"))
        except SyncRunningElsewhere as error:
            print(json.dumps({"results": [], "coalesced": error.message}))
            return 0
        print(json.dumps({"results": [{"status": r.status.value, "error": r.error,
                                       "applied": [op.key for op in r.applied],
                                       "findings": [f.kind.value for f in r.findings],
                                       "held": [f"{op.key}: {why}" for op, why in r.held],
                                       "planned": [op.key for op in (r.plan.operations if r.plan else ())]}
                                      for r in summary.results],
                          "installation": context.settings.installation_id,
                          "mappings": len(context.uow.mappings.all())}))
        return 0
    finally:
        context.close()


if __name__ == "__main__":
    sys.exit(main())
