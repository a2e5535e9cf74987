// TinyFish's official TypeScript SDK (`@tiny-fish/sdk` on npm) against `runhook emulate`,
// unchanged: the same cases as official_python_sdk.py. Run by scripts/check-typescript-sdk.sh,
// which starts the emulator and passes TINYFISH_BASE_URL and TINYFISH_API_KEY.
//
// Where the SDK cannot say something, a plain request does it and the SDK reads the result: the
// SDK has no cancel method, and refuses `output_schema: true` itself (its request type wants an
// object), so those runs are cancelled or created with fetch() and then read with the SDK. It
// sends no webhook_url either (it drops the field), so the webhook is the Python check's.
//
// Each case prints `ok` or `FAIL` with what it saw; every case runs, and the exit status is 1 if
// any failed.

import { randomUUID } from "node:crypto";

import { TinyFish } from "@tiny-fish/sdk";

const baseURL = process.env.TINYFISH_BASE_URL;
const apiKey = process.env.TINYFISH_API_KEY;
const client = new TinyFish({ apiKey, baseURL });
// Goals carry this tag, so that lists see only this check's runs.
const tag = `sdkcheck-${randomUUID().slice(0, 8)}`;
const URL_ = "https://example.com";
const failures = [];

const isObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
const short = (value) => JSON.stringify(value)?.slice(0, 200);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function check(name, body) {
  let ok;
  let detail;
  try {
    [ok, detail] = await body();
  } catch (error) {
    ok = false;
    detail = `${error?.constructor?.name ?? "Error"}: ${error?.message ?? error}`;
  }
  detail = String(detail).replace(/\s+/g, " ").slice(0, 300);
  console.log(`${ok ? "ok  " : "FAIL"} ${name}: ${detail}`);
  if (!ok) failures.push(name);
}

/** Gets the run until it has finished (through the SDK). */
async function waitFinished(runId, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let run = await client.runs.get(runId);
  while (!["COMPLETED", "FAILED", "CANCELLED"].includes(run.status) && Date.now() < deadline) {
    await sleep(100);
    run = await client.runs.get(runId);
  }
  return run;
}

