"""Benchmark the path of a run: POST /api/runs to the first frame at a viewer, and many viewers of
one live run on one Daphne process.

It starts its own parts: a private redis-server on a free port, a SQLite database in a temporary
folder, one Daphne process and one Celery worker (the site's real settings, DEBUG off). Figures:

- first frame: for N batch runs, the time from sending POST /api/runs to the first frame arriving
  on the run's WebSocket (the viewer connects as soon as the POST answers); median and p90.
- viewers: V WebSocket viewers of one live run at 1x. Delivery lag of a frame is the time from its
  appearance in the run's Redis stream (seen by a blocking XREAD) to its arrival at a viewer. It
  prints the share of frames every viewer got, p50/p99/max lag, and the CPU used by Daphne and by
  the worker per second of wall time, with the machine's load average.

Usage: .venv/bin/python bench/live_runs.py [--runs 30] [--viewers 500] [--duration 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import redis
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.redis_server import PrivateRedis, free_port  # noqa: E402

BIN = Path(sys.executable).parent


def design(duration_s: int, rps: int = 200) -> dict:
    return {
        "title": "Benchmark fleet",
        "nodes": [
            {"id": "users", "kind": "client", "params": {"rps": rps}},
            {"id": "lb", "kind": "load_balancer"},
            {"id": "api", "kind": "service", "params": {"instances": 4, "workers": 16, "service_ms": 12}},
            {"id": "cache", "kind": "store", "params": {"role": "cache", "latency_ms": 1}},
            {"id": "db", "kind": "database", "params": {"latency_ms": 5}},
        ],
        "edges": [{"from": "users", "to": "lb"}, {"from": "lb", "to": "api"}, {"from": "api", "to": "cache"},
                  {"from": "cache", "to": "db"}],
        "scenario": {"duration_s": duration_s, "tick_s": 1},
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children still running, from /proc."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    pids.append(int(entry.name))
            except OSError:
                pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


class Site:
    def __init__(self, tmp: Path) -> None:
        self.redis = PrivateRedis().start()
        self.port = free_port()
        self.env = dict(os.environ, DJANGO_SETTINGS_MODULE="playground.settings", DEBUG="0",
                        SECRET_KEY="bench-only", SECURE_SSL_REDIRECT="false", SECURE_COOKIES="false",
                        STATIC_FROM_FINDERS="true", REDIS_URL=self.redis.url,
                        DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}", RUN_STARTS_PER_MINUTE="0",
                        RUN_MAX_ACTIVE_ANONYMOUS="1000", LOG_LEVEL="WARNING")
        subprocess.run([str(BIN / "python"), "manage.py", "migrate", "-v0"], cwd=ROOT, env=self.env, check=True)
        logs = tmp / "logs"
        logs.mkdir()
        self.daphne = subprocess.Popen([str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port),
                                        "playground.asgi:application"], cwd=ROOT, env=self.env,
                                       stdout=open(logs / "daphne.log", "wb"), stderr=subprocess.STDOUT)
        self.worker = subprocess.Popen([str(BIN / "celery"), "-A", "playground.celery", "worker", "-c", "2",
                                        "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
                                       cwd=ROOT, env=self.env, stdout=open(logs / "worker.log", "wb"),
                                       stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(3)  # the worker's pool

    def post_run(self, body: dict) -> dict:
        request = urllib.request.Request(self.base + "/api/runs", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def stop(self) -> None:
        for proc in (self.daphne, self.worker):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.redis.stop()


async def first_frame_latency(site: Site, runs: int) -> list[float]:
    ws_base = site.base.replace("http", "ws")
    times = []
    for i in range(runs):
        start = time.perf_counter()
        started = await asyncio.to_thread(site.post_run, {"document": design(10), "seed": 1000 + i})
        async with websockets.connect(ws_base + started["ws"], origin=site.base) as ws:
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "frame":
                    times.append(time.perf_counter() - start)
                    break
    return times


async def _view(ws_url: str, origin: str, count: int) -> list[tuple[float, dict[int, float]]]:
    """``count`` viewers in this process: for each, when it joined and when each frame arrived."""
    joined = [float("inf")] * count
    received: list[dict[int, float]] = [dict() for _ in range(count)]

    async def viewer(i: int) -> None:
        async with websockets.connect(ws_url, origin=origin, open_timeout=120, max_queue=None) as ws:
            async for raw in ws:
                now = time.time()
                joined[i] = min(joined[i], now)
                if raw.startswith('{"frame":'):  # a live frame's fixed prefix: no need to parse it all
                    received[i][int(raw[raw.index('"seq":') + 6:].split(",", 1)[0])] = now
                    continue
                message = json.loads(raw)  # the backlog, status, done or end
                if message["type"] == "frame":
                    received[i][message["frame"]["seq"]] = now
                elif message["type"] in ("done", "end"):
                    return

    tasks = []
    for i in range(count):
        tasks.append(asyncio.create_task(viewer(i)))
        if i % 25 == 24:
            await asyncio.sleep(0.1)
    await asyncio.gather(*tasks)
    return list(zip(joined, received, strict=True))


def _client_process(ws_url: str, origin: str, count: int, out) -> None:
    out.send(asyncio.run(_view(ws_url, origin, count)))
    out.close()


async def viewers_benchmark(site: Site, viewers: int, duration: int, processes: int) -> dict:
    """Viewers spread over several client processes, so the clients' own work does not pass for
    delivery lag; times are wall-clock, comparable across processes on one machine."""
    import multiprocessing

    started = site.post_run({"document": design(duration), "mode": "live", "speed": 1})
    ws_url = site.base.replace("http", "ws") + started["ws"]
    published: dict[int, float] = {}
    done = asyncio.Event()

    async def watch_stream() -> None:
        client = redis.asyncio.Redis.from_url(site.redis.url)
        last = "0-0"
        key = f"run:{started['id']}:frames"
        while not done.is_set():
            entries = await client.xread({key: last}, block=500)
            now = time.time()
            for _stream, items in entries:
                for entry_id, _fields in items:
                    published[int(entry_id.decode().split("-")[0])] = now
                    last = entry_id
        await client.aclose()

    cpu_before = (cpu_seconds(site.daphne.pid), cpu_seconds(site.worker.pid))
    wall_before = time.perf_counter()
    watcher = asyncio.create_task(watch_stream())
    ctx = multiprocessing.get_context("spawn")
    pipes, procs = [], []
    for k in range(processes):
        share = viewers // processes + (1 if k < viewers % processes else 0)
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_client_process, args=(ws_url, site.base, share, child))
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    results = []
    for parent in pipes:
        results.extend(await asyncio.to_thread(parent.recv))
    for proc in procs:
        proc.join()
    done.set()
    await watcher
    wall = time.perf_counter() - wall_before
    cpu_after = (cpu_seconds(site.daphne.pid), cpu_seconds(site.worker.pid))
    frames = sorted(published)
    # Lag counts frames published after the viewer joined; earlier ones reach it as its backlog.
    lags = sorted(got[seq] - published[seq] for joined, got in results for seq in frames
                  if seq in got and published[seq] > joined)
    # Steady state: frames published once every viewer had joined (no handshakes or backlogs
    # competing with them).
    all_joined = max(joined for joined, _got in results)
    steady = sorted(got[seq] - published[seq] for _joined, got in results for seq in frames
                    if seq in got and published[seq] > all_joined)
    complete = sum(1 for _joined, got in results if all(seq in got for seq in range(1, duration + 1)))
    return {
        "viewers": viewers,
        "processes": processes,
        "frames": len(frames),
        "viewers_with_every_frame": complete,
        "share_delivered": sum(len(got) for _j, got in results) / (viewers * duration),
        "lag_p50_ms": 1000 * lags[len(lags) // 2] if lags else None,
        "lag_p99_ms": 1000 * lags[int(len(lags) * 0.99)] if lags else None,
        "lag_max_ms": 1000 * lags[-1] if lags else None,
        "steady_frames": len({seq for seq in frames if published[seq] > all_joined}),
        "steady_p50_ms": 1000 * steady[len(steady) // 2] if steady else None,
        "steady_p99_ms": 1000 * steady[int(len(steady) * 0.99)] if steady else None,
        "daphne_cpu_per_s": (cpu_after[0] - cpu_before[0]) / wall,
        "worker_cpu_per_s": (cpu_after[1] - cpu_before[1]) / wall,
        "loadavg_1min": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--viewers", type=int, default=500)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--client-processes", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        site = Site(Path(tmp))
        try:
            latencies = asyncio.run(first_frame_latency(site, args.runs))
            latencies.sort()
            print(f"POST /api/runs (batch) to first frame at a viewer, {args.runs} runs: "
                  f"median {1000 * statistics.median(latencies):.0f} ms, "
                  f"p90 {1000 * latencies[int(len(latencies) * 0.9)]:.0f} ms, "
                  f"max {1000 * latencies[-1]:.0f} ms")
            result = asyncio.run(viewers_benchmark(site, args.viewers, args.duration, args.client_processes))
            print(f"{result['viewers']} viewers (in {result['processes']} client processes) of one live run "
                  f"at 1x on one Daphne process, "
                  f"{result['frames']} frames: {result['viewers_with_every_frame']} viewers got every frame "
                  f"({100 * result['share_delivered']:.2f}% of frames delivered); delivery lag "
                  f"p50 {result['lag_p50_ms']:.0f} ms, p99 {result['lag_p99_ms']:.0f} ms, "
                  f"max {result['lag_max_ms']:.0f} ms; once all had joined ({result['steady_frames']} frames): "
                  f"p50 {result['steady_p50_ms']:.0f} ms, p99 {result['steady_p99_ms']:.0f} ms; "
                  f"CPU: Daphne {result['daphne_cpu_per_s']:.2f} s/s, "
                  f"worker {result['worker_cpu_per_s']:.2f} s/s, load average {result['loadavg_1min']:.2f}")
        except Exception:
            log = (Path(tmp) / "logs" / "daphne.log").read_text()
            print("\n".join(line for line in log.splitlines() if "WSDISCONNECT" not in line and "WSCONNECT" not in line)[-4000:], file=sys.stderr)
            raise
        finally:
            site.stop()


if __name__ == "__main__":
    main()
