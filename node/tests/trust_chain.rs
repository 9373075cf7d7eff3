//! The device's trust chain against a real dev node (Aura + GRANDPA, justifications every 2
//! blocks): finality by GRANDPA justification against the genesis authorities of the chain
//! spec, the entry and the answer by storage proof against the finalized state root, the body by
//! hash and CID; and every kind of tampering refused with its own reason.

mod common;

use std::{path::Path, process::Command, time::Duration};

use codec::{Decode, Encode};
use common::*;
use membria_primitives::{question_key, unixfs, CidVersion, RejectReason, Verdict};
use membria_runtime::RuntimeCall;
use membria_verifier::{
	proven::{verify_proven, HexBytes, Justified, Proven, ProvenBody},
	read_proven, verify_body, verify_entry, verify_finality, AuthoritySet, FinalityProof,
	FinalizedHeader, Header, VerifyError,
};
use serde_json::{json, Value};
use sp_keyring::Sr25519Keyring::{Alice, Bob};

const QUESTION: &str = "What is the atomic number of carbon?";
/// `Session.set_keys`: the pallet's index in the runtime, the call's in the pallet.
const SESSION_PALLET: u8 = 11;
const SET_KEYS: u8 = 0;

fn body() -> Vec<u8> {
	br#"{"v":1,"question":"What is the atomic number of carbon?","answer":"Carbon: Atomic number: 6","facts":["Atomic number: 6"],"sources":[{"uri":"dict://elements/carbon","sha256":"a16f18d3eaca7327fabe25c3a69e285b6b9c08e59648fca0652c54c3fe47362e"}],"links":[],"distiller":{"name":"test","model":"corpus"},"created":0}"#.to_vec()
}

/// The genesis GRANDPA authorities, from the raw chain spec (not from the node's RPC).
fn genesis_authorities() -> AuthoritySet {
	let output = Command::new(NODE_BIN)
		.args(["build-spec", "--chain", "dev", "--raw"])
		.output()
		.expect("build-spec runs");
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	let spec: Value = serde_json::from_slice(&output.stdout).expect("a JSON chain spec");
	let key = format!("0x{}", hex(&AuthoritySet::storage_key()));
	let value = &spec["genesis"]["raw"]["top"][&key];
	AuthoritySet::from_genesis_value(&bytes(value)).expect("the genesis authority set")
}

/// A header from its JSON-RPC form, digest items decoded from their SCALE hex.
fn header_from_json(json: &Value) -> Header {
	let logs = json["digest"]["logs"]
		.as_array()
		.expect("digest logs")
		.iter()
		.map(|log| sp_runtime::DigestItem::decode(&mut &bytes(log)[..]).expect("a digest item"))
		.collect();
	Header {
		parent_hash: h256(&json["parentHash"]),
		number: hex_number(&json["number"]),
		state_root: h256(&json["stateRoot"]),
		extrinsics_root: h256(&json["extrinsicsRoot"]),
		digest: sp_runtime::Digest { logs },
	}
}

/// The GRANDPA (`FRNK`) justification among a block's justifications, if it has one.
fn grandpa_justification(justifications: &Value) -> Option<Vec<u8>> {
	let as_bytes = |value: &Value| -> Option<Vec<u8>> {
		match value {
			Value::String(_) => Some(bytes(value)),
			Value::Array(items) => items.iter().map(|b| b.as_u64().map(|b| b as u8)).collect(),
			_ => None,
		}
	};
	justifications.as_array()?.iter().find_map(|pair| {
		let engine = as_bytes(pair.get(0)?)?;
		(engine == b"FRNK").then(|| as_bytes(pair.get(1)?)).flatten()
	})
}

