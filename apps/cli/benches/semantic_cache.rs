//! The device's semantic-cache lookup beside GPTCache's, measured in one run on the same
//! stored questions, the same queries and the same MiniLM:
//!
//! - stored: the 40 questions of `apps/distiller/examples/questions.txt` and synthetic ones up
//!   to `MEMBRIA_BENCH_STORED` (default 1000);
//! - queries: the 40 as stored, the 40 reworded ("Tell me: …"), 20 nobody stored;
//! - the device: `membria_embed::Embedder` (all-MiniLM-L6-v2 in libtorch) embeds the query,
//!   `Index::lookup` ranks every stored phrasing and the matcher decides (its base threshold,
//!   cosine 0.5);
//! - the peer: PyPI `gptcache` (faiss, in-memory SQLite) with the same model run in numpy
//!   (`tests/clients/gptcache_peer.py`, in the venv `scripts/setup.sh` installs under
//!   `$MEMBRIA_CLIENTS`), its hit threshold at the same cosine. Its embedding of a query is
//!   checked against the device's first: the same model, or the run stops.
//!
//! `cargo bench --manifest-path apps/Cargo.toml -p membria-cli --bench semantic_cache`

use std::{path::PathBuf, process::Command, time::Instant};

use membria_embed::{Embedder, Index, Profile, Query, Thresholds};

const UNRELATED: [&str; 20] = [
	"How do I bake sourdough bread?",
	"Who won the 1998 football World Cup?",
	"What is the best way to learn the violin?",
	"How tall is Mount Kilimanjaro?",
	"Which planet has the most moons?",
	"How do I change a bicycle tyre?",
	"What is the plot of Hamlet?",
	"Who painted the Mona Lisa?",
	"How many bones are in the human body?",
	"What is the capital of Australia?",
	"How long should I boil an egg?",
	"What causes the seasons on Earth?",
	"Who composed the Four Seasons?",
	"What language is spoken in Brazil?",
	"How do vaccines work?",
	"What is the speed of sound in water?",
	"How do I repot an orchid?",
	"What is a black hole?",
	"Who invented the telephone?",
	"What does a sommelier do?",
];

