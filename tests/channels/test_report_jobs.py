"""Report imports on the task queue: a long file confirmed on the channel's page is imported by a worker
process with progress; the result page names the orders and the row errors; an import whose worker
died part way runs again without doubling any order, and counts the stopped run's orders as its own."""
from __future__ import annotations

import io
import re
import time

import pytest
import sqlalchemy as sa

from oms_web import tasks
from oms_web.channels import importing, report_jobs, reports
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import ChannelKind, ChannelSync, Job, Order, ReportUpload, utcnow
from tests.helpers.amazon_reports import ALL_ORDERS, all_orders_row, channel, tsv
from tests.helpers.signing_in import admin_client, page_token
from tests.queue import Worker, job_state, wait_for


def report_of(count: int, *, first: int = 1, bad_row: bool = True) -> str:
    """`count` one-line orders of MUG (every tenth of an unknown SKU, held), and a row that cannot be read."""
    rows = [all_orders_row(f"202-{n:05d}", "NOPE" if n % 10 == 0 else "MUG", "1", "20.00")
            for n in range(first, first + count)]
    if bad_row:
        rows.append(all_orders_row("202-BAD", "MUG", "two", "20.00"))
    return tsv(ALL_ORDERS, rows)


def orders_per_channel_order_id() -> dict[str, int]:
    db.session.rollback()
    return dict(db.session.execute(sa.select(Order.channel_order_id, sa.func.count()).group_by(Order.channel_order_id)).all())


def upload_and_confirm(client, amazon, report: str):
    page = f"/channels/{amazon.id}"
    preview = client.post(f"{page}/reports", content_type="multipart/form-data", data={
        "csrf_token": page_token(client, page), "kind": "amazon-all-orders",
        "file": (io.BytesIO(report.encode()), "all-orders.txt")})
    assert preview.status_code == 200, preview.get_data(as_text=True)[:500]
    upload_id = re.search(r'name="upload" value="([0-9]+)"', preview.get_data(as_text=True)).group(1)
    confirmed = client.post(f"{page}/reports", data={"csrf_token": page_token(client, page), "kind": "amazon-all-orders",
                                                     "confirmed": "1", "upload": upload_id})
    return int(upload_id), confirmed


def test_a_long_report_is_imported_by_a_worker_and_its_page_shows_the_orders_and_the_row_errors(app, shop, tmp_path):
    shop.product("MUG", in_hand=10_000)
    amazon = channel("Amazon", ChannelKind.AMAZON)
    client = admin_client(app, shop)
    count = report_jobs.INLINE_ROWS + 100

    upload_id, confirmed = upload_and_confirm(client, amazon, report_of(count))

    assert confirmed.status_code == 303
    page = confirmed.headers["Location"]
    db.session.rollback()
    job = db.session.scalars(sa.select(Job).where(Job.kind == "report_import")).one()
    assert page == f"/channels/{amazon.id}/reports/jobs/{job.id}"
    waiting = client.get(page).get_data(as_text=True)
    assert "Waiting for a worker" in waiting and 'hx-trigger="load delay:1s"' in waiting
    assert orders_per_channel_order_id() == {}  # nothing is imported in the request
    worker = Worker(app, tmp_path / "worker.log")
    try:
        done = wait_for(job.id, lambda j: j.status in ("done", "failed"), worker)
    finally:
        worker.stop()

    assert (done.status, done.error, done.attempts, done.done, done.total) == ("done", None, 1, count, count)
    assert set(orders_per_channel_order_id().values()) == {1} and len(orders_per_channel_order_id()) == count
    db.session.rollback()
    run = db.session.scalars(sa.select(ChannelSync).where(ChannelSync.source == "amazon-all-orders")).one()
    assert (run.status, run.imported, run.held, run.duplicates) == ("ok", count - count // 10, count // 10, 0)
    upload = db.session.get(ReportUpload, upload_id)
    assert upload.content is None and upload.sync_id == run.id  # the upload records its import
    html = client.get(page).get_data(as_text=True)
    assert "Report imported into Amazon" in html and "hx-get" not in html  # done: the page stops polling
    assert f"<dd>{count:,}</dd>" in html and "Orders imported (the first 50)" in html and "202-00001" in html
    assert re.search(r"line \d+: .*quantity", html), "the row error is shown with its line"
    assert check_invariants() == []
    # Confirmed again (the page sent twice): refused, and no second job.
    again = client.post(f"/channels/{amazon.id}/reports", data={
        "csrf_token": page_token(client, f"/channels/{amazon.id}"), "kind": "amazon-all-orders", "confirmed": "1",
        "upload": str(upload_id)})
    assert again.status_code == 409 and "imported already" in again.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.kind == "report_import")) == 1
    jobs_screen = admin_client(app, shop).get("/jobs").get_data(as_text=True)
    assert "Report import" in jobs_screen and "all-orders.txt into Amazon" in jobs_screen


