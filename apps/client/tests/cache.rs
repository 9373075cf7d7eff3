//! The verified cache survives restarts, and refuses — and forgets — whatever was changed on disk.

use membria_client::VerifiedCache;
use membria_embed::{Query, Thresholds};
use membria_offchain::body::{Body, DistillerInfo, Source};
use membria_primitives::{question_key, unixfs, CidVersion};

const DIMENSION: usize = 4;

fn body(question: &str, answer: &str) -> Vec<u8> {
	Body {
		v: 1,
		question: question.into(),
		phrasings: Vec::new(),
		answer: answer.into(),
		facts: vec![answer.into()],
		sources: vec![Source { uri: "dict://elements/carbon".into(), sha256: "0".repeat(64) }],
		links: vec![],
		distiller: DistillerInfo { name: "test".into(), model: "corpus".into() },
		created: 0,
	}
	.to_bytes()
}

fn insert(cache: &mut VerifiedCache, id: u64, question: &str, answer: &str, embedding: [f32; 4]) {
	let bytes = body(question, answer);
	cache
		.insert(
			id,
			question_key(question),
			&unixfs::file_cid(&bytes, CidVersion::V1),
			sp_crypto_hashing::blake2_256(&bytes),
			(42, [7; 32]),
			10_000,
			&bytes,
			&embedding,
		)
		.expect("inserted");
}

#[test]
fn entries_survive_a_restart_and_are_searchable() {
	let dir = tempfile::tempdir().unwrap();
	{
		let mut cache = VerifiedCache::open(dir.path(), DIMENSION).unwrap();
		insert(
			&mut cache,
			1,
			"What is the atomic number of carbon?",
			"Carbon: Atomic number: 6",
			[1.0, 0.0, 0.0, 0.0],
		);
		insert(
			&mut cache,
			2,
			"Who wrote Hamlet?",
			"William Shakespeare wrote Hamlet.",
			[0.0, 1.0, 0.0, 0.0],
		);
	}
	let mut cache = VerifiedCache::open(dir.path(), DIMENSION).unwrap();
	assert!(cache.corrupted().is_empty());
	assert_eq!(cache.len(), 2);
	let entry = cache.entry(1).unwrap();
	assert_eq!(entry.proven_at_number, 42);
	assert_eq!(entry.question, "What is the atomic number of carbon?");
	let query = Query::new("Carbon has which atomic number?");
	let embedding = tch::Tensor::from_slice(&[0.9f32, 0.1, 0.0, 0.0]);
	let hit = cache
		.index()
		.lookup(&embedding, &query, &Thresholds::default(), 3)
		.expect("a hit");
	assert_eq!(hit.id, 1);
	assert_eq!(
		cache.body(1).unwrap(),
		body("What is the atomic number of carbon?", "Carbon: Atomic number: 6")
	);
}

#[test]
fn a_body_that_does_not_match_is_refused_on_insert() {
	let dir = tempfile::tempdir().unwrap();
	let mut cache = VerifiedCache::open(dir.path(), DIMENSION).unwrap();
	let bytes = body("What is Ethernet?", "A local area network.");
	let error = cache
		.insert(
			1,
			question_key("What is Ethernet?"),
			&unixfs::file_cid(&bytes, CidVersion::V1),
			[0; 32],
			(1, [0; 32]),
			0,
			&bytes,
			&[0.0; DIMENSION],
		)
		.unwrap_err();
	assert!(error.to_string().contains("HashMismatch"), "{error}");
	assert!(cache.is_empty());
}

