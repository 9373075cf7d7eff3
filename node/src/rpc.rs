//! The node's JSON-RPC methods beyond Substrate's defaults: account nonces, fee queries, GRANDPA
//! finality proofs and justifications, and block sealing on development chains.

use std::sync::Arc;

use futures::channel::mpsc;
use jsonrpsee::RpcModule;
use membria_runtime::{opaque::Block, AccountId, Balance, Nonce};
use sc_client_api::AuxStore;
use sc_consensus_grandpa::{
	FinalityProofProvider, GrandpaJustificationStream, SharedAuthoritySet, SharedVoterState,
};
use sc_consensus_manual_seal::{
	rpc::{ManualSeal, ManualSealApiServer},
	EngineCommand,
};
use sc_rpc::SubscriptionTaskExecutor;
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};
use sp_core::H256;

use crate::service::FullBackend;

/// What the GRANDPA RPC (`grandpa_proveFinality`, `grandpa_subscribeJustifications`,
/// `grandpa_roundState`) needs.
pub struct GrandpaDeps {
	pub shared_voter_state: SharedVoterState,
	pub shared_authority_set: SharedAuthoritySet<H256, u32>,
	pub justification_stream: GrandpaJustificationStream<Block>,
	pub subscription_executor: SubscriptionTaskExecutor,
	pub finality_provider: Arc<FinalityProofProvider<FullBackend, Block>>,
}

/// Everything the RPC extensions need.
pub struct FullDeps<C, P> {
	pub client: Arc<C>,
	pub pool: Arc<P>,
	/// Present when GRANDPA finalizes (Aura sealing).
	pub grandpa: Option<GrandpaDeps>,
	/// Present with `--sealing manual` or `instant`: the channel to the block sealer.
	pub manual_seal: Option<mpsc::Sender<EngineCommand<H256>>>,
}

/// Builds the RPC extensions of a full node.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ HeaderMetadata<Block, Error = BlockChainError>
		+ AuxStore
		+ Send
		+ Sync
		+ 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>,
	C::Api: pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>,
	C::Api: BlockBuilder<Block>,
	P: TransactionPool + 'static,
{
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use sc_consensus_grandpa_rpc::{Grandpa, GrandpaApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool, grandpa, manual_seal } = deps;

	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client).into_rpc())?;

	if let Some(GrandpaDeps {
		shared_voter_state,
		shared_authority_set,
		justification_stream,
		subscription_executor,
		finality_provider,
	}) = grandpa
	{
		module.merge(
			Grandpa::new(
				subscription_executor,
				shared_authority_set,
				shared_voter_state,
				justification_stream,
				finality_provider,
			)
			.into_rpc(),
		)?;
	}

	if let Some(command_sink) = manual_seal {
		module.merge(ManualSeal::new(command_sink).into_rpc())?;
	}

	Ok(module)
}
