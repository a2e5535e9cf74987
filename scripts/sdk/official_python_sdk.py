"""TinyFish's official Python SDK (`tinyfish` on PyPI) against `runhook emulate`, unchanged.

Run by scripts/check-python-sdk.sh, which starts the emulator and a receiver and passes their
addresses in the environment: TINYFISH_BASE_URL, TINYFISH_API_KEY and RUNHOOK_WEBHOOK_URL.
Exits non-zero at the first call whose answer is not what the SDK documents.
"""

import os
import sys
import time

from tinyfish import TinyFish

base_url = os.environ["TINYFISH_BASE_URL"]
webhook_url = os.environ["RUNHOOK_WEBHOOK_URL"]
client = TinyFish(api_key=os.environ["TINYFISH_API_KEY"], base_url=base_url)
failures = []


def check(what, condition, detail):
    print(f"{'ok  ' if condition else 'FAIL'} {what}: {detail}")
    if not condition:
        failures.append(what)


# Create with a webhook_url (async), then get it until it is done.
queued = client.agent.queue(
    goal="Find the product name and price", url="https://scrapeme.live/shop/", webhook_url=webhook_url
)
check("agent.queue", bool(queued.run_id) and queued.error is None, f"run_id={queued.run_id}")
deadline = time.time() + 20
run = client.runs.get(queued.run_id)
while str(run.status).split(".")[-1] not in ("COMPLETED", "FAILED", "CANCELLED") and time.time() < deadline:
    time.sleep(0.2)
    run = client.runs.get(queued.run_id)
check("runs.get", str(run.status).endswith("COMPLETED"), f"status={run.status} result={run.result}")

# List, with a filter and a limit.
page = client.runs.list(limit=5, status="COMPLETED")
ids = [r.run_id for r in page.data]
check("runs.list", queued.run_id in ids, f"{len(page.data)} runs, total={page.pagination.total}")

# A synchronous run.
done = client.agent.run(goal="What is the title of the page?", url="https://example.com")
check("agent.run", str(done.status).endswith("COMPLETED"), f"status={done.status} result={done.result}")

# A streamed run.
kinds = []
with client.agent.stream(goal="Find the product name and price", url="https://scrapeme.live/shop/") as stream:
    for event in stream:
        kinds.append(str(event.type).split(".")[-1])
order_ok = bool(kinds) and kinds[0] == "STARTED" and kinds[-1] == "COMPLETE" and "STREAMING_URL" in kinds
check("agent.stream", order_ok, " ".join(kinds))

sys.exit(1 if failures else 0)
