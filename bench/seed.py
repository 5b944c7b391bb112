"""A data directory with N stored submissions, a user and an API token, ready for a real server.

Shared by the HTTP benchmarks (ingest, startup). The server, the user and the token are
those of the fault tests (`tests.serverkit`: the documented admin CLI on the empty
directory), with the real forms; the N submissions (the realistic scored checklist of
`bench.storage`) are then added to the snapshot directly, as a restored backup would be,
instead of through N commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.storage import sample_record, stored
from forms_server import journal
from forms_server.settings import PROJECT_DIR
from tests.serverkit import Server


@dataclass
class Seeded:
    server: Server  # a server on this data directory, not started
    token: str
    records: int


def seed(root: Path, records: int) -> Seeded:
    """A server on ``root`` with a staff user of 管理处 CH, its API token and ``records``
    submissions."""
    server = Server(root, forms_dir=PROJECT_DIR / "data" / "forms")
    token = server.add_user_with_token()["Authorization"].removeprefix("Bearer ")
    # The CLI's clean stop compacted everything into the snapshot.
    tables = journal.read_snapshot(server.data_dir)
    meta = tables.pop("_meta")["1"]
    record = sample_record()
    tables["submissions"] = {str(i + 1): stored(record, i) for i in range(records)}
    journal.write_snapshot(server.data_dir, tables, meta)
    return Seeded(server, token, records)
