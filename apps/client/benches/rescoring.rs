//! The exact ranking of a device's approximate search: the `f32` embeddings of its 48 best
//! candidates read back, from [`PackedEmbeddings`] (one private file, one positioned read per
//! candidate) beside reading each candidate's own file in the cache (`embeddings/<id>.f32`: an
//! open, a read and a close each, what the device did before), in the same run.
//!
//! `cargo bench --manifest-path apps/Cargo.toml -p membria-client --bench rescoring`
//! (`MEMBRIA_BENCH_ENTRIES`, default 100,000 entries of 3 phrasings of 384 values;
//! `MEMBRIA_BENCH_RANKINGS`, default 2,000 rankings of 48 candidates drawn at random). Both read
//! from the page cache: the files are written just before.

use std::{path::Path, time::Instant};

use membria_client::rescoring::PackedEmbeddings;
use membria_embed::{embedding_bytes, embedding_values, Embeddings};

const DIMENSION: usize = 384;
const ROWS: usize = 3;
const CANDIDATES: usize = 48;

fn env(name: &str, default: usize) -> usize {
	std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A reproducible stream of numbers (xorshift).
struct Draw(u64);

impl Draw {
	fn next(&mut self) -> u64 {
		self.0 ^= self.0 << 13;
		self.0 ^= self.0 >> 7;
		self.0 ^= self.0 << 17;
		self.0
	}
}

/// Reads each candidate's own embedding file, as the cache did.
fn from_files(dir: &Path, id: u64) -> Option<Vec<f32>> {
	let raw = std::fs::read(dir.join(format!("{id}.f32"))).ok()?;
	if raw.is_empty() || !raw.len().is_multiple_of(DIMENSION * 4) {
		return None;
	}
	Some(embedding_values(&raw))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
	sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Times `rankings` rankings (each reading the same candidates from both): p50 and p99 in µs.
fn time(rankings: &[Vec<u64>], read: impl Fn(u64) -> Option<Vec<f32>>) -> (f64, f64) {
	let mut samples: Vec<f64> = rankings
		.iter()
		.map(|candidates| {
			let started = Instant::now();
			let mut sum = 0.0f32;
			for &id in candidates {
				let rows = read(id).expect("candidate's embeddings");
				sum += rows[0];
			}
			std::hint::black_box(sum);
			started.elapsed().as_secs_f64() * 1e6
		})
		.collect();
	samples.sort_by(f64::total_cmp);
	(percentile(&samples, 0.5), percentile(&samples, 0.99))
}

fn main() {
	let entries = env("MEMBRIA_BENCH_ENTRIES", 100_000) as u64;
	let count = env("MEMBRIA_BENCH_RANKINGS", 2_000);
	let dir = tempfile::tempdir().expect("temp dir");
	let files = dir.path().join("embeddings");
	std::fs::create_dir_all(&files).expect("embeddings dir");
	let pack = PackedEmbeddings::new(dir.path(), DIMENSION).expect("pack");

	let started = Instant::now();
	let mut draw = Draw(0x9e37_79b9_7f4a_7c15);
	for id in 0..entries {
		let rows: Vec<f32> =
			(0..ROWS * DIMENSION).map(|_| (draw.next() % 1000) as f32 / 1000.0).collect();
		std::fs::write(files.join(format!("{id}.f32")), embedding_bytes(&rows)).expect("file");
		pack.add(id, &rows).expect("packed");
	}
	println!(
		"{entries} entries of {ROWS} phrasings of {DIMENSION} values written to files and packed in {:.1} s; the pack holds {:.1} MB in memory, {:.0} MB on disk",
		started.elapsed().as_secs_f64(),
		pack.memory() as f64 / 1e6,
		pack.file_size() as f64 / 1e6,
	);
	let rankings: Vec<Vec<u64>> = (0..count)
		.map(|_| (0..CANDIDATES).map(|_| draw.next() % entries).collect())
		.collect();
	// The same answers from both.
	for &id in rankings.iter().take(10).flatten() {
		assert_eq!(pack.embeddings(id), from_files(&files, id), "entry {id}");
	}
	// Untimed once over, then timed alternately so that both see the same machine.
	time(&rankings, |id| from_files(&files, id));
	time(&rankings, |id| pack.embeddings(id));
	let mut results = Vec::new();
	for _ in 0..3 {
		let own = time(&rankings, |id| from_files(&files, id));
		let packed = time(&rankings, |id| pack.embeddings(id));
		results.push((own, packed));
	}
	println!("{count} rankings of {CANDIDATES} candidates, µs a ranking (p50 / p99):");
	println!("| pass | a file per entry | packed | ratio (p50) |");
	println!("| --- | --- | --- | --- |");
	for (pass, (own, packed)) in results.iter().enumerate() {
		println!(
			"| {} | {:.0} / {:.0} | {:.0} / {:.0} | {:.1}x |",
			pass + 1,
			own.0,
			own.1,
			packed.0,
			packed.1,
			own.0 / packed.0
		);
	}
}
