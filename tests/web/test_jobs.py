"""The Jobs screen (admin): every job with its status, progress and error; a failed one retried."""
from __future__ import annotations

import sqlalchemy as sa

from oms_web.extensions import db
from oms_web.models import ChannelKind, Job, utcnow

from .conftest import state


def _jobs(shop) -> dict[str, Job]:
    amazon = shop.channel("Amazon UK", ChannelKind.AMAZON)
    jobs = {
        "done": Job(kind="print", params={"document": "labels", "order_ids": [1, 2]}, user_id=shop.staff.id,
                    status="done", done=2, total=2, attempts=1, finished_at=utcnow()),
        "running": Job(kind="print", params={"document": "invoices", "order_ids": list(range(1, 60))},
                       user_id=shop.staff.id, status="running", done=50, total=59, attempts=1,
                       heartbeat_at=utcnow()),
        "failed": Job(kind="channel_pull", params={"channel_id": amazon.id}, status="failed", attempts=5,
                      error="Attempt 5 failed: Amazon did not answer", finished_at=utcnow()),
        "queued": Job(kind="confirmations", params={"channel_id": amazon.id}, heartbeat_at=utcnow()),
    }
    db.session.add_all(jobs.values())
    db.session.commit()
    return jobs


def test_the_jobs_screen_lists_each_job_with_its_progress_and_error(shop, as_admin):
    _jobs(shop)
    page = as_admin.get("/jobs").get_data(as_text=True)
    assert "shipping labels for 2 order(s)" in page and "invoices for 59 order(s)" in page
    assert 'value="50"' in page and "50/59" in page
    assert "Amazon UK" in page and "Attempt 5 failed: Amazon did not answer" in page
    assert page.count(">Retry</button>") == 1  # only the failed one
    assert 'hx-get="/jobs"' in page  # it refreshes itself while jobs run
    failed = as_admin.get("/jobs?status=failed").get_data(as_text=True)
    assert "Amazon did not answer" in failed and "order(s)" not in failed
    bogus = as_admin.get("/jobs?status=exploded")
    assert bogus.status_code == 422 and "Show queued, running, failed or done jobs." in bogus.get_data(as_text=True)


def test_an_admin_retries_a_failed_job(shop, as_admin):
    jobs = _jobs(shop)
    response = as_admin.htmx_post(f"/jobs/{jobs['failed'].id}/retry")
    assert response.status_code == 200 and "Queued again" in response.get_data(as_text=True)
    retried = db.session.get(Job, jobs["failed"].id)
    assert (retried.status, retried.attempts, retried.finished_at) == ("queued", 0, None)


def test_a_job_that_has_not_failed_is_not_retried_and_nothing_changes(shop, as_admin):
    jobs = _jobs(shop)
    for name in ("done", "running", "queued"):
        before = state(shop)
        response = as_admin.htmx_post(f"/jobs/{jobs[name].id}/retry")
        assert response.status_code == 422, name
        assert f"Only a failed job can be retried; this one is {name}" in response.get_data(as_text=True)
        assert state(shop) == before
    missing = as_admin.post_form(f"/jobs/{max(j.id for j in jobs.values()) + 1}/retry")
    assert missing.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.status == "queued")) == 1


def test_staff_and_managers_cannot_see_or_retry_jobs(shop, sign_in):
    jobs = _jobs(shop)
    for user in (shop.staff, shop.manager):
        client = sign_in(user)
        assert client.get("/jobs").status_code == 403
        before = state(shop)
        assert client.htmx_post(f"/jobs/{jobs['failed'].id}/retry").status_code == 403
        assert state(shop) == before


def test_sync_now_queues_a_pull_for_the_workers(shop, as_admin):
    amazon = shop.channel("Amazon UK", ChannelKind.AMAZON)
    response = as_admin.post_form(f"/channels/{amazon.id}/sync")
    assert response.status_code == 302
    [job] = db.session.scalars(sa.select(Job)).all()
    assert (job.kind, job.params, job.status, job.user_id) == ("channel_pull", {"channel_id": amazon.id}, "queued",
                                                                shop.admin.id)
