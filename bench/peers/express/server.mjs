// The receiver TinyFish's docs show in TypeScript (Express), as plain JavaScript for node, with
// the Slack call replaced by a no-op. Run by `cargo xtask bench` on 127.0.0.1:$PORT beside
// `runhook listen`, under the same load. It neither authenticates nor deduplicates: it is the
// minimal receiver a user would write instead of runhook.
import express from "express";

const app = express();
app.use(express.json());

// The Slack call of the original, as a no-op.
async function notify(text) {
  return text;
}

app.post("/webhooks/tinyfish", async (req, res) => {
  const { event, run_id, data } = req.body;
  switch (event) {
    case "run.completed": {
      const { product_name, price } = data.result;
      await notify(`${product_name} is now ${price}`);
      break;
    }
    case "run.failed":
      console.error(`Run ${run_id} failed:`, data.error?.message);
      break;
  }
  res.status(200).send("OK");
});

const port = Number(process.env.PORT || 3000);
app.listen(port, "127.0.0.1", () => console.log(`express on http://127.0.0.1:${port}/webhooks/tinyfish`));