/// The first finalized block at or after `from` the node keeps a GRANDPA justification for
/// (waiting for one), and that justification.
fn justified_from(node: &Node, from: u32) -> (Header, Vec<u8>) {
	let (number, justification) =
		node.wait_until(Duration::from_secs(120), "a justified block", |node| {
			let finalized = node.finalized_number();
			(from..=finalized).find_map(|number| {
				let block = node.rpc("chain_getBlock", json!([node.block_hash(number)]));
				grandpa_justification(&block["justifications"]).map(|j| (number, j))
			})
		});
	let header = header_from_json(&node.rpc("chain_getHeader", json!([node.block_hash(number)])));
	(header, justification)
}

fn read_proof(node: &Node, keys: &[Vec<u8>], at: &Value) -> Vec<Vec<u8>> {
	let keys: Vec<String> = keys.iter().map(|k| format!("0x{}", hex(k))).collect();
	let proof = node.rpc("state_getReadProof", json!([keys, at]));
	proof["proof"].as_array().expect("proof nodes").iter().map(bytes).collect()
}

#[test]
fn a_device_proves_what_it_loads_and_refuses_tampering() {
	let trusted = genesis_authorities();
	let dir = TempDir::new("trust").expect("a scratch directory");
	let node = Node::start_dev(dir.path(), &["--justification-period", "2"]);

	// An entry, validated by Alice (the dev chain's one validator).
	let body = body();
	let cid = unixfs::file_cid(&body, CidVersion::V1);
	let key = question_key(QUESTION);
	let submit = RuntimeCall::Kcg(pallet_kcg::Call::submit_entry {
		question_key: key,
		cid: cid.clone(),
		content_hash: sp_core::H256(sp_io::hashing::blake2_256(&body)),
		size: body.len() as u32,
		links: Default::default(),
		gap: None,
	});
	node.submit(Bob, submit).expect("submitted");
	let entry_key = membria_verifier::entry_key(0);
	let pending_at = node.wait_until(Duration::from_secs(60), "the entry on chain", |node| {
		node.storage::<pallet_kcg::EntryOf<membria_runtime::Runtime>>(&entry_key, None)
			.map(|_| node.rpc("chain_getBlockHash", json!([])))
	});
	let attest = RuntimeCall::Validators(pallet_kcg_validators::Call::attest {
		entry: 0,
		verdict: Verdict::Approve,
	});
	node.submit(Alice, attest).expect("attested");
	let answer_key = membria_verifier::answer_key(&key);
	node.wait_until(Duration::from_secs(60), "the answer", |node| {
		node.storage::<u64>(&answer_key, None)
	});
	let validated_at = node.best_number();

	// A justification of a finalized block at or after the validation, as the node stores them
	// (every `--justification-period` blocks) and serves them with the block. (Its
	// `grandpa_proveFinality` answers only once an authority-set change has been recorded.)
	let (header, justification) = justified_from(&node, validated_at);
	let proof = FinalityProof { block: header.hash(), justification, unknown_headers: vec![] };

	// 1. Finality.
	let finalized = verify_finality(&header, &proof.justification, &trusted).expect("final");
	assert_eq!(finalized.hash, proof.block);
	assert!(finalized.number >= validated_at);
	// 2. Entry and answer, by storage proof against the finalized state root.
	let at = json!(format!("{:?}", finalized.hash));
	let nodes = read_proof(&node, &[entry_key.clone(), answer_key.clone()], &at);
	let verified =
		verify_entry(&finalized, nodes.clone(), 0, Some(&key)).expect("a validated answer");
	assert_eq!(verified.entry.cid.to_vec(), cid);
	// 3. The body.
	let parsed = verify_body(&verified, &body).expect("the body matches");
	assert_eq!(parsed.question, QUESTION);

	// --- Tampering, each refused with its own reason ---
	// Body bytes changed.
	let mut changed = body.clone();
	let six = changed.iter().rposition(|b| *b == b'6').unwrap();
	changed[six] = b'7';
	// (Neither the CID's content nor the committed bytes: whoever served them is at fault.)
	assert_eq!(
		verify_body(&verified, &changed).unwrap_err(),
		VerifyError::NotTheContent { entry: 0 }
	);
	// CID swapped: the entry names another body's CID.
	let mut swapped = verified.clone();
	swapped.entry.cid = unixfs::file_cid(b"another body", CidVersion::V1).try_into().unwrap();
	assert_eq!(
		verify_body(&swapped, &body).unwrap_err(),
		VerifyError::BadBody { entry: 0, reason: RejectReason::CidMismatch }
	);
	// A storage proof with one node altered.
	let mut altered = nodes.clone();
	let last = altered[0].len() - 1;
	altered[0][last] ^= 1;
	assert!(matches!(
		verify_entry(&finalized, altered, 0, Some(&key)),
		Err(VerifyError::BadStorageProof { .. })
	));
	// A truncated proof (a node missing).
	let truncated: Vec<Vec<u8>> = nodes.iter().skip(1).cloned().collect();
	assert!(matches!(
		verify_entry(&finalized, truncated, 0, Some(&key)),
		Err(VerifyError::BadStorageProof { .. })
	));
	// A proof for another block (genesis) against the finalized root.
	let genesis = node.block_hash(0);
	let other = read_proof(&node, std::slice::from_ref(&entry_key), &genesis);
	assert!(verify_entry(&finalized, other, 0, None).is_err());
	// A Pending entry presented as validated: its proof, at the block it was pending in, is
	// refused for its status even if that block were trusted.
	let pending_header = header_from_json(&node.rpc("chain_getHeader", json!([pending_at])));
	let pending_block = FinalizedHeader {
		hash: pending_header.hash(),
		number: pending_header.number,
		state_root: pending_header.state_root,
	};
	let pending_nodes = read_proof(&node, std::slice::from_ref(&entry_key), &pending_at);
	assert!(matches!(
		verify_entry(&pending_block, pending_nodes, 0, None),
		Err(VerifyError::NotValidated { entry: 0, .. })
	));
	// The answer read for another entry id.
	assert!(matches!(
		verify_entry(&finalized, nodes.clone(), 1, Some(&key)),
		Err(VerifyError::NoSuchEntry(1)) | Err(VerifyError::BadStorageProof { .. })
	));
	// A header that is not the justified one.
	assert!(matches!(
		verify_finality(&pending_header, &proof.justification, &trusted),
		Err(VerifyError::HeaderMismatch { .. })
	));
	// A forged justification: one signature byte changed.
	let mut justification =
		sp_consensus_grandpa::GrandpaJustification::<Header>::decode(&mut &proof.justification[..])
			.unwrap();
	let mut forged = justification.clone();
	let mut signature = forged.commit.precommits[0].signature.encode();
	signature[0] ^= 1;
	forged.commit.precommits[0].signature = Decode::decode(&mut &signature[..]).unwrap();
	assert!(matches!(
		verify_finality(&header, &forged.encode(), &trusted),
		Err(VerifyError::BadSignature { .. })
	));
	// An insufficient justification: no precommits.
	justification.commit.precommits.clear();
	assert!(matches!(
		verify_finality(&header, &justification.encode(), &trusted),
		Err(VerifyError::InvalidCommit { .. })
	));
	// Signed by authorities the device does not trust.
	let strangers = AuthoritySet {
		set_id: 0,
		authorities: vec![(sp_keyring::Ed25519Keyring::Bob.public().into(), 1)],
	};
	assert!(matches!(
		verify_finality(&header, &proof.justification, &strangers),
		Err(VerifyError::InvalidCommit { .. })
	));
	// A truncated justification.
	let cut = &proof.justification[..proof.justification.len() / 2];
	assert!(matches!(
		verify_finality(&header, cut, &trusted),
		Err(VerifyError::Undecodable { .. })
	));
	// The proven state of another key is not an entry.
	let values = read_proven(finalized.state_root, nodes, &[answer_key]).expect("proven");
	assert_eq!(
		values
			.values()
			.next()
			.cloned()
			.flatten()
			.map(|v| u64::decode(&mut &v[..]).unwrap()),
		Some(0)
	);
}

