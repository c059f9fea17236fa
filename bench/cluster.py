"""A scaled-out oms_web on this one machine, from the files of deploy/: the machine's PostgreSQL (a
database of its own, made if missing and migrated), Redis for the task queue, two app nodes (gunicorn
with deploy/gunicorn.conf.py on two ports, threads each), HAProxy in front with deploy/haproxy.cfg, and
two task-queue workers.

    .venv/bin/python bench/cluster.py start [--fresh] [--threads 16]   # `make cluster`
    .venv/bin/python bench/cluster.py status
    .venv/bin/python bench/cluster.py stop                             # `make cluster-stop`

What it started is written to /tmp/oms-cluster/cluster.json (process ids, logs); `stop` ends exactly
those processes (each in a session of its own: gunicorn's workers go with their master) and nothing
else. The logs are in /tmp/oms-cluster/*.log. bench/cluster_load.py puts the mixed load on it.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import gunicorn_server  # noqa: E402

STATE_DIR = Path(os.environ.get("OMS_CLUSTER_DIR", "/tmp/oms-cluster"))
STATE_FILE = STATE_DIR / "cluster.json"
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/oms_cluster"
DEFAULT_REDIS = "redis://127.0.0.1:6379/3"
OWN_REDIS_PORT = 6393  # when no Redis answers at --redis, one is started here (and stopped with the rest)


@dataclass
class Process:
    name: str
    pid: int
    command: list[str]
    log: str
    port: int | None = None


@dataclass
class Cluster:
    db: str
    redis: str
    lb_port: int
    node_ports: list[int]
    threads: int
    workers_per_node: int
    worker_threads: int
    secret: str
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.lb_port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OMS_", "PROMETHEUS_"))}
        env.update(OMS_DATABASE_URL=self.db, OMS_REDIS_URL=self.redis, OMS_SECRET_KEY=self.secret, OMS_PROXIES="1",
                   OMS_QUEUE_NAME="oms_cluster", PYTHONPATH=str(ROOT),
                   # A killed worker's job is taken over after this long without its heartbeat.
                   OMS_JOB_LEASE_SECONDS=os.environ.get("OMS_JOB_LEASE_SECONDS", "20"))
        return env

    def save(self) -> None:
        STATE_FILE.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls) -> "Cluster | None":
        if not STATE_FILE.exists():
            return None
        data = json.loads(STATE_FILE.read_text())
        data["processes"] = {name: Process(**p) for name, p in data["processes"].items()}
        return cls(**data)


# ---------------------------------------------------------------- starting

def start(db: str = DEFAULT_DB, redis_url: str = DEFAULT_REDIS, *, fresh: bool = False, lb_port: int = 8800,
          node_ports: tuple[int, int] = (8801, 8802), threads: int = 16, workers_per_node: int = 1,
          worker_threads: int = 2) -> Cluster:
    if Cluster.load() is not None:
        raise SystemExit(f"A cluster is already running (see {STATE_FILE}): `make cluster-stop` first")
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    haproxy = _haproxy_binary()
    cluster = Cluster(db=db, redis=redis_url, lb_port=lb_port, node_ports=list(node_ports), threads=threads,
                      workers_per_node=workers_per_node, worker_threads=worker_threads, secret=secrets.token_hex(32))
    cluster.save()  # from here on, `stop` ends whatever was started, even if starting fails midway
    try:
        if not _redis_answers(redis_url):
            redis_server = shutil.which("redis-server")
            if redis_server is None:
                raise SystemExit(f"No Redis answers at {redis_url}, and redis-server is not installed")
            _spawn(cluster, "redis", [redis_server, "--port", str(OWN_REDIS_PORT), "--save", "", "--appendonly", "no"],
                   port=OWN_REDIS_PORT)
            cluster.redis = f"redis://127.0.0.1:{OWN_REDIS_PORT}/0"
            _wait(lambda: _redis_answers(cluster.redis), "redis-server")
        _database(cluster, fresh)
        for number, port in enumerate(cluster.node_ports, 1):
            start_node(cluster, f"node{number}", port)
        for number in (1, 2):
            start_worker(cluster, f"worker{number}")
        env = dict(cluster.env(), OMS_LB_BIND=f"127.0.0.1:{lb_port}", OMS_LB_LOG="stdout",
                   OMS_LB_STATS_BIND=f"127.0.0.1:{lb_port + 99}",
                   **{f"OMS_NODE{n}": f"127.0.0.1:{p}" for n, p in enumerate(cluster.node_ports, 1)})
        _spawn(cluster, "haproxy", [haproxy, "-db", "-f", str(ROOT / "deploy/haproxy.cfg")], env=env, port=lb_port)
        for number, port in enumerate(cluster.node_ports, 1):
            gunicorn_server.wait_until_up(port, "/readyz")
        gunicorn_server.wait_until_up(lb_port, "/healthz")
        _wait(lambda: _haproxy_sees_up(cluster, len(cluster.node_ports)), "HAProxy's health checks")
    except BaseException:
        stop()
        raise
    return cluster


def start_node(cluster: Cluster, name: str, port: int) -> None:
    log = STATE_DIR / f"{name}.log"
    env = dict(cluster.env(), PROMETHEUS_MULTIPROC_DIR=str(STATE_DIR / f"metrics-{port}"))
    with log.open("ab") as output:
        process = gunicorn_server.start(env, port, workers=cluster.workers_per_node, threads=cluster.threads,
                                        config=str(ROOT / "deploy/gunicorn.conf.py"), output=output)
    _record(cluster, name, process, str(log), port)


def start_worker(cluster: Cluster, name: str) -> None:
    _spawn(cluster, name, [sys.executable, "-m", "flask", "--app", "oms_web", "worker", "--threads",
                           str(cluster.worker_threads)])


def _spawn(cluster: Cluster, name: str, command: list[str], *, env: dict[str, str] | None = None,
           port: int | None = None) -> None:
    log = STATE_DIR / f"{name}.log"
    with log.open("ab") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env or cluster.env(), stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    _record(cluster, name, process, str(log), port)


def _record(cluster: Cluster, name: str, process: subprocess.Popen, log: str, port: int | None) -> None:
    cluster.processes[name] = Process(name, process.pid, list(map(str, process.args)), log, port)
    cluster.save()


def _database(cluster: Cluster, fresh: bool) -> None:
    import sqlalchemy as sa

    from bench.run import _database_exists, _fresh_database

    if fresh or not _database_exists(cluster.db):
        _fresh_database(str(sa.make_url(cluster.db).set(drivername="postgresql+psycopg")
                            .render_as_string(hide_password=False)))
        from huey import RedisHuey

        RedisHuey("oms_cluster", url=cluster.redis).flush()  # messages naming the jobs of the database dropped
    subprocess.run([sys.executable, "-m", "flask", "--app", "oms_web", "db", "upgrade"], cwd=ROOT,
                   env=cluster.env(), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _haproxy_binary() -> str:
    found = shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if os.access(p, os.X_OK)), None)
    if found is None:
        raise SystemExit("HAProxy is not installed: `make cluster` installs it (apt-get install haproxy)")
    return found


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _haproxy_sees_up(cluster: Cluster, count: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{cluster.lb_port + 99}/;csv", timeout=2) as response:
            rows = response.read().decode().splitlines()
    except OSError:
        return False
    return sum(1 for row in rows if row.startswith("nodes,node") and ",UP," in row) == count


def _wait(ready, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} not ready within {timeout:g} s")
        time.sleep(0.2)


# ---------------------------------------------------------------- killing, restarting, stopping

def kill(cluster: Cluster, name: str) -> None:
    """SIGKILL, to the process and everything in its session (a node: its master and workers), at once."""
    process = cluster.processes[name]
    if _ours(process):
        os.killpg(process.pid, signal.SIGKILL)
        _reap(process.pid, 5)


def restart(cluster: Cluster, name: str) -> None:
    process = cluster.processes[name]
    if name.startswith("node"):
        start_node(cluster, name, process.port)
    else:
        start_worker(cluster, name)


def stop() -> list[str]:
    """End what `start` wrote down (SIGTERM, SIGKILL after 20 s), and forget it."""
    cluster = Cluster.load()
    if cluster is None:
        return []
    ours = [p for p in cluster.processes.values() if _ours(p)]
    for process in ours:
        # A worker finishes the jobs in hand on SIGINT; everything else stops on SIGTERM.
        os.killpg(process.pid, signal.SIGINT if process.name.startswith("worker") else signal.SIGTERM)
    for process in ours:
        if not _reap(process.pid, 20):
            os.killpg(process.pid, signal.SIGKILL)
            _reap(process.pid, 5)
    STATE_FILE.unlink(missing_ok=True)
    return [p.name for p in ours]


def _ours(process: Process) -> bool:
    """The pid still runs the command we started (not another program that got the number since)."""
    try:
        running = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return [a.decode(errors="replace") for a in running if a][:len(process.command)] == process.command


def _reap(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)  # our child (started in this process): collect it
            if done:
                return True
        except ChildProcessError:  # started by an earlier `make cluster`: watch it go
            if not Path(f"/proc/{pid}").exists():
                return True
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] \
                if Path(f"/proc/{pid}/stat").exists() else "X"
            if state in ("Z", "X"):
                return True
        time.sleep(0.1)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--db", default=os.environ.get("OMS_CLUSTER_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis", default=os.environ.get("OMS_CLUSTER_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--fresh", action="store_true", help="drop and make the database again")
    parser.add_argument("--threads", type=int, default=16, help="threads of each node's gunicorn process")
    args = parser.parse_args()
    if args.action == "stop":
        stopped = stop()
        print(f"stopped: {', '.join(stopped)}" if stopped else "no cluster was running")
        return 0
    if args.action == "status":
        cluster = Cluster.load()
        if cluster is None:
            print("no cluster is running")
            return 1
        for process in cluster.processes.values():
            print(f"  {process.name:<8} pid {process.pid:<7} {'running' if _ours(process) else 'NOT RUNNING'}  {process.log}")
        return 0
    cluster = start(args.db, args.redis, fresh=args.fresh, threads=args.threads)
    print(f"oms_web cluster up: {cluster.url}/ (HAProxy; its stats on http://127.0.0.1:{cluster.lb_port + 99}/)")
    for process in cluster.processes.values():
        print(f"  {process.name:<8} pid {process.pid:<7} {f'port {process.port}' if process.port else '':<10} {process.log}")
    print("  `make cluster-stop` stops them. Sign in with a user of `flask --app oms_web create-user` "
          f"(OMS_DATABASE_URL={cluster.db}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
