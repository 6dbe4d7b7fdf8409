"""Benchmark a sweep fanned out over Celery: the same sweep with one worker process, then two.

It starts its own private redis-server and a SQLite database in a temporary folder, migrates it,
then for each worker count starts that many Celery worker processes (each with one pool process,
so N workers use N cores), runs one sweep (12 points x 5 seeds by default) and prints the wall
time; finally the speed-up, and whether both gave the same result (they must).

Usage: .venv/bin/python bench/sweep.py [--points 12] [--seeds 5] [--duration 60]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent


def design(duration: int) -> dict:
    return {
        "title": "Three-tier fleet",
        "nodes": [
            {"id": "users", "kind": "client", "params": {"rps": 2000}},
            {"id": "lb", "kind": "load_balancer"},
            {"id": "api", "kind": "service", "params": {"instances": 8, "workers": 16,
                                                        "service_ms": {"dist": "lognormal", "mean": 12, "cv": 1}}},
            {"id": "redis", "kind": "store", "params": {"role": "cache", "hit_ratio": 1, "latency_ms": 1}},
            {"id": "db", "kind": "database", "params": {"latency_ms": 5}},
        ],
        "edges": [{"from": "users", "to": "lb"}, {"from": "lb", "to": "api"}, {"from": "api", "to": "redis"},
                  {"from": "api", "to": "db", "calls": 0.3}],
        "scenario": {"duration_s": duration, "seed": 1},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=60)
    args = parser.parse_args()

    from tests.redis_server import PrivateRedis

    redis_server = PrivateRedis().start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="playground.settings", DEBUG="0", SECRET_KEY="bench-only",
               REDIS_URL=redis_server.url, DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
               LOG_LEVEL="WARNING", SWEEP_MAX_ACTIVE_ANONYMOUS="10")
    os.environ.update(env)
    subprocess.run([str(BIN / "python"), "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    import django

    django.setup()
    from playground.runs import sweep_service
    from playground.runs.models import Sweep
    from playground.runs.service import Owner

    results = {}
    try:
        for workers in (1, 2):
            procs = [
                subprocess.Popen([str(BIN / "celery"), "-A", "playground.celery", "worker", "-c", "1",
                                  "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
                                  "-n", f"bench{workers}-{i}@%h"],
                                 cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for i in range(workers)
            ]
            time.sleep(4)  # the workers connect
            start = time.perf_counter()
            sweep = sweep_service.create_sweep(
                design(args.duration), owner=Owner(key=f"addr:bench{workers}", address="bench"),
                axes=[{"path": "nodes.api.params.instances", "from": 3, "to": 3 + args.points - 1}],
                target="p99 < 100 and errors < 0.1%", seeds=args.seeds, seed=1,
            )
            while True:
                sweep.refresh_from_db()
                if sweep.status in Sweep.TERMINAL:
                    break
                time.sleep(0.05)
            wall = time.perf_counter() - start
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=30)
            results[workers] = (wall, sweep.result_json)
            print(f"{args.points} points x {args.seeds} seeds ({args.points * args.seeds} runs of "
                  f"{args.duration} simulated s at 2,000 rps) with {workers} worker process"
                  f"{'es' if workers > 1 else ''}: {wall:.1f} s wall ({sweep.status}); answer: {sweep.result['answer']}")
        speedup = results[1][0] / results[2][0]
        same = results[1][1] == results[2][1]
        print(f"speed-up with two workers: {speedup:.2f}x on {os.cpu_count()} cores; same result: {same}")
    finally:
        redis_server.stop()


if __name__ == "__main__":
    main()
