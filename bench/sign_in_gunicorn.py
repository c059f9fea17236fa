"""gunicorn settings for bench/sign_in.py: every worker counts the password checks it performs, one
byte each appended to OMS_BENCH_CHECKS_FILE, around werkzeug's real check (nothing is stood in)."""
import os


def post_fork(server, worker):
    import oms_web.models as models

    real_check = models.check_password_hash
    path = os.environ["OMS_BENCH_CHECKS_FILE"]

    def check_and_count(password_hash: str, password: str) -> bool:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, b".")
        finally:
            os.close(fd)
        return real_check(password_hash, password)

    models.check_password_hash = check_and_count
