//! `membria`: the one user CLI of Membria.
//!
//! - `membria ipfs --listen 127.0.0.1:5001 --repo DIR`: the embedded IPFS node (Kubo RPC subset
//!   over a persistent blockstore) for development and tests.
//! - `membria distiller --listen 127.0.0.1:8090 --backend corpus|openai …`: the teacher sidecar
//!   the off-chain workers call.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use membria_distiller::{Corpus, Distiller, OpenAiTeacher, Teacher};

#[derive(Parser)]
#[command(
	name = "membria",
	version,
	about = "Membria: verified shared memory for on-device AI"
)]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// Run the embedded IPFS node (Kubo RPC subset) over an on-disk repo.
	Ipfs {
		/// Address to serve the Kubo RPC API on.
		#[arg(long, default_value = "127.0.0.1:5001")]
		listen: SocketAddr,
		/// Repo directory (blocks, pins, identity); created if missing.
		#[arg(long)]
		repo: PathBuf,
		/// Largest file `add` accepts, in MiB.
		#[arg(long, default_value_t = 64)]
		max_add_mib: usize,
	},
	/// Run the distiller sidecar.
	Distiller {
		/// Address to serve the distiller API on.
		#[arg(long, default_value = "127.0.0.1:8090")]
		listen: SocketAddr,
		/// Where answers come from.
		#[arg(long, value_enum, default_value_t = Backend::Corpus)]
		backend: Backend,
		/// Trusted corpus directory (dictd databases, .txt/.md files): what `corpus` distills
		/// from and what `/verify` checks claims against.
		#[arg(long, default_value = "/usr/share/dictd")]
		corpus: PathBuf,
		/// Do not load a corpus for `/verify` with the `openai` backend (checks schema, question
		/// and key terms only).
		#[arg(long)]
		no_verify_corpus: bool,
		/// OpenAI-compatible API root, e.g. `http://127.0.0.1:8080/v1`.
		#[arg(long, required_if_eq("backend", "openai"))]
		openai_url: Option<String>,
		/// Model name sent to the OpenAI-compatible API.
		#[arg(long, default_value = "gpt-4o-mini")]
		openai_model: String,
		/// Bearer token for the OpenAI-compatible API (or env `OPENAI_API_KEY`).
		#[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
		openai_key: Option<String>,
		/// Seconds to wait for the LLM.
		#[arg(long, default_value_t = 120)]
		openai_timeout: u64,
	},
}

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
	/// Extractive distillation over the trusted corpus.
	Corpus,
	/// An OpenAI-compatible chat-completions endpoint.
	Openai,
}

async fn shutdown_signal() {
	let _ = tokio::signal::ctrl_c().await;
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

async fn run(cli: Cli) -> anyhow::Result<()> {
	match cli.command {
		Command::Ipfs {
			listen: address,
			repo,
			max_add_mib,
		} => {
			let store = membria_ipfs::BlockStore::open(&repo)
				.with_context(|| format!("opening the IPFS repo {}", repo.display()))?;
			let options = membria_ipfs::ServerOptions {
				max_add_bytes: max_add_mib << 20,
				..Default::default()
			};
			membria_ipfs::serve(listen(address).await?, store, options, shutdown_signal()).await?;
		}
		Command::Distiller {
			listen: address,
			backend,
			corpus,
			no_verify_corpus,
			openai_url,
			openai_model,
			openai_key,
			openai_timeout,
		} => {
			let distiller = match backend {
				Backend::Corpus => {
					let corpus = load_corpus(&corpus)?;
					Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus))
				}
				Backend::Openai => {
					let url =
						openai_url.context("--openai-url is required with --backend openai")?;
					let teacher = OpenAiTeacher::new(
						&url,
						&openai_model,
						openai_key,
						Duration::from_secs(openai_timeout),
					)?;
					let verifier = if no_verify_corpus {
						None
					} else {
						Some(load_corpus(&corpus)?)
					};
					Distiller::new(Teacher::OpenAi(teacher), verifier)
				}
			};
			membria_distiller::server::serve(
				listen(address).await?,
				Arc::new(distiller),
				shutdown_signal(),
			)
			.await?;
		}
	}
	Ok(())
}

#[tokio::main]
async fn main() {
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env()
				.unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
		)
		.with_writer(std::io::stderr)
		.init();
	let cli = Cli::parse();
	if let Err(error) = run(cli).await {
		eprintln!("membria: error: {error:#}");
		std::process::exit(1);
	}
}
