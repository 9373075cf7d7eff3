//! Assembles the node: client, database, transaction pool, networking, block production
//! (Aura + GRANDPA, or instant/manual seal for development), off-chain workers and RPC.

use std::{sync::Arc, time::Duration};

use futures::{FutureExt, SinkExt, StreamExt};
use membria_runtime::{apis::RuntimeApi, opaque::Block};
use sc_client_api::{Backend, BlockBackend};
use sc_consensus_aura::{ImportQueueParams, SlotProportion, StartAuraParams};
use sc_consensus_grandpa::SharedVoterState;
use sc_consensus_manual_seal::{consensus::aura::AuraConsensusDataProvider, EngineCommand};
use sc_service::{error::Error as ServiceError, Configuration, TaskManager, WarpSyncConfig};
use sc_telemetry::{Telemetry, TelemetryWorker};
use sc_transaction_pool_api::OffchainTransactionPoolFactory;
use sp_consensus_aura::{
	sr25519::{AuthorityPair as AuraPair, AuthoritySignature as AuraSignature},
	SlotDuration,
};
use sp_core::H256;
use sp_runtime::traits::Block as BlockT;

use crate::{
	cli::{MembriaRunArgs, Sealing},
	rpc,
};

pub(crate) type FullClient = sc_service::TFullClient<
	Block,
	RuntimeApi,
	sc_executor::WasmExecutor<sp_io::SubstrateHostFunctions>,
>;
pub(crate) type FullBackend = sc_service::TFullBackend<Block>;
pub(crate) type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;
type FullPool = sc_transaction_pool::TransactionPoolHandle<Block, FullClient>;
type GrandpaBlockImport =
	sc_consensus_grandpa::GrandpaBlockImport<FullBackend, Block, FullClient, FullSelectChain>;
type GrandpaLink = sc_consensus_grandpa::LinkHalf<Block, FullClient, FullSelectChain>;

/// GRANDPA stores a justification at least every this many finalized blocks (and at every
/// authority-set change), unless `--justification-period` says otherwise. Membria's clients
/// prove finality with these justifications, so the period is short: a client never waits long
/// for a block it can prove.
pub const GRANDPA_JUSTIFICATION_PERIOD: u32 = 16;

/// The parts of the node the `sc-cli` subcommands (import, export, revert …) need.
pub type Service = sc_service::PartialComponents<
	FullClient,
	FullBackend,
	FullSelectChain,
	sc_consensus::DefaultImportQueue<Block>,
	FullPool,
	(GrandpaBlockImport, GrandpaLink, Option<Telemetry>),
>;

/// Client, database, keystore, pool and telemetry: what every way of running the node shares.
struct CoreComponents {
	client: Arc<FullClient>,
	backend: Arc<FullBackend>,
	task_manager: TaskManager,
	keystore_container: sc_service::KeystoreContainer,
	select_chain: FullSelectChain,
	transaction_pool: Arc<FullPool>,
	telemetry: Option<Telemetry>,
}

fn new_core_components(config: &Configuration) -> Result<CoreComponents, ServiceError> {
	let telemetry = config
		.telemetry_endpoints
		.clone()
		.filter(|endpoints| !endpoints.is_empty())
		.map(|endpoints| -> Result<_, sc_telemetry::Error> {
			let worker = TelemetryWorker::new(16)?;
			let telemetry = worker.handle().new_telemetry(endpoints);
			Ok((worker, telemetry))
		})
		.transpose()?;

	let executor = sc_service::new_wasm_executor::<sp_io::SubstrateHostFunctions>(&config.executor);
	let (client, backend, keystore_container, task_manager) =
		sc_service::new_full_parts::<Block, RuntimeApi, _>(
			config,
			telemetry.as_ref().map(|(_, telemetry)| telemetry.handle()),
			executor,
			Vec::new(),
		)?;
	let client = Arc::new(client);

	let telemetry = telemetry.map(|(worker, telemetry)| {
		task_manager.spawn_handle().spawn("telemetry", None, worker.run());
		telemetry
	});

	let select_chain = sc_consensus::LongestChain::new(backend.clone());
	let transaction_pool = Arc::from(
		sc_transaction_pool::Builder::new(
			task_manager.spawn_essential_handle(),
			client.clone(),
			config.role.is_authority().into(),
		)
		.with_options(config.transaction_pool.clone())
		.with_prometheus(config.prometheus_registry())
		.build(),
	);

	Ok(CoreComponents {
		client,
		backend,
		task_manager,
		keystore_container,
		select_chain,
		transaction_pool,
		telemetry,
	})
}

