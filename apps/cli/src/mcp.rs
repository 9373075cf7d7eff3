//! `membria mcp`: the device as a Model Context Protocol server on stdio (the official `rmcp`
//! SDK), for agents and editors. Tools: `ask`, `verify`, `sync`, `request_knowledge`, `status`;
//! each answers in text for the model and as structured content, with the provenance of what it
//! says (entry, proven block, CID, approving stake). Like `membria serve`, it follows the
//! gateway's events so that `ask` sees newly validated entries.

use std::sync::Arc;

use membria_client::{Device, RemoteOutcome, Server};
use rmcp::{
	model::{
		CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
		InitializeResult, JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities,
		ServerConfig, Tool,
	},
	service::RequestContext,
	ErrorData as McpError, RoleServer, ServerHandler, ServiceExt,
};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::{
	device::DeviceArgs,
	serve::{citations, find, follow_in_background, Cited, Found},
};

/// `membria mcp`'s flags.
#[derive(clap::Args)]
pub struct McpArgs {
	/// Let `ask` file on-chain demand (through the gateway) for questions nobody can answer
	/// yet (`request_knowledge` always does).
	#[arg(long, env = "MEMBRIA_REQUEST")]
	pub request: bool,
	/// Do not follow the gateway's events (sync only when the `sync` tool is called).
	#[arg(long, env = "MEMBRIA_NO_FOLLOW")]
	pub no_follow: bool,
	#[command(flatten)]
	pub device: DeviceArgs,
}

/// The MCP server: the device and where it fetches from.
#[derive(Clone)]
struct Membria {
	device: Arc<Mutex<Device>>,
	server: Arc<Server>,
	request: bool,
}

fn schema(value: Value) -> JsonObject {
	match value {
		Value::Object(object) => object,
		_ => JsonObject::new(),
	}
}

fn tools() -> Vec<Tool> {
	let question = json!({"type": "string", "description": "The question, in natural language (at most 512 bytes)."});
	vec![
		Tool::new(
			"ask",
			"Answer a question from Membria's verified knowledge: entries validated on chain by \
			 staked validators, checked on this device (GRANDPA finality, storage proofs, CIDs). \
			 Returns the answer with its entry, proven block, CID and approving stake, or says \
			 there is no verified answer.",
			schema(json!({
				"type": "object",
				"properties": {
					"question": question,
					"request": {"type": "boolean", "description": "File on-chain demand if no verified answer exists."},
				},
				"required": ["question"],
			})),
		),
		Tool::new(
			"verify",
			"Fetch one entry and check each step of its trust chain (finality, storage proof, \
			 body hash, CID), saying which step failed if one does.",
			schema(json!({
				"type": "object",
				"properties": {"entry": {"type": "integer", "minimum": 0, "description": "The entry id."}},
				"required": ["entry"],
			})),
		),
		Tool::new(
			"sync",
			"Fetch and verify every entry validated since the last sync into the local cache.",
			schema(json!({"type": "object", "properties": {}})),
		),
		Tool::new(
			"request_knowledge",
			"Ask the network to learn the answer to a question: files on-chain demand through \
			 the gateway (a distillation agent answers it and validators check the answer).",
			schema(json!({
				"type": "object",
				"properties": {"question": question},
				"required": ["question"],
			})),
		),
		Tool::new(
			"status",
			"What this device holds and trusts: entries cached, the authority set, the newest \
			 finalized block it has proven.",
			schema(json!({"type": "object", "properties": {}})),
		),
	]
}

/// A tool's result: text for the model, the same as structured content.
fn result(text: String, structured: Value) -> CallToolResult {
	let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
	result.structured_content = Some(structured);
	result
}

/// A tool's refusal of its arguments (the model can read it and try again).
fn refused(text: String) -> CallToolResult {
	CallToolResult::error(vec![ContentBlock::text(text)])
}

/// The string argument `name`, checked.
fn question_argument(arguments: &JsonObject) -> Result<String, String> {
	let question = match arguments.get("question") {
		Some(Value::String(question)) => question.trim().to_string(),
		Some(other) => return Err(format!("question must be a string, not {other}")),
		None => return Err("the argument question is missing".into()),
	};
	if question.is_empty() {
		return Err("question is empty".into());
	}
	let bound = membria_offchain::body::MAX_QUESTION_BYTES;
	if question.len() > bound {
		return Err(format!("question is {} bytes: at most {bound}", question.len()));
	}
	Ok(question)
}

impl Membria {
	async fn ask(&self, arguments: &JsonObject) -> CallToolResult {
		let question = match question_argument(arguments) {
			Ok(question) => question,
			Err(error) => return refused(error),
		};
		let request = match arguments.get("request") {
			None => self.request,
			Some(Value::Bool(request)) => *request,
			Some(other) => return refused(format!("request must be a boolean, not {other}")),
		};
		match find(&self.device, &self.server, &question, request, 1).await {
			Found::Entries(answers, source) => {
				let best = &answers[0];
				let cited = vec![Cited::of(best)];
				result(
					format!("{}{}", best.body.answer, citations(&cited)),
					json!({"verified": true, "source": source, "answer": best.body.answer, "entries": cited}),
				)
			},
			Found::Miss { reason, demand } => {
				let filed = match &demand {
					Some(demand) => format!(" Demand was filed on chain: {demand}."),
					None if request => String::new(),
					None => " Call request_knowledge to ask the network to learn it.".into(),
				};
				result(
					format!("No verified answer: {reason}.{filed}"),
					json!({"verified": false, "miss": reason, "demand": demand}),
				)
			},
		}
	}