#[test]
fn corrupted_files_are_detected_removed_and_reported() {
	let dir = tempfile::tempdir().unwrap();
	{
		let mut cache = VerifiedCache::open(dir.path(), DIMENSION).unwrap();
		insert(&mut cache, 1, "What is Ethernet?", "A local area network.", [1.0, 0.0, 0.0, 0.0]);
		insert(
			&mut cache,
			2,
			"What is Token Ring?",
			"A local area network protocol.",
			[0.0, 1.0, 0.0, 0.0],
		);
		insert(&mut cache, 3, "What is FDDI?", "A fibre network.", [0.0, 0.0, 1.0, 0.0]);
		insert(&mut cache, 4, "What is ATM?", "A cell relay network.", [0.0, 0.0, 0.0, 1.0]);
	}
	// Entry 1: a body byte changed. Entry 2: its embedding changed. Entry 3: a record that is
	// not JSON. Entry 4 stays intact.
	let body_path = dir.path().join("bodies/1.json");
	let mut bytes = std::fs::read(&body_path).unwrap();
	let last = bytes.len() - 3;
	bytes[last] ^= 1;
	std::fs::write(&body_path, bytes).unwrap();
	std::fs::write(dir.path().join("embeddings/2.f32"), [0u8; 16]).unwrap();
	std::fs::write(dir.path().join("entries/3.json"), b"{ not json").unwrap();

	let cache = VerifiedCache::open(dir.path(), DIMENSION).unwrap();
	let ids: Vec<u64> = cache.entries().map(|e| e.id).collect();
	assert_eq!(ids, vec![4], "only the intact entry is trusted");
	let reasons: Vec<String> = cache.corrupted().iter().map(|c| c.reason.clone()).collect();
	assert_eq!(cache.corrupted().len(), 3, "{reasons:?}");
	assert!(reasons.iter().any(|r| r.contains("body does not match")), "{reasons:?}");
	assert!(reasons.iter().any(|r| r.contains("embedding does not match")), "{reasons:?}");
	assert!(reasons.iter().any(|r| r.contains("unreadable entry record")), "{reasons:?}");
	assert!(!dir.path().join("bodies/1.json").exists(), "refused files are removed");
	// Opened again: nothing left to refuse.
	let again = VerifiedCache::open(dir.path(), DIMENSION).unwrap();
	assert!(again.corrupted().is_empty());
	assert_eq!(again.len(), 1);
}

#[test]
fn a_removed_entry_is_gone_from_disk_index_and_reopening() {
	let dir = tempfile::tempdir().unwrap();
	{
		let mut cache = VerifiedCache::open(dir.path(), DIMENSION).unwrap();
		insert(&mut cache, 1, "What is carbon?", "Carbon is element 6.", [1.0, 0.0, 0.0, 0.0]);
		insert(&mut cache, 2, "What is neon?", "Neon is element 10.", [0.0, 1.0, 0.0, 0.0]);
		assert!(cache.remove(1).unwrap());
		assert!(!cache.remove(1).unwrap(), "removed once");
		assert!(cache.entry(1).is_none());
		assert!(cache.body(1).is_err());
		let hits = cache.index().search(&tch::Tensor::from_slice(&[1.0f32, 0.0, 0.0, 0.0]), 5);
		assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![2]);
	}
	let cache = VerifiedCache::open(dir.path(), DIMENSION).unwrap();
	assert_eq!(cache.len(), 1);
	assert!(cache.corrupted().is_empty(), "{:?}", cache.corrupted());
}

#[test]
fn an_entry_keeps_one_embedding_per_phrasing() {
	let dir = tempfile::tempdir().unwrap();
	let question = "What is UDP?";
	let answer = "UDP: User Datagram Protocol, a connectionless transport.";
	let bytes = body(question, answer);
	let parsed = Body::parse(&bytes).unwrap();
	assert_eq!(
		membria_client::cache::phrasings(&parsed),
		["What is UDP?", "What is User Datagram Protocol?"]
	);
	let insert = |cache: &mut VerifiedCache, embeddings: &[f32]| {
		cache.insert(
			1,
			question_key(question),
			&unixfs::file_cid(&bytes, CidVersion::V1),
			sp_crypto_hashing::blake2_256(&bytes),
			(42, [7; 32]),
			0,
			&bytes,
			embeddings,
		)
	};
	let mut cache = VerifiedCache::open(dir.path(), DIMENSION).unwrap();
	// One row where the matcher embeds two: refused, nothing stored.
	let error = insert(&mut cache, &[1.0, 0.0, 0.0, 0.0]).unwrap_err();
	assert!(error.to_string().contains("2 phrasings of 4"), "{error}");
	assert!(cache.is_empty());
	insert(&mut cache, &[1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]).expect("two rows");
	// The long form's row finds it.
	let hit = cache
		.index()
		.lookup(
			&tch::Tensor::from_slice(&[0.0f32, 1.0, 0.0, 0.0]),
			&Query::new("What is the User Datagram Protocol?"),
			&Thresholds::default(),
			3,
		)
		.expect("the spelled-out phrasing hits");
	assert_eq!(hit.id, 1);
	drop(cache);
	// A cache written with another number of rows (an older matcher) is fetched again.
	let path = dir.path().join("embeddings/1.f32");
	let record_path = dir.path().join("entries/1.json");
	let one_row: Vec<u8> = [1.0f32, 0.0, 0.0, 0.0].iter().flat_map(|x| x.to_le_bytes()).collect();
	std::fs::write(&path, &one_row).unwrap();
	let mut record: serde_json::Value =
		serde_json::from_slice(&std::fs::read(&record_path).unwrap()).unwrap();
	record["embedding_hash"] = hex::encode(sp_crypto_hashing::blake2_256(&one_row)).into();
	std::fs::write(&record_path, serde_json::to_vec(&record).unwrap()).unwrap();
	let cache = VerifiedCache::open(dir.path(), DIMENSION).unwrap();
	assert!(cache.is_empty());
	assert!(cache.corrupted()[0].reason.contains("not the 2 phrasings"), "{:?}", cache.corrupted());
}