/// The inherent data Aura blocks carry: the wall-clock timestamp and the slot it falls in.
fn aura_inherent_data(
	slot_duration: SlotDuration,
) -> (sp_consensus_aura::inherents::InherentDataProvider, sp_timestamp::InherentDataProvider) {
	let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
	let slot = sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
		*timestamp,
		slot_duration,
	);
	(slot, timestamp)
}

/// Builds the Aura + GRANDPA import pipeline on top of the core components.
pub fn new_partial(
	config: &Configuration,
	justification_period: u32,
) -> Result<Service, ServiceError> {
	let CoreComponents {
		client,
		backend,
		task_manager,
		keystore_container,
		select_chain,
		transaction_pool,
		telemetry,
	} = new_core_components(config)?;

	let (grandpa_block_import, grandpa_link) = sc_consensus_grandpa::block_import(
		client.clone(),
		justification_period,
		&client,
		select_chain.clone(),
		telemetry.as_ref().map(|x| x.handle()),
	)?;

	let slot_duration = sc_consensus_aura::slot_duration(&*client)?;
	let import_queue =
		sc_consensus_aura::import_queue::<AuraPair, _, _, _, _, _>(ImportQueueParams {
			block_import: grandpa_block_import.clone(),
			justification_import: Some(Box::new(grandpa_block_import.clone())),
			client: client.clone(),
			create_inherent_data_providers: move |_, ()| async move {
				Ok(aura_inherent_data(slot_duration))
			},
			spawner: &task_manager.spawn_essential_handle(),
			registry: config.prometheus_registry(),
			check_for_equivocation: Default::default(),
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			compatibility_mode: Default::default(),
		})?;

	Ok(sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (grandpa_block_import, grandpa_link, telemetry),
	})
}

/// The timestamp of the next block a development sealer makes on top of `parent`: the wall
/// clock, but always at least one slot after the parent's slot, so that Aura's "one block per
/// slot" rule holds even when instant seal makes several blocks a second.
fn next_dev_timestamp(
	client: &FullClient,
	parent: H256,
	slot_duration: SlotDuration,
) -> sp_timestamp::Timestamp {
	let now = sp_timestamp::Timestamp::current();
	let parent_slot = client.header(parent).ok().flatten().and_then(|header| {
		sc_consensus_aura::find_pre_digest::<Block, AuraSignature>(&header).ok()
	});
	match parent_slot {
		Some(slot) => {
			let earliest = (*slot + 1).saturating_mul(slot_duration.as_millis());
			sp_timestamp::Timestamp::new(now.as_millis().max(earliest))
		},
		None => now,
	}
}

/// Starts a full node: networking, RPC, off-chain workers, and block production as `sealing`
/// asks.
pub fn new_full<N: sc_network::NetworkBackend<Block, <Block as BlockT>::Hash>>(
	config: Configuration,
	options: &MembriaRunArgs,
) -> Result<TaskManager, ServiceError> {
	match options.sealing {
		Sealing::Aura => new_full_aura::<N>(config, options),
		Sealing::Instant | Sealing::Manual => new_full_dev_seal::<N>(config, options),
	}
}

/// Starts networking and block sync with `import_queue`.
fn start_network<N: sc_network::NetworkBackend<Block, <Block as BlockT>::Hash>>(
	config: &Configuration,
	core: &CoreComponents,
	net_config: sc_network::config::FullNetworkConfiguration<Block, <Block as BlockT>::Hash, N>,
	metrics: sc_network::service::NotificationMetrics,
	import_queue: sc_consensus::DefaultImportQueue<Block>,
	warp_sync_config: Option<WarpSyncConfig<Block>>,
) -> Result<Networking, ServiceError> {
	let (network, system_rpc_tx, tx_handler_controller, sync_service, _bitswap) =
		sc_service::build_network(sc_service::BuildNetworkParams {
			config,
			net_config,
			client: core.client.clone(),
			transaction_pool: core.transaction_pool.clone(),
			spawn_handle: core.task_manager.spawn_handle(),
			spawn_essential_handle: core.task_manager.spawn_essential_handle(),
			import_queue,
			block_announce_validator_builder: None,
			warp_sync_config,
			block_relay: None,
			metrics,
			gap_sync_body_policy: None,
		})?;
	Ok(Networking { network, system_rpc_tx, tx_handler_controller, sync_service })
}

