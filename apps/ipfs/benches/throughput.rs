//! Add and cat throughput of the embedded IPFS node, through the verifying Kubo RPC client, on
//! loopback: `cargo bench --manifest-path apps/Cargo.toml -p membria-ipfs`.
//!
//! Prints MiB/s per file size, and the ratio of cat to add.

use std::time::{Duration, Instant};

use membria_ipfs::{BlockStore, Client, ClientOptions, ServerOptions};

fn data(size: usize, seed: u32) -> Vec<u8> {
	let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
	(0..size)
		.map(|_| {
			state ^= state << 13;
			state ^= state >> 17;
			state ^= state << 5;
			state as u8
		})
		.collect()
}

#[tokio::main]
async fn main() {
	let repo = tempfile::tempdir().expect("temp repo");
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
	let url = format!("http://{}", listener.local_addr().expect("address"));
	let store = BlockStore::open(repo.path()).expect("store");
	let options = ServerOptions { max_add_bytes: 256 << 20, ..Default::default() };
	tokio::spawn(membria_ipfs::serve(listener, store, options, std::future::pending()));
	let client = Client::new(
		&url,
		ClientOptions { deadline: Duration::from_secs(120), attempts: 1, backoff: Duration::ZERO },
	)
	.expect("client");

	println!(
		"{:>10} {:>6} {:>12} {:>12} {:>9}",
		"file", "files", "add MiB/s", "cat MiB/s", "cat/add"
	);
	for (size, count) in [(4 << 10, 200), (64 << 10, 100), (1 << 20, 20), (16 << 20, 3)] {
		let files: Vec<Vec<u8>> = (0..count).map(|i| data(size, i as u32 + size as u32)).collect();
		let started = Instant::now();
		let mut cids = Vec::with_capacity(count);
		for file in &files {
			cids.push(client.add(file).await.expect("add").cid);
		}
		let add = started.elapsed();
		let started = Instant::now();
		for (cid, file) in cids.iter().zip(&files) {
			let body = client.cat(cid, size).await.expect("cat");
			assert_eq!(body.len(), file.len());
		}
		let cat = started.elapsed();
		let mib = (size * count) as f64 / (1 << 20) as f64;
		let (add_rate, cat_rate) = (mib / add.as_secs_f64(), mib / cat.as_secs_f64());
		let label = if size >= 1 << 20 {
			format!("{} MiB", size >> 20)
		} else {
			format!("{} KiB", size >> 10)
		};
		println!(
			"{label:>10} {count:>6} {add_rate:>12.1} {cat_rate:>12.1} {:>9.2}",
			cat_rate / add_rate
		);
	}
}
