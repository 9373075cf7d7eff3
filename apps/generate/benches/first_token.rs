//! Time to the first token of an answer generated on a cached entry (Cache-Augmented
//! Generation), three ways, beside llama.cpp on the same GGUF, prompt and two threads in the
//! same run:
//! - **prefilled**: the passage's KV cache computed for the question (`Generator::prepare`);
//! - **read back**: the passage's KV cache prepared on an earlier use, read from the device's
//!   store (`Generator::prepare_stored`), then the question's own tokens;
//! - llama.cpp (llama-cpp-python from `$MEMBRIA_LLM`) cold (its KV cache reset before each
//!   prompt) and warm (the same passage with the other of two questions: it reuses the prefix
//!   it holds in memory and runs the question's tokens, as the read-back does from disk).
//!
//! `cargo bench --manifest-path apps/Cargo.toml -p membria-generate --bench first_token`
//! (`MEMBRIA_BENCH_ROUNDS`, default 20); prints p50/p99 in ms and the ratios.

use std::{process::Command, time::Instant};

mod common;

use common::{llama_cpp_python, PASSAGE, QUESTION};
use membria_generate::{default_model_path, Generator, Passage, PrefixStore, Settings};

/// The warm peer's other question on the same passage.
const OTHER: &str = "Who developed Ethernet?";

const PEER: &str = r#"
import json, sys, time
from llama_cpp import Llama
path, prompt, other, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
llm = Llama(model_path=path, n_threads=2, n_threads_batch=2, n_ctx=2048, verbose=False)
prompts = [llm.tokenize(p.encode(), add_bos=False, special=True) for p in (prompt, other)]
def first(tokens, reset):
    if reset:
        llm.reset()
    started = time.perf_counter()
    for _ in llm.generate(tokens, temp=0.0):
        return (time.perf_counter() - started) * 1e3
first(prompts[0], True)
cold = [first(prompts[0], True) for _ in range(rounds)]
first(prompts[1], False)
warm = [first(prompts[i % 2], False) for i in range(rounds)]
print(json.dumps({"cold": cold, "warm": warm, "tokens": len(prompts[0])}))
"#;

fn percentiles(samples: &mut [f64]) -> (f64, f64) {
	samples.sort_by(f64::total_cmp);
	let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
	(at(0.5), at(0.99))
}

/// Milliseconds from preparing the knowledge to the first token of the answer, and of them
/// preparing the knowledge and running the question's tokens.
fn first_token(
	generator: &Generator,
	store: Option<&PrefixStore>,
	passages: &[Passage],
) -> (f64, f64, f64) {
	let started = Instant::now();
	let knowledge = match store {
		Some(store) => generator.prepare_stored(passages, store),
		None => generator.prepare(passages),
	}
	.expect("prepared");
	let mut at = None;
	let settings = Settings { max_tokens: 1, ..Settings::default() };
	let generation = generator
		.answer(&knowledge, QUESTION, settings, |_| {
			at.get_or_insert_with(|| started.elapsed().as_secs_f64() * 1e3);
		})
		.expect("answered");
	let total = at.unwrap_or_else(|| started.elapsed().as_secs_f64() * 1e3);
	(total, knowledge.prefill_ms, generation.question_ms)
}

fn main() {
	let rounds: usize = std::env::var("MEMBRIA_BENCH_ROUNDS")
		.ok()
		.and_then(|v| v.parse().ok())
		.unwrap_or(20);
	let path = default_model_path().expect("the SmolLM2 GGUF (scripts/setup.sh)");
	let generator = Generator::load(&path).expect("the model loads");
	let passages = [Passage { entry: 7, text: PASSAGE.into() }];
	let dir = tempfile::tempdir().expect("temp dir");
	let store = PrefixStore::new(dir.path(), 1 << 30);

	let _ = first_token(&generator, None, &passages);
	let mut prefilled: Vec<f64> =
		(0..rounds).map(|_| first_token(&generator, None, &passages).0).collect();
	let _ = first_token(&generator, Some(&store), &passages);
	let (mut read_back, mut reads, mut questions) = (Vec::new(), Vec::new(), Vec::new());
	for _ in 0..rounds {
		let (total, read, question) = first_token(&generator, Some(&store), &passages);
		read_back.push(total);
		reads.push(read);
		questions.push(question);
	}

	let output = Command::new(llama_cpp_python())
		.args(["-c", PEER])
		.arg(&path)
		.arg(Generator::prompt(&passages, QUESTION))
		.arg(Generator::prompt(&passages, OTHER))
		.arg(rounds.to_string())
		.output()
		.expect("llama-cpp-python (scripts/setup.sh)");
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let peer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("peer json");
	let samples = |key: &str| -> Vec<f64> {
		peer[key]
			.as_array()
			.expect("samples")
			.iter()
			.filter_map(|v| v.as_f64())
			.collect()
	};
	let (mut cold, mut warm) = (samples("cold"), samples("warm"));

	let (prefilled_50, prefilled_99) = percentiles(&mut prefilled);
	let (read_50, read_99) = percentiles(&mut read_back);
	let (cold_50, cold_99) = percentiles(&mut cold);
	let (warm_50, warm_99) = percentiles(&mut warm);
	println!(
		"time to first token, '{QUESTION}' on one cached entry ({} prompt tokens in llama.cpp), {rounds} rounds, 2 threads:",
		peer["tokens"]
	);
	println!(
		"  prefilled:                   p50 {prefilled_50:>7.1} ms  p99 {prefilled_99:>7.1} ms"
	);
	println!("  read back from disk:         p50 {read_50:>7.1} ms  p99 {read_99:>7.1} ms");
	println!(
		"    of which reading the prefix p50 {:>7.1} ms, the question's tokens p50 {:>7.1} ms",
		percentiles(&mut reads).0,
		percentiles(&mut questions).0
	);
	println!("  llama.cpp cold:              p50 {cold_50:>7.1} ms  p99 {cold_99:>7.1} ms");
	println!("  llama.cpp warm (prefix held): p50 {warm_50:>6.1} ms  p99 {warm_99:>7.1} ms");
	println!(
		"  (warm: the same passage, questions alternating, the prefix kept in llama.cpp's memory)"
	);
	println!(
		"  ratios (p50): read back / prefilled {:.2}x; read back / llama.cpp cold {:.2}x; read back / llama.cpp warm {:.2}x",
		read_50 / prefilled_50,
		read_50 / cold_50,
		read_50 / warm_50
	);
}