/// Network, RPC and off-chain worker plumbing shared by every sealing mode.
struct Networking {
	network: Arc<dyn sc_network::service::traits::NetworkService>,
	system_rpc_tx: sc_utils::mpsc::TracingUnboundedSender<sc_rpc::system::Request<Block>>,
	tx_handler_controller: sc_network_transactions::TransactionsHandlerController<H256>,
	sync_service: Arc<sc_network_sync::SyncingService<Block>>,
}

/// Writes the off-chain workers' settings (`--ipfs-api`, `--distiller`, `--dod-distiller`) to
/// the persistent offchain storage, removing those not given, so the workers always see this
/// start's flags.
fn store_offchain_settings(core: &CoreComponents, options: &MembriaRunArgs) {
	use sp_core::offchain::OffchainStorage;
	let Some(mut storage) = core.backend.offchain_storage() else {
		return;
	};
	let settings = [
		(membria_offchain::settings::IPFS_API, &options.ipfs_api),
		(membria_offchain::settings::DISTILLER, &options.distiller),
		(membria_offchain::settings::DOD_DISTILLER, &options.dod_distiller),
	];
	for (key, value) in settings {
		match value {
			Some(value) => storage.set(
				sp_offchain::STORAGE_PREFIX,
				key,
				&membria_offchain::settings::encode_setting(value),
			),
			None => storage.remove(sp_offchain::STORAGE_PREFIX, key),
		}
	}
}

/// On development chains (`--dev`, `--alice`…), puts the off-chain workers' keys for the
/// well-known seed into the keystore: the validator's own key as `kcgv`, and its `//stash`
/// account (the DoD agent of the genesis presets) as `dod!`.
fn insert_dev_worker_keys(
	config: &Configuration,
	core: &CoreComponents,
) -> Result<(), ServiceError> {
	use sp_keystore::Keystore;
	let Some(seed) = config.dev_key_seed.as_deref() else {
		return Ok(());
	};
	let keystore = core.keystore_container.keystore();
	let stash = format!("{seed}//stash");
	for (key_type, suri) in
		[(pallet_kcg_validators::KEY_TYPE, seed), (pallet_dod::KEY_TYPE, stash.as_str())]
	{
		keystore
			.sr25519_generate_new(key_type, Some(suri))
			.map_err(|error| ServiceError::Other(format!("dev key {suri}: {error}")))?;
	}
	Ok(())
}

fn start_offchain_workers(
	config: &Configuration,
	core: &CoreComponents,
	network: &Arc<dyn sc_network::service::traits::NetworkService>,
	options: &MembriaRunArgs,
) -> Result<(), ServiceError> {
	store_offchain_settings(core, options);
	if !config.offchain_worker.enabled {
		return Ok(());
	}
	insert_dev_worker_keys(config, core)?;
	let offchain_workers = sc_offchain::OffchainWorkers::new(sc_offchain::OffchainWorkerOptions {
		runtime_api_provider: core.client.clone(),
		is_validator: config.role.is_authority(),
		keystore: Some(core.keystore_container.keystore()),
		offchain_db: core.backend.offchain_storage(),
		transaction_pool: Some(OffchainTransactionPoolFactory::new(core.transaction_pool.clone())),
		network_provider: Arc::new(network.clone()),
		enable_http_requests: true,
		custom_extensions: |_| vec![],
	})?;
	core.task_manager.spawn_handle().spawn(
		"offchain-workers-runner",
		"offchain-worker",
		offchain_workers
			.run(core.client.clone(), core.task_manager.spawn_handle())
			.boxed(),
	);
	Ok(())
}

