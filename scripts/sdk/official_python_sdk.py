"""TinyFish's official Python SDK (`tinyfish` on PyPI) against `runhook emulate`, unchanged.

Run by scripts/check-python-sdk.sh, which starts the emulator and a receiver and passes their
addresses in the environment: TINYFISH_BASE_URL, TINYFISH_API_KEY and RUNHOOK_WEBHOOK_URL.

It covers queue, run, stream, get, and list with every filter and a cursor; an `output_schema` of
each kind (an object, the empty schema, `true`, and a schema whose root is not an object); a
failed and a cancelled run. Each case prints `ok` or `FAIL` with what it saw; every case runs,
and the exit status is 1 if any failed.
"""

import json
import os
import sys
import time
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

from tinyfish import TinyFish

base_url = os.environ["TINYFISH_BASE_URL"]
api_key = os.environ["TINYFISH_API_KEY"]
webhook_url = os.environ["RUNHOOK_WEBHOOK_URL"]
client = TinyFish(api_key=api_key, base_url=base_url)
# Goals carry this tag, so that lists see only this check's runs.
tag = f"sdkcheck-{uuid.uuid4().hex[:8]}"
URL = "https://example.com"
failures = []


def status_name(status):
    return str(status).split(".")[-1]


def case(name):
    """Runs the decorated function at once as one case: ok, FAIL, or FAIL with the exception."""

    def run(function):
        try:
            ok, detail = function()
        except Exception as error:  # noqa: BLE001 - a case reports whatever went wrong
            ok, detail = False, f"{type(error).__name__}: {error}"
        detail = " ".join(str(detail).split())
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail[:300]}")
        if not ok:
            failures.append(name)

    return run


def wait_finished(run_id, timeout=30):
    """Gets the run until it has finished (through the SDK)."""
    deadline = time.time() + timeout
    run = client.runs.get(run_id)
    while status_name(run.status) not in ("COMPLETED", "FAILED", "CANCELLED") and time.time() < deadline:
        time.sleep(0.1)
        run = client.runs.get(run_id)
    return run


