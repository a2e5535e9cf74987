"""The receiver TinyFish's docs show in Python (Flask), with the Slack call replaced by a no-op.

Run by `cargo xtask bench` under gunicorn with 2 workers on 127.0.0.1, beside `runhook listen`,
under the same load. It neither authenticates nor deduplicates: it is the minimal receiver a user
would write instead of runhook.
"""

from flask import Flask, request

app = Flask(__name__)


def notify(text):
    """The Slack call of the original, as a no-op."""
    return text


@app.route("/webhooks/tinyfish", methods=["POST"])
def handle_webhook():
    payload = request.json
    event = payload["event"]
    run_id = payload["run_id"]
    data = payload["data"]
    if event == "run.completed":
        result = data["result"]
        notify(f"{result['product_name']} is now {result['price']}")
    elif event == "run.failed":
        print(f"Run {run_id} failed:", data.get("error", {}).get("message"))
    return "OK", 200