def test_a_worker_killed_mid_import_leaves_it_to_the_next_which_doubles_no_order(app, shop, tmp_path):
    app.config["OMS_JOB_LEASE_SECONDS"] = 1
    tasks.init_app(app)  # a dead worker's job is free after a second
    shop.product("MUG", in_hand=10_000)
    amazon = channel("Amazon", ChannelKind.AMAZON)
    count = 4 * importing.CHUNK_ORDERS
    upload_id = reports.keep_upload(amazon, "amazon-all-orders", "big.txt", report_of(count).encode(), shop.admin.id)
    job = report_jobs.start(amazon, reports.claim_upload(amazon, upload_id), shop.admin)

    first = Worker(app, tmp_path / "first.log")
    try:  # killed once its first chunk of orders is written, before the last
        wait_for(job.id, lambda j: j.done >= importing.CHUNK_ORDERS or j.status != "queued" and j.status != "running",
                 first, timeout=120)
    finally:
        first.kill()
    killed = job_state(job.id)
    assert killed.status == "running" and 0 < killed.done < count, "the worker was to die mid-import"
    made_before = len(orders_per_channel_order_id())
    assert importing.CHUNK_ORDERS <= made_before < count
    time.sleep(tasks.queue().lease.total_seconds() + 0.2)
    second = Worker(app, tmp_path / "second.log")
    try:
        done = wait_for(job.id, lambda j: j.status in ("done", "failed"), second, timeout=120)
    finally:
        second.stop()

    assert (done.status, done.error, done.attempts) == ("done", None, 2)
    db.session.rollback()
    per_id = orders_per_channel_order_id()
    assert len(per_id) == count and set(per_id.values()) == {1}  # every order once
    # One run row, written afresh by the second run (the worker's schedule adds its own pulls of the channel).
    run = db.session.scalars(sa.select(ChannelSync).where(ChannelSync.source == "amazon-all-orders")).one()
    assert (run.status, run.imported + run.held, run.held, run.duplicates) == ("ok", count, count // 10, 0)
    assert len(run.errors) == 1 and "quantity" in run.errors[0]
    assert db.session.get(ReportUpload, upload_id).content is None
    assert check_invariants() == []


def test_an_import_run_again_after_a_partial_import_counts_the_first_runs_orders_as_its_own(app, shop, monkeypatch):
    """In this process, step by step: the first run writes two of its chunks and loses its worker; the
    job is found abandoned and run again; an order imported before the upload stays a repeat."""
    monkeypatch.setattr(importing, "CHUNK_ORDERS", 3)
    shop.product("MUG", in_hand=100)
    amazon = channel("Amazon", ChannelKind.AMAZON)
    earlier = reports.import_file(amazon, "amazon-all-orders", report_of(1, first=9001, bad_row=False).encode())
    assert earlier.imported == 1
    report = report_of(10) + tsv(ALL_ORDERS, [all_orders_row("202-09001", "MUG", "1", "20.00")]).split("\n", 1)[1]
    upload_id = reports.keep_upload(amazon, "amazon-all-orders", "orders.txt", report.encode(), shop.admin.id)
    job = report_jobs.start(amazon, reports.claim_upload(amazon, upload_id), shop.admin)

    steps = []
    real_progress = tasks._progress

    def dies_after_two_chunks(job_id, token, done, total):
        steps.append(done)
        if len(steps) == 3:
            raise tasks.LostJob(job_id)  # as the worker's death leaves it: nothing more written
        real_progress(job_id, token, done, total)

    monkeypatch.setattr(tasks, "_progress", dies_after_two_chunks)
    tasks.run_job(job.id)
    monkeypatch.setattr(tasks, "_progress", real_progress)
    assert job_state(job.id).status == "running" and len(orders_per_channel_order_id()) == 1 + 9
    stopped = db.session.get(ChannelSync, db.session.get(ReportUpload, upload_id).sync_id)
    assert stopped.status == "running"  # the stopped run wrote no outcome

    db.session.execute(sa.update(Job).where(Job.id == job.id).values(heartbeat_at=utcnow() - tasks.queue().lease * 2))
    db.session.commit()
    assert tasks.recover_abandoned() == [job.id]
    tasks.run_job(job.id)

    done = job_state(job.id)
    assert (done.status, done.attempts, done.done, done.total) == ("done", 2, 11, 11)
    assert set(orders_per_channel_order_id().values()) == {1} and len(orders_per_channel_order_id()) == 11
    runs = db.session.scalars(sa.select(ChannelSync).order_by(ChannelSync.id)).all()
    assert len(runs) == 2  # the earlier import's, and this upload's one row
    run = runs[1]
    assert (run.status, run.imported, run.held, run.duplicates) == ("ok", 9, 1, 1)
    assert run.errors and "quantity" in run.errors[0]
    summary = report_jobs.summary_of(done)
    assert summary.id == run.id
    made = report_jobs.orders_made(done, summary)
    assert [channel_order_id for _, _, channel_order_id, _ in made] == [f"202-{n:05d}" for n in range(1, 11)]
    assert [held for *_, held in made].count(True) == 1


def test_the_import_page_of_another_channel_or_kind_of_job_is_not_found(app, shop):
    amazon = channel("Amazon", ChannelKind.AMAZON)
    other = channel("Amazon DE", ChannelKind.AMAZON)
    upload_id = reports.keep_upload(amazon, "amazon-all-orders", "orders.txt", report_of(2).encode(), shop.admin.id)
    job = report_jobs.start(amazon, reports.claim_upload(amazon, upload_id), shop.admin)
    printing = Job(kind="print", params={"document": "labels", "order_ids": [], "channel_id": amazon.id},
                   user_id=shop.admin.id)
    db.session.add(printing)
    db.session.commit()
    printing = printing.id
    client = admin_client(app, shop)
    assert client.get(f"/channels/{amazon.id}/reports/jobs/{job.id}").status_code == 200
    assert client.get(f"/channels/{other.id}/reports/jobs/{job.id}").status_code == 404
    assert client.get(f"/channels/{amazon.id}/reports/jobs/{job.id + 1}").status_code == 404
    assert client.get(f"/channels/{amazon.id}/reports/jobs/{printing}").status_code == 404


@pytest.mark.parametrize("rows, inline", [(report_jobs.INLINE_ROWS - 1, True), (report_jobs.INLINE_ROWS + 1, False)])
def test_a_short_file_is_imported_in_the_request_a_long_one_by_a_job(app, shop, rows, inline):
    shop.product("MUG", in_hand=10_000)
    amazon = channel("Amazon", ChannelKind.AMAZON)
    _, confirmed = upload_and_confirm(admin_client(app, shop), amazon, report_of(rows, bad_row=False))
    assert (confirmed.status_code == 200 and "Report imported" in confirmed.get_data(as_text=True)) is inline
    db.session.rollback()
    assert (db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1) is not inline
