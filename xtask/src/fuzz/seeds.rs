//! The seed inputs of the fuzz targets: made from `fixtures/` (webhook bodies, their URLs, the
//! retry vectors' `Retry-After` values), plus the small hand-written ones committed under
//! `fuzz/corpus/<target>/`. `cargo xtask fuzz` starts libFuzzer on them, and the replay test of
//! crates/runhook-fuzz runs every one through its target.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::fixtures::{InvalidFixture, json_files};

/// One seed input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// Where it comes from, as a file name: `valid-01-docs-run-completed.json`, or the name of a
    /// file of `fuzz/corpus/<target>/`.
    pub name: String,
    /// The input.
    pub bytes: Vec<u8>,
}

/// The request line and headers the `receive` seeds put before a fixture body.
const RECEIVE_HEAD: &str =
    "POST /hooks/tinyfish?token=t0k3n HTTP/1.1\ncontent-type: application/json\n\n";

/// Every seed of `target`: those made from the fixtures under `root`, then the committed ones.
pub fn seeds(root: &Path, target: &str) -> io::Result<Vec<Seed>> {
    let bodies = fixture_bodies(root)?;
    let mut seeds: Vec<Seed> = match target {
        "event" => bodies,
        "receive" => bodies
            .into_iter()
            .map(|seed| Seed {
                name: seed.name,
                bytes: [RECEIVE_HEAD.as_bytes(), &seed.bytes].concat(),
            })
            .collect(),
        "sse" => runs(&bodies)
            .filter_map(|(name, data)| Some(seed(name, sse_stream(&data)?)))
            .collect(),
        "emulator_request" => runs(&bodies)
            .filter_map(|(name, data)| Some(seed(name, run_body(&data)?)))
            .collect(),
        "webhook_url" => runs(&bodies)
            .filter_map(|(name, data)| Some(seed(name, data["streaming_url"].as_str()?.into())))
            .collect(),
        "retry_after" => retry_after_values(root)?,
        _ => Vec::new(),
    };
    seeds.extend(committed(&root.join("fuzz/corpus").join(target))?);
    Ok(seeds)
}

/// The crash inputs committed for `target` (`fuzz/regressions/<target>/`), sorted by name.
pub fn regressions(root: &Path, target: &str) -> io::Result<Vec<Seed>> {
    committed(&root.join("fuzz/regressions").join(target))
}

/// The files directly in `dir` (none if it does not exist), sorted by name; dot files and
/// `README.md` are left out.
fn committed(dir: &Path) -> io::Result<Vec<Seed>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    paths.retain(|path| {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        path.is_file() && !name.starts_with('.') && name != "README.md"
    });
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            Ok(Seed {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                bytes: fs::read(&path)?,
            })
        })
        .collect()
}

fn seed(name: String, bytes: Vec<u8>) -> Seed {
    Seed { name, bytes }
}

/// Every webhook body of the fixtures: each valid file as it is, each invalid payload as
/// compact JSON.
fn fixture_bodies(root: &Path) -> io::Result<Vec<Seed>> {
    let mut bodies = Vec::new();
    for path in json_files(&root.join("fixtures/valid"))? {
        bodies.push(seed(prefixed("valid", &path), fs::read(&path)?));
    }
    for path in json_files(&root.join("fixtures/invalid"))? {
        let fixture: InvalidFixture = serde_json::from_slice(&fs::read(&path)?)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        let payload = serde_json::to_vec(&fixture.payload)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        bodies.push(seed(prefixed("invalid", &path), payload));
    }
    Ok(bodies)
}

fn prefixed(folder: &str, path: &Path) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!("{folder}-{name}")
}

/// The `data` object of each body that has one, with the body's name.
fn runs(bodies: &[Seed]) -> impl Iterator<Item = (String, Value)> + '_ {
    bodies.iter().filter_map(|seed| {
        let body: Value = serde_json::from_slice(&seed.bytes).ok()?;
        let data = body.get("data").filter(|data| data.is_object())?.clone();
        Some((seed.name.clone(), data))
    })
}

/// The `/run-sse` stream of a run: `STARTED`, `PROGRESS` for each step, `COMPLETE`.
fn sse_stream(data: &Value) -> Option<Vec<u8>> {
    let run_id = data.get("run_id")?;
    let mut frames = vec![json!({"type": "STARTED", "run_id": run_id})];
    for step in data["steps"].as_array().into_iter().flatten().take(3) {
        let purpose = step
            .get("action")
            .or(step.get("purpose"))
            .unwrap_or(&Value::Null);
        frames.push(json!({"type": "PROGRESS", "run_id": run_id, "purpose": purpose}));
    }
    frames.push(json!({"type": "HEARTBEAT"}));
    frames.push(json!({
        "type": "COMPLETE",
        "run_id": run_id,
        "status": data.get("status")?,
        "result": data.get("result").unwrap_or(&Value::Null),
        "error": data.get("error").unwrap_or(&Value::Null),
    }));
    let text: String = frames
        .iter()
        .map(|frame| format!("event: message\ndata: {frame}\n\n"))
        .collect();
    Some(text.into_bytes())
}

/// A run request made of a run's goal and schema.
fn run_body(data: &Value) -> Option<Vec<u8>> {
    let mut body = json!({"url": "https://example.com/", "goal": data.get("goal")?});
    if let Some(schema) = data.get("output_schema").filter(|s| s.is_object()) {
        body["output_schema"] = schema.clone();
    }
    serde_json::to_vec(&body).ok()
}

/// The `Retry-After` values of the retry vectors (`fixtures/vectors/retry.json`).
fn retry_after_values(root: &Path) -> io::Result<Vec<Seed>> {
    let text = fs::read(root.join("fixtures/vectors/retry.json"))?;
    let vectors: Value = serde_json::from_slice(&text)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
    let mut values = Vec::new();
    collect_retry_after(&vectors, &mut values);
    values.sort();
    values.dedup();
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(index, value)| seed(format!("retry-vector-{index}"), value.into_bytes()))
        .collect())
}

fn collect_retry_after(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(object) => {
            for (key, value) in object {
                match (key.as_str(), value) {
                    ("retry_after", Value::String(text)) => out.push(text.clone()),
                    ("retry_after_s", Value::Number(n)) => out.push(n.to_string()),
                    _ => collect_retry_after(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_retry_after(item, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn the_fixtures_give_seeds_to_the_targets_that_read_them() {
        for target in [
            "event",
            "receive",
            "sse",
            "emulator_request",
            "webhook_url",
            "retry_after",
        ] {
            let seeds = seeds(&root(), target).unwrap();
            assert!(seeds.len() >= 3, "{target}: {} seeds", seeds.len());
        }
        let receive = seeds(&root(), "receive").unwrap();
        assert!(receive[0].bytes.starts_with(b"POST /hooks/tinyfish"));
    }
}
