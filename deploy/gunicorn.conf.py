"""gunicorn settings for one app node: `gunicorn --config deploy/gunicorn.conf.py 'oms_web:create_app()'`.

Every value can be set from the environment (the systemd unit's EnvironmentFile, the Procfile's env):
  OMS_WEB_BIND      where to listen (default 127.0.0.1:8000; the load balancer connects to it)
  OMS_WEB_WORKERS   processes (default: one per core; requests wait on PostgreSQL, not on Python)
  OMS_WEB_THREADS   threads per process (default 8; gthread)
Each process keeps its own pool of database connections: see the README's "Deployment" for the
budget. Prometheus' counts of all the processes of a node are added up through files in
PROMETHEUS_MULTIPROC_DIR (made here, emptied at start; a scrape of /metrics on any process sees all).
"""
import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("OMS_WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("OMS_WEB_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("OMS_WEB_THREADS", 8))
worker_class = "gthread"
# A request that takes longer than this is a stuck worker: it is killed and replaced (the job queue,
# not a request, does long work: print batches, channel pulls).
timeout = 30
graceful_timeout = 20  # SIGTERM: the requests in hand finish, for at most this long
keepalive = 5  # the load balancer reuses its connections
max_requests, max_requests_jitter = 20_000, 2_000  # a slow leak cannot grow for ever
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # heartbeat files off the disk
accesslog = None  # the app writes one JSON line per request itself, with its request id (oms_web/ops)
errorlog = "-"
loglevel = os.environ.get("OMS_WEB_LOG_LEVEL", "info")
proc_name = "oms_web"

_METRICS_DIR = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"oms-metrics-{bind.replace(':', '-')}"))


def on_starting(server):
    shutil.rmtree(_METRICS_DIR, ignore_errors=True)  # the counts of a previous run are not this one's
    os.makedirs(_METRICS_DIR, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
