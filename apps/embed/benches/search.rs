//! The device's search at a million cached phrasings: [`Index`] past its exact size (lists of
//! projected 8-bit rows by their nearest centre, candidates ranked by their exact embeddings
//! read back from one file, as a device reads its cache's packed embeddings) beside the exact search it replaces (one `f32`
//! matrix product, libtorch) in the same run, searching on one thread each.
//!
//! `cargo bench --manifest-path apps/Cargo.toml -p membria-embed --bench search`
//! (`MEMBRIA_BENCH_ROWS`, default 1,000,000; `MEMBRIA_BENCH_QUERIES`, default 1,000;
//! `MEMBRIA_BENCH_PROBES`, default `256,320,384`: the lists a search scans, each measured on the
//! same index).
//!
//! The rows are synthetic, shaped like sentence embeddings: unit vectors around 8,192 topics
//! (a shared direction, a topic, a phrasing's own part; a spectrum decaying over the
//! dimensions), so a topic's rows are near each other as a question's paraphrases are. Two
//! kinds of query: a stored row reworded (similarity about 0.9 with it: a cached question
//! asked another way) and a fresh row of a known topic (a question the cache may not hold).
//! Recall@1 is how often the index's best entry is the exact search's.
//!
//! First, the same comparison on real all-MiniLM-L6-v2 embeddings of generated questions
//! (`MEMBRIA_BENCH_REAL`, default 40,000: eight question templates over the tokenizer's whole
//! words), asked reworded ("Who invented X?" → "Who was the inventor of X?").

use std::{fs::File, io::Write, os::unix::fs::FileExt, sync::Arc, time::Instant};

use membria_embed::{Embedder, Embeddings, Index, Profile};
use tch::{Device, Kind, Tensor};

const DIMENSION: i64 = 384;
const TOPICS: i64 = 8_192;

