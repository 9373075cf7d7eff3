//! The validator's worker against a scripted IPFS node and distiller: what it votes, what it
//! retries, and that unfetchable entries cannot keep an honest one from its turn.
//!
//! The HTTP side is [`Server`], an offchain-worker externality that answers each URL with a
//! status and bytes (`TestOffchainExt` answers every request `200`, so it cannot play an IPFS
//! node that fails); offchain storage is `TestOffchainExt`'s, transactions go to
//! `TestTransactionPoolExt`.

use std::{
	collections::BTreeMap,
	sync::{Arc, Mutex},
};

use codec::Decode;
use frame_support::{
	assert_ok,
	traits::{fungible::Inspect, Hooks},
};
use membria_kcg_primitives::EntryVoting;
use membria_offchain::{protocol, settings, Body, DistillerInfo, Source};
use membria_primitives::{question_key, unixfs, CidVersion, RejectReason, Relation, Verdict};
use pallet_kcg::EntryStatus;
use sp_core::{
	offchain::{
		self,
		testing::{TestOffchainExt, TestTransactionPoolExt},
		HttpError, HttpRequestId, HttpRequestStatus, OffchainDbExt, OffchainWorkerExt,
		OpaqueNetworkState, Timestamp, TransactionPoolExt,
	},
	H256,
};
use sp_runtime::{offchain::storage::StorageValueRef, testing::UintAuthorityId};

use super::*;
use crate::mock::*;

const IPFS: &str = "http://ipfs-a:5001";
const OTHER_IPFS: &str = "http://ipfs-b:5001";
const DISTILLER: &str = "http://distiller:8090";

/// One request the worker made.
#[derive(Default)]
struct Request {
	url: String,
	body: Vec<u8>,
	sent: bool,
	response: (u16, Vec<u8>),
	read: usize,
}

/// What the scripted servers answer, and what they were asked.
#[derive(Default)]
struct ServerState {
	/// What each URL answers (`POST` any body): a status and bytes; any other URL is a `500`.
	routes: BTreeMap<String, (u16, Vec<u8>)>,
	/// Routes that answer only from a time on (unix ms): a body published a moment later.
	later: BTreeMap<String, u64>,
	/// The URL of every request, in order.
	asked: Vec<String>,
	/// The URL and body of every request, in order.
	posted: Vec<(String, Vec<u8>)>,
	requests: BTreeMap<u16, Request>,
	next_id: u16,
	timestamp: u64,
}

/// An IPFS node and a distiller for the worker (the offchain worker externality).
#[derive(Clone, Default)]
struct Server(Arc<Mutex<ServerState>>);

impl Server {
	fn answer(&self, url: &str, status: u16, bytes: &[u8]) {
		self.0.lock().unwrap().routes.insert(url.into(), (status, bytes.to_vec()));
	}

	/// Answers `url` with `bytes` from `delay_ms` after now on (a `500` before).
	fn answer_after(&self, url: &str, delay_ms: u64, bytes: &[u8]) {
		let mut state = self.0.lock().unwrap();
		let from = state.timestamp + delay_ms;
		state.later.insert(url.into(), from);
		state.routes.insert(url.into(), (200, bytes.to_vec()));
	}

	/// Takes the URLs asked since the last call.
	fn take_asked(&self) -> Vec<String> {
		core::mem::take(&mut self.0.lock().unwrap().asked)
	}

	/// Takes the URLs and bodies of the requests since the last call.
	fn take_posted(&self) -> Vec<(String, Vec<u8>)> {
		core::mem::take(&mut self.0.lock().unwrap().posted)
	}
}

impl offchain::Externalities for Server {
	fn is_validator(&self) -> bool {
		true
	}

	fn network_state(&self) -> Result<OpaqueNetworkState, ()> {
		Err(())
	}

	fn timestamp(&mut self) -> Timestamp {
		Timestamp::from_unix_millis(self.0.lock().unwrap().timestamp)
	}

	fn sleep_until(&mut self, deadline: Timestamp) {
		self.0.lock().unwrap().timestamp = deadline.unix_millis();
	}

	fn random_seed(&mut self) -> [u8; 32] {
		[0; 32]
	}

