//! Writing knowledge to a dev chain the way the end-to-end tests and the benchmarks need it,
//! without the off-chain workers: a body of one's own, `Kcg.submit_entry` signed by one
//! well-known account, `Validators.attest` (approve) signed by the dev validator (`//Alice`).
//! Calls are named by pallet and call and encoded from the node's metadata
//! ([`membria_chain::extrinsics`]).

use membria_chain::{
	extrinsics::{self, call, Call, Transactions, TxError, Value},
	rpc::{NodeRpc, RpcError},
};
use membria_offchain::{body::SCHEMA_VERSION, Body, DistillerInfo, Source};
use membria_primitives::{question_key, unixfs, CidVersion, QuestionKey};
use sp_core::H256;

/// A valid body answering `question` with `answer` (one fact, one source); `created` makes
/// bodies of one question differ.
pub fn synthetic_body(question: &str, answer: &str, created: u64) -> Vec<u8> {
	Body {
		v: SCHEMA_VERSION,
		question: question.into(),
		phrasings: Vec::new(),
		answer: answer.into(),
		facts: vec![answer.into()],
		sources: vec![Source { uri: "test://synthetic".into(), sha256: "0".repeat(64) }],
		links: Vec::new(),
		distiller: DistillerInfo { name: "test".into(), model: "synthetic".into() },
		created,
	}
	.to_bytes()
}

/// `Kcg.submit_entry` for `body` answering `question` (CIDv1, no gap), with the links the body
/// proposes (none if it is no valid body: the chain does not read bodies).
pub fn submit_entry_call(body: &[u8], question: &str) -> Call {
	let cid = unixfs::file_cid(body, CidVersion::V1);
	let links = Body::parse(body).ok().and_then(|body| body.chain_links()).unwrap_or_default();
	let links = links.into_iter().map(|(entry, relation)| {
		// The metadata names `Relation`'s variants as the type does.
		let relation = Value::unnamed_variant(format!("{relation:?}"), []);
		Value::unnamed_composite([Value::u128(entry.into()), relation])
	});
	call(
		"Kcg",
		"submit_entry",
		vec![
			Value::from_bytes(question_key(question)),
			Value::from_bytes(cid),
			Value::from_bytes(sp_crypto_hashing::blake2_256(body)),
			Value::u128(body.len() as u128),
			Value::unnamed_composite(links),
			Value::unnamed_variant("None", []),
		],
	)
}

/// `Validators.attest(entry, Approve)`.
pub fn attest_call(entry: u64) -> Call {
	call(
		"Validators",
		"attest",
		vec![Value::u128(entry.into()), Value::unnamed_variant("Approve", [])],
	)
}

/// The storage key of a plain storage value `pallet.item`.
pub fn storage_key(pallet: &str, item: &str) -> Vec<u8> {
	let mut key = sp_crypto_hashing::twox_128(pallet.as_bytes()).to_vec();
	key.extend(sp_crypto_hashing::twox_128(item.as_bytes()));
	key
}

/// A dev node to write to.
pub struct DevChain {
	pub rpc: NodeRpc,
	pub transactions: Transactions,
}

impl DevChain {
	/// The node at `url`, with what a signature commits to and the runtime's metadata.
	pub async fn connect(url: &str) -> Result<Self, TxError> {
		let rpc = NodeRpc::new(url);
		let transactions = Transactions::of_node(&rpc).await?;
		Ok(Self { rpc, transactions })
	}

	/// Submits `call` signed by the account of secret URI `seed` (`//Bob`) at its next nonce
	/// (counting its transactions in the pool); the extrinsic's hash.
	pub async fn submit(&self, seed: &str, call: &Call) -> Result<H256, TxError> {
		let signer = extrinsics::keypair(seed)?;
		let nonce = self.rpc.account_next_index(&extrinsics::account(&signer)).await?;
		let extrinsic = self.transactions.sign(&signer, call, nonce.into())?;
		Ok(self.rpc.submit_extrinsic(&extrinsic).await?)
	}

	/// The id the next submitted entry gets (`Kcg.NextEntryId` at the finalized head).
	pub async fn next_entry_id(&self) -> Result<u64, RpcError> {
		let head = self.rpc.finalized_head().await?;
		let raw = self.rpc.storage(&storage_key("Kcg", "NextEntryId"), head).await?;
		Ok(raw
			.and_then(|raw| <u64 as codec::Decode>::decode(&mut &raw[..]).ok())
			.unwrap_or_default())
	}

	/// The validated answer to the question of `key` at the finalized head, if there is one.
	pub async fn finalized_answer(&self, key: &QuestionKey) -> Result<Option<u64>, RpcError> {
		let head = self.rpc.finalized_head().await?;
		let raw = self.rpc.storage(&membria_verifier::answer_key(key), head).await?;
		Ok(raw.and_then(|raw| <u64 as codec::Decode>::decode(&mut &raw[..]).ok()))
	}
}
