//! The device's trust chain against a real dev node (Aura + GRANDPA, justifications every 2
//! blocks): finality by GRANDPA justification against the genesis authorities of the chain
//! spec, the entry and the answer by storage proof against the finalized state root, the body by
//! hash and CID; and every kind of tampering refused with its own reason.

mod common;

use std::{process::Command, time::Duration};

use codec::{Decode, Encode};
use common::*;
use membria_primitives::{question_key, unixfs, CidVersion, RejectReason, Verdict};
use membria_runtime::RuntimeCall;
use membria_verifier::{
	read_proven, verify_body, verify_entry, verify_finality, AuthoritySet, FinalityProof,
	FinalizedHeader, Header, VerifyError,
};
use serde_json::{json, Value};
use sp_keyring::Sr25519Keyring::{Alice, Bob};

const QUESTION: &str = "What is the atomic number of carbon?";

fn body() -> Vec<u8> {
	br#"{"v":1,"question":"What is the atomic number of carbon?","answer":"Carbon: Atomic number: 6","facts":["Atomic number: 6"],"sources":[{"uri":"dict://elements/carbon","sha256":"a16f18d3eaca7327fabe25c3a69e285b6b9c08e59648fca0652c54c3fe47362e"}],"links":[],"distiller":{"name":"test","model":"corpus"},"created":0}"#.to_vec()
}

/// The genesis GRANDPA authorities, from the raw chain spec (not from the node's RPC).
fn genesis_authorities() -> AuthoritySet {
	let output = Command::new(NODE_BIN)
		.args(["build-spec", "--chain", "dev", "--raw"])
		.output()
		.expect("build-spec runs");
	assert!(
		output.status.success(),
		"{}",
		String::from_utf8_lossy(&output.stderr)
	);
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
		(engine == b"FRNK")
			.then(|| as_bytes(pair.get(1)?))
			.flatten()
	})
}

fn read_proof(node: &Node, keys: &[Vec<u8>], at: &Value) -> Vec<Vec<u8>> {
	let keys: Vec<String> = keys.iter().map(|k| format!("0x{}", hex(k))).collect();
	let proof = node.rpc("state_getReadProof", json!([keys, at]));
	proof["proof"]
		.as_array()
		.expect("proof nodes")
		.iter()
		.map(bytes)
		.collect()
}

#[test]
fn a_device_proves_what_it_loads_and_refuses_tampering() {
	let trusted = genesis_authorities();
	let dir = TempDir::new("trust");
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
	let (justified, justification) =
		node.wait_until(Duration::from_secs(120), "a justified block", |node| {
			let finalized = node.finalized_number();
			(validated_at..=finalized).find_map(|number| {
				let block = node.rpc("chain_getBlock", json!([node.block_hash(number)]));
				grandpa_justification(&block["justifications"]).map(|j| (number, j))
			})
		});
	let header =
		header_from_json(&node.rpc("chain_getHeader", json!([node.block_hash(justified)])));
	let proof = FinalityProof {
		block: header.hash(),
		justification,
		unknown_headers: vec![],
	};

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
	assert_eq!(
		verify_body(&verified, &changed).unwrap_err(),
		VerifyError::BadBody {
			entry: 0,
			reason: RejectReason::HashMismatch
		}
	);
	// CID swapped: the entry names another body's CID.
	let mut swapped = verified.clone();
	swapped.entry.cid = unixfs::file_cid(b"another body", CidVersion::V1)
		.try_into()
		.unwrap();
	assert_eq!(
		verify_body(&swapped, &body).unwrap_err(),
		VerifyError::BadBody {
			entry: 0,
			reason: RejectReason::CidMismatch
		}
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