// --- Seeds of the fuzz targets (`verifier/fuzz`) ---

const NITROGEN: &str = "What is the atomic number of nitrogen?";

fn nitrogen_body() -> Vec<u8> {
	String::from_utf8(body())
		.unwrap()
		.replace("carbon?", "nitrogen?")
		.replace("Carbon: Atomic number: 6", "Nitrogen: Atomic number: 7")
		.replace("Atomic number: 6", "Atomic number: 7")
		.into_bytes()
}

fn submit_call(question: &str, body: &[u8]) -> RuntimeCall {
	RuntimeCall::Kcg(pallet_kcg::Call::submit_entry {
		question_key: question_key(question),
		cid: unixfs::file_cid(body, CidVersion::V1),
		content_hash: sp_core::H256(sp_io::hashing::blake2_256(body)),
		size: body.len() as u32,
		links: Default::default(),
		gap: None,
	})
}

fn write_seed(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
	let dir = dir.join(target);
	std::fs::create_dir_all(&dir).expect("the seed dir");
	std::fs::write(dir.join(name), bytes).expect("a seed written");
	eprintln!("seed {target}/{name}: {} bytes", bytes.len());
}

fn justified_wire(header: &Header, justification: &[u8]) -> Justified {
	Justified { header: HexBytes(header.encode()), justification: HexBytes(justification.to_vec()) }
}