fn percentile(samples: &[f64], p: f64) -> f64 {
	let mut sorted = samples.to_vec();
	sorted.sort_by(f64::total_cmp);
	sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn clients_python() -> PathBuf {
	let prefix = std::env::var_os("MEMBRIA_CLIENTS").map(PathBuf::from).unwrap_or_else(|| {
		PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/membria/clients")
	});
	let python = prefix.join("venv/bin/python");
	assert!(python.exists(), "gptcache, installed by scripts/setup.sh at {}", python.display());
	python
}

fn main() {
	// One thread each: the peer's BLAS and OpenMP are held to one too.
	tch::set_num_threads(1);
	let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
	let stored_count: usize = std::env::var("MEMBRIA_BENCH_STORED")
		.ok()
		.and_then(|n| n.parse().ok())
		.unwrap_or(1_000);
	let real: Vec<String> =
		std::fs::read_to_string(repo.join("apps/distiller/examples/questions.txt"))
			.expect("the example questions")
			.lines()
			.map(str::trim)
			.filter(|line| !line.is_empty())
			.map(str::to_string)
			.collect();
	let mut stored = real.clone();
	stored.extend(
		(stored.len()..stored_count).map(|i| format!("What is benchmark topic number {i}?")),
	);
	let mut queries = real.clone();
	queries.extend(real.iter().map(|q| format!("Tell me: {}", q.to_lowercase())));
	queries.extend(UNRELATED.iter().map(|q| q.to_string()));

	let model = membria_cli::similarity::default_model_dir().expect("the model directory");
	let embedder = Embedder::load(&model).expect("all-MiniLM-L6-v2 (scripts/setup.sh)");
	let mut index = Index::new(embedder.dimension(), tch::Device::Cpu);
	eprintln!("embedding {} stored questions", stored.len());
	for (chunk_start, chunk) in stored.chunks(64).enumerate() {
		let texts: Vec<&str> = chunk.iter().map(String::as_str).collect();
		let rows = embedder.embed(&texts).expect("embeddings");
		for (offset, question) in chunk.iter().enumerate() {
			let id = (chunk_start * 64 + offset) as u64;
			index
				.push(id, &rows.get(offset as i64), vec![Profile::new(question, question, &[])])
				.expect("indexed");
		}
	}
	let thresholds = Thresholds::default();
	let lookup = |index: &mut Index, query: &str| {
		let embedding = embedder.embed(&[query]).expect("an embedding");
		index.lookup(&embedding, &Query::new(query), &thresholds, 5).is_ok()
	};
	lookup(&mut index, &queries[0]);
	let mut device_ms = Vec::with_capacity(queries.len());
	let mut device_flags = Vec::with_capacity(queries.len());
	for query in &queries {
		let start = Instant::now();
		device_flags.push(lookup(&mut index, query));
		device_ms.push(start.elapsed().as_secs_f64() * 1e3);
	}

	let dir = tempfile::tempdir().expect("a temp dir");
	let (stored_file, queries_file) = (dir.path().join("stored"), dir.path().join("queries"));
	std::fs::write(&stored_file, stored.join("\n")).unwrap();
	std::fs::write(&queries_file, queries.join("\n")).unwrap();
	eprintln!("GPTCache: the same {} questions and {} queries", stored.len(), queries.len());
	let output = Command::new(clients_python())
		.arg(repo.join("tests/clients/gptcache_peer.py"))
		.args([&stored_file, &queries_file])
		.arg(thresholds.base.to_string())
		.output()
		.expect("python runs");
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let peer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the peer's JSON");
	let probe: Vec<f32> = serde_json::from_value(peer["probe"].clone()).expect("its probe");
	let ours = embedder.embed_one(&queries[0]).expect("an embedding");
	let agreement = membria_embed::cosine(&ours, &probe);
	assert!(agreement > 0.999, "the peer's MiniLM differs from the device's: cosine {agreement}");
	let samples = |name: &str| -> Vec<f64> {
		serde_json::from_value(peer[name].clone()).expect("the peer's timings")
	};
	let (peer_ms, peer_embed_ms) = (samples("lookups_ms"), samples("embed_ms"));
	let peer_flags: Vec<bool> =
		serde_json::from_value(peer["hit_flags"].clone()).expect("the peer's hits");
	// Hits among the queries as stored, reworded, and unrelated (a hit there is a wrong answer).
	let groups = |flags: &[bool]| {
		let count = |range: std::ops::Range<usize>| flags[range].iter().filter(|h| **h).count();
		let n = real.len();
		format!(
			"hits {}/{n} as stored, {}/{n} reworded, {}/{} unrelated",
			count(0..n),
			count(n..2 * n),
			count(2 * n..flags.len()),
			flags.len() - 2 * n
		)
	};

	println!(
		"semantic-cache lookup, {} stored questions, {} queries (40 as stored, 40 reworded, 20 unrelated), one thread",
		stored.len(),
		queries.len()
	);
	println!("  the same MiniLM: cosine {agreement:.6} between the two embeddings of a query");
	println!(
		"  device (libtorch MiniLM + Index::lookup + matcher): p50 {:.2} ms, p99 {:.2} ms, {}",
		percentile(&device_ms, 0.5),
		percentile(&device_ms, 0.99),
		groups(&device_flags)
	);
	println!(
		"  GPTCache 0.1.44 (numpy MiniLM + faiss + SQLite):     p50 {:.2} ms, p99 {:.2} ms, {} (embedding alone p50 {:.2} ms)",
		percentile(&peer_ms, 0.5),
		percentile(&peer_ms, 0.99),
		groups(&peer_flags),
		percentile(&peer_embed_ms, 0.5)
	);
	println!(
		"  ratio: the device's lookup takes {:.2}x GPTCache's (p50)",
		percentile(&device_ms, 0.5) / percentile(&peer_ms, 0.5)
	);
}
