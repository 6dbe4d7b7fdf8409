"""Load on a site of its own: many viewers of one run across two Daphne processes, HTTP load on the
gallery, and a burst of run starts against the rate limit.

It starts its own parts: a private redis-server on a free port, a SQLite database in a temporary
folder (migrated, the template library loaded), two Daphne processes and one Celery worker, with the
site's real settings (DEBUG off; ``TRUSTED_PROXY_COUNT=1`` so the run-start burst can speak for many
client addresses through ``X-Forwarded-For``). Figures:

- viewers: V WebSocket viewers of one live run at 1x, half on each Daphne. Delivery lag of a frame is
  the time from its appearance in the run's Redis stream (a blocking XREAD) to its arrival at a
  viewer, for frames published after the viewer joined. Share of frames delivered, p50/p99/max lag,
  each Daphne's resident memory before and after, CPU per second of wall time, load average.
- gallery: C concurrent keep-alive clients GET /templates/ for S seconds, alternating Daphnes:
  requests per second, p50/p99 latency, answers by status.
- run starts: A addresses, each sending starts of one finished batch run (so every accepted start
  reuses its result and ends at once, and only the rate limit binds) as fast as they can for S
  seconds, alternating Daphnes: per address how many were accepted (the limit is 30 a minute),
  how many refused with 429 and Retry-After, and any 5xx.

Usage: .venv/bin/python bench/reliability.py [--viewers 1000] [--duration 30] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchsite import Site, cpu_seconds, design, rss_mib, watch_stream


async def viewers_benchmark(site: Site, viewers: int, duration: int) -> dict:
    status, started, _ = site.post_run({"document": design(duration), "mode": "live", "speed": 1})
    assert status == 201, started
    received: list[dict[int, float]] = [{} for _ in range(viewers)]
    joined: list[float] = [float("inf")] * viewers
    published: dict[int, float] = {}
    failures: Counter = Counter()
    done = asyncio.Event()

    async def viewer(i: int) -> None:
        base = site.bases[i % 2]
        url = base.replace("http", "ws") + started["ws"]
        try:
            async with websockets.connect(url, origin=base, open_timeout=120, max_queue=None) as ws:
                async for raw in ws:
                    message = json.loads(raw)
                    joined[i] = min(joined[i], time.perf_counter())
                    if message["type"] == "frame":
                        received[i][message["frame"]["seq"]] = time.perf_counter()
                    elif message["type"] in ("done", "end"):
                        return
        except Exception as exc:
            failures[type(exc).__name__] += 1

    memory_before = [rss_mib(d.pid) for d in site.daphnes]
    cpu_before = [cpu_seconds(d.pid) for d in site.daphnes] + [cpu_seconds(site.worker.pid)]
    wall_before = time.perf_counter()
    watcher = asyncio.create_task(watch_stream(site.redis.url, started["id"], published, done))
    tasks = []
    for i in range(viewers):
        tasks.append(asyncio.create_task(viewer(i)))
        if i % 50 == 49:
            await asyncio.sleep(0.2)  # connect in waves so the handshakes do not all queue at once
    memory_peak = [0.0, 0.0]

    async def sample_memory() -> None:
        while not done.is_set():
            for j, d in enumerate(site.daphnes):
                memory_peak[j] = max(memory_peak[j], rss_mib(d.pid))
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sample_memory())
    await asyncio.gather(*tasks)
    done.set()
    await watcher
    await sampler
    wall = time.perf_counter() - wall_before
    cpu_after = [cpu_seconds(d.pid) for d in site.daphnes] + [cpu_seconds(site.worker.pid)]
    await asyncio.sleep(2)
    memory_after = [rss_mib(d.pid) for d in site.daphnes]
    frames = sorted(published)
    lags = sorted(received[i][seq] - published[seq] for i in range(viewers) for seq in frames
                  if seq in received[i] and published[seq] > joined[i])
    return {
        "viewers": viewers,
        "frames": len(frames),
        "viewers_with_every_frame": sum(1 for r in received if all(seq in r for seq in range(1, duration + 1))),
        "share_delivered": sum(len(r) for r in received) / (viewers * duration),
        "lag_p50_ms": 1000 * lags[len(lags) // 2] if lags else float("nan"),
        "lag_p99_ms": 1000 * lags[int(len(lags) * 0.99)] if lags else float("nan"),
        "lag_max_ms": 1000 * lags[-1] if lags else float("nan"),
        "memory_before_mib": memory_before,
        "memory_peak_mib": memory_peak,
        "memory_after_mib": memory_after,
        "cpu_per_s": [(a - b) / wall for a, b in zip(cpu_after, cpu_before, strict=True)],
        "loadavg_1min": os.getloadavg()[0],
        "failures": dict(failures),
    }


def http_load(site: Site, path: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(i: int) -> None:
        port = site.ports[i % 2]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, codes = [], Counter()
        while time.perf_counter() < stop_at:
            start = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                codes[response.status] += 1
                mine.append(time.perf_counter() - start)
            except (OSError, http.client.HTTPException) as exc:
                codes[type(exc).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        with lock:
            latencies.extend(mine)
            statuses.update(codes)

    cpu_before = [cpu_seconds(d.pid) for d in site.daphnes]
    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies), "rps": len(latencies) / wall,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else float("nan"),
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else float("nan"),
        "statuses": dict(statuses),
        "cpu_per_s": [(cpu_seconds(d.pid) - b) / wall for d, b in zip(site.daphnes, cpu_before, strict=True)],
    }


def start_burst(site: Site, addresses: int, seconds: float) -> dict:
    body = {"document": design(10), "seed": 4242}
    status, first, _ = site.post_run(body, address="192.0.2.250")
    assert status == 201, first
    site.wait_done(first["id"])  # every later start of the same document and seed reuses its result
    per_address: dict[str, Counter] = {}
    retry_after_missing = 0
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(i: int) -> None:
        nonlocal retry_after_missing
        address = f"198.51.100.{i + 1}"
        codes: Counter = Counter()
        missing = 0
        n = 0
        while time.perf_counter() < stop_at:
            status, _body, headers = site.post_run(body, base=site.bases[n % 2], address=address)
            n += 1
            codes[status] += 1
            if status == 429 and not headers.get("Retry-After"):
                missing += 1
        with lock:
            per_address[address] = codes
            retry_after_missing += missing

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(addresses)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    accepted = [c[201] for c in per_address.values()]
    total = Counter()
    for c in per_address.values():
        total.update(c)
    return {"addresses": addresses, "seconds": wall, "requests": sum(total.values()),
            "accepted_per_address": sorted(accepted), "statuses": dict(total),
            "retry_after_missing": retry_after_missing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--addresses", type=int, default=8)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.viewers + 256)), hard))
    with tempfile.TemporaryDirectory(prefix="bench-reliability-") as tmp:
        # Every viewer connects from this machine: lift the per-address socket cap above their number.
        site = Site(Path(tmp), daphnes=2, load_templates=True, TRUSTED_PROXY_COUNT="1",
                    WS_MAX_CONNECTIONS_PER_ADDRESS=str(args.viewers + 100))
        try:
            v = asyncio.run(viewers_benchmark(site, args.viewers, args.duration))
            print(f"{v['viewers']} viewers of one live run at 1x on two Daphne processes, {v['frames']} frames: "
                  f"{v['viewers_with_every_frame']} viewers got every frame "
                  f"({100 * v['share_delivered']:.2f}% of frames delivered); delivery lag p50 {v['lag_p50_ms']:.0f} ms, "
                  f"p99 {v['lag_p99_ms']:.0f} ms, max {v['lag_max_ms']:.0f} ms; connection failures {v['failures']}")
            print("  Daphne RSS MiB before / peak / after: " + ", ".join(
                f"{b:.0f} / {p:.0f} / {a:.0f}" for b, p, a in
                zip(v["memory_before_mib"], v["memory_peak_mib"], v["memory_after_mib"], strict=True)))
            print(f"  CPU s/s: Daphne {v['cpu_per_s'][0]:.2f} + {v['cpu_per_s'][1]:.2f}, worker {v['cpu_per_s'][2]:.2f}; "
                  f"load average {v['loadavg_1min']:.2f}")
            g = http_load(site, "/templates/", args.clients, args.seconds)
            print(f"GET /templates/ from {args.clients} keep-alive clients for {args.seconds:.0f} s on two Daphnes: "
                  f"{g['requests']} requests, {g['rps']:.0f}/s, p50 {g['p50_ms']:.0f} ms, p99 {g['p99_ms']:.0f} ms, "
                  f"answers {g['statuses']}; Daphne CPU s/s {g['cpu_per_s'][0]:.2f} + {g['cpu_per_s'][1]:.2f}")
            s = start_burst(site, args.addresses, args.seconds)
            print(f"POST /api/runs from {s['addresses']} addresses for {s['seconds']:.0f} s across two Daphnes "
                  f"(limit 30 a minute each): {s['requests']} requests, answers {s['statuses']}; accepted per "
                  f"address {s['accepted_per_address']}; 429s without Retry-After: {s['retry_after_missing']}")
        except Exception:
            for log in sorted((Path(tmp) / "logs").glob("*.log")):
                text = log.read_text(errors="replace")
                print(f"--- {log.name}\n" + "\n".join(
                    line for line in text.splitlines() if "WSDISCONNECT" not in line and "WSCONNECT" not in line
                )[-3000:], file=sys.stderr)
            raise
        finally:
            site.stop()


if __name__ == "__main__":
    main()
