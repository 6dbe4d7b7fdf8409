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

Fairness (``fairness``): live runs at 1x and batch runs from several clients at once, on a site whose
workers are the Procfile's (the prefork ``worker`` on ``-Q batch,sweeps,celery``, the thread-pool
``live`` worker on ``-Q live``, and beat), real settings, SQLite in ``var/bench-fair.sqlite3``. Each
client is a user with an API token and an address of its own, so per-owner caps (10 active runs a
user) are not what is measured; the site-wide live cap (``RUN_LIVE_MAX_ACTIVE``, 20) is. Every
client starts its live runs first (template designs of 60 s at their own traffic), then its batch
runs at random moments over ``--spread`` seconds (the Netflix, Airbnb and rolling-deploy templates
at ``--batch-traffic`` times their traffic, each a different seed: with 2, about 0.5 s of the engine's
CPU and 0.9 s of the worker's each). Figures: the batch
runs' queue wait (``created_at`` to ``started_at`` in the database) p50/p95/max, how late the live
runs ended against the wall clock, the peak resident memory of the worker process trees (summed,
sampled every 0.5 s), runs simulated more than once (``attempts`` > 1) and runs whose stored frames
repeat or miss a seq, the load average, and how long it all took. Bounded by ``--timeout``; it
stops every process it started.

Usage: .venv/bin/python bench/reliability.py [--viewers 1000] [--duration 30] [--seconds 10]
       .venv/bin/python bench/reliability.py fairness [--live 20] [--batch 60] [--clients 10] [--spread 50]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import http.client
import json
import math
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import redis
import websockets
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchsite import BIN, ROOT, Site, cpu_seconds, design, rss_mib, tree_rss_mib, watch_stream


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


# ------------------------------------------------------------------------------------------ fairness

LIVE_TEMPLATES = ("stripe", "memory-sessions", "sticky-sessions", "file-uploads")
BATCH_TEMPLATES = ("netflix", "airbnb-after", "airbnb-before", "rolling-deploy")
FAIR_DATABASE = ROOT / "var" / "bench-fair.sqlite3"
TERMINAL = ("done", "failed", "cancelled")


def template_document(slug: str, traffic: float = 1, duration_s: int | None = None) -> dict:
    document = copy.deepcopy(yaml.safe_load((ROOT / "templates_lib" / f"{slug}.yaml").read_text())["document"])
    for node in document["nodes"]:
        if node["kind"] == "client":
            node["params"]["rps"] = node["params"]["rps"] * traffic
    if duration_s is not None:
        document["scenario"]["duration_s"] = duration_s
    return document


def machine_cpu() -> tuple[float, float]:
    """(busy, all) CPU-seconds of the whole machine since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / tick, sum(fields[:8]) / tick


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least ``q`` of the values at or below it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def issue_tokens(site: Site, clients: int) -> list[str]:
    """One user and API token per client, made in the bench's database."""
    code = (
        "import json\n"
        "from django.contrib.auth import get_user_model\n"
        "from playground.accounts.models import ApiToken\n"
        f"users = [get_user_model().objects.create_user(f'fair{{i}}') for i in range({clients})]\n"
        "print(json.dumps([ApiToken.issue(u, 'bench')[1] for u in users]))\n"
    )
    done = subprocess.run([str(BIN / "python"), "manage.py", "shell", "-c", code], cwd=ROOT, env=site.env,
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_ready(site: Site, names: tuple[str, ...], timeout: float = 180) -> None:
    """Until each Celery worker's log says it is ready (its pool started, the engine core loaded)."""
    deadline = time.monotonic() + timeout
    for name in names:
        log = site.logs / f"{name}.log"
        while " ready." not in log.read_text(errors="replace"):
            if site.workers[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {name} worker did not start; see {log}")
            time.sleep(0.2)


def _when(text: str | None) -> float | None:
    return datetime.fromisoformat(text).timestamp() if text else None


def read_runs(database: Path) -> list[dict]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute(
            "SELECT id, slug, mode, status, reason, attempts, frames_total, created_at, started_at, finished_at "
            "FROM runs_run")]
        seqs: dict[int, list[int]] = {}
        for run_id, frames_json in db.execute("SELECT run_id, frames_json FROM runs_framebatch"):
            seqs.setdefault(run_id, []).extend(f["seq"] for f in json.loads(frames_json))
    for row in rows:
        stored = seqs.get(row["id"], [])
        row["frames_stored"] = len(stored)
        row["frames_repeated"] = len(stored) - len(set(stored))
        row["frames_missing"] = len(set(range(1, row["frames_total"] + 1)) - set(stored))
        for key in ("created_at", "started_at", "finished_at"):
            row[key] = _when(row[key])
    return rows


def fairness(args: argparse.Namespace) -> None:
    for path in FAIR_DATABASE.parent.glob(FAIR_DATABASE.name + "*"):  # the bench's own file from a last run
        path.unlink()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-fair-") as tmp:
        site = Site(Path(tmp), procfile=True, database=FAIR_DATABASE, TRUSTED_PROXY_COUNT="1")
        try:
            wait_ready(site, ("worker", "live"))
            tokens = issue_tokens(site, args.clients)
            _fairness_run(site, tokens, rng, args)
        except Exception:
            for log in sorted(site.logs.glob("*.log")):
                print(f"--- {log.name}\n" + log.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        finally:
            site.stop()


def _fairness_run(site: Site, tokens: list[str], rng: random.Random, args: argparse.Namespace) -> None:
    # Who starts what, and when (seconds after the start): every client its live runs at once,
    # then its batch runs at random moments over the spread.
    plan: list[list[tuple[float, str, dict]]] = [[] for _ in tokens]
    for k in range(args.live):
        document = template_document(LIVE_TEMPLATES[k % len(LIVE_TEMPLATES)], duration_s=args.live_duration)
        plan[k % len(tokens)].append((0.05 * k, "live", {"document": document, "seed": 2000 + k, "mode": "live",
                                                         "speed": 1}))
    for k in range(args.batch):
        document = template_document(BATCH_TEMPLATES[k % len(BATCH_TEMPLATES)], args.batch_traffic)
        at = args.lead + rng.uniform(0, args.spread)
        plan[k % len(tokens)].append((at, "batch", {"document": document, "seed": 1000 + k}))
    answers: list[tuple[str, int, dict]] = []
    lock = threading.Lock()
    started = time.monotonic()

    def client(i: int) -> None:
        for at, kind, body in sorted(plan[i], key=lambda item: item[0]):
            time.sleep(max(0.0, started + at - time.monotonic()))
            status, answer, _headers = site.post_run(body, address=f"198.51.100.{i + 1}", token=tokens[i])
            with lock:
                answers.append((kind, status, answer))

    peaks = {"total": 0.0, "worker": 0.0, "live": 0.0}
    load = [os.getloadavg()[0]]
    stop = threading.Event()
    names = ("worker", "live")
    cpu_before = {name: cpu_seconds(site.workers[name].pid) for name in names}
    others_before = _site_cpu(site)
    machine_before = machine_cpu()

    def sample() -> None:
        while not stop.is_set():
            rss = {name: tree_rss_mib(site.workers[name].pid) for name in names}
            peaks["total"] = max(peaks["total"], sum(rss.values()))
            for name in names:
                peaks[name] = max(peaks[name], rss[name])
            load.append(os.getloadavg()[0])
            stop.wait(0.5)

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = {answer["id"] for _kind, status, answer in answers if status == 201}
    deadline = started + args.timeout
    rows: list[dict] = []
    while time.monotonic() < deadline:
        rows = [r for r in read_runs(site.database) if r["slug"] in accepted]
        if len(rows) == len(accepted) and all(r["status"] in TERMINAL for r in rows):
            break
        time.sleep(1)
    wall = time.monotonic() - started
    stop.set()
    sampler.join()
    cpu = {name: cpu_seconds(site.workers[name].pid) - cpu_before[name] for name in names}
    busy, total = (after - before for after, before in zip(machine_cpu(), machine_before, strict=True))
    cpu["site"] = _site_cpu(site) - others_before
    cpu["machine_busy"], cpu["machine_all"] = busy, total
    rows = [r for r in read_runs(site.database) if r["slug"] in accepted]
    time.sleep(1)
    report_fairness(site, args, answers, rows, wall, peaks, cpu, load)


def _site_cpu(site: Site) -> float:
    """CPU-seconds of everything the bench runs: its workers and Daphne, Redis, and this process."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return (sum(cpu_seconds(p.pid) for p in (*site.workers.values(), *site.daphnes))
            + cpu_seconds(site.redis.proc.pid) + own.ru_utime + own.ru_stime)


def report_fairness(site: Site, args: argparse.Namespace, answers: list, rows: list[dict], wall: float,
                    peaks: dict, cpu: dict, load: list[float]) -> None:
    refused = Counter((kind, status) for kind, status, _answer in answers if status != 201)
    batch = [r for r in rows if r["mode"] == "batch"]
    live = [r for r in rows if r["mode"] == "live"]
    waits = [r["started_at"] - r["created_at"] for r in batch if r["started_at"]]
    took = [r["finished_at"] - r["started_at"] for r in batch if r["finished_at"] and r["started_at"]]
    live_waits = [r["started_at"] - r["created_at"] for r in live if r["started_at"]]
    late = [r["finished_at"] - r["started_at"] - args.live_duration for r in live
            if r["status"] == "done" and r["finished_at"] and r["started_at"]]
    statuses = Counter((r["mode"], r["status"]) for r in rows)
    twice = [r for r in rows if r["attempts"] > 1]
    repeated = [r for r in rows if r["frames_repeated"]]
    missing = [r for r in rows if r["status"] == "done" and (r["frames_missing"] or r["frames_stored"] != r["frames_total"])]
    client = redis.Redis.from_url(site.redis.url)
    log_short = [r for r in rows if r["status"] == "done" and client.xlen(f"run:{r['slug']}:frames") != r["frames_total"]]
    problems = Counter()
    for log in site.logs.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            for word in ("Traceback", "lease lost", "Redis failed", "WorkerLostError", "ERROR", "database is locked",
                         "Hard time limit"):
                if word in line:
                    problems[f"{log.stem}: {word}"] += 1
    unfinished = [r for r in rows if r["status"] not in TERMINAL]
    print(f"fairness: {args.live} live runs at 1x ({args.live_duration} s each) and {args.batch} batch runs "
          f"(templates at {args.batch_traffic:g}x traffic) from {args.clients} clients (a user and an address "
          f"each; batch starts from {args.lead:g} s, spread over {args.spread:.0f} s); "
          f"Procfile workers: prefork worker -Q batch,sweeps,celery, live worker -P threads -Q live, beat")
    print(f"  starts: {sum(1 for _k, s, _a in answers if s == 201)} accepted of {len(answers)}; refused {dict(refused)}; "
          f"ended {dict(statuses)}; unfinished {len(unfinished)}")
    print(f"  batch queue wait (created_at to started_at): p50 {percentile(waits, 0.5):.2f} s, "
          f"p95 {percentile(waits, 0.95):.2f} s, max {max(waits, default=float('nan')):.2f} s "
          f"(n={len(waits)}); batch run time p50 {percentile(took, 0.5):.2f} s, max {max(took, default=float('nan')):.2f} s")
    print(f"  live: queue wait max {max(live_waits, default=float('nan')):.2f} s; ended after their "
          f"{args.live_duration} s by p50 {percentile(late, 0.5):+.2f} s, max {max(late, default=float('nan')):+.2f} s")
    print(f"  simulated more than once (attempts > 1): {len(twice)} {[(r['slug'], r['attempts']) for r in twice]}; "
          f"runs with a stored frame repeated: {len(repeated)}; done runs with a frame missing: {len(missing)}; "
          f"replay log length != frames_total: {len(log_short)}")
    print(f"  worker memory (RSS of the process trees, summed, peak): {peaks['total']:.0f} MiB "
          f"(worker {peaks['worker']:.0f}, live {peaks['live']:.0f}); CPU s: worker {cpu['worker']:.1f}, "
          f"live {cpu['live']:.1f}")
    print(f"  load average (1 min): {load[0]:.2f} before, max {max(load):.2f} during; "
          f"everything took {wall:.1f} s; log lines of note {dict(problems) or 'none'}")
    started = [r["started_at"] for r in batch if r["started_at"]]
    span = max((r["finished_at"] for r in batch if r["finished_at"]), default=0) - min(started, default=0)
    print(f"  worker CPU per batch run (all of the worker's CPU over the run / batch runs): "
          f"{cpu['worker'] / max(1, len(batch)):.2f} s; batch pool processes busy on average from the first "
          f"start to the last end: {sum(took) / span if span > 0 else float('nan'):.2f} of {os.cpu_count()}")
    print(f"  machine CPU over the run: {cpu['machine_busy']:.0f} of {cpu['machine_all']:.0f} CPU-s busy, "
          f"{cpu['site']:.0f} of them the bench's own site and clients, "
          f"{max(0.0, cpu['machine_busy'] - cpu['site']):.0f} other work on the machine")
    for (kind, status), _n in refused.items():
        said = next(a for k, s, a in answers if (k, s) == (kind, status))
        print(f"  refused {kind} {status}: {json.dumps(said)[:300]}")
    for r in rows:
        if r["status"] != "done":
            print(f"  {r['mode']} run {r['slug']}: {r['status']}: {r['reason']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", choices=("load", "fairness"), default="load")
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=None,
                        help="gallery clients (16), or for fairness the clients starting runs (10)")
    parser.add_argument("--addresses", type=int, default=8)
    fair = parser.add_argument_group("fairness")
    fair.add_argument("--live", type=int, default=20, help="live runs at 1x")
    fair.add_argument("--batch", type=int, default=60, help="batch runs")
    fair.add_argument("--live-duration", type=int, default=60, help="each live run's simulated (and wall) seconds")
    fair.add_argument("--lead", type=float, default=3, help="seconds after the live runs before batch starts begin")
    fair.add_argument("--spread", type=float, default=50, help="seconds over which batch runs start")
    fair.add_argument("--batch-traffic", type=float, default=2,
                      help="the batch runs' client rps, times the template's (2: about 0.5 s of engine CPU a run)")
    fair.add_argument("--timeout", type=float, default=300, help="the most the runs may take, all told")
    fair.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if args.what == "fairness":
        args.clients = args.clients or 10
        fairness(args)
        return
    args.clients = args.clients or 16
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