	fn http_request_start(
		&mut self,
		_method: &str,
		uri: &str,
		_meta: &[u8],
	) -> Result<HttpRequestId, ()> {
		let mut state = self.0.lock().unwrap();
		let id = state.next_id;
		state.next_id += 1;
		state.requests.insert(id, Request { url: uri.into(), ..Default::default() });
		Ok(HttpRequestId(id))
	}

	fn http_request_add_header(&mut self, _: HttpRequestId, _: &str, _: &str) -> Result<(), ()> {
		Ok(())
	}

	fn http_request_write_body(
		&mut self,
		id: HttpRequestId,
		chunk: &[u8],
		_deadline: Option<Timestamp>,
	) -> Result<(), HttpError> {
		let mut state = self.0.lock().unwrap();
		if !chunk.is_empty() {
			state
				.requests
				.get_mut(&id.0)
				.ok_or(HttpError::Invalid)?
				.body
				.extend_from_slice(chunk);
			return Ok(());
		}
		let request = state.requests.get(&id.0).ok_or(HttpError::Invalid)?;
		let (url, body) = (request.url.clone(), request.body.clone());
		let not_yet = state.later.get(&url).is_some_and(|from| state.timestamp < *from);
		let response = match state.routes.get(&url) {
			Some(response) if !not_yet => response.clone(),
			_ => (500, Vec::new()),
		};
		state.asked.push(url.clone());
		state.posted.push((url, body));
		let request = state.requests.get_mut(&id.0).ok_or(HttpError::Invalid)?;
		request.sent = true;
		request.response = response;
		Ok(())
	}

	fn http_response_wait(
		&mut self,
		ids: &[HttpRequestId],
		_deadline: Option<Timestamp>,
	) -> Vec<HttpRequestStatus> {
		let state = self.0.lock().unwrap();
		ids.iter()
			.map(|id| match state.requests.get(&id.0) {
				Some(request) if request.sent => HttpRequestStatus::Finished(request.response.0),
				_ => HttpRequestStatus::Invalid,
			})
			.collect()
	}

	fn http_response_headers(&mut self, _: HttpRequestId) -> Vec<(Vec<u8>, Vec<u8>)> {
		Vec::new()
	}

	fn http_response_read_body(
		&mut self,
		id: HttpRequestId,
		buffer: &mut [u8],
		_deadline: Option<Timestamp>,
	) -> Result<usize, HttpError> {
		let mut state = self.0.lock().unwrap();
		let request = state.requests.get_mut(&id.0).ok_or(HttpError::Invalid)?;
		let rest = &request.response.1[request.read..];
		let read = rest.len().min(buffer.len());
		buffer[..read].copy_from_slice(&rest[..read]);
		request.read += read;
		Ok(read)
	}

	fn set_authorized_nodes(&mut self, _: Vec<sp_core::OpaquePeerId>, _: bool) {}
}

/// The chain, the servers and the pool of one test.
struct World {
	ext: sp_io::TestExternalities,
	server: Server,
	/// Takes the transactions sent to the pool so far.
	pool: Box<dyn Fn() -> Vec<Vec<u8>>>,
}