/// A GRANDPA justification of `target` (set `set_id`, round 1): each signer precommits to the
/// header given with it, `ancestries` are the headers between those and `target`.
fn signed_justification(
	target: &Header,
	set_id: u64,
	signers: &[(sp_keyring::Ed25519Keyring, &Header)],
	ancestries: &[Header],
) -> Vec<u8> {
	let round = 1u64;
	let precommits: Vec<_> = signers
		.iter()
		.map(|(key, voted)| {
			let precommit = sp_consensus_grandpa::Precommit::<Header> {
				target_hash: voted.hash(),
				target_number: voted.number,
			};
			let message = sp_consensus_grandpa::Message::<Header>::Precommit(precommit.clone());
			let payload = sp_consensus_grandpa::localized_payload(round, set_id, &message);
			let signature: sp_consensus_grandpa::AuthoritySignature = key.sign(&payload).into();
			let id: sp_consensus_grandpa::AuthorityId = key.public().into();
			(precommit, signature, id)
		})
		.collect();
	// SCALE of `GrandpaJustification { round, commit: Commit { .. }, votes_ancestries }`.
	let encoded = (round, (target.hash(), target.number, precommits), ancestries.to_vec()).encode();
	sp_consensus_grandpa::GrandpaJustification::<Header>::decode(&mut &encoded[..])
		.expect("a justification");
	encoded
}

