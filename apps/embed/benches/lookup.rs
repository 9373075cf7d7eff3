//! Local `ask` latency of the semantic cache (what answers offline): embed the question with all-MiniLM-L6-v2 (one
//! thread, CPU) and search 1k, 10k and 100k cached entries with one matrix product.
//! `cargo bench --manifest-path apps/Cargo.toml -p membria-embed`; prints p50/p99 in ms.

use std::time::Instant;

use membria_embed::{Embedder, Index, Profile, Query, Thresholds};

fn percentile(sorted: &[f64], p: f64) -> f64 {
	sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
	tch::set_num_threads(1);
	tch::manual_seed(7);
	let dir = membria_embed::default_model_dir().expect("MEMBRIA_MODELS or HOME");
	let model = Embedder::load_on(&dir, tch::Device::Cpu).expect("model");
	let questions = [
		"What is the atomic number of carbon?",
		"Who invented the transistor?",
		"What is Ethernet?",
		"How does TCP differ from UDP?",
	];
	println!(
		"{:>8} {:>12} {:>12} {:>14} {:>14} {:>12} {:>12}",
		"entries", "embed p50", "embed p99", "lookup p50", "lookup p99", "ask p50", "ask p99"
	);
	for size in [1_000usize, 10_000, 100_000] {
		let mut index = Index::new(model.dimension(), tch::Device::Cpu);
		let random = tch::Tensor::randn(
			[size as i64, model.dimension() as i64],
			(tch::Kind::Float, tch::Device::Cpu),
		);
		let random = &random / random.norm_scalaropt_dim(2, [-1], true);
		for i in 0..size {
			index
				.push(i as u64, &random.get(i as i64), vec![Profile::new("What is it?", "", &[])])
				.expect("indexed");
		}
		index.search(&random.get(0), 1); // builds the matrix
		let (mut embed, mut lookup, mut ask) = (Vec::new(), Vec::new(), Vec::new());
		for round in 0..100 {
			let question = questions[round % questions.len()];
			let started = Instant::now();
			let query = model.embed(&[question]).expect("embed");
			let embedded = Instant::now();
			let _ = index.lookup(&query, &Query::new(question), &Thresholds::default(), 5);
			embed.push((embedded - started).as_secs_f64() * 1e3);
			lookup.push(embedded.elapsed().as_secs_f64() * 1e3);
			ask.push(started.elapsed().as_secs_f64() * 1e3);
		}
		for samples in [&mut embed, &mut lookup, &mut ask] {
			samples.sort_by(f64::total_cmp);
		}
		println!(
			"{size:>8} {:>10.2}ms {:>10.2}ms {:>12.3}ms {:>12.3}ms {:>10.2}ms {:>10.2}ms",
			percentile(&embed, 0.5),
			percentile(&embed, 0.99),
			percentile(&lookup, 0.5),
			percentile(&lookup, 0.99),
			percentile(&ask, 0.5),
			percentile(&ask, 0.99)
		);
	}
}
