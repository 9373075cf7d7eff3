//! Signed extrinsics, built by subxt from the runtime's own metadata: a call is named by its
//! pallet and call names and its arguments are dynamic values, encoded with the types the
//! metadata gives; the transaction extensions are the ones the metadata lists. Signed offline
//! with subxt-signer and submitted through a node's RPC ([`NodeRpc::submit_extrinsic`]). No
//! pallet index, call index or extension order is copied from the runtime: an upgrade that moves
//! them needs only the node's new metadata. Used by the gateway to file demand for the questions
//! it cannot answer, and by the CLI's dev-chain helpers, tests and benchmarks.

use std::str::FromStr;

use sp_core::{crypto::Ss58Codec, H256};
use subxt::{
	config::{substrate::SpecVersionForRange, DefaultExtrinsicParamsBuilder},
	OfflineClient, SubstrateConfig,
};
use subxt_signer::SecretUri;
use tokio::sync::Mutex;

use crate::rpc::{NodeRpc, RpcError};

pub use subxt::dynamic::Value;
/// An sr25519 signing key (subxt-signer's).
pub use subxt_signer::sr25519::Keypair;

/// A call of the runtime, by name, with dynamic arguments.
pub type Call = subxt::tx::DynamicPayload<Vec<Value>>;

/// Why an extrinsic could not be built or sent.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
	#[error("not a usable secret key URI: {0}")]
	BadSecret(String),
	#[error("the node's metadata does not decode: {0}")]
	Metadata(String),
	#[error("cannot build {call}: {reason}")]
	Build { call: String, reason: String },
	#[error(transparent)]
	Rpc(#[from] RpcError),
}

/// `pallet.name(args)`, its arguments in the call's order.
pub fn call(pallet: &str, name: &str, args: Vec<Value>) -> Call {
	subxt::dynamic::tx(pallet, name, args)
}

/// `Dod.request_knowledge(question)`.
pub fn request_knowledge_call(question: &str) -> Call {
	call("Dod", "request_knowledge", vec![Value::from_bytes(question.as_bytes())])
}

/// The sr25519 key of secret URI `suri` (`//Dave`, a mnemonic with junctions, a `0x` seed).
pub fn keypair(suri: &str) -> Result<Keypair, TxError> {
	let uri = SecretUri::from_str(suri).map_err(|e| TxError::BadSecret(e.to_string()))?;
	Keypair::from_uri(&uri).map_err(|e| TxError::BadSecret(e.to_string()))
}

/// The SS58 address (generic prefix) of `signer`'s account.
pub fn account(signer: &Keypair) -> String {
	sp_core::crypto::AccountId32::from(signer.public_key().0).to_ss58check()
}

/// What a signature commits to — the chain's genesis, the runtime's versions — and the
/// runtime's metadata, which says how calls and extensions are encoded.
#[derive(Clone)]
pub struct Transactions {
	client: OfflineClient<SubstrateConfig>,
	metadata: subxt::ArcMetadata,
	spec_version: u32,
}

impl Transactions {
	/// For the runtime of `spec_version` and `transaction_version`, whose SCALE metadata is
	/// `metadata` (`state_getMetadata`), on the chain of `genesis`.
	pub fn new(
		genesis: H256,
		spec_version: u32,
		transaction_version: u32,
		metadata: &[u8],
	) -> Result<Self, TxError> {
		let metadata = subxt::Metadata::decode_from(metadata)
			.map_err(|e| TxError::Metadata(e.to_string()))?
			.arc();
		let config = SubstrateConfig::builder()
			.set_genesis_hash(subxt::config::substrate::H256(genesis.0))
			.set_metadata_for_spec_versions([(spec_version, metadata.clone())])
			.set_spec_version_for_block_ranges([SpecVersionForRange {
				block_range: 0..u64::MAX,
				spec_version,
				transaction_version,
			}])
			.build();
		Ok(Self { client: OfflineClient::new_with_config(config), metadata, spec_version })
	}

	/// For the runtime the node at its best block runs.
	pub async fn of_node(rpc: &NodeRpc) -> Result<Self, TxError> {
		let genesis = rpc.block_hash(0).await?.ok_or(RpcError::Malformed {
			method: "chain_getBlockHash".into(),
			reason: "no genesis".into(),
		})?;
		let best = rpc.best_head().await?;
		let (spec_version, transaction_version) = rpc.runtime_version().await?;
		let metadata = rpc.metadata(best).await?;
		Self::new(genesis, spec_version, transaction_version, &metadata)
	}

