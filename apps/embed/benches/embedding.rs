//! Embedding throughput (what bounds `membria sync` and the gateway's indexing): texts per
//! second through all-MiniLM-L6-v2 on this machine's cores, in the same run:
//! - **arrival order**: passes of 32 texts as they come (each pass padded to its longest text,
//!   [`Embedder::embed_in_one_pass`]), how `sync` embedded a page and the gateway a batch before;
//! - **batches of 32**: [`Embedder::embed`] on 32 texts at a time, as the gateway's model
//!   thread takes what waits (each batch cut into passes where lengths jump);
//! - **all at once**: [`Embedder::embed`] on every text, as `sync` embeds a page: passes of
//!   texts of similar length.
//!
//! Two sets of texts: questions of one shape ("What is benchmark topic number N?", the device
//! bench's entries), and questions of mixed lengths as a real cache holds them (from "What is
//! DNS?" to a long how-question). Then the bound: the `f32` matrix product's rate on the same
//! threads and the encoder's arithmetic per token, so the printed share says how far the encoder
//! is from what the matrix products alone allow; and the same product on `membria-generate`'s
//! 8-bit kernels (weights and activations in signed 8-bit blocks of 32), the one other
//! arithmetic the project has.
//!
//! `cargo bench --manifest-path apps/Cargo.toml -p membria-embed --bench embedding`
//! (`MEMBRIA_BENCH_TEXTS`, default 2,048; libtorch's default threads, one per core).

use std::time::Instant;

use membria_embed::{Embedder, PASS};

fn env(name: &str, default: usize) -> usize {
	std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const SUBJECTS: [&str; 8] = [
	"DNS",
	"Ethernet",
	"the transistor",
	"photosynthesis in green plants",
	"the speed of light in a vacuum",
	"the Transmission Control Protocol's congestion window",
	"oxygen",
	"the French Revolution of 1789 and the fall of the monarchy",
];

const FORMS: [&str; 6] = [
	"What is {}?",
	"Who discovered {}?",
	"Explain how {} works, step by step, for someone who has never studied it?",
	"When was {} first described?",
	"Why does {} matter?",
	"{}?",
];

/// Texts per second embedding `texts` with `embed` (after one pass to warm up).
fn rate(texts: &[&str], embed: impl Fn(&[&str])) -> f64 {
	embed(&texts[..PASS.min(texts.len())]);
	let started = Instant::now();
	embed(texts);
	texts.len() as f64 / started.elapsed().as_secs_f64()
}

/// FLOP/s of a 512x384 by 384x1536 product `run` does: the best of five rounds of 20.
fn best_rate(run: impl Fn()) -> f64 {
	run();
	(0..5)
		.map(|_| {
			let started = Instant::now();
			for _ in 0..20 {
				run();
			}
			20.0 * 2.0 * 512.0 * 384.0 * 1536.0 / started.elapsed().as_secs_f64()
		})
		.fold(0.0, f64::max)
}

fn main() {
	let count = env("MEMBRIA_BENCH_TEXTS", 2_048);
	let dir = membria_embed::default_model_dir().expect("MEMBRIA_MODELS or HOME");
	let model = Embedder::load_on(&dir, tch::Device::Cpu).expect("model");
	let threads = tch::get_num_threads();
	let uniform: Vec<String> =
		(0..count).map(|i| format!("What is benchmark topic number {i}?")).collect();
	let mixed: Vec<String> = (0..count)
		.map(|i| {
			let form = FORMS[(i / SUBJECTS.len()) % FORMS.len()];
			format!("{} ({i})", form.replace("{}", SUBJECTS[i % SUBJECTS.len()]))
		})
		.collect();
	println!("all-MiniLM-L6-v2, {count} texts, {threads} libtorch threads");
	let (mut tokens_per_text, mut mixed_rate) = (0.0, 0.0);
	for (name, texts) in [("one shape", &uniform), ("mixed lengths", &mixed)] {
		let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
		let arrival = rate(&texts, |texts| {
			for pass in texts.chunks(PASS) {
				let _ = model.embed_in_one_pass(pass).expect("embedded");
			}
		});
		let batches = rate(&texts, |texts| {
			for batch in texts.chunks(PASS) {
				let _ = model.embed(batch).expect("embedded");
			}
		});
		let ordered = rate(&texts, |texts| {
			let _ = model.embed(texts).expect("embedded");
		});
		println!(
			"  {name:<14} arrival order {arrival:>4.0} texts/s   batches of 32 {batches:>4.0} texts/s ({:.2}x)   all at once {ordered:>4.0} texts/s ({:.2}x)",
			batches / arrival,
			ordered / arrival
		);
		// The last set, the mixed one, is what the bound below is about.
		tokens_per_text = model.tokens(&texts).expect("tokenized") as f64 / texts.len() as f64;
		mixed_rate = ordered;
	}
	// The bound: six layers of four 384x384 and two 384x1536 products per token.
	let per_token = 2.0 * 6.0 * (4.0 * 384.0 * 384.0 + 2.0 * 384.0 * 1536.0);
	let a = tch::Tensor::randn([512, 384], (tch::Kind::Float, tch::Device::Cpu));
	let w = tch::Tensor::randn([1536, 384], (tch::Kind::Float, tch::Device::Cpu));
	let flops = best_rate(|| {
		let _ = a.matmul(&w.tr());
	});
	// The same product on the 8-bit kernels, activations quantized each time as a layer would.
	let values = |count: usize, seed: usize| -> Vec<f32> {
		(0..count).map(|i| ((i * seed) % 1_000) as f32 / 500.0 - 1.0).collect()
	};
	let (weights, inputs) = (values(1536 * 384, 7_919), values(512 * 384, 104_729));
	let matrix = membria_generate::quant::QMatrix::quantize(1536, 384, &weights);
	let product = || {
		let x = membria_generate::quant::Activations::quantize(&inputs, 384);
		membria_generate::quant::matmul(&[&matrix], &x)
	};
	let eight_bit = best_rate(|| {
		let _ = product();
	});
	let used = mixed_rate * tokens_per_text * per_token / flops;
	println!(
		"  f32 matrix product (512x384 by 384x1536): {:.1} GFLOP/s; the encoder: {:.1} MFLOP a token, {tokens_per_text:.1} tokens a mixed text",
		flops / 1e9,
		per_token / 1e6
	);
	println!(
		"  the same product on membria-generate's 8-bit kernels: {:.1} GFLOP/s equivalent ({:.2}x the f32 product)",
		eight_bit / 1e9,
		eight_bit / flops
	);
	println!(
		"  at most {:.0} mixed texts/s if the products ran at that rate; by length reaches {:.0}% of it",
		flops / (tokens_per_text * per_token),
		used * 100.0
	);
}