fn new_full_aura<N: sc_network::NetworkBackend<Block, <Block as BlockT>::Hash>>(
	config: Configuration,
	options: &MembriaRunArgs,
) -> Result<TaskManager, ServiceError> {
	let sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (block_import, grandpa_link, telemetry),
	} = new_partial(&config, options.justification_period)?;
	let mut core = CoreComponents {
		client,
		backend,
		task_manager,
		keystore_container,
		select_chain,
		transaction_pool,
		telemetry,
	};

	let mut net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as BlockT>::Hash,
		N,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = N::register_notification_metrics(config.prometheus_registry());
	let genesis_hash = core
		.client
		.block_hash(0)
		.ok()
		.flatten()
		.ok_or_else(|| ServiceError::Other("the database has no genesis block".into()))?;
	let grandpa_protocol_name =
		sc_consensus_grandpa::protocol_standard_name(&genesis_hash, &config.chain_spec);
	let (grandpa_protocol_config, grandpa_notification_service) =
		sc_consensus_grandpa::grandpa_peers_set_config::<_, N>(
			grandpa_protocol_name.clone(),
			metrics.clone(),
			net_config.peer_store_handle(),
		);
	net_config.add_notification_protocol(grandpa_protocol_config);

	let warp_sync = Arc::new(sc_consensus_grandpa::warp_proof::NetworkProvider::new(
		core.backend.clone(),
		grandpa_link.shared_authority_set().clone(),
		Vec::default(),
	));

	let networking = start_network(
		&config,
		&core,
		net_config,
		metrics,
		import_queue,
		Some(WarpSyncConfig::WithProvider(warp_sync)),
	)?;

	start_offchain_workers(&config, &core, &networking.network, options)?;

	let role = config.role;
	let force_authoring = config.force_authoring;
	let name = config.network.node_name.clone();
	let enable_grandpa = !config.disable_grandpa;
	let prometheus_registry = config.prometheus_registry().cloned();

	let shared_voter_state = SharedVoterState::empty();
	let rpc_builder = {
		let client = core.client.clone();
		let pool = core.transaction_pool.clone();
		let backend = core.backend.clone();
		let shared_voter_state = shared_voter_state.clone();
		let shared_authority_set = grandpa_link.shared_authority_set().clone();
		let justification_stream = grandpa_link.justification_stream();
		Box::new(move |subscription_executor| {
			let deps = rpc::FullDeps {
				client: client.clone(),
				pool: pool.clone(),
				grandpa: Some(rpc::GrandpaDeps {
					shared_voter_state: shared_voter_state.clone(),
					shared_authority_set: shared_authority_set.clone(),
					justification_stream: justification_stream.clone(),
					subscription_executor,
					finality_provider: sc_consensus_grandpa::FinalityProofProvider::new_for_service(
						backend.clone(),
						Some(shared_authority_set.clone()),
					),
				}),
				manual_seal: None,
			};
			rpc::create_full(deps).map_err(Into::into)
		})
	};

	let networking = spawn_rpc_and_tasks(config, &mut core, networking, rpc_builder)?;

	if role.is_authority() {
		let proposer_factory = sc_basic_authorship::ProposerFactory::new(
			core.task_manager.spawn_handle(),
			core.client.clone(),
			core.transaction_pool.clone(),
			prometheus_registry.as_ref(),
			core.telemetry.as_ref().map(|x| x.handle()),
		);
		let slot_duration = sc_consensus_aura::slot_duration(&*core.client)?;
		let aura = sc_consensus_aura::start_aura::<AuraPair, _, _, _, _, _, _, _, _, _, _>(
			StartAuraParams {
				slot_duration,
				client: core.client.clone(),
				select_chain: core.select_chain.clone(),
				block_import,
				proposer_factory,
				create_inherent_data_providers: move |_, ()| async move {
					Ok(aura_inherent_data(slot_duration))
				},
				force_authoring,
				backoff_authoring_blocks: Option::<()>::None,
				keystore: core.keystore_container.keystore(),
				sync_oracle: networking.sync_service.clone(),
				justification_sync_link: networking.sync_service.clone(),
				block_proposal_slot_portion: SlotProportion::new(2f32 / 3f32),
				max_block_proposal_slot_portion: None,
				telemetry: core.telemetry.as_ref().map(|x| x.handle()),
				compatibility_mode: Default::default(),
			},
		)?;
		// Authoring is essential: if it fails, the node stops.
		core.task_manager.spawn_essential_handle().spawn_blocking(
			"aura",
			Some("block-authoring"),
			aura,
		);
		// Authorities report Aura equivocations they import (their pool includes the report).
		core.task_manager.spawn_handle().spawn(
			"aura-equivocation",
			Some("block-authoring"),
			crate::aura_equivocation::run(
				core.client.clone(),
				OffchainTransactionPoolFactory::new(core.transaction_pool.clone()),
			),
		);
	}

	if enable_grandpa {
		// Only authorities vote; other nodes follow finality through justifications.
		let keystore =
			if role.is_authority() { Some(core.keystore_container.keystore()) } else { None };
		let grandpa_config = sc_consensus_grandpa::Config {
			gossip_duration: Duration::from_millis(333),
			justification_generation_period: options.justification_period,
			name: Some(name),
			observer_enabled: false,
			keystore,
			local_role: role,
			telemetry: core.telemetry.as_ref().map(|x| x.handle()),
			protocol_name: grandpa_protocol_name,
		};
		let voter = sc_consensus_grandpa::run_grandpa_voter(sc_consensus_grandpa::GrandpaParams {
			config: grandpa_config,
			link: grandpa_link,
			network: networking.network.clone(),
			sync: networking.sync_service.clone(),
			notification_service: grandpa_notification_service,
			voting_rule: sc_consensus_grandpa::VotingRulesBuilder::default().build(),
			prometheus_registry,
			shared_voter_state,
			telemetry: core.telemetry.as_ref().map(|x| x.handle()),
			offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(
				core.transaction_pool.clone(),
			),
		})?;
		// The voter is essential: if it fails, the node stops.
		core.task_manager
			.spawn_essential_handle()
			.spawn_blocking("grandpa-voter", None, voter);
	}

	Ok(core.task_manager)
}