fn env(name: &str, default: usize) -> usize {
	std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Exact rows in one file, an entry's at `id × dimension × 4`: read back per candidate.
struct RowFile(File);

impl Embeddings for RowFile {
	fn embeddings(&self, id: u64) -> Option<Vec<f32>> {
		let width = DIMENSION as usize * 4;
		let mut raw = vec![0u8; width];
		self.0.read_exact_at(&mut raw, id * width as u64).ok()?;
		Some(membria_embed::embedding_values(&raw))
	}
}

fn unit(rows: &Tensor) -> Tensor {
	rows / rows.norm_scalaropt_dim(2, [-1], true)
}

/// The generator: a shared direction, topic centres, and the spectrum every part is drawn
/// with.
struct Shape {
	shared: Tensor,
	topics: Tensor,
	spectrum: Tensor,
}

impl Shape {
	fn new() -> Self {
		let spectrum = Tensor::arange(DIMENSION, (Kind::Float, Device::Cpu)).g_add_scalar(1.0);
		let spectrum = spectrum.pow_tensor_scalar(-0.5);
		let spectrum = &spectrum / spectrum.norm();
		let shared = unit(&(Tensor::randn([1, DIMENSION], (Kind::Float, Device::Cpu)) * &spectrum));
		let topics =
			unit(&(Tensor::randn([TOPICS, DIMENSION], (Kind::Float, Device::Cpu)) * &spectrum));
		Self { shared, topics, spectrum }
	}

	/// `count` unit rows: each the shared direction, a random topic and a part of its own.
	fn rows(&self, count: i64) -> Tensor {
		let topic = Tensor::randint(TOPICS, [count], (Kind::Int64, Device::Cpu));
		let own =
			unit(&(Tensor::randn([count, DIMENSION], (Kind::Float, Device::Cpu)) * &self.spectrum));
		unit(&(&self.shared * 0.35 + self.topics.index_select(0, &topic) + own * 0.8))
	}
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
	sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(samples: &mut [f64]) -> (f64, f64) {
	samples.sort_by(f64::total_cmp);
	(percentile(samples, 0.5), percentile(samples, 0.99))
}

const TEMPLATES: [(&str, &str); 8] = [
	("What is {}?", "Can you explain what {} is?"),
	("Who invented {}?", "Who was the inventor of {}?"),
	("When was {} discovered?", "In what year was {} discovered?"),
	("How does {} work?", "Explain how {} works."),
	("Where is {} found?", "Where can {} be found?"),
	("Why is {} important?", "What makes {} important?"),
	("What is the history of {}?", "Tell me the history of {}."),
	("How many kinds of {} are there?", "How many types of {} exist?"),
];

/// Rows of `model`'s embeddings of `texts` (in passes of similar lengths).
fn embed(model: &Embedder, texts: &[String]) -> Tensor {
	let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
	model.embed(&texts).expect("embedded")
}

/// The exact search over `all` for each of `queries`: its best row, and how long each took.
struct Exact {
	best: Vec<u64>,
	ms: Vec<f64>,
}

fn exact(all: &Tensor, queries: &Tensor) -> Exact {
	let (mut best, mut ms) = (Vec::new(), Vec::new());
	for q in 0..queries.size()[0] {
		let query = queries.get(q);
		let started = Instant::now();
		let scores = all.matmul(&query.view([DIMENSION, 1])).squeeze_dim(1);
		let (_, top) = scores.topk(1, 0, true, true);
		best.push(top.int64_value(&[0]) as u64);
		ms.push(started.elapsed().as_secs_f64() * 1e3);
	}
	Exact { best, ms }
}

/// Recall@1 and latency of `index` against the `exact` search for `queries`.
fn compare(name: &str, exact: &Exact, index: &mut Index, queries: &Tensor, warm: &mut bool) {
	let mut index_ms = Vec::new();
	let (mut agree, mut in_top) = (0, 0);
	let count = queries.size()[0];
	// Untimed searches first: the index back in the caches after the exact pass streamed
	// every row through them. The first setting measured after the exact passes gets ten
	// seconds of them: measured sooner, it was twice as slow as the same setting measured
	// later, for about five seconds (after 50 searches, and after one second of them).
	let warming = Instant::now();
	let seconds = if std::mem::replace(warm, true) { 1.0 } else { 10.0 };
	for q in (0..count).cycle() {
		if warming.elapsed().as_secs_f64() >= seconds {
			break;
		}
		let _ = index.search(&queries.get(q), 5);
	}
	for (q, best) in (0..count).zip(&exact.best) {
		let query = queries.get(q);
		let started = Instant::now();
		let found = index.search(&query, 5);
		index_ms.push(started.elapsed().as_secs_f64() * 1e3);
		agree += usize::from(found.first().is_some_and(|s| s.id == *best));
		in_top += usize::from(found.iter().any(|s| s.id == *best));
	}
	let (exact_50, exact_99) = ms(&mut exact.ms.clone());
	let (index_50, index_99) = ms(&mut index_ms);
	println!(
		"{name:>22} {exact_50:>11.3}ms {exact_99:>11.3}ms {index_50:>11.3}ms {index_99:>11.3}ms {:>7.0}× {:>9.1}% {:>9.1}%",
		exact_50 / index_50,
		agree as f64 * 100.0 / count as f64,
		in_top as f64 * 100.0 / count as f64,
	);
}

/// The lists a search scans, each measured on the same index (`MEMBRIA_BENCH_PROBES`).
fn probes() -> Vec<usize> {
	std::env::var("MEMBRIA_BENCH_PROBES")
		.unwrap_or_else(|_| "256,320,384".into())
		.split(',')
		.filter_map(|e| e.trim().parse().ok())
		.collect()
}

fn header() {
	println!(
		"{:>22} {:>13} {:>13} {:>13} {:>13} {:>8} {:>10} {:>10}",
		"queries",
		"exact p50",
		"exact p99",
		"index p50",
		"index p99",
		"ratio",
		"recall@1",
		"in top 5"
	);
}

/// Real embeddings: generated questions and their rewordings through the model.
fn real(count: usize, queries: i64) {
	let dir = membria_embed::default_model_dir().expect("MEMBRIA_MODELS or HOME");
	let model = Embedder::load_on(&dir, Device::Cpu).expect("model");
	let tokenizer: serde_json::Value =
		serde_json::from_slice(&std::fs::read(dir.join("tokenizer.json")).expect("tokenizer"))
			.expect("tokenizer json");
	let mut words: Vec<&String> = tokenizer["model"]["vocab"]
		.as_object()
		.expect("vocabulary")
		.keys()
		.filter(|w| w.len() >= 4 && w.chars().all(|c| c.is_ascii_lowercase()))
		.collect();
	words.sort();
	let (mut texts, mut reworded) = (Vec::new(), Vec::new());
	for word in words {
		for (asked, again) in TEMPLATES {
			texts.push(asked.replace("{}", word));
			reworded.push(again.replace("{}", word));
		}
	}
	texts.truncate(count);
	let started = Instant::now();
	let all = embed(&model, &texts);
	let picked: Vec<String> = (0..queries as usize)
		.map(|q| reworded[(q * 7_919) % texts.len()].clone())
		.collect();
	let asked = embed(&model, &picked);
	// Searched on one thread, as the synthetic rows below.
	tch::set_num_threads(1);
	println!(
		"{} real questions (all-MiniLM-L6-v2), embedded in {:.0} s",
		texts.len(),
		started.elapsed().as_secs_f64()
	);
	// Approximate past half the rows: its projection and centres fitted on 20,000 real rows
	// (a device's on 65,536).
	let mut index = Index::new(DIMENSION as usize, Device::Cpu).approximate_from(texts.len() / 2);
	index
		.push_all(
			(0..texts.len() as i64)
				.map(|id| (id as u64, all.get(id), vec![Profile::new("What is it?", "It.", &[])])),
		)
		.expect("indexed");
	println!(
		"rows of {} values, scanned by their first {}",
		index.approximate_width().unwrap_or(DIMENSION as usize),
		index.approximate_head().unwrap_or(DIMENSION as usize),
	);
	let exact_asked = exact(&all, &asked);
	let mut warm = false;
	for lists in probes() {
		index.set_search_probes(lists);
		println!("{lists} lists scanned");
		header();
		compare("reworded (real)", &exact_asked, &mut index, &asked, &mut warm);
	}
}

fn main() {
	tch::manual_seed(15);
	let queries = env("MEMBRIA_BENCH_QUERIES", 1_000) as i64;
	let real_rows = env("MEMBRIA_BENCH_REAL", 40_000);
	if real_rows > 0 {
		real(real_rows, queries);
	}
	let rows = env("MEMBRIA_BENCH_ROWS", 1_000_000) as i64;
	if rows == 0 {
		return;
	}
	let shape = Shape::new();

	// Every row, in memory for the exact reference and in a file for the index's ranking.
	let started = Instant::now();
	let all = shape.rows(rows);
	let dir = std::env::temp_dir().join(format!("membria-search-bench-{}", std::process::id()));
	std::fs::create_dir_all(&dir).expect("temp dir");
	let path = dir.join("rows.f32");
	{
		let mut file = std::io::BufWriter::new(File::create(&path).expect("rows file"));
		let values = Vec::<f32>::try_from(&all.flatten(0, -1)).expect("rows");
		for value in values {
			file.write_all(&value.to_le_bytes()).expect("write");
		}
		file.flush().expect("flush");
	}
	println!(
		"{rows} synthetic rows of {DIMENSION} around {TOPICS} topics, written in {:.1} s",
		started.elapsed().as_secs_f64()
	);

	// The index as a device builds it: pushed in pages, exact rows on disk.
	let store = Arc::new(RowFile(File::open(&path).expect("rows file")));
	let mut index = Index::new(DIMENSION as usize, Device::Cpu).rescoring_from(store);
	let started = Instant::now();
	let page = 10_000;
	for start in (0..rows).step_by(page) {
		let count = (page as i64).min(rows - start);
		index
			.push_all(
				(start..start + count).map(|id| {
					(id as u64, all.get(id), vec![Profile::new("What is it?", "It.", &[])])
				}),
			)
			.expect("indexed");
	}
	let built = started.elapsed();
	assert!(index.is_approximate());
	println!(
		"index built in {:.1} s ({:.0} rows/s on {} threads), search memory {:.0} MB ({} bytes a row), rows of {} values scanned by their first {}",
		built.as_secs_f64(),
		rows as f64 / built.as_secs_f64(),
		std::thread::available_parallelism().map_or(1, |n| n.get()),
		index.search_memory() as f64 / 1e6,
		index.search_memory() / rows as usize,
		index.approximate_width().unwrap_or(DIMENSION as usize),
		index.approximate_head().unwrap_or(DIMENSION as usize),
	);

	// The rows file read once, in the page cache as a device's packed embeddings are (written as
	// its cache opens; else the first setting measured reads it from disk).
	std::io::copy(&mut File::open(&path).expect("rows file"), &mut std::io::sink()).expect("read");

	// Queries: stored rows reworded, and fresh rows.
	let picked = Tensor::randint(rows, [queries], (Kind::Int64, Device::Cpu));
	let noise =
		unit(&(Tensor::randn([queries, DIMENSION], (Kind::Float, Device::Cpu)) * &shape.spectrum));
	let reworded = unit(&(all.index_select(0, &picked) * 0.9 + noise * 0.45));
	let fresh = shape.rows(queries);

	let (exact_reworded, exact_fresh) = (exact(&all, &reworded), exact(&all, &fresh));
	// The same lists searched scanning more of them (`MEMBRIA_BENCH_PROBES`).
	let mut warm = false;
	for lists in probes() {
		index.set_search_probes(lists);
		println!("{lists} lists scanned");
		header();
		compare("reworded (synthetic)", &exact_reworded, &mut index, &reworded, &mut warm);
		compare("fresh (synthetic)", &exact_fresh, &mut index, &fresh, &mut warm);
	}
	let _ = std::fs::remove_dir_all(&dir);
}