def cancel(run_id):
    """POST /v1/runs/{id}/cancel: the Python SDK has no method for it."""
    request = urllib.request.Request(
        f"{base_url}/v1/runs/{run_id}/cancel",
        method="POST",
        headers={"X-API-Key": api_key, "Content-Type": "application/json"},
        data=b"{}",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def stream_kinds(**params):
    """Streams a run: the frame kinds, and the COMPLETE frame."""
    kinds, complete = [], None
    with client.agent.stream(**params) as stream:
        for event in stream:
            kinds.append(status_name(event.type))
            if kinds[-1] == "COMPLETE":
                complete = event
    return kinds, complete


def iso(moment):
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


started = datetime.now(timezone.utc) - timedelta(seconds=1)


# --- queue, get, and the webhook (the shell script checks that it arrived) ---------------------
queued = {}


@case("agent.queue + runs.get")
def _():
    answer = client.agent.queue(goal=f"Find the product name and price {tag} queued", url=URL, webhook_url=webhook_url)
    queued["id"] = answer.run_id
    run = wait_finished(answer.run_id)
    ok = bool(answer.run_id) and answer.error is None and status_name(run.status) == "COMPLETED"
    return ok and isinstance(run.result, dict), f"run_id={answer.run_id} status={run.status} result={run.result}"


# --- run and stream ------------------------------------------------------------------------------
@case("agent.run")
def _():
    done = client.agent.run(goal=f"What is the title of the page? {tag}", url=URL)
    ok = status_name(done.status) == "COMPLETED" and isinstance(done.result, dict) and done.error is None
    return ok, f"status={done.status} steps={done.num_of_steps} result={done.result}"


@case("agent.stream")
def _():
    kinds, complete = stream_kinds(goal=f"Find the product name and price {tag}", url=URL)
    ok = kinds[:2] == ["STARTED", "STREAMING_URL"] and "PROGRESS" in kinds and kinds[-1] == "COMPLETE"
    ok = ok and status_name(complete.status) == "COMPLETED" and isinstance(complete.result_json, dict)
    return ok, " ".join(kinds)


# --- output_schema of each kind: the result is an object every time -----------------------------
SCHEMAS = {
    "object": {
        "type": "object",
        "properties": {"title": {"type": "string"}, "price": {"type": "number"}},
        "required": ["title", "price"],
    },
    "empty": {},
    "boolean": True,
    "non-object root": {"type": "array", "items": {"type": "string"}},
}
for kind, schema in SCHEMAS.items():

    @case(f"output_schema {kind}: agent.run")
    def _(schema=schema, kind=kind):
        done = client.agent.run(goal=f"Extract the data {tag} schema-{kind}", url=URL, output_schema=schema)
        ok = status_name(done.status) == "COMPLETED" and isinstance(done.result, dict)
        if kind == "object":
            ok = ok and isinstance(done.result.get("title"), str) and isinstance(done.result.get("price"), (int, float))
        return ok, f"status={done.status} result={done.result!r}"

    @case(f"output_schema {kind}: agent.queue + runs.get")
    def _(schema=schema, kind=kind):
        answer = client.agent.queue(goal=f"Extract the data {tag} schema-{kind}", url=URL, output_schema=schema)
        run = wait_finished(answer.run_id)
        ok = status_name(run.status) == "COMPLETED" and isinstance(run.result, dict)
        return ok, f"status={run.status} result={run.result!r} output_schema={run.output_schema!r}"

    @case(f"output_schema {kind}: agent.stream")
    def _(schema=schema, kind=kind):
        kinds, complete = stream_kinds(goal=f"Extract the data {tag} schema-{kind}", url=URL, output_schema=schema)
        ok = complete is not None and status_name(complete.status) == "COMPLETED"
        ok = ok and isinstance(complete.result_json, dict)
        return ok, f"{' '.join(kinds)} result={complete.result_json if complete else None!r}"


@case("output_schema runs: runs.list pages")
def _():
    page = client.runs.list(goal=f"{tag} schema-", limit=100)
    ok = page.pagination.total == len(page.data) and len(page.data) > 0
    ok = ok and all(isinstance(run.result, dict) for run in page.data)
    return ok, f"{len(page.data)} runs, total={page.pagination.total}"


# --- a failed and a cancelled run ----------------------------------------------------------------
failed = {}


@case("failed run: agent.run")
def _():
    done = client.agent.run(goal=f"Check out {tag} failed [fail:AGENT_FAILURE] [error:Payment form rejected]", url=URL)
    ok = status_name(done.status) == "FAILED" and done.result is None and done.error is not None
    ok = ok and status_name(done.error.category) == "AGENT_FAILURE" and done.error.message == "Payment form rejected"
    return ok, f"status={done.status} error={done.error}"


@case("failed run: agent.queue + runs.get")
def _():
    answer = client.agent.queue(goal=f"Check out {tag} failed [fail:BILLING_FAILURE]", url=URL)
    failed["id"] = answer.run_id
    run = wait_finished(answer.run_id)
    ok = status_name(run.status) == "FAILED" and run.result is None and run.error is not None
    return ok and status_name(run.error.category) == "BILLING_FAILURE", f"status={run.status} error={run.error}"


@case("failed run: agent.stream")
def _():
    kinds, complete = stream_kinds(goal=f"Check out {tag} failed [fail:SYSTEM_FAILURE]", url=URL)
    ok = complete is not None and status_name(complete.status) == "FAILED" and complete.error is not None
    return ok, f"{' '.join(kinds)} error={complete.error if complete else None}"


cancelled = {}


@case("cancelled run: agent.queue + cancel + runs.get")
def _():
    answer = client.agent.queue(goal=f"Watch the page {tag} cancelled [duration:60s]", url=URL)
    cancelled["id"] = answer.run_id
    reply = cancel(answer.run_id)
    run = wait_finished(answer.run_id)
    ok = reply.get("status") == "CANCELLED" and status_name(run.status) == "CANCELLED" and run.result is None
    return ok, f"cancel={reply} status={run.status}"


@case("cancelled run: agent.stream of a [cancel] run")
def _():
    kinds, complete = stream_kinds(goal=f"Watch the page {tag} cancelled [cancel]", url=URL)
    ok = complete is not None and status_name(complete.status) == "CANCELLED" and complete.result_json is None
    return ok, " ".join(kinds)


# --- list: every filter, both orders, and a cursor ----------------------------------------------
@case("runs.list every filter + cursor")
def _():
    mine = [client.agent.queue(goal=f"List me {tag} listed {n}", url=URL).run_id for n in range(3)]
    for run_id in mine:
        wait_finished(run_id)
    before = iso(datetime.now(timezone.utc) + timedelta(seconds=1))
    filters = dict(
        goal=f"{tag} LISTED",  # case-insensitive
        status="COMPLETED",
        created_after=iso(started),
        created_before=before,
    )
    first = client.runs.list(**filters, sort_direction="asc", limit=2)
    second = client.runs.list(**filters, sort_direction="asc", limit=2, cursor=first.pagination.next_cursor)
    ids = [run.run_id for run in first.data + second.data]
    ok = ids == mine and first.pagination.has_more and first.pagination.next_cursor is not None
    ok = ok and not second.pagination.has_more and second.pagination.next_cursor is None
    ok = ok and first.pagination.total == 3 and second.pagination.total == 3
    newest = client.runs.list(**filters, sort_direction="desc", limit=100)
    ok = ok and [run.run_id for run in newest.data] == mine[::-1]
    later = client.runs.list(goal=f"{tag} listed", created_after=before)
    ok = ok and later.data == [] and later.pagination.total == 0
    return ok, f"asc pages {len(first.data)}+{len(second.data)}, desc {len(newest.data)}, total={first.pagination.total}"


@case("runs.list status filters")
def _():
    seen = []
    for label, run_id in (("queued", queued.get("id")), ("failed", failed.get("id")), ("cancelled", cancelled.get("id"))):
        for status in ("PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"):
            page = client.runs.list(goal=f"{tag} {label}", status=status, limit=100)
            ids = [run.run_id for run in page.data]
            if any(status_name(run.status) != status for run in page.data):
                return False, f"status={status} listed a run of another status"
            if ids:
                seen.append(f"{label}:{status}")
            if (run_id in ids) != (status == {"queued": "COMPLETED"}.get(label, label.upper())):
                return False, f"the {label} run, listed with status={status}: {ids}"
    return True, " ".join(seen)


sys.exit(1 if failures else 0)