/** A plain POST with the key: the JSON answer. */
async function plainPost(path, body) {
  const response = await fetch(`${baseURL}${path}`, {
    method: "POST",
    headers: { "X-API-Key": apiKey, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${short(answer)}`);
  return answer;
}

/** Streams a run: the kinds of the frames the SDK yields, and the COMPLETE frame. */
async function streamKinds(params) {
  const kinds = [];
  let complete = null;
  const stream = await client.agent.stream(params);
  for await (const event of stream) {
    kinds.push(event.type);
    if (event.type === "COMPLETE") complete = event;
  }
  return [kinds, complete];
}

const iso = (date) => date.toISOString();
const started = new Date(Date.now() - 1000);
const ids = {};

// --- queue, get, run, stream -------------------------------------------------------------------
await check("agent.queue + runs.get", async () => {
  const answer = await client.agent.queue({ goal: `Find the product name and price ${tag} queued`, url: URL_ });
  ids.queued = answer.run_id;
  const run = await waitFinished(answer.run_id);
  const ok = Boolean(answer.run_id) && answer.error === null && run.status === "COMPLETED" && isObject(run.result);
  return [ok, `run_id=${answer.run_id} status=${run.status} result=${short(run.result)}`];
});

await check("agent.run", async () => {
  const done = await client.agent.run({ goal: `What is the title of the page? ${tag}`, url: URL_ });
  const ok = done.status === "COMPLETED" && isObject(done.result) && done.error === null;
  return [ok, `status=${done.status} steps=${done.num_of_steps} result=${short(done.result)}`];
});

await check("agent.stream", async () => {
  const [kinds, complete] = await streamKinds({ goal: `Find the product name and price ${tag}`, url: URL_ });
  let ok = kinds[0] === "STARTED" && kinds[1] === "STREAMING_URL" && kinds.includes("PROGRESS");
  ok = ok && kinds.at(-1) === "COMPLETE" && complete.status === "COMPLETED" && isObject(complete.result);
  return [ok, kinds.join(" ")];
});

// --- output_schema of each kind: the result is an object every time ----------------------------
const SCHEMAS = {
  object: {
    type: "object",
    properties: { title: { type: "string" }, price: { type: "number" } },
    required: ["title", "price"],
  },
  empty: {},
  boolean: true,
  "non-object root": { type: "array", items: { type: "string" } },
};
for (const [kind, schema] of Object.entries(SCHEMAS)) {
  const goal = `Extract the data ${tag} schema-${kind}`;
  if (kind === "boolean") {
    await check("output_schema boolean: the SDK refuses it itself", async () => {
      try {
        await client.agent.queue({ goal, url: URL_, output_schema: schema });
        return [false, "the SDK sent it"];
      } catch (error) {
        return [error?.constructor?.name === "SDKError", `${error?.constructor?.name}: ${error?.message}`];
      }
    });
    await check("output_schema boolean: plain /run-async + runs.get", async () => {
      const answer = await plainPost("/v1/automation/run-async", { goal, url: URL_, output_schema: schema });
      const run = await waitFinished(answer.run_id);
      const ok = run.status === "COMPLETED" && isObject(run.result);
      return [ok, `status=${run.status} result=${short(run.result)} output_schema=${short(run.output_schema)}`];
    });
    continue;
  }
  await check(`output_schema ${kind}: agent.run`, async () => {
    const done = await client.agent.run({ goal, url: URL_, output_schema: schema });
    let ok = done.status === "COMPLETED" && isObject(done.result);
    if (kind === "object") {
      ok = ok && typeof done.result.title === "string" && typeof done.result.price === "number";
    }
    return [ok, `status=${done.status} result=${short(done.result)}`];
  });
  await check(`output_schema ${kind}: agent.queue + runs.get`, async () => {
    const answer = await client.agent.queue({ goal, url: URL_, output_schema: schema });
    const run = await waitFinished(answer.run_id);
    const ok = run.status === "COMPLETED" && isObject(run.result);
    return [ok, `status=${run.status} result=${short(run.result)} output_schema=${short(run.output_schema)}`];
  });
  await check(`output_schema ${kind}: agent.stream`, async () => {
    const [kinds, complete] = await streamKinds({ goal, url: URL_, output_schema: schema });
    const ok = complete !== null && complete.status === "COMPLETED" && isObject(complete.result);
    return [ok, `${kinds.join(" ")} result=${short(complete?.result)}`];
  });
}

await check("output_schema runs: runs.list pages", async () => {
  const page = await client.runs.list({ goal: `${tag} schema-`, limit: 100 });
  const ok = page.pagination.total === page.data.length && page.data.length > 0 && page.data.every((run) => isObject(run.result));
  return [ok, `${page.data.length} runs, total=${page.pagination.total}`];
});

// --- a failed and a cancelled run --------------------------------------------------------------
await check("failed run: agent.run", async () => {
  const done = await client.agent.run({
    goal: `Check out ${tag} failed [fail:AGENT_FAILURE] [error:Payment form rejected]`,
    url: URL_,
  });
  const ok = done.status === "FAILED" && done.result === null && done.error?.category === "AGENT_FAILURE";
  return [ok && done.error.message === "Payment form rejected", `status=${done.status} error=${short(done.error)}`];
});

await check("failed run: agent.queue + runs.get", async () => {
  // Not BILLING_FAILURE: this SDK's category list lacks it (the Python check covers it).
  const answer = await client.agent.queue({ goal: `Check out ${tag} failed [fail:UNKNOWN]`, url: URL_ });
  const run = await waitFinished(answer.run_id);
  const ok = run.status === "FAILED" && run.result === null && run.error?.category === "UNKNOWN";
  return [ok, `status=${run.status} error=${short(run.error)}`];
});

await check("failed run: agent.stream", async () => {
  const [kinds, complete] = await streamKinds({ goal: `Check out ${tag} failed [fail:SYSTEM_FAILURE]`, url: URL_ });
  const ok = complete !== null && complete.status === "FAILED" && complete.error !== null;
  return [ok, `${kinds.join(" ")} error=${short(complete?.error)}`];
});

await check("cancelled run: agent.queue + plain cancel + runs.get", async () => {
  const answer = await client.agent.queue({ goal: `Watch the page ${tag} cancelled [duration:60s]`, url: URL_ });
  ids.cancelled = answer.run_id;
  const reply = await plainPost(`/v1/runs/${answer.run_id}/cancel`, {});
  const run = await waitFinished(answer.run_id);
  const ok = reply.status === "CANCELLED" && run.status === "CANCELLED" && run.result === null;
  return [ok, `cancel=${short(reply)} status=${run.status}`];
});

await check("cancelled run: agent.stream of a [cancel] run", async () => {
  const [kinds, complete] = await streamKinds({ goal: `Watch the page ${tag} cancelled [cancel]`, url: URL_ });
  const ok = complete !== null && complete.status === "CANCELLED" && complete.result === null;
  return [ok, kinds.join(" ")];
});

// --- list: every filter, both orders, and a cursor ---------------------------------------------
await check("runs.list every filter + cursor", async () => {
  const mine = [];
  for (let n = 0; n < 3; n++) {
    mine.push((await client.agent.queue({ goal: `List me ${tag} listed ${n}`, url: URL_ })).run_id);
  }
  for (const runId of mine) await waitFinished(runId);
  const before = iso(new Date(Date.now() + 1000));
  const filters = {
    goal: `${tag} LISTED`, // case-insensitive
    status: "COMPLETED",
    created_after: iso(started),
    created_before: before,
  };
  const first = await client.runs.list({ ...filters, sort_direction: "asc", limit: 2 });
  const second = await client.runs.list({
    ...filters,
    sort_direction: "asc",
    limit: 2,
    cursor: first.pagination.next_cursor ?? undefined,
  });
  const listed = [...first.data, ...second.data].map((run) => run.run_id);
  let ok = JSON.stringify(listed) === JSON.stringify(mine);
  ok = ok && first.pagination.has_more && first.pagination.next_cursor !== null;
  ok = ok && !second.pagination.has_more && second.pagination.next_cursor === null;
  ok = ok && first.pagination.total === 3 && second.pagination.total === 3;
  const newest = await client.runs.list({ ...filters, sort_direction: "desc", limit: 100 });
  ok = ok && JSON.stringify(newest.data.map((run) => run.run_id)) === JSON.stringify([...mine].reverse());
  const later = await client.runs.list({ goal: `${tag} listed`, created_after: before });
  ok = ok && later.data.length === 0 && later.pagination.total === 0;
  return [ok, `asc pages ${first.data.length}+${second.data.length}, desc ${newest.data.length}, total=${first.pagination.total}`];
});

await check("runs.list status filters", async () => {
  const seen = [];
  const expected = { queued: "COMPLETED", failed: "FAILED", cancelled: "CANCELLED" };
  ids.failed = (await plainPost("/v1/automation/run-async", { goal: `Check out ${tag} failed [fail]`, url: URL_ })).run_id;
  await waitFinished(ids.failed);
  for (const [label, status] of Object.entries(expected)) {
    for (const filter of ["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"]) {
      const page = await client.runs.list({ goal: `${tag} ${label}`, status: filter, limit: 100 });
      const listed = page.data.map((run) => run.run_id);
      if (page.data.some((run) => run.status !== filter)) {
        return [false, `status=${filter} listed a run of another status`];
      }
      if (listed.length > 0) seen.push(`${label}:${filter}`);
      if (listed.includes(ids[label]) !== (filter === status)) {
        return [false, `the ${label} run, listed with status=${filter}: ${short(listed)}`];
      }
    }
  }
  return [true, seen.join(" ")];
});

process.exit(failures.length > 0 ? 1 : 0);
