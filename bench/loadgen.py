"""Load generator of the HTTP benchmarks, run in its own process.

``python -m bench.loadgen PORT PATH TOKEN BODY_FILE CLIENTS SECONDS WARMUP``: CLIENTS
concurrent keep-alive HTTP/1.1 connections to 127.0.0.1:PORT, each posting the JSON
in BODY_FILE to PATH one request after the other for WARMUP + SECONDS seconds. Prints
one JSON line: requests completed within the measured SECONDS, throughput and
latency percentiles (requests that started during the warm-up are not counted), and
the number of answers other than 201.

A few lines of asyncio streams instead of an HTTP client library: a pre-built request
and a Content-Length read cost a few microseconds, so on a 2-core machine the
generator does not become the bottleneck it would be with a full client.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from bench.stats import percentile


async def client(port: int, request: bytes, warm_until: float, stop_at: float,
                 latencies: list[float], failures: list[int]) -> None:  # fmt: skip
    reader = writer = None
    while time.perf_counter() < stop_at:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            start = time.perf_counter()
            writer.write(request)
            status = int((await reader.readline()).split(b" ", 2)[1])
            length, close = 0, False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            await reader.readexactly(length)
            end = time.perf_counter()
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            failures.append(0)
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
            continue
        if start >= warm_until and end <= stop_at:
            latencies.append(end - start)
            if status != 201:
                failures.append(status)
        if close:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def run(port: int, path: str, token: str, body: bytes, clients: int, seconds: float,
              warmup: float) -> dict:  # fmt: skip
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode("ascii") + body
    latencies: list[float] = []
    failures: list[int] = []
    now = time.perf_counter()
    warm_until, stop_at = now + warmup, now + warmup + seconds
    await asyncio.gather(
        *(client(port, request, warm_until, stop_at, latencies, failures) for _ in range(clients))
    )
    return {
        "clients": clients,
        "requests": len(latencies),
        "throughput": len(latencies) / seconds,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "failures": len(failures),
        "statuses": sorted(set(failures)),
    }


def main() -> None:
    port, path, token, body_file, clients, seconds, warmup = sys.argv[1:8]
    with open(body_file, "rb") as f:
        body = f.read()
    result = asyncio.run(
        run(int(port), path, token, body, int(clients), float(seconds), float(warmup))
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
