//! Writing knowledge to a dev chain the way the end-to-end tests and the benchmarks need it,
//! without the off-chain workers: a body of one's own, `Kcg.submit_entry` signed by one
//! well-known account, `Validators.attest` (approve) signed by the dev validator (`//Alice`).
//! The runtime's pallet and call indices are named here once.

use codec::Encode;
use membria_chain::{
	extrinsics::{signed_extrinsic, ChainFacts},
	rpc::{NodeRpc, RpcError},
};
use membria_offchain::{body::SCHEMA_VERSION, Body, DistillerInfo, Source};
use membria_primitives::{question_key, unixfs, CidVersion, QuestionKey};
use sp_core::{crypto::Ss58Codec, sr25519, Pair, H256};

/// `Kcg`'s index in the runtime (`submit_entry` is its call 0).
pub const KCG: u8 = 20;
/// `Validators`' index in the runtime (`attest` is its call 6).
pub const VALIDATORS: u8 = 10;

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

/// The SCALE of `Kcg.submit_entry` for `body` answering `question` (CIDv1, no gap), with the
/// links the body proposes (none if it is no valid body: the chain does not read bodies).
pub fn submit_entry_call(body: &[u8], question: &str) -> Vec<u8> {
	let cid = unixfs::file_cid(body, CidVersion::V1);
	let links = Body::parse(body).ok().and_then(|body| body.chain_links()).unwrap_or_default();
	let mut call = vec![KCG, 0];
	question_key(question).encode_to(&mut call);
	cid.encode_to(&mut call);
	H256(sp_crypto_hashing::blake2_256(body)).encode_to(&mut call);
	(body.len() as u32).encode_to(&mut call);
	links.encode_to(&mut call);
	None::<u64>.encode_to(&mut call);
	call
}

/// The SCALE of `Validators.attest(entry, Approve)`.
pub fn attest_call(entry: u64) -> Vec<u8> {
	let mut call = vec![VALIDATORS, 6];
	entry.encode_to(&mut call);
	0u8.encode_to(&mut call); // Verdict::Approve
	call
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
	pub facts: ChainFacts,
}

impl DevChain {
	/// The node at `url`, with the facts a signature commits to.
	pub async fn connect(url: &str) -> Result<Self, RpcError> {
		let rpc = NodeRpc::new(url);
		let genesis = rpc.block_hash(0).await?.ok_or(RpcError::Malformed {
			method: "chain_getBlockHash".into(),
			reason: "no genesis".into(),
		})?;
		let (spec_version, transaction_version) = rpc.runtime_version().await?;
		Ok(Self { rpc, facts: ChainFacts { genesis, spec_version, transaction_version } })
	}

	/// Submits `call` signed by the account of secret URI `seed` (`//Bob`) at its next nonce
	/// (counting its transactions in the pool); the extrinsic's hash.
	pub async fn submit(&self, seed: &str, call: &[u8]) -> Result<H256, RpcError> {
		let signer = sr25519::Pair::from_string(seed, None).map_err(|e| RpcError::Malformed {
			method: "author_submitExtrinsic".into(),
			reason: format!("{seed} is not a secret URI: {e:?}"),
		})?;
		let nonce = self.rpc.account_next_index(&signer.public().to_ss58check()).await?;
		let extrinsic = signed_extrinsic(&signer, call, nonce, &self.facts);
		self.rpc.submit_extrinsic(&extrinsic).await
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
