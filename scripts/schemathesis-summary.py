"""The verdict of a schemathesis run, for scripts/check-schemathesis.sh.

    schemathesis-summary.py --check-known FILE             # every known failure has a reason
    schemathesis-summary.py --report DIR --known FILE [--update-known]

With --report: reads DIR/report.json, DIR/events.ndjson and DIR/exit-code (written by the check)
and prints the totals (cases, and per check how many cases passed and failed), then each distinct
failure: `known` (matched by an entry of FILE, shown with its reason) or `NEW`, and the entries
that matched nothing this time. Exits 1 when there is a new failure, or schemathesis itself failed.
With --update-known, new failures are added to FILE with an empty reason, to be written by hand.

A failure is described by its operation, its check and `what`: for invalid input accepted, the
input schemathesis made invalid; for valid input refused, the emulator's error message; for an
answer that breaks its schema, the part of the document it breaks; else the failure's first line.
An entry of FILE matches a failure with the same operation (`*`: any) and check whose `what`
contains the entry's `what`; the first entry that matches counts.
"""

import argparse
import base64
import collections
import json
import os
import pathlib
import re
import sys


def load_known(path):
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8")).get("known", [])


def check_known(path):
    bad = [f"{entry.get('operation')} {entry.get('check')}" for entry in load_known(path) if not str(entry.get("reason", "")).strip()]
    for entry in bad:
        print(f"FAIL {path.name}: no reason given for {entry}")
    return 1 if bad else 0


def response_message(interaction):
    """The `error.message` of the emulator's answer, if it has one."""
    try:
        content = interaction["response"]["content"]
        body = base64.b64decode(content["$base64"]) if "$base64" in content else content.get("string", "")
        return json.loads(body)["error"]["message"]
    except (KeyError, TypeError, ValueError):
        return None


def describe(failure, interaction):
    """What failed, in words that stay the same from one run to the next."""
    message = failure.get("message", "")
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if failure["type"] == "AcceptedNegativeData":
        component = next((line for line in lines if line.startswith("Invalid component:")), lines[-1] if lines else "")
        component = component.removeprefix("Invalid component: ")
        component = re.sub(r" \(was .*, became .*\)$", "", component)
        return re.sub(r"/\$ref/schema\d+", "", component)
    if failure["type"] == "RejectedPositiveData":
        return f"refused: {response_message(interaction) or (lines[0] if lines else '?')}"
    schema_at = next((line for line in lines if line.startswith("Schema at ")), None)
    if schema_at:
        return f"{failure.get('title', failure['type'])}: {schema_at.removeprefix('Schema at ').rstrip(':')}"
    return f"{failure.get('title', failure['type'])}: {lines[0] if lines else ''}"


def read_events(path):
    """Per check, how many cases passed, failed and were skipped; the distinct failures; and how
    many cases failed a check."""
    counts = collections.defaultdict(collections.Counter)
    failures = collections.Counter()
    failed_cases = set()
    with path.open(encoding="utf-8") as events:
        for line in events:
            finished = json.loads(line).get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished["recorder"]
            for case_id, checks in recorder.get("checks", {}).items():
                for check in checks:
                    counts[check["name"]][check["status"]] += 1
                    if check["status"] != "failure":
                        continue
                    failed_cases.add(case_id)
                    failure = check["failure_info"]["failure"]
                    interaction = recorder.get("interactions", {}).get(case_id, {})
                    operation = failure.get("operation") or recorder.get("label", "?")
                    failures[(operation, check["name"], describe(failure, interaction))] += 1
    return counts, failures, len(failed_cases)


def matches(entry, operation, check, what):
    return (
        entry.get("operation") in ("*", operation)
        and entry.get("check") == check
        and entry.get("what", "") in what
    )


def summary(report_dir, known_path, update, verbose):
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    exit_code = int((report_dir / "exit-code").read_text().strip() or "1")
    known = load_known(known_path)
    cases, operations = report["test_cases"], report["operations"]
    counts, failures, failed_cases = read_events(report_dir / "events.ndjson")
    print(
        f"{cases['generated']} cases on {operations['tested']}/{operations['total']} operations "
        f"in {report['running_time']:.0f} s; {failed_cases} cases failed a check"
    )
    for name in sorted(counts):
        count = counts[name]
        skipped = f", {count['skip']} skipped" if count["skip"] else ""
        print(f"  {name:30} {count['success']:6} passed {count['failure']:5} failed{skipped}")

    used, new = collections.Counter(), []
    for (operation, check, what), times in sorted(failures.items()):
        entry = next((i for i, entry in enumerate(known) if matches(entry, operation, check, what)), None)
        if entry is None:
            new.append({"operation": operation, "check": check, "what": what, "reason": ""})
            print(f"NEW   {operation} {check}: {what} ({times} cases)")
        else:
            used[entry] += 1
            if verbose:
                print(f"known {operation} {check}: {what} ({times} cases): {known[entry]['reason']}")
    if used:
        print(
            f"known: {sum(used.values())} distinct failures, matched by {len(used)} entries of "
            f"{known_path.name} (each with its reason; SCHEMATHESIS_VERBOSE=1 lists them)"
        )
    for index, entry in enumerate(known):
        if index not in used:
            print(f"not seen this time (fixed? then remove it): {entry['operation']} {entry['check']}: {entry['what']}")
    errors = report.get("errors") or []
    for error in errors:
        print(f"FAIL schemathesis error: {json.dumps(error)[:300]}")
    # Schemathesis exits 1 for failures (judged above) and otherwise for its own trouble.
    ok = not new and not errors and (exit_code == 0 or (exit_code == 1 and failures))
    print(f"{'ok  ' if ok else 'FAIL'} schemathesis: {len(new)} new failures, {len(used)} known (exit {exit_code})")
    if not ok:
        print(f"     details: {report_dir / 'schemathesis.log'} (FAILURES section)")
    if update and new:
        document = {"known": known + new}
        known_path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"added {len(new)} entries to {known_path}: write their reasons")
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--check-known", type=pathlib.Path)
    parser.add_argument("--report", type=pathlib.Path)
    parser.add_argument("--known", type=pathlib.Path)
    parser.add_argument("--update-known", action="store_true")
    args = parser.parse_args()
    if args.check_known:
        return check_known(args.check_known)
    return summary(args.report, args.known, args.update_known, os.environ.get("SCHEMATHESIS_VERBOSE") == "1")


if __name__ == "__main__":
    sys.exit(main())