	/// The runtime version these extrinsics are for.
	pub fn spec_version(&self) -> u32 {
		self.spec_version
	}

	/// Argument `index` of `pallet.name` decoded from its SCALE `bytes` with the type the
	/// metadata gives it: for values that come encoded (a node's session keys, say).
	pub fn argument(
		&self,
		pallet: &str,
		name: &str,
		index: usize,
		bytes: &[u8],
	) -> Result<Value, TxError> {
		let what = format!("{pallet}.{name} argument {index}");
		let build = |reason: String| TxError::Build { call: what.clone(), reason };
		let field = self
			.metadata
			.pallet_by_name(pallet)
			.and_then(|pallet| pallet.call_variant_by_name(name))
			.and_then(|call| call.fields.get(index))
			.ok_or_else(|| build("not in the runtime's metadata".into()))?;
		let mut input = bytes;
		let value = subxt::ext::scale_value::scale::decode_as_type(
			&mut input,
			field.ty.id,
			self.metadata.types(),
		)
		.map_err(|e| build(e.to_string()))?;
		if !input.is_empty() {
			return Err(build(format!("{} bytes left over", input.len())));
		}
		Ok(value.remove_context())
	}

	/// `call` signed by `signer` with `nonce`: immortal, no tip. The extrinsic's SCALE, ready
	/// for `author_submitExtrinsic`.
	pub fn sign(&self, signer: &Keypair, call: &Call, nonce: u64) -> Result<Vec<u8>, TxError> {
		let build = |reason: String| TxError::Build {
			call: format!("{}.{}", call.pallet_name(), call.call_name()),
			reason,
		};
		let at = self.client.at_block(0u64).map_err(|e| build(e.to_string()))?;
		let params = DefaultExtrinsicParamsBuilder::<SubstrateConfig>::new()
			.immortal()
			.nonce(nonce)
			.build();
		let mut signable = at
			.transactions()
			.create_signable_offline(call, params)
			.map_err(|e| build(e.to_string()))?;
		Ok(signable.sign(signer).map_err(|e| build(e.to_string()))?.into_encoded())
	}
}

/// Files demand with one account, keeping its nonce in order across concurrent requests.
pub struct DemandFiler {
	signer: Keypair,
	transactions: Mutex<Option<Transactions>>,
}

impl DemandFiler {
	/// A filer signing with the secret URI `suri` (`//Dave`, a mnemonic, `0x` seed…).
	pub fn new(suri: &str) -> Result<Self, TxError> {
		Ok(Self { signer: keypair(suri)?, transactions: Mutex::new(None) })
	}

	/// The filing account, SS58.
	pub fn account(&self) -> String {
		account(&self.signer)
	}

	/// Submits `Dod.request_knowledge(question)`; the extrinsic's hash.
	pub async fn file(&self, rpc: &NodeRpc, question: &str) -> Result<H256, TxError> {
		let mut transactions = self.transactions.lock().await;
		let built = match transactions.as_ref() {
			Some(built) => built,
			None => transactions.insert(Transactions::of_node(rpc).await?),
		};
		let nonce = rpc.account_next_index(&self.account()).await?;
		let extrinsic =
			built.sign(&self.signer, &request_knowledge_call(question), nonce.into())?;
		match rpc.submit_extrinsic(&extrinsic).await {
			Ok(hash) => Ok(hash),
			Err(error) => {
				// A runtime upgrade changes the versions and maybe the metadata: read them
				// again next time.
				*transactions = None;
				Err(error.into())
			},
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn secret_uris_give_the_well_known_accounts_and_nonsense_is_refused() {
		// //Alice's account, as every Substrate tool derives it.
		let alice = keypair("//Alice").unwrap();
		assert_eq!(account(&alice), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
		assert!(matches!(keypair("not a key"), Err(TxError::BadSecret(_))));
		assert!(matches!(DemandFiler::new("//Dave"), Ok(filer) if filer.account()
			== "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy"));
	}

	#[test]
	fn calls_are_named_by_pallet_and_call() {
		let demand = request_knowledge_call("What is rust?");
		assert_eq!((demand.pallet_name(), demand.call_name()), ("Dod", "request_knowledge"));
	}
}
