//! Generation speed beside llama.cpp on the same GGUF, prompt and two threads in the same run:
//! the prompt of a question on one cached entry (system turn, passage, question), then a fixed
//! number of greedy tokens (end-of-turn ignored, so both make the same count). Prints per side
//! the prompt's time to the first token, decoding tokens/s after it, and tokens/s over the
//! whole answer including the prompt; then the ratios ours : llama.cpp.
//!
//! `cargo bench --manifest-path apps/Cargo.toml -p membria-generate --bench generation`
//! (`MEMBRIA_BENCH_ROUNDS`, default 5; `MEMBRIA_BENCH_TOKENS`, default 64).

use std::{process::Command, time::Instant};

mod common;

use common::{llama_cpp_python, PASSAGE, QUESTION};
use membria_generate::{default_model_path, greedy, Generator, Passage};

const PEER: &str = r#"
import json, sys, time
from llama_cpp import Llama
path, prompt, rounds, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
llm = Llama(model_path=path, n_threads=2, n_threads_batch=2, n_ctx=2048, verbose=False)
tokens = llm.tokenize(prompt.encode(), add_bos=False, special=True)
def run():
    llm.reset()
    started = time.perf_counter()
    first, made, out = None, 0, []
    for token in llm.generate(tokens, temp=0.0, repeat_penalty=1.0):
        made += 1
        out.append(token)
        if first is None:
            first = time.perf_counter()
        if made == count:
            break
    end = time.perf_counter()
    return {"first_ms": (first - started) * 1e3, "total_ms": (end - started) * 1e3,
            "decode_ms": (end - first) * 1e3, "tokens": out}
run()
runs = [run() for _ in range(rounds)]
print(json.dumps({"runs": runs, "prompt_tokens": len(tokens)}))
"#;

struct Run {
	first_ms: f64,
	decode_ms: f64,
	total_ms: f64,
	tokens: Vec<i64>,
}

fn ours(generator: &Generator, prompt: &[i64], count: usize) -> Run {
	let model = generator.model();
	let started = Instant::now();
	let mut cache = model.new_cache();
	let mut logits = model.forward(prompt, &mut cache);
	let mut tokens = Vec::with_capacity(count);
	let mut first = None;
	while tokens.len() < count {
		let next = greedy(&logits).expect("logits");
		tokens.push(next);
		first.get_or_insert_with(Instant::now);
		if tokens.len() == count {
			break;
		}
		logits = model.forward(&[next], &mut cache);
	}
	let end = Instant::now();
	let first = first.unwrap_or(end);
	Run {
		first_ms: (first - started).as_secs_f64() * 1e3,
		decode_ms: (end - first).as_secs_f64() * 1e3,
		total_ms: (end - started).as_secs_f64() * 1e3,
		tokens,
	}
}

fn median(mut values: Vec<f64>) -> f64 {
	values.sort_by(f64::total_cmp);
	values[values.len() / 2]
}

/// Median time to the first token, decoding tokens/s after it, tokens/s over the whole run.
fn summary(runs: &[Run]) -> (f64, f64, f64) {
	let first = median(runs.iter().map(|r| r.first_ms).collect());
	let decode =
		median(runs.iter().map(|r| (r.tokens.len() - 1) as f64 / (r.decode_ms / 1e3)).collect());
	let whole = median(runs.iter().map(|r| r.tokens.len() as f64 / (r.total_ms / 1e3)).collect());
	(first, decode, whole)
}

fn main() {
	let env = |name: &str, default: usize| -> usize {
		std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
	};
	let (rounds, count) = (env("MEMBRIA_BENCH_ROUNDS", 5), env("MEMBRIA_BENCH_TOKENS", 64).max(2));
	let path = default_model_path().expect("the SmolLM2 GGUF (scripts/setup.sh)");
	let generator = Generator::load(&path).expect("the model loads");
	let passages = [Passage { entry: 7, text: PASSAGE.into() }];
	let text = Generator::prompt(&passages, QUESTION);
	let prompt = generator.tokenize(&text).expect("tokenized");

	let _ = ours(&generator, &prompt, count);
	let runs: Vec<Run> = (0..rounds).map(|_| ours(&generator, &prompt, count)).collect();

	let output = Command::new(llama_cpp_python())
		.args(["-c", PEER])
		.arg(&path)
		.arg(&text)
		.arg(rounds.to_string())
		.arg(count.to_string())
		.output()
		.expect("llama-cpp-python (scripts/setup.sh)");
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let peer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("peer json");
	let peer_runs: Vec<Run> = peer["runs"]
		.as_array()
		.expect("runs")
		.iter()
		.map(|r| Run {
			first_ms: r["first_ms"].as_f64().unwrap_or(f64::NAN),
			decode_ms: r["decode_ms"].as_f64().unwrap_or(f64::NAN),
			total_ms: r["total_ms"].as_f64().unwrap_or(f64::NAN),
			tokens: r["tokens"]
				.as_array()
				.map(|t| t.iter().filter_map(|v| v.as_i64()).collect())
				.unwrap_or_default(),
		})
		.collect();

	let (first, decode, whole) = summary(&runs);
	let (peer_first, peer_decode, peer_whole) = summary(&peer_runs);
	let same = runs[0]
		.tokens
		.iter()
		.zip(&peer_runs[0].tokens)
		.take_while(|(a, b)| a == b)
		.count();
	println!(
		"generation, '{QUESTION}' on one cached entry: {} prompt tokens ({} in llama.cpp), {count} greedy tokens, {rounds} rounds (medians), 2 threads:",
		prompt.len(),
		peer["prompt_tokens"]
	);
	println!(
		"  membria (quantized kernels): first token {first:>6.1} ms, decoding {decode:>6.1} tokens/s, whole {whole:>6.1} tokens/s"
	);
	println!(
		"  llama.cpp:                   first token {peer_first:>6.1} ms, decoding {peer_decode:>6.1} tokens/s, whole {peer_whole:>6.1} tokens/s"
	);
	println!(
		"  ratios membria : llama.cpp: decoding {:.2}x, whole {:.2}x, first token {:.2}x (time); the first {same} of {count} greedy tokens agree",
		decode / peer_decode,
		whole / peer_whole,
		first / peer_first
	);
	println!("  {}", generator.detokenize(&runs[0].tokens).unwrap_or_default().replace('\n', " "));
}