/// Writes the fuzz targets' seeds (`verifier/fuzz/seeds/<target>/`) from a real dev chain (Aura
/// and GRANDPA, a justification for every block): two validated entries proven at a block of the
/// genesis set, an authority-set change (Alice rotates her session keys), the same entries
/// proven through it at a block of the new set; the justifications and read proofs of those
/// blocks; and justifications signed by several well-known keys with weights, just above and just
/// below the threshold. Run by hand when the wire or runtime types change (a set change takes
/// two sessions, about three minutes):
///
/// `cargo test --release -p membria-node --test trust_chain -- --ignored fuzz_seeds`
///
/// The verifier's test `the_dev_chain_seeds_are_accepted` checks the committed seeds still verify.
#[test]
#[ignore = "writes the fuzz targets' seeds into verifier/fuzz/seeds; run by hand"]
fn fuzz_seeds_from_a_dev_chain() {
	use sp_keyring::Ed25519Keyring;
	let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../verifier/fuzz/seeds");
	let genesis = genesis_authorities();
	let dir = TempDir::new("seeds").expect("a scratch directory");
	let node = Node::start_dev(dir.path(), &["--justification-period", "1"]);

	// Two entries, submitted by Bob and validated by Alice.
	let entries = [(QUESTION, body()), (NITROGEN, nitrogen_body())];
	let nonce = node.nonce(Bob);
	for (i, (question, body)) in entries.iter().enumerate() {
		node.submit_at(Bob, submit_call(question, body), nonce + i as u32)
			.expect("submitted");
	}
	node.wait_until(Duration::from_secs(60), "the entries on chain", |node| {
		node.storage::<pallet_kcg::EntryOf<membria_runtime::Runtime>>(
			&membria_verifier::entry_key(1),
			None,
		)
	});
	let nonce = node.nonce(Alice);
	for id in 0..2u64 {
		let attest = RuntimeCall::Validators(pallet_kcg_validators::Call::attest {
			entry: id,
			verdict: Verdict::Approve,
		});
		node.submit_at(Alice, attest, nonce + id as u32).expect("attested");
	}
	for (id, (question, _)) in entries.iter().enumerate() {
		let answer = membria_verifier::answer_key(&question_key(question));
		node.wait_until(Duration::from_secs(60), "the answer", |node| {
			node.storage::<u64>(&answer, None).filter(|answer| *answer == id as u64)
		});
	}
	let proof_keys: Vec<Vec<u8>> = entries
		.iter()
		.enumerate()
		.flat_map(|(id, (question, _))| {
			membria_verifier::entry_proof_keys(id as u64, &question_key(question))
		})
		.collect();
	let bodies: Vec<ProvenBody> = entries
		.iter()
		.enumerate()
		.map(|(id, (_, body))| ProvenBody { id: id as u64, body: HexBytes(body.clone()) })
		.collect();
	let at = |header: &Header| json!(format!("{:?}", header.hash()));

	// Proven at a block of the genesis set.
	let (set0_header, set0_justification) = justified_from(&node, node.best_number());
	let set0_proof = read_proof(&node, &proof_keys, &at(&set0_header));
	let document = Proven {
		set_changes: vec![],
		finality: justified_wire(&set0_header, &set0_justification),
		proof: set0_proof.iter().cloned().map(HexBytes).collect(),
		entries: bodies.clone(),
	};
	let mut trace = |_| {};
	verify_proven(&genesis, 0, &document, &mut trace).expect("the document verifies");
	write_seed(&seeds, "proven", "dev-two-entries.json", &serde_json::to_vec(&document).unwrap());
	let case =
		(0u64, genesis.authorities.clone(), set0_header.encode(), set0_justification.clone());
	write_seed(&seeds, "justification", "dev-set0.scale", &case.encode());
	let case = (set0_header.encode(), set0_proof, vec![0u64, 1]);
	write_seed(&seeds, "read_proof", "dev-two-entries.scale", &case.encode());

	// Alice rotates her session keys: two sessions later GRANDPA hands over to the new key.
	let generated =
		node.rpc("author_rotateKeysWithOwner", json!([format!("0x{}", hex(&Alice.public().0))]));
	let mut call = vec![SESSION_PALLET, SET_KEYS];
	call.extend(bytes(&generated["keys"]));
	bytes(&generated["proof"]).encode_to(&mut call);
	let call = RuntimeCall::decode(&mut &call[..]).expect("Session.set_keys");
	node.submit(Alice, call).expect("set_keys");
	let set_id_key = value_key("Grandpa", "CurrentSetId");
	let change = node.wait_until(Duration::from_secs(400), "a set change", |node| {
		let head = node.rpc("chain_getFinalizedHead", json!([]));
		node.storage::<u64>(&set_id_key, Some(&head)).filter(|set_id| *set_id > 0)?;
		let proof = node.rpc("grandpa_proveFinality", json!([1]));
		let proof = FinalityProof::decode(&mut &bytes(&proof)[..]).expect("a finality proof");
		let header = header_from_json(&node.rpc("chain_getHeader", json!([proof.block])));
		Some((header, proof.justification))
	});
	let (change_header, change_justification) = change;
	let set1 = membria_verifier::follow_set_change(&genesis, &change_header, &change_justification)
		.expect("the change is followed");
	let (set1_header, set1_justification) = justified_from(&node, change_header.number + 1);
	let set1_proof = read_proof(&node, &proof_keys, &at(&set1_header));
	let change_wire = justified_wire(&change_header, &change_justification);
	let document = Proven {
		set_changes: vec![change_wire.clone()],
		finality: justified_wire(&set1_header, &set1_justification),
		proof: set1_proof.iter().cloned().map(HexBytes).collect(),
		entries: bodies,
	};
	let checked = verify_proven(&genesis, 0, &document, &mut trace).expect("verifies");
	assert_eq!(checked.set.set_id, 1);
	write_seed(
		&seeds,
		"proven",
		"dev-set-change-two-entries.json",
		&serde_json::to_vec(&document).unwrap(),
	);
	let document = Proven {
		set_changes: vec![change_wire],
		finality: justified_wire(&set1_header, &set1_justification),
		proof: vec![],
		entries: vec![],
	};
	verify_proven(&genesis, 0, &document, &mut trace).expect("verifies");
	write_seed(&seeds, "proven", "dev-set-change.json", &serde_json::to_vec(&document).unwrap());
	let case = (0u64, genesis.authorities.clone(), change_header.encode(), change_justification);
	write_seed(&seeds, "justification", "dev-set-change.scale", &case.encode());
	let case = (1u64, set1.authorities, set1_header.encode(), set1_justification);
	write_seed(&seeds, "justification", "dev-set1.scale", &case.encode());
	let one_entry = membria_verifier::entry_proof_keys(1, &question_key(NITROGEN)).to_vec();
	let case = (set1_header.encode(), read_proof(&node, &one_entry, &at(&set1_header)), vec![1u64]);
	write_seed(&seeds, "read_proof", "dev-one-entry.scale", &case.encode());

	// Several signers with weights: Alice 5, Bob, Charlie and Dave 1 each (set 7). Bob
	// precommits to a child of the justified block (carried in the ancestry).
	let set: Vec<(sp_consensus_grandpa::AuthorityId, u64)> = [
		(Ed25519Keyring::Alice, 5),
		(Ed25519Keyring::Bob, 1),
		(Ed25519Keyring::Charlie, 1),
		(Ed25519Keyring::Dave, 1),
	]
	.into_iter()
	.map(|(key, weight)| (key.public().into(), weight))
	.collect();
	let target = &set1_header;
	let child = Header {
		parent_hash: target.hash(),
		number: target.number + 1,
		state_root: sp_core::H256::repeat_byte(2),
		extrinsics_root: sp_core::H256::repeat_byte(1),
		digest: Default::default(),
	};
	let weighted = |name: &str, signers: &[(Ed25519Keyring, &Header)], ancestries: &[Header]| {
		let justification = signed_justification(target, 7, signers, ancestries);
		let case = (7u64, set.clone(), target.encode(), justification);
		write_seed(&seeds, "justification", name, &case.encode());
	};
	weighted(
		"weighted-two-of-four-with-descendant.scale",
		&[(Ed25519Keyring::Alice, target), (Ed25519Keyring::Bob, &child)],
		std::slice::from_ref(&child),
	);
	weighted("refused-weighted-five-of-eight.scale", &[(Ed25519Keyring::Alice, target)], &[]);
	let equal: Vec<_> = set.iter().map(|(id, _)| (id.clone(), 1u64)).collect();
	let equal_case = |name: &str, signers: &[(Ed25519Keyring, &Header)]| {
		let justification = signed_justification(target, 7, signers, &[]);
		let case = (7u64, equal.clone(), target.encode(), justification);
		write_seed(&seeds, "justification", name, &case.encode());
	};
	equal_case(
		"equal-three-of-four.scale",
		&[
			(Ed25519Keyring::Bob, target),
			(Ed25519Keyring::Charlie, target),
			(Ed25519Keyring::Dave, target),
		],
	);
	equal_case(
		"refused-equal-two-of-four.scale",
		&[(Ed25519Keyring::Alice, target), (Ed25519Keyring::Dave, target)],
	);
}
