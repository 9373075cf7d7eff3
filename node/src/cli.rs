//! Command-line interface of `membria-node`: the standard Substrate node flags and subcommands,
//! plus Membria's own options.

/// How the node makes blocks.
#[derive(Debug, Copy, Clone, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Sealing {
	/// Aura authors a block per slot (6 s) and GRANDPA finalizes: what networks run.
	#[default]
	Aura,
	/// A block for every transaction that enters the pool, finalized at once (development).
	Instant,
	/// Blocks only when asked over RPC (`engine_createBlock`, `engine_finalizeBlock`).
	Manual,
}

/// Membria's own options for running a node.
#[derive(Debug, Clone, clap::Args)]
pub struct MembriaRunArgs {
	/// How blocks are made. `instant` and `manual` are for development chains: they produce
	/// blocks without GRANDPA and finalize them themselves.
	#[arg(long, value_enum, default_value_t = Sealing::Aura)]
	pub sealing: Sealing,

	/// Kubo RPC API the off-chain workers store and fetch entry bodies with (a Kubo daemon,
	/// or `membria ipfs`), e.g. `http://127.0.0.1:5001`.
	#[arg(long, value_name = "URL", value_parser = http_url)]
	pub ipfs_api: Option<String>,

	/// Distiller sidecar (`membria distiller`) validators verify entries with, and the DoD
	/// agent distills with unless `--dod-distiller` is given, e.g. `http://127.0.0.1:8090`.
	#[arg(long, value_name = "URL", value_parser = http_url)]
	pub distiller: Option<String>,

	/// GRANDPA keeps a justification at least every this many finalized blocks: the blocks a
	/// client can prove final with `grandpa_proveFinality`.
	#[arg(long, value_name = "BLOCKS", default_value_t = crate::service::GRANDPA_JUSTIFICATION_PERIOD, value_parser = clap::value_parser!(u32).range(1..))]
	pub justification_period: u32,

	/// Distiller the DoD agent distills with, when it is not `--distiller`.
	#[arg(long, value_name = "URL", value_parser = http_url)]
	pub dod_distiller: Option<String>,
}

/// Accepts `http://…` and `https://…` URLs with a host.
fn http_url(value: &str) -> Result<String, String> {
	let rest = value
		.strip_prefix("http://")
		.or_else(|| value.strip_prefix("https://"))
		.ok_or_else(|| format!("{value:?} is not an http:// or https:// URL"))?;
	if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
		return Err(format!("{value:?} has no host"));
	}
	Ok(value.trim_end_matches('/').to_string())
}

#[derive(Debug, clap::Parser)]
#[command(
	propagate_version = true,
	args_conflicts_with_subcommands = true,
	subcommand_negates_reqs = true
)]
pub struct Cli {
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	#[clap(flatten)]
	pub run: sc_cli::RunCmd,

	#[clap(flatten)]
	pub membria: MembriaRunArgs,
}

#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management (generate, inspect, insert into the keystore).
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Build a chain specification.
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Export the chain specification of a known chain.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Database meta columns information.
	ChainInfo(sc_cli::ChainInfoCmd),
}