	async fn verify(&self, arguments: &JsonObject) -> CallToolResult {
		let Some(entry) = arguments.get("entry").and_then(Value::as_u64) else {
			return refused("entry must be a non-negative integer (the entry id)".into());
		};
		let mut steps: Vec<String> = Vec::new();
		let mut device = self.device.lock().await;
		let outcome = device
			.verify_entry(&self.server, entry, &mut |line| steps.push(line.to_string()))
			.await;
		let mut text: Vec<String> = steps
			.iter()
			.enumerate()
			.map(|(i, step)| format!("{}. ✓ {step}", i + 1))
			.collect();
		match outcome {
			Ok(()) => {
				text.push(format!("entry {entry} verifies"));
				result(text.join("\n"), json!({"entry": entry, "verified": true, "steps": steps}))
			},
			Err(error) => {
				text.push(format!("{}. ✗ {error}", steps.len() + 1));
				text.push(format!("entry {entry} does not verify"));
				result(
					text.join("\n"),
					json!({"entry": entry, "verified": false, "steps": steps, "failed": error.to_string()}),
				)
			},
		}
	}

	async fn sync(&self) -> CallToolResult {
		let mut device = self.device.lock().await;
		match device.sync(&self.server, |_| {}).await {
			Ok(report) => {
				let entries = device.cache().len();
				result(
					format!(
						"synced: {} entries verified, {} new, proven at finalized block {}; {entries} in the cache",
						report.verified, report.loaded, report.proven_at
					),
					json!({"verified": report.verified, "new": report.loaded, "provenAt": report.proven_at, "entries": entries}),
				)
			},
			Err(error) => refused(format!("sync failed: {error}")),
		}
	}

	async fn request_knowledge(&self, arguments: &JsonObject) -> CallToolResult {
		let question = match question_argument(arguments) {
			Ok(question) => question,
			Err(error) => return refused(error),
		};
		let mut device = self.device.lock().await;
		match device.ask_remote(&self.server, &question, true).await {
			Ok(RemoteOutcome::Hit(answer)) => {
				let cited = vec![Cited::of(&answer)];
				result(
					format!("Already known, no demand filed: {}{}", answer.body.answer, citations(&cited)),
					json!({"filed": false, "verified": true, "answer": answer.body.answer, "entries": cited}),
				)
			},
			Ok(RemoteOutcome::Miss { reason, demand }) => match demand {
				Some(demand) => result(
					format!(
						"Demand filed on chain for {question:?} (question key 0x{}): call ask again once the network has validated an answer.",
						demand.question_key
					),
					json!({"filed": true, "miss": reason, "demand": demand}),
				),
				None => refused(format!("the gateway filed no demand: {reason}")),
			},
			Err(error) => refused(format!("the gateway could not be asked: {error}")),
		}
	}

	async fn status(&self) -> CallToolResult {
		let status = self.device.lock().await.status();
		result(
			format!(
				"{} verified entries cached; trusting authority set {} ({} authorities); newest finalized block proven: {}",
				status.entries, status.set_id, status.authorities, status.last_proven
			),
			json!({
				"entries": status.entries,
				"setId": status.set_id,
				"authorities": status.authorities,
				"lastProven": status.last_proven,
				"dataDir": status.data_dir,
			}),
		)
	}
}

impl ServerHandler for Membria {
	fn get_info(&self) -> ServerConfig {
		InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
			.with_server_info(Implementation::new("membria", env!("CARGO_PKG_VERSION")))
			.with_instructions(
				"Membria is a verified shared memory: call ask before answering a factual \
				 question; cite the entry it names. If there is no verified answer, say so, and \
				 call request_knowledge to have the network learn it.",
			)
	}

	async fn list_tools(
		&self,
		_request: Option<PaginatedRequestParams>,
		_context: RequestContext<RoleServer>,
	) -> Result<ListToolsResult, McpError> {
		Ok(ListToolsResult::with_all_items(tools()))
	}

	async fn call_tool(
		&self,
		request: CallToolRequestParams,
		_context: RequestContext<RoleServer>,
	) -> Result<CallToolResponse, McpError> {
		let arguments = request.arguments.unwrap_or_default();
		let result = match request.name.as_ref() {
			"ask" => self.ask(&arguments).await,
			"verify" => self.verify(&arguments).await,
			"sync" => self.sync().await,
			"request_knowledge" => self.request_knowledge(&arguments).await,
			"status" => self.status().await,
			other => {
				return Err(McpError::invalid_params(
					format!("no tool {other:?}: ask, verify, sync, request_knowledge, status"),
					None,
				))
			},
		};
		Ok(result.into())
	}
}

/// Runs `membria mcp` on stdin/stdout until the client closes it.
pub async fn mcp(args: McpArgs) -> anyhow::Result<()> {
	let device = Arc::new(Mutex::new(args.device.open()?));
	let server = Arc::new(args.device.server()?);
	if !args.no_follow && args.device.node.is_none() {
		follow_in_background(device.clone(), server.clone(), args.device.gateway.clone());
	}
	let membria = Membria { device, server, request: args.request };
	let running = membria.serve(rmcp::transport::stdio()).await?;
	running.waiting().await?;
	Ok(())
}