/// A unit vector of the test's width, turning with `i`.
fn turning(i: u64) -> [f32; 4] {
	let a = i as f32 * 0.15;
	let v = [a.cos(), a.sin(), (a * 0.5).cos() * 0.3, 0.1];
	let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
	v.map(|x| x / norm)
}

#[test]
fn a_large_cache_ranks_candidates_by_their_checked_embeddings() {
	let dir = tempfile::tempdir().unwrap();
	let query = |i: u64| tch::Tensor::from_slice(&turning(i));
	{
		// Approximate past 8 phrasings (a device's is 16,384).
		let mut cache = VerifiedCache::open_sized(dir.path(), DIMENSION, 8).unwrap();
		for id in 1..=40 {
			let question = format!("What is the atomic number of element {id}?");
			insert(&mut cache, id, &question, &format!("Element {id}: 6"), turning(id));
		}
		assert!(cache.index().is_approximate());
		let best = cache.index().search(&query(17), 2);
		assert_eq!(best[0].id, 17);
		// The exact similarity, read back from the checked embeddings, not the lists' 8-bit.
		assert!((best[0].score - 1.0).abs() < 1e-6, "{best:?}");
		assert!(cache.remove(17).unwrap());
		assert!(cache.index().search(&query(17), 3).iter().all(|s| s.id != 17));
	}
	// Reopened, the graph is built as the entries load, a page at a time.
	let mut cache = VerifiedCache::open_sized(dir.path(), DIMENSION, 8).unwrap();
	assert_eq!(cache.len(), 39);
	assert!(cache.index().is_approximate());
	let best = cache.index().search(&query(23), 1);
	assert_eq!(best[0].id, 23);
	assert!((best[0].score - 1.0).abs() < 1e-6, "{best:?}");
	// A file changed on disk after its check changes no ranking: the search reads the
	// embeddings as they were checked. Rewritten to another entry's rows, or removed, entry 23
	// keeps its exact similarity and the entry it was made to look like is not lifted.
	let path = dir.path().join("embeddings/23.f32");
	let forged = std::fs::read(dir.path().join("embeddings/5.f32")).unwrap();
	assert_eq!(forged.len(), std::fs::read(&path).unwrap().len());
	std::fs::write(&path, &forged).unwrap();
	for _ in 0..2 {
		let best = cache.index().search(&query(23), 2);
		assert_eq!(best[0].id, 23);
		assert!((best[0].score - 1.0).abs() < 1e-6, "{best:?}");
		let five = cache.index().search(&query(5), 1);
		assert_eq!(five[0].id, 5);
		assert!((five[0].score - 1.0).abs() < 1e-6, "{five:?}");
		std::fs::remove_file(&path).unwrap();
		std::fs::write(&path, b"").unwrap();
	}
	// The scratch file is unnamed: the cache's directory holds only its three folders.
	let mut held: Vec<_> = std::fs::read_dir(dir.path())
		.unwrap()
		.map(|item| item.unwrap().file_name().into_string().unwrap())
		.collect();
	held.sort();
	assert_eq!(held, ["bodies", "embeddings", "entries"]);
	assert_eq!(cache.answers_to(&cache.entry(23).unwrap().question_key.clone()).count(), 1);
}