/// A chain with `validators` at genesis, `ALICE`'s key in the node's keystore, and the worker's
/// settings pointing at the scripted servers (`ipfs` may list several endpoints).
fn world(validators: &[(AccountId, Balance)], ipfs: &str) -> World {
	let mut ext = new_test_ext(validators);
	let server = Server::default();
	server.0.lock().unwrap().timestamp = 1_000_000;
	let (db, _) = TestOffchainExt::new();
	let (pool, pool_state) = TestTransactionPoolExt::new();
	ext.register_extension(OffchainWorkerExt::new(server.clone()));
	ext.register_extension(OffchainDbExt::new(db));
	ext.register_extension(TransactionPoolExt::new(pool));
	UintAuthorityId::set_all_keys([ALICE]);
	let ipfs = ipfs.to_string();
	ext.execute_with(|| {
		StorageValueRef::persistent(settings::IPFS_API).set(&ipfs.into_bytes());
		StorageValueRef::persistent(settings::DISTILLER).set(&DISTILLER.as_bytes().to_vec());
	});
	server.answer(&protocol::endpoint(DISTILLER, "verify"), 200, br#"{"verdict":"approve"}"#);
	World {
		ext,
		server,
		pool: Box::new(move || core::mem::take(&mut pool_state.write().transactions)),
	}
}

fn body(question: &str) -> Vec<u8> {
	body_linking(question, &[])
}

/// A body for `question` proposing `links` (`(entry, rel)`).
fn body_linking(question: &str, links: &[(u64, &str)]) -> Vec<u8> {
	Body {
		v: 1,
		question: question.into(),
		phrasings: Vec::new(),
		answer: format!("{question} An answer."),
		facts: Vec::new(),
		sources: vec![Source { uri: "dict://foldoc/test".into(), sha256: "0".repeat(64) }],
		links: links
			.iter()
			.map(|(entry, rel)| membria_offchain::body::BodyLink {
				rel: (*rel).into(),
				entry: *entry,
			})
			.collect(),
		distiller: DistillerInfo { name: "test".into(), model: "corpus".into() },
		created: 0,
	}
	.to_bytes()
}

fn cid(bytes: &[u8]) -> Vec<u8> {
	unixfs::file_cid(bytes, CidVersion::V1)
}

/// The URL the worker fetches `bytes`' CID from at `ipfs`.
fn cat_url(ipfs: &str, bytes: &[u8]) -> String {
	protocol::ipfs_cat_url(ipfs, &unixfs::cid_to_text(&cid(bytes)))
}

/// Submits an entry for `question` whose CID is that of `stored`, committing to `committed`'s
/// blake2-256 and `size`.
fn submit_committing(question: &str, stored: &[u8], committed: &[u8], size: usize) -> u64 {
	let id = pallet_kcg::NextEntryId::<Test>::get();
	assert_ok!(Kcg::submit_entry(
		RuntimeOrigin::signed(AUTHOR),
		question_key(question),
		cid(stored),
		H256(sp_io::hashing::blake2_256(committed)),
		size as u32,
		Default::default(),
		None
	));
	id
}

/// Submits an honest entry: `bytes`' CID, blake2-256 and size.
fn submit(question: &str, bytes: &[u8]) -> u64 {
	submit_committing(question, bytes, bytes, bytes.len())
}

/// Submits an entry for `question` with `bytes` and, on chain, `links`.
fn submit_linked(question: &str, bytes: &[u8], links: Vec<(u64, Relation)>) -> u64 {
	submit_entry(question, bytes, links, None)
}

/// Submits an entry for `question` with `bytes`, on chain `links`, answering `gap`.
fn submit_entry(
	question: &str,
	bytes: &[u8],
	links: Vec<(u64, Relation)>,
	gap: Option<u64>,
) -> u64 {
	let id = pallet_kcg::NextEntryId::<Test>::get();
	assert_ok!(Kcg::submit_entry(
		RuntimeOrigin::signed(AUTHOR),
		question_key(question),
		cid(bytes),
		H256(sp_io::hashing::blake2_256(bytes)),
		bytes.len() as u32,
		links.try_into().expect("at most MaxEntryLinks"),
		gap
	));
	id
}

/// A validated entry for `question` whose body IPFS serves: its id and bytes.
fn validated(question: &str, server: &Server) -> (u64, Vec<u8>) {
	let bytes = body(question);
	let id = submit(question, &bytes);
	assert_ok!(<Kcg as EntryVoting>::decide(id, membria_primitives::Decision::Validated));
	server.answer(&cat_url(IPFS, &bytes), 200, &bytes);
	(id, bytes)
}

/// Moves to the next block (running Kcg's expiry hook) and runs the validators' worker there.
fn next_block() -> u64 {
	let block = System::block_number() + 1;
	run_to_block(block);
	Validators::offchain_worker(block);
	block
}

/// Takes the transactions the worker sent: `(signer, entry, verdict)` of each attestation, in
/// the order sent (the worker sends a key's votes of a block in `attest_many` calls).
fn take_attestations(pool: &dyn Fn() -> Vec<Vec<u8>>) -> Vec<(AccountId, u64, Verdict)> {
	pool()
		.into_iter()
		.flat_map(|bytes| {
			let xt = frame_system::mocking::MockUncheckedExtrinsic::<
				Test,
				sp_runtime::testing::TestSignature,
				(),
			>::decode(&mut &bytes[..])
			.expect("the worker sends extrinsics");
			let sp_runtime::generic::Preamble::Signed(signer, _, _) = xt.preamble else {
				panic!("the worker signs its attestations");
			};
			match xt.function {
				RuntimeCall::Validators(Call::attest_many { votes }) => votes
					.into_iter()
					.map(|(entry, verdict)| (signer, entry, verdict))
					.collect::<Vec<_>>(),
				other => panic!("unexpected call {other:?}"),
			}
		})
		.collect()
}

/// Includes attestations in the chain, as the next block would.
fn include(attestations: &[(AccountId, u64, Verdict)]) {
	for (signer, entry, verdict) in attestations {
		assert_ok!(Validators::attest(RuntimeOrigin::signed(*signer), *entry, *verdict));
	}
}

fn work(entry: u64) -> VoteWork {
	StorageValueRef::persistent(&work_key(entry))
		.get()
		.expect("decodes")
		.unwrap_or_default()
}

fn is_cat(url: &str) -> bool {
	url.contains("/api/v0/cat")
}

/// Issue 15, goal 4: an agent publishes its entry's body once the entry is on chain, a moment
/// after the block. The worker waits for the body of an entry of this block instead of trying
/// again a block later; an older entry's missing body, or one of an entry for no gap (whose
/// author published it before submitting), is no reason to wait, and the whole worker waits
/// at most `PUBLISH_WAIT_MS`.
#[test]
fn a_body_published_a_moment_after_its_entry_is_voted_on_in_the_same_block() {
	let World { mut ext, server, pool } = world(&[(ALICE, MIN_BOND)], IPFS);
	ext.execute_with(|| {
		let for_gap =
			|question: &str, bytes: &[u8], gap| submit_entry(question, bytes, vec![], Some(gap));
		let fresh = body("What is Ethernet?");
		let entry = for_gap("What is Ethernet?", &fresh, 0);
		server.answer_after(&cat_url(IPFS, &fresh), 1_000, &fresh);
		Validators::offchain_worker(1);
		assert_eq!(take_attestations(&pool), vec![(ALICE, entry, Verdict::Approve)]);
		let fetches = server.take_asked().into_iter().filter(|url| is_cat(url)).count();
		assert_eq!(fetches as u64, 1 + 1_000 / PUBLISH_POLL_MS, "polled until published");

		// Two new entries for gaps whose bodies never come: the worker waits for them, in all,
		// as long as it may for one.
		let (never, never_too) = (body("What is FDDI?"), body("What is ARCNET?"));
		let unpublished =
			[for_gap("What is FDDI?", &never, 1), for_gap("What is ARCNET?", &never_too, 2)];
		run_to_block(2);
		let started = sp_io::offchain::timestamp();
		Validators::offchain_worker(2);
		let waited = sp_io::offchain::timestamp().diff(&started).millis();
		assert!(
			(PUBLISH_WAIT_MS..PUBLISH_WAIT_MS + 2 * PUBLISH_POLL_MS).contains(&waited),
			"{waited} ms"
		);
		assert!(take_attestations(&pool).is_empty());
		for id in unpublished {
			assert_eq!(work(id).failures, 1);
		}
		server.take_asked();

		// An entry for no gap, and an entry two blocks old: one fetch each, no wait, no vote.
		let plain = body("What is Wi-Fi?");
		submit("What is Wi-Fi?", &plain);
		run_to_block(3);
		let started = sp_io::offchain::timestamp();
		Validators::offchain_worker(3);
		assert_eq!(sp_io::offchain::timestamp(), started, "no wait");
		// The two above are tried again (once each: a retry waits for nothing), and the new one.
		let mut asked = server.take_asked();
		asked.sort();
		let mut expected =
			vec![cat_url(IPFS, &plain), cat_url(IPFS, &never), cat_url(IPFS, &never_too)];
		expected.sort();
		assert_eq!(asked, expected);
		let old = body("What is Token Ring?");
		let stale = for_gap("What is Token Ring?", &old, 3);
		run_to_block(5);
		server.answer_after(&cat_url(IPFS, &old), 1_000, &old);
		let started = sp_io::offchain::timestamp();
		Validators::offchain_worker(5);
		assert_eq!(sp_io::offchain::timestamp(), started, "no wait");
		assert!(take_attestations(&pool).is_empty());
		let asked = server.take_asked();
		assert_eq!(asked.iter().filter(|url| **url == cat_url(IPFS, &old)).count(), 1);
		assert_eq!(work(stale).failures, 1);
	});
}

/// A body's links are checked with the bodies they link to: the worker reads each linked entry's
/// body by its CID, checks it against its record, and hands it to the distiller with the body.
#[test]
fn links_are_checked_with_the_linked_bodies() {
	let World { mut ext, server, pool } = world(&[(ALICE, MIN_BOND)], IPFS);
	ext.execute_with(|| {
		let (unix, unix_body) = validated("What is Unix?", &server);
		let linux_body = body_linking("What is Linux?", &[(unix, "related")]);
		let linux = submit_linked("What is Linux?", &linux_body, vec![(unix, Relation::Related)]);
		server.answer(&cat_url(IPFS, &linux_body), 200, &linux_body);
		next_block();
		let posted = server.take_posted();
		let urls: Vec<&str> = posted.iter().map(|(url, _)| url.as_str()).collect();
		assert_eq!(
			urls,
			vec![
				cat_url(IPFS, &linux_body).as_str(),
				cat_url(IPFS, &unix_body).as_str(),
				protocol::endpoint(DISTILLER, "verify").as_str()
			]
		);
		let request: serde_json::Value = serde_json::from_slice(&posted[2].1).unwrap();
		assert_eq!(request["linked"][0]["entry"], unix);
		assert_eq!(
			request["linked"][0]["body"],
			serde_json::from_slice::<serde_json::Value>(&unix_body).unwrap()
		);
		assert_eq!(take_attestations(&pool), vec![(ALICE, linux, Verdict::Approve)]);
	});
}

/// The distiller's verdict on a link is the vote: a link that does not hold rejects the entry.
#[test]
fn a_link_the_distiller_refuses_rejects_the_entry() {
	let World { mut ext, server, pool } = world(&[(ALICE, MIN_BOND)], IPFS);
	ext.execute_with(|| {
		let (unix, _) = validated("What is Unix?", &server);
		let linux_body = body_linking("What is Linux?", &[(unix, "contradicts")]);
		let linux =
			submit_linked("What is Linux?", &linux_body, vec![(unix, Relation::Contradicts)]);
		server.answer(&cat_url(IPFS, &linux_body), 200, &linux_body);
		server.answer(
			&protocol::endpoint(DISTILLER, "verify"),
			200,
			br#"{"verdict":"reject","reason":"bad_link","reasons":["link to entry 0 (contradicts): nothing differs"]}"#,
		);
		next_block();
		assert_eq!(
			take_attestations(&pool),
			vec![(ALICE, linux, Verdict::Reject(RejectReason::BadLink))]
		);
	});
}

/// What the body proposes must be what the author committed on chain: links in the body but
/// not on chain, on chain but not in the body, or of another relation, are a reject without
/// asking the distiller.
#[test]
fn links_that_differ_from_the_chain_are_rejected() {
	let World { mut ext, server, pool } = world(&[(ALICE, MIN_BOND)], IPFS);
	ext.execute_with(|| {
		let (unix, _) = validated("What is Unix?", &server);
		let (c, _) = validated("What is C?", &server);
		for (question, in_body, on_chain) in [
			("What is Linux?", vec![(unix, "related")], vec![]),
			("What is Minix?", vec![], vec![(unix, Relation::Related)]),
			("What is BSD?", vec![(unix, "refines")], vec![(unix, Relation::Related)]),
			(
				"What is GNU?",
				vec![(c, "related"), (unix, "related")],
				vec![(unix, Relation::Related), (c, Relation::Related)],
			),
		] {
			let bytes = body_linking(question, &in_body);
			let entry = submit_linked(question, &bytes, on_chain);
			server.answer(&cat_url(IPFS, &bytes), 200, &bytes);
			next_block();
			assert_eq!(
				take_attestations(&pool),
				vec![(ALICE, entry, Verdict::Reject(RejectReason::BadLink))],
				"{question}"
			);
			assert!(
				!server.take_asked().iter().any(|url| url.ends_with("/verify")),
				"{question}: decided without the distiller"
			);
		}
	});
}

/// Bytes an IPFS node serves for a linked entry that are not its body are no vote: the worker
/// tries again later, as for the entry's own body.
#[test]
fn linked_bytes_that_are_not_the_linked_body_are_no_vote() {
	let World { mut ext, server, pool } = world(&[(ALICE, MIN_BOND)], IPFS);
	ext.execute_with(|| {
		let (unix, unix_body) = validated("What is Unix?", &server);
		let mut corrupt = unix_body.clone();
		corrupt[20] ^= 1;
		server.answer(&cat_url(IPFS, &unix_body), 200, &corrupt);
		let linux_body = body_linking("What is Linux?", &[(unix, "related")]);
		let linux = submit_linked("What is Linux?", &linux_body, vec![(unix, Relation::Related)]);
		server.answer(&cat_url(IPFS, &linux_body), 200, &linux_body);
		next_block();
		assert_eq!(take_attestations(&pool), vec![]);
		assert_eq!(work(linux).failures, 1);
		assert!(!server.take_asked().iter().any(|url| url.ends_with("/verify")));
	});
}

#[test]
fn bytes_that_are_not_the_cids_content_are_retried_never_voted_on() {
	let World { mut ext, server, pool } = world(&[(ALICE, MIN_BOND)], IPFS);
	ext.execute_with(|| {
		let honest = body("What is Ethernet?");
		let entry = submit("What is Ethernet?", &honest);
		// A faulty IPFS node serves other bytes for the CID: the same length, one bit off.
		let mut corrupt = honest.clone();
		corrupt[20] ^= 1;
		server.answer(&cat_url(IPFS, &honest), 200, &corrupt);

		assert_eq!(next_block(), 2);
		assert_eq!(server.take_asked(), vec![cat_url(IPFS, &honest)]);
		assert_eq!(
			take_attestations(&pool),
			vec![],
			"bytes that are not the CID's content are no vote (were Reject(HashMismatch))"
		);
		assert_eq!(
			work(entry),
			VoteWork { verdict: None, sent_at: None, retry_at: Some(3), failures: 1 }
		);

		// The node is repaired: the next try checks the real body and approves.
		server.answer(&cat_url(IPFS, &honest), 200, &honest);
		next_block();
		assert_eq!(
			server.take_asked(),
			vec![cat_url(IPFS, &honest), protocol::endpoint(DISTILLER, "verify")]
		);
		let attested = take_attestations(&pool);
		assert_eq!(attested, vec![(ALICE, entry, Verdict::Approve)]);
		include(&attested);
		assert!(matches!(
			pallet_kcg::Entries::<Test>::get(entry).unwrap().status,
			EntryStatus::Validated { .. }
		));
	});
}

#[test]
fn a_retry_after_bad_bytes_asks_the_next_ipfs_endpoint() {
	let World { mut ext, server, pool } =
		world(&[(ALICE, MIN_BOND)], &format!("{IPFS},{OTHER_IPFS}"));
	ext.execute_with(|| {
		let honest = body("What is Ethernet?");
		let entry = submit("What is Ethernet?", &honest);
		// The first endpoint serves a cut-short body, the second the body itself.
		server.answer(&cat_url(IPFS, &honest), 200, &honest[..honest.len() - 3]);
		server.answer(&cat_url(OTHER_IPFS, &honest), 200, &honest);

		next_block();
		assert_eq!(server.take_asked(), vec![cat_url(IPFS, &honest)]);
		assert_eq!(take_attestations(&pool), vec![]);
		next_block();
		assert_eq!(
			server.take_asked(),
			vec![cat_url(OTHER_IPFS, &honest), protocol::endpoint(DISTILLER, "verify")]
		);
		assert_eq!(take_attestations(&pool), vec![(ALICE, entry, Verdict::Approve)]);
	});
}

#[test]
fn bytes_of_the_cid_that_contradict_the_authors_hash_or_size_are_rejected() {
	let World { mut ext, server, pool } = world(&[(ALICE, MIN_BOND)], IPFS);
	ext.execute_with(|| {
		// The author stores one body and commits to the blake2-256 of another: the bytes IPFS
		// serves are provably the CID's, so the author is at fault.
		let stored = body("What is Ethernet?");
		let mut other = stored.clone();
		other[20] ^= 1;
		let wrong_hash = submit_committing("What is Ethernet?", &stored, &other, stored.len());
		server.answer(&cat_url(IPFS, &stored), 200, &stored);
		// Another stores a body and claims it is longer than it is.
		let short = body("What is Token Ring?");
		let wrong_size = submit_committing("What is Token Ring?", &short, &short, short.len() + 5);
		server.answer(&cat_url(IPFS, &short), 200, &short);

		next_block();
		assert_eq!(
			take_attestations(&pool),
			vec![
				(ALICE, wrong_hash, Verdict::Reject(RejectReason::HashMismatch)),
				(ALICE, wrong_size, Verdict::Reject(RejectReason::SizeMismatch)),
			]
		);
		assert!(
			server.take_asked().iter().all(|url| is_cat(url)),
			"a body that fails its checks never goes to /verify"
		);
	});
}

/// Submits an entry whose body nobody serves (IPFS answers `500` for its CID).
fn submit_unfetchable(n: u64) -> u64 {
	let question = format!("What is nothing number {n}?");
	submit(&question, &body(&question))
}

fn unfetchable_url(n: u64) -> String {
	cat_url(IPFS, &body(&format!("What is nothing number {n}?")))
}

#[test]
fn unfetchable_entries_cannot_keep_an_honest_one_from_its_turn() {
	let World { mut ext, server, pool } = world(&[(ALICE, MIN_BOND)], IPFS);
	ext.execute_with(|| {
		// Eight entries whose bodies nobody serves, then an honest one, all with the same
		// deadline; and eight more unfetchable ones in every block after.
		for n in 0..8 {
			submit_unfetchable(n);
		}
		let honest = body("What is Ethernet?");
		let entry = submit("What is Ethernet?", &honest);
		server.answer(&cat_url(IPFS, &honest), 200, &honest);
		let deadline = 1 + VOTING_PERIOD;

		Validators::offchain_worker(1);
		assert_eq!(server.take_asked().len(), FETCHES_PER_BLOCK);
		let mut attested_at = None;
		while System::block_number() + 1 < deadline {
			for n in 0..8 {
				submit_unfetchable(100 * System::block_number() + n);
			}
			let block = next_block();
			let asked = server.take_asked();
			let fetches = asked.iter().filter(|url| is_cat(url)).count();
			assert!(fetches <= FETCHES_PER_BLOCK, "block {block}: {fetches} fetches");
			assert!(asked.len() <= 2 * FETCHES_PER_BLOCK);
			let attested = take_attestations(&pool);
			if attested.contains(&(ALICE, entry, Verdict::Approve)) {
				attested_at.get_or_insert(block);
			}
			include(&attested);
		}
		assert_eq!(
			attested_at,
			Some(2),
			"the honest entry is checked in the first block after the unfetchable ones"
		);
		assert!(matches!(
			pallet_kcg::Entries::<Test>::get(entry).unwrap().status,
			EntryStatus::Validated { .. }
		));
	});
}

#[test]
fn unfetchable_entries_back_off_and_cost_their_author_at_expiry() {
	let World { mut ext, server, pool } = world(&[(ALICE, MIN_BOND)], IPFS);
	ext.execute_with(|| {
		let spam: Vec<u64> = (0..8).map(submit_unfetchable).collect();
		let honest = body("What is Ethernet?");
		let entry = submit("What is Ethernet?", &honest);
		server.answer(&cat_url(IPFS, &honest), 200, &honest);
		let deadline = 1 + VOTING_PERIOD;

		Validators::offchain_worker(1);
		assert_eq!(server.take_asked(), (0..8).map(unfetchable_url).collect::<Vec<_>>());
		let mut fetches: BTreeMap<String, u32> = BTreeMap::new();
		while System::block_number() + 1 < deadline {
			let block = next_block();
			let attested = take_attestations(&pool);
			assert_eq!(
				attested.contains(&(ALICE, entry, Verdict::Approve)),
				block == 2,
				"block {block}"
			);
			include(&attested);
			for url in server.take_asked().into_iter().filter(|url| is_cat(url)) {
				*fetches.entry(url).or_default() += 1;
			}
		}
		// Failed at block 1, each is tried again after 1, 2, 4 and 8 blocks (the eighth a
		// block late: the honest entry took its place at block 2) — 4 tries in blocks 2 to
		// 20, where a try every block would be 19.
		for n in 0..8 {
			assert_eq!(fetches.get(&unfetchable_url(n)), Some(&4), "entry {n}");
			assert_eq!(work(n).failures, 5);
		}
		// Nobody decided them: at their deadline they expire, and cost their author.
		let before = Balances::balance(&AUTHOR);
		run_to_block(deadline);
		let slash = pallet_kcg::DEFAULT_EXPIRY_SLASH * ENTRY_DEPOSIT;
		for id in spam {
			assert_eq!(pallet_kcg::Entries::<Test>::get(id).unwrap().status, EntryStatus::Expired);
			System::assert_has_event(
				pallet_kcg::Event::EntryExpired {
					entry: id,
					deposit_returned: ENTRY_DEPOSIT - slash,
					deposit_slashed: slash,
				}
				.into(),
			);
		}
		assert_eq!(Balances::balance(&AUTHOR), before + 8 * (ENTRY_DEPOSIT - slash));
	});
}

#[test]
fn entries_already_voted_on_take_no_place() {
	// Four equal validators: Alice's vote alone decides nothing.
	let validators: Vec<_> = [ALICE, BOB, CHARLIE, DAVE].iter().map(|v| (*v, MIN_BOND)).collect();
	let World { mut ext, server, pool } = world(&validators, IPFS);
	ext.execute_with(|| {
		for n in 0..FETCHES_PER_BLOCK {
			let question = format!("What is voted number {n}?");
			let voted = submit(&question, &body(&question));
			assert_ok!(Validators::attest(RuntimeOrigin::signed(ALICE), voted, Verdict::Approve));
		}
		let honest = body("What is Ethernet?");
		let entry = submit("What is Ethernet?", &honest);
		server.answer(&cat_url(IPFS, &honest), 200, &honest);

		next_block();
		assert_eq!(take_attestations(&pool), vec![(ALICE, entry, Verdict::Approve)]);
		assert_eq!(
			server.take_asked(),
			vec![cat_url(IPFS, &honest), protocol::endpoint(DISTILLER, "verify")]
		);
	});
}

fn vote(entry: EntryId, decides: bool) -> Vote {
	Vote { entry, verdict: Verdict::Approve, decides }
}

#[test]
fn calls_hold_at_most_their_votes_and_decisions() {
	let votes = vec![
		vote(1, true),
		vote(2, false),
		vote(3, true),
		vote(4, true),
		vote(5, false),
		vote(6, false),
		vote(7, false),
	];
	let entries = |calls: Vec<Vec<(EntryId, Verdict)>>| -> Vec<Vec<EntryId>> {
		calls
			.into_iter()
			.map(|call| call.into_iter().map(|(e, _)| e).collect())
			.collect()
	};
	// Two decisions a call: the third deciding vote starts a new call.
	assert_eq!(entries(calls(votes, 4, 2)), vec![vec![1, 2, 3], vec![4, 5, 6, 7]],);
	let votes = (1..=5).map(|entry| vote(entry, false)).collect();
	assert_eq!(entries(calls(votes, 2, 2)), vec![vec![1, 2], vec![3, 4], vec![5]]);
	assert!(calls(Vec::new(), 4, 2).is_empty());
}
