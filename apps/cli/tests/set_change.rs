//! A device follows an authority-set change it never saw happen: on a dev node, Alice rotates her
//! session keys (`author_rotateKeysWithOwner`, `Session.set_keys`); two sessions later GRANDPA
//! hands over to the new key. A device that trusts only the genesis set proves a block of the
//! new set through the change block (justified by the old set, its digest naming the new one),
//! and refuses the same block without that link.

use std::time::{Duration, Instant};

use codec::Encode;
use membria_chain::{
	extrinsics::{account, call, keypair, Transactions, Value},
	proofs::ProofSource,
	rpc::{from_hex, to_hex, NodeRpc},
};
use membria_cli::stack::{DevStack, StackOptions};
use membria_client::{trust::TrustError, Trust};

fn grandpa_set_id_key() -> Vec<u8> {
	let mut key = sp_crypto_hashing::twox_128(b"Grandpa").to_vec();
	key.extend(sp_crypto_hashing::twox_128(b"CurrentSetId"));
	key
}

#[test]
fn a_device_follows_an_authority_set_change() {
	let dir = tempfile::tempdir().expect("a temp dir");
	let stack = DevStack::start(StackOptions {
		offchain_services: false,
		..StackOptions::on_free_ports(dir.path(), env!("CARGO_BIN_EXE_membria-full").into())
			.expect("stack options")
	})
	.expect("the dev stack");
	let runtime = tokio::runtime::Runtime::new().unwrap();
	let rpc = NodeRpc::new(&stack.options.ports.member.node_url());
	let alice = keypair("//Alice").unwrap();

	runtime.block_on(async {
		// New session keys in the node's keystore, with the proof that Alice owns them.
		let generated: serde_json::Value = rpc
			.call("author_rotateKeysWithOwner", serde_json::json!([to_hex(&alice.public_key().0)]))
			.await
			.expect("the node generates keys");
		let keys = from_hex(generated["keys"].as_str().unwrap()).unwrap();
		let proof = from_hex(generated["proof"].as_str().expect("a proof")).unwrap();
		// `Session.set_keys(keys, proof)`: the keys as the node encoded them, read back into the
		// runtime's `SessionKeys` type by the metadata.
		let transactions = Transactions::of_node(&rpc).await.expect("the node's metadata");
		let session_keys =
			transactions.argument("Session", "set_keys", 0, &keys).expect("session keys");
		let set_keys = call("Session", "set_keys", vec![session_keys, Value::from_bytes(proof)]);
		let nonce = rpc.account_next_index(&account(&alice)).await.unwrap();
		let extrinsic = transactions.sign(&alice, &set_keys, nonce.into()).expect("encodes");
		rpc.submit_extrinsic(&extrinsic).await.expect("set_keys is accepted");

		// Two sessions (10 blocks each on dev) later, the set changes; finality goes on.
		let started = Instant::now();
		let change_block = loop {
			assert!(started.elapsed() < Duration::from_secs(400), "no set change");
			tokio::time::sleep(Duration::from_secs(2)).await;
			let head = rpc.finalized_head().await.unwrap();
			let set_id = rpc
				.storage(&grandpa_set_id_key(), head)
				.await
				.unwrap()
				.map(|raw| <u64 as codec::Decode>::decode(&mut &raw[..]).unwrap())
				.unwrap_or_default();
			if set_id == 0 {
				continue;
			}
			let source = ProofSource::new(NodeRpc::new(&stack.options.ports.member.node_url()));
			let changes = source.set_changes(0).await.unwrap();
			let Some(change) = changes.first() else {
				continue;
			};
			let justified = source.latest_justified(64).await.unwrap();
			if let Some(at) = justified.filter(|j| j.header.number > change.header.number) {
				break (change.header.number, at);
			}
		};
		let (change_number, at) = change_block;
		let source = ProofSource::new(NodeRpc::new(&stack.options.ports.member.node_url()));

		// Trusting the genesis set only, the block of the new set is proven through the change.
		let mut trust = Trust::from_chain_spec(&dir.path().join("device"), &stack.chain_spec)
			.expect("the trust root");
		assert_eq!(trust.set().set_id, 0);
		let proven = source.prove(&at, trust.set_start(), Vec::new()).await.unwrap();
		assert_eq!(proven.set_changes.len(), 1);

		// Without the change, the new set's justification is not the trusted set's.
		let mut unlinked = proven.clone();
		unlinked.set_changes.clear();
		assert!(matches!(trust.verify(&unlinked), Err(TrustError::Finality(_))));
		// A change block with a forged signature is refused.
		let mut forged = proven.clone();
		forged.set_changes[0].justification.0[8 + 32 + 4 + 1 + 36 + 10] ^= 1;
		assert!(matches!(trust.verify(&forged), Err(TrustError::SetChange { index: 0, .. })));
		assert_eq!(trust.set().set_id, 0, "nothing refused moved the trust root");

		trust.verify(&proven).expect("proven through the change");
		assert_eq!(trust.set().set_id, 1);
		assert_eq!(trust.set_start(), change_number);
		// The new set is the GRANDPA key the node generated (Aura's key comes first).
		assert_eq!(trust.set().authorities[0].0.encode(), keys[32..64].to_vec());

		// The trust root is kept: reopened, it needs no change any more.
		let mut reopened = Trust::open(&dir.path().join("device")).unwrap();
		assert_eq!(reopened.set().set_id, 1);
		let later = source.prove(&at, reopened.set_start(), Vec::new()).await.unwrap();
		assert!(later.set_changes.is_empty());
		reopened.verify(&later).expect("the new set proves its blocks");
	});
}