type RpcBuilder =
	Box<dyn Fn(sc_rpc::SubscriptionTaskExecutor) -> Result<jsonrpsee::RpcModule<()>, ServiceError>>;

/// Starts RPC and the node's standard background tasks. Takes the configuration: what is needed
/// of it afterwards must be read before.
fn spawn_rpc_and_tasks(
	config: Configuration,
	core: &mut CoreComponents,
	networking: Networking,
	rpc_builder: RpcBuilder,
) -> Result<NetworkHandles, ServiceError> {
	let Networking { network, system_rpc_tx, tx_handler_controller, sync_service } = networking;
	sc_service::spawn_tasks(sc_service::SpawnTasksParams {
		network: network.clone(),
		client: core.client.clone(),
		keystore: core.keystore_container.keystore(),
		task_manager: &mut core.task_manager,
		transaction_pool: core.transaction_pool.clone(),
		rpc_builder,
		backend: core.backend.clone(),
		system_rpc_tx,
		tx_handler_controller,
		sync_service: sync_service.clone(),
		config,
		telemetry: core.telemetry.as_mut(),
		tracing_execute_block: None,
	})?;
	Ok(NetworkHandles { network, sync_service })
}

/// What block production and GRANDPA need of the network once RPC is running.
struct NetworkHandles {
	network: Arc<dyn sc_network::service::traits::NetworkService>,
	sync_service: Arc<sc_network_sync::SyncingService<Block>>,
}

