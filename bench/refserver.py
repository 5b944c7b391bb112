"""The reference server of the HTTP benchmarks: the least a durable JSON API can do.

``python -m bench.refserver DB TOKEN [SEED]``: Starlette + uvicorn (as ``python -m
forms_server serve`` runs them), one SQLite database in WAL mode with
``synchronous=FULL`` (every commit is fsync'd before the answer). A POST to
``/api/forms/{code}/submissions`` with the right bearer token stores the request
body's JSON as it came, with no validation, scoring or history, and answers 201
with the stored document. ``/healthz`` answers once the database is open. SEED
(a number) fills an empty database with that many copies of the benchmark record
first.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def open_db(path: str, seed: int) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS submissions (id INTEGER PRIMARY KEY, doc TEXT NOT NULL)")
    if seed and not db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]:
        from bench.storage import sample_record, stored

        record = sample_record()
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO submissions (doc) VALUES (?)",
            ((json.dumps(stored(record, i), ensure_ascii=False),) for i in range(seed)),
        )
        db.execute("COMMIT")
    return db


def create_app(db: sqlite3.Connection, token: str) -> Starlette:
    lock = threading.Lock()  # one connection, one writer at a time (SQLite allows no more)
    count = db.execute("SELECT COUNT(*) FROM submissions").fetchone()[0]

    def insert(text: str) -> int:
        with lock:
            return db.execute("INSERT INTO submissions (doc) VALUES (?)", (text,)).lastrowid

    async def submit(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        doc = json.loads(await request.body())
        text = json.dumps(doc, ensure_ascii=False)
        doc_id = await run_in_threadpool(insert, text)
        return JSONResponse({**doc, "id": doc_id}, status_code=201)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "records": count})

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/api/forms/{code}/submissions", submit, methods=["POST"]),
        ]
    )


def main() -> None:
    path, token = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    app = create_app(open_db(path, seed), token)
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="info")


if __name__ == "__main__":
    main()
