//! Filing demand on chain: a signed `Dod.request_knowledge(question)` extrinsic, built for the
//! Membria runtime's transaction format (signed, v4; the extensions of `runtime::TxExtension`)
//! and submitted through a node. Used by the gateway for the questions it cannot answer.

use codec::{Compact, Encode};
use sp_core::{crypto::Ss58Codec, sr25519, Pair, H256};
use tokio::sync::Mutex;

use crate::rpc::{NodeRpc, RpcError};

/// `Dod`'s index in the runtime and `request_knowledge`'s call index in it.
const DOD_PALLET: u8 = 21;
const REQUEST_KNOWLEDGE: u8 = 0;
/// Signed extrinsics are version 4; the top bit marks them signed.
const SIGNED_V4: u8 = 0x84;

/// Why demand could not be filed.
#[derive(Debug, thiserror::Error)]
pub enum DemandError {
	#[error("not a usable secret key URI: {0}")]
	BadSecret(String),
	#[error(transparent)]
	Rpc(#[from] RpcError),
}

/// The SCALE of the call `Dod.request_knowledge(question)`.
pub fn request_knowledge_call(question: &str) -> Vec<u8> {
	let mut call = vec![DOD_PALLET, REQUEST_KNOWLEDGE];
	question.as_bytes().to_vec().encode_to(&mut call);
	call
}

/// The chain facts a signature commits to.
#[derive(Clone, Copy, Debug)]
pub struct ChainFacts {
	pub genesis: H256,
	pub spec_version: u32,
	pub transaction_version: u32,
}

/// A signed, immortal extrinsic of `call` from `signer` with `nonce` and no tip.
pub fn signed_extrinsic(
	signer: &sr25519::Pair,
	call: &[u8],
	nonce: u32,
	chain: &ChainFacts,
) -> Vec<u8> {
	// Explicit extension data, in `TxExtension` order: CheckEra (immortal), CheckNonce,
	// ChargeTransactionPayment (tip); the other extensions carry none.
	let immortal = 0u8;
	let mut explicit = vec![immortal];
	Compact(nonce).encode_to(&mut explicit);
	Compact(0u128).encode_to(&mut explicit);
	// Implicit: spec and transaction versions, genesis, and the era's birth block (genesis).
	let mut implicit = Vec::new();
	chain.spec_version.encode_to(&mut implicit);
	chain.transaction_version.encode_to(&mut implicit);
	chain.genesis.encode_to(&mut implicit);
	chain.genesis.encode_to(&mut implicit);
	let mut payload = call.to_vec();
	payload.extend(&explicit);
	payload.extend(&implicit);
	let signature = if payload.len() > 256 {
		signer.sign(&sp_crypto_hashing::blake2_256(&payload))
	} else {
		signer.sign(&payload)
	};
	let mut inner = vec![SIGNED_V4];
	// MultiAddress::Id, then MultiSignature::Sr25519.
	inner.push(0);
	inner.extend(signer.public().0);
	inner.push(1);
	inner.extend(signature.0);
	inner.extend(explicit);
	inner.extend(call);
	let mut extrinsic = Compact(inner.len() as u32).encode();
	extrinsic.extend(inner);
	extrinsic
}

/// Files demand with one account, keeping its nonce in order across concurrent requests.
pub struct DemandFiler {
	pair: sr25519::Pair,
	lock: Mutex<Option<ChainFacts>>,
}

impl DemandFiler {
	/// A filer signing with the secret URI `suri` (`//Dave`, a mnemonic, `0x` seed…).
	pub fn new(suri: &str) -> Result<Self, DemandError> {
		let pair = sr25519::Pair::from_string(suri, None)
			.map_err(|e| DemandError::BadSecret(format!("{e:?}")))?;
		Ok(Self { pair, lock: Mutex::new(None) })
	}

	/// The filing account, SS58.
	pub fn account(&self) -> String {
		self.pair.public().to_ss58check()
	}

	/// Submits `Dod.request_knowledge(question)`; the extrinsic's hash.
	pub async fn file(&self, rpc: &NodeRpc, question: &str) -> Result<H256, DemandError> {
		let mut facts = self.lock.lock().await;
		let chain = match *facts {
			Some(chain) => chain,
			None => {
				let genesis = rpc.block_hash(0).await?.ok_or(RpcError::Malformed {
					method: "chain_getBlockHash".into(),
					reason: "no genesis".into(),
				})?;
				let (spec_version, transaction_version) = rpc.runtime_version().await?;
				let chain = ChainFacts { genesis, spec_version, transaction_version };
				*facts = Some(chain);
				chain
			},
		};
		let nonce = rpc.account_next_index(&self.account()).await?;
		let extrinsic =
			signed_extrinsic(&self.pair, &request_knowledge_call(question), nonce, &chain);
		match rpc.submit_extrinsic(&extrinsic).await {
			Ok(hash) => Ok(hash),
			Err(error) => {
				// A runtime upgrade changes the versions: read them again next time.
				*facts = None;
				Err(error.into())
			},
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn extrinsics_are_length_prefixed_signed_v4_and_verify() {
		let pair = sr25519::Pair::from_string("//Dave", None).unwrap();
		let chain =
			ChainFacts { genesis: H256([7; 32]), spec_version: 100, transaction_version: 1 };
		let call = request_knowledge_call("What is rust?");
		assert_eq!(&call[..2], &[21, 0]);
		let xt = signed_extrinsic(&pair, &call, 5, &chain);
		let (len, prefix) = {
			let mut input = &xt[..];
			let len = <Compact<u32>>::decode(&mut input).unwrap().0 as usize;
			(len, xt.len() - input.len())
		};
		assert_eq!(len + prefix, xt.len());
		let inner = &xt[prefix..];
		assert_eq!(inner[0], SIGNED_V4);
		assert_eq!(&inner[2..34], &pair.public().0);
		assert!(inner.ends_with(&call));
		let signature = sr25519::Signature::from_raw(inner[35..99].try_into().unwrap());
		let mut payload = call.clone();
		payload.extend(&inner[99..inner.len() - call.len()]);
		(100u32, 1u32, chain.genesis, chain.genesis).encode_to(&mut payload);
		assert!(sr25519::Pair::verify(&signature, &payload, &pair.public()));
		assert!(matches!(DemandFiler::new("not a key"), Err(DemandError::BadSecret(_))));
	}

	use codec::Decode;
}
