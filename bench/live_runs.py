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
import sys
import tempfile
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchsite import Site, cpu_seconds, design, watch_stream


async def first_frame_latency(site: Site, runs: int) -> list[float]:
    ws_base = site.base.replace("http", "ws")
    times = []
    for i in range(runs):
        start = time.perf_counter()
        _status, started, _ = await asyncio.to_thread(site.post_run, {"document": design(10), "seed": 1000 + i})
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

    _status, started, _ = site.post_run({"document": design(duration), "mode": "live", "speed": 1})
    ws_url = site.base.replace("http", "ws") + started["ws"]
    published: dict[int, float] = {}
    done = asyncio.Event()

    cpu_before = (cpu_seconds(site.daphnes[0].pid), cpu_seconds(site.worker.pid))
    wall_before = time.perf_counter()
    watcher = asyncio.create_task(watch_stream(site.redis.url, started["id"], published, done, time.time))
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
    cpu_after = (cpu_seconds(site.daphnes[0].pid), cpu_seconds(site.worker.pid))
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
        site = Site(Path(tmp), worker_concurrency=2, RUN_STARTS_PER_MINUTE="0", RUN_MAX_ACTIVE_ANONYMOUS="1000",
                    RUN_MAX_ACTIVE_PER_ADDRESS="1000")
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
            log = site.daphne_log()
            print("\n".join(line for line in log.splitlines() if "WSDISCONNECT" not in line and "WSCONNECT" not in line)[-4000:], file=sys.stderr)
            raise
        finally:
            site.stop()


if __name__ == "__main__":
    main()