/// Development block production without GRANDPA: instant seal (a block per transaction,
/// finalized at once) or manual seal (blocks on `engine_createBlock`).
fn new_full_dev_seal<N: sc_network::NetworkBackend<Block, <Block as BlockT>::Hash>>(
	config: Configuration,
	options: &MembriaRunArgs,
) -> Result<TaskManager, ServiceError> {
	let sealing = options.sealing;
	let mut core = new_core_components(&config)?;

	let import_queue = sc_consensus_manual_seal::import_queue(
		Box::new(core.client.clone()),
		&core.task_manager.spawn_essential_handle(),
		config.prometheus_registry(),
	);

	let net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as BlockT>::Hash,
		N,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = N::register_notification_metrics(config.prometheus_registry());
	let networking = start_network(&config, &core, net_config, metrics, import_queue, None)?;

	start_offchain_workers(&config, &core, &networking.network, options)?;

	let (command_sink, commands_stream) = futures::channel::mpsc::channel(1024);
	let rpc_builder: RpcBuilder = {
		let client = core.client.clone();
		let pool = core.transaction_pool.clone();
		let manual_seal = (sealing == Sealing::Manual).then(|| command_sink.clone());
		Box::new(move |_| {
			let deps = rpc::FullDeps {
				client: client.clone(),
				pool: pool.clone(),
				grandpa: None,
				manual_seal: manual_seal.clone(),
			};
			rpc::create_full(deps).map_err(Into::into)
		})
	};
	let prometheus_registry = config.prometheus_registry().cloned();
	spawn_rpc_and_tasks(config, &mut core, networking, rpc_builder)?;

	let proposer_factory = sc_basic_authorship::ProposerFactory::new(
		core.task_manager.spawn_handle(),
		core.client.clone(),
		core.transaction_pool.clone(),
		prometheus_registry.as_ref(),
		core.telemetry.as_ref().map(|x| x.handle()),
	);
	let slot_duration = sc_consensus_aura::slot_duration(&*core.client)?;
	let consensus_data_provider: Box<dyn sc_consensus_manual_seal::ConsensusDataProvider<Block>> =
		Box::new(AuraConsensusDataProvider::new_with_slot_duration(slot_duration));
	let timestamp_client = core.client.clone();
	let create_inherent_data_providers = move |parent: H256, ()| {
		let timestamp = next_dev_timestamp(&timestamp_client, parent, slot_duration);
		async move { Ok(sp_timestamp::InherentDataProvider::new(timestamp)) }
	};

	if sealing == Sealing::Instant {
		// Instant seal drives the manual sealer itself: see `seal_while_transactions_wait`.
		core.task_manager.spawn_essential_handle().spawn(
			"instant-seal-driver",
			Some("block-authoring"),
			seal_while_transactions_wait(core.transaction_pool.clone(), command_sink).boxed(),
		);
	}
	let sealer =
		sc_consensus_manual_seal::run_manual_seal(sc_consensus_manual_seal::ManualSealParams {
			block_import: core.client.clone(),
			env: proposer_factory,
			client: core.client.clone(),
			pool: core.transaction_pool.clone(),
			commands_stream,
			select_chain: core.select_chain.clone(),
			consensus_data_provider: Some(consensus_data_provider),
			create_inherent_data_providers,
		});
	// Sealing is essential: if it fails, the node stops.
	core.task_manager.spawn_essential_handle().spawn_blocking(
		"dev-sealing",
		Some("block-authoring"),
		sealer,
	);

	Ok(core.task_manager)
}

/// Instant seal: a block, finalized at once, whenever transactions are ready, and as many blocks
/// as it takes to include them all. A block whose own hooks fill it (a session change) leaves
/// its transactions in the pool; sealing again includes them instead of leaving them to wait
/// for the next transaction to arrive.
async fn seal_while_transactions_wait(
	pool: Arc<FullPool>,
	mut commands: futures::channel::mpsc::Sender<EngineCommand<H256>>,
) {
	use sc_transaction_pool_api::TransactionPool;

	let mut imported = pool.import_notification_stream().fuse();
	loop {
		// A new transaction, or a periodic look: the pool's status can lag an import that was
		// notified while a block was being sealed, and a transaction must never wait forever.
		let tick = futures_timer::Delay::new(Duration::from_millis(500)).fuse();
		futures::pin_mut!(tick);
		futures::select! {
			notification = imported.next() => if notification.is_none() { return },
			_ = tick => {},
		}
		let mut ready = pool.status().ready;
		while ready > 0 {
			let (sender, created) = futures::channel::oneshot::channel();
			let command = EngineCommand::SealNewBlock {
				create_empty: true,
				finalize: true,
				parent_hash: None,
				sender: Some(sender),
			};
			if commands.send(command).await.is_err() {
				return;
			}
			let block = match created.await {
				Ok(Ok(block)) => block.hash,
				Ok(Err(e)) => {
					tracing::warn!(target: "membria", "instant seal failed: {e}");
					break;
				},
				Err(_) => return,
			};
			// Counted once the pool has dropped what the new block included.
			ready = pool.ready_at(block).await.count();
		}
	}
}
