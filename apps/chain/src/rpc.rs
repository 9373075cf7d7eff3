//! The node's JSON-RPC, over HTTP (a Substrate node serves HTTP and WebSocket on one port, so a
//! `ws://` URL is accepted and spoken to as `http://`). Nothing read here is trusted by itself:
//! headers are proven by justifications, state by storage proofs ([`membria_verifier`]).

use std::{
	sync::atomic::{AtomicU64, Ordering},
	time::Duration,
};

use codec::{Decode, Encode};
use membria_verifier::{FinalityProof, Header};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use sp_core::H256;

/// Why a call to the node failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
	#[error("the node at {url} is unreachable: {reason}")]
	Unreachable { url: String, reason: String },
	#[error("the node refused {method}: {message} (code {code})")]
	Refused { method: String, code: i64, message: String },
	#[error("the node's answer to {method} is malformed: {reason}")]
	Malformed { method: String, reason: String },
}

/// A JSON-RPC client of one node.
pub struct NodeRpc {
	http: reqwest::Client,
	url: String,
	next_id: AtomicU64,
}

/// `0x`-prefixed lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
	format!("0x{}", hex::encode(bytes))
}

/// Bytes from `0x`-prefixed (or bare) hex.
pub fn from_hex(text: &str) -> Result<Vec<u8>, String> {
	hex::decode(text.strip_prefix("0x").unwrap_or(text)).map_err(|e| e.to_string())
}

fn hash_from_hex(text: &str) -> Result<H256, String> {
	let bytes = from_hex(text)?;
	(bytes.len() == 32)
		.then(|| H256::from_slice(&bytes))
		.ok_or_else(|| format!("a hash of {} bytes", bytes.len()))
}

/// `url` with the scheme of the transport spoken: a Substrate node serves HTTP and WebSocket on
/// one port, so `ws://` and `http://` (`wss://` and `https://`) name the same endpoint.
pub fn node_url(url: &str, websocket: bool) -> String {
	let (plain, secure) = if websocket { ("ws://", "wss://") } else { ("http://", "https://") };
	if let Some(rest) = url.strip_prefix("ws://").or_else(|| url.strip_prefix("http://")) {
		format!("{plain}{rest}")
	} else if let Some(rest) = url.strip_prefix("wss://").or_else(|| url.strip_prefix("https://")) {
		format!("{secure}{rest}")
	} else {
		url.to_string()
	}
}

impl NodeRpc {
	/// A client of the node at `url` (`http://`, `https://`, `ws://` or `wss://`).
	pub fn new(url: &str) -> Self {
		let url = node_url(url, false);
		let http = reqwest::Client::builder()
			.timeout(Duration::from_secs(30))
			.build()
			.unwrap_or_default();
		Self { http, url, next_id: AtomicU64::new(1) }
	}

	/// The URL spoken to.
	pub fn url(&self) -> &str {
		&self.url
	}

	/// One JSON-RPC call.
	pub async fn call<T: DeserializeOwned>(
		&self,
		method: &str,
		params: Value,
	) -> Result<T, RpcError> {
		let id = self.next_id.fetch_add(1, Ordering::Relaxed);
		let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
		let unreachable = |reason: String| RpcError::Unreachable { url: self.url.clone(), reason };
		let response = self
			.http
			.post(&self.url)
			.json(&request)
			.send()
			.await
			.map_err(|e| unreachable(e.to_string()))?;
		let malformed = |reason: String| RpcError::Malformed { method: method.to_string(), reason };
		let mut body: Value = response.json().await.map_err(|e| malformed(e.to_string()))?;
		if let Some(error) = body.get("error") {
			return Err(RpcError::Refused {
				method: method.to_string(),
				code: error["code"].as_i64().unwrap_or_default(),
				message: error["message"].as_str().unwrap_or_default().to_string(),
			});
		}
		serde_json::from_value(body["result"].take()).map_err(|e| malformed(e.to_string()))
	}

	fn malformed(method: &str, reason: impl ToString) -> RpcError {
		RpcError::Malformed { method: method.to_string(), reason: reason.to_string() }
	}

	async fn call_hex(&self, method: &str, params: Value) -> Result<Option<Vec<u8>>, RpcError> {
		let text: Option<String> = self.call(method, params).await?;
		text.map(|text| from_hex(&text).map_err(|e| Self::malformed(method, e)))
			.transpose()
	}

	/// The hash of the finalized head.
	pub async fn finalized_head(&self) -> Result<H256, RpcError> {
		let text: String = self.call("chain_getFinalizedHead", json!([])).await?;
		hash_from_hex(&text).map_err(|e| Self::malformed("chain_getFinalizedHead", e))
	}

	/// The hash of the node's best block.
	pub async fn best_head(&self) -> Result<H256, RpcError> {
		let text: String = self.call("chain_getBlockHash", json!([])).await?;
		hash_from_hex(&text).map_err(|e| Self::malformed("chain_getBlockHash", e))
	}

	/// The hash of block `number` on the node's best chain.
	pub async fn block_hash(&self, number: u32) -> Result<Option<H256>, RpcError> {
		let text: Option<String> = self.call("chain_getBlockHash", json!([number])).await?;
		text.map(|text| hash_from_hex(&text).map_err(|e| Self::malformed("chain_getBlockHash", e)))
			.transpose()
	}

	/// A header by hash.
	pub async fn header(&self, hash: H256) -> Result<Header, RpcError> {
		let json: Value = self.call("chain_getHeader", json!([hash])).await?;
		header_from_json(&json).map_err(|e| Self::malformed("chain_getHeader", e))
	}

	/// A block's header and its GRANDPA justification, if the node stored one.
	pub async fn justified_header(
		&self,
		hash: H256,
	) -> Result<(Header, Option<Vec<u8>>), RpcError> {
		let json: Value = self.call("chain_getBlock", json!([hash])).await?;
		let header = header_from_json(&json["block"]["header"])
			.map_err(|e| Self::malformed("chain_getBlock", e))?;
		Ok((header, grandpa_justification(&json["justifications"])))
	}

	/// The node's proof of finality for `number`: the justification of the last block of the
	/// authority set `number` is in. `None` when that set is still the current one.
	pub async fn prove_finality(&self, number: u32) -> Result<Option<FinalityProof>, RpcError> {
		let method = "grandpa_proveFinality";
		match self.call_hex(method, json!([number])).await {
			Ok(Some(raw)) => FinalityProof::decode(&mut &raw[..])
				.map(Some)
				.map_err(|e| Self::malformed(method, e)),
			Ok(None) => Ok(None),
			// The node refuses blocks of the current set (no change recorded after them yet).
			Err(RpcError::Refused { .. }) => Ok(None),
			Err(error) => Err(error),
		}
	}

	/// A storage proof of `keys` at block `at`.
	pub async fn read_proof(&self, keys: &[Vec<u8>], at: H256) -> Result<Vec<Vec<u8>>, RpcError> {
		let method = "state_getReadProof";
		let keys: Vec<String> = keys.iter().map(|k| to_hex(k)).collect();
		let json: Value = self.call(method, json!([keys, at])).await?;
		json["proof"]
			.as_array()
			.ok_or_else(|| Self::malformed(method, "no proof nodes"))?
			.iter()
			.map(|node| {
				node.as_str()
					.ok_or_else(|| "a proof node is not a string".to_string())
					.and_then(from_hex)
					.map_err(|e| Self::malformed(method, e))
			})
			.collect()
	}

	/// A storage value at block `at` (unproven).
	pub async fn storage(&self, key: &[u8], at: H256) -> Result<Option<Vec<u8>>, RpcError> {
		self.call_hex("state_getStorage", json!([to_hex(key), at])).await
	}

	/// The runtime's metadata at block `at` (`RuntimeMetadataPrefixed`, SCALE).
	pub async fn metadata(&self, at: H256) -> Result<Vec<u8>, RpcError> {
		let method = "state_getMetadata";
		self.call_hex(method, json!([at]))
			.await?
			.ok_or_else(|| Self::malformed(method, "none"))
	}

	/// Up to `count` storage keys under `prefix` at block `at`, after `start` when given.
	pub async fn keys_paged(
		&self,
		prefix: &[u8],
		count: u32,
		start: Option<&[u8]>,
		at: H256,
	) -> Result<Vec<Vec<u8>>, RpcError> {
		let method = "state_getKeysPaged";
		let keys: Vec<String> =
			self.call(method, json!([to_hex(prefix), count, start.map(to_hex), at])).await?;
		keys.iter()
			.map(|k| from_hex(k).map_err(|e| Self::malformed(method, e)))
			.collect()
	}

	/// The values of `keys` at block `at` (unproven), in the order asked; `None` for no value.
	pub async fn storage_many(
		&self,
		keys: &[Vec<u8>],
		at: H256,
	) -> Result<Vec<Option<Vec<u8>>>, RpcError> {
		let method = "state_queryStorageAt";
		if keys.is_empty() {
			return Ok(Vec::new());
		}
		let hex_keys: Vec<String> = keys.iter().map(|k| to_hex(k)).collect();
		let json: Value = self.call(method, json!([hex_keys, at])).await?;
		let mut found = std::collections::HashMap::new();
		for set in json.as_array().into_iter().flatten() {
			for change in set["changes"].as_array().into_iter().flatten() {
				let (Some(key), value) = (change[0].as_str(), change[1].as_str()) else {
					return Err(Self::malformed(method, "a change is not [key, value]"));
				};
				let key = from_hex(key).map_err(|e| Self::malformed(method, e))?;
				let value =
					value.map(from_hex).transpose().map_err(|e| Self::malformed(method, e))?;
				found.insert(key, value);
			}
		}
		Ok(keys.iter().map(|key| found.remove(key).flatten()).collect())
	}

	/// The runtime's `spec_version` at block `at`.
	pub async fn spec_version_at(&self, at: H256) -> Result<u32, RpcError> {
		let method = "state_getRuntimeVersion";
		let json: Value = self.call(method, json!([at])).await?;
		json["specVersion"]
			.as_u64()
			.and_then(|v| u32::try_from(v).ok())
			.ok_or_else(|| Self::malformed(method, "no specVersion"))
	}

	/// Calls a runtime API at block `at` and decodes its SCALE result.
	pub async fn runtime_call<T: Decode>(
		&self,
		function: &str,
		args: impl Encode,
		at: H256,
	) -> Result<T, RpcError> {
		let method = "state_call";
		let raw = self
			.call_hex(method, json!([function, to_hex(&args.encode()), at]))
			.await?
			.ok_or_else(|| Self::malformed(method, "no result"))?;
		T::decode(&mut &raw[..]).map_err(|e| Self::malformed(function, e))
	}

	/// `(spec_version, transaction_version)` of the runtime at the best block.
	pub async fn runtime_version(&self) -> Result<(u32, u32), RpcError> {
		let method = "state_getRuntimeVersion";
		let json: Value = self.call(method, json!([])).await?;
		let field = |name: &str| {
			json[name]
				.as_u64()
				.and_then(|v| u32::try_from(v).ok())
				.ok_or_else(|| Self::malformed(method, format!("no {name}")))
		};
		Ok((field("specVersion")?, field("transactionVersion")?))
	}

	/// The next nonce of an account (SS58), pending transactions included.
	pub async fn account_next_index(&self, ss58: &str) -> Result<u32, RpcError> {
		self.call("system_accountNextIndex", json!([ss58])).await
	}

	/// Submits a SCALE-encoded extrinsic; its hash.
	pub async fn submit_extrinsic(&self, extrinsic: &[u8]) -> Result<H256, RpcError> {
		let method = "author_submitExtrinsic";
		let text: String = self.call(method, json!([to_hex(extrinsic)])).await?;
		hash_from_hex(&text).map_err(|e| Self::malformed(method, e))
	}
}

/// A header from its JSON-RPC form (digest items are SCALE hex).
pub fn header_from_json(json: &Value) -> Result<Header, String> {
	let text = |name: &str| json[name].as_str().ok_or_else(|| format!("the header has no {name}"));
	let hash = |name: &str| text(name).and_then(hash_from_hex);
	let number = text("number")?;
	let number = u32::from_str_radix(number.strip_prefix("0x").unwrap_or(number), 16)
		.map_err(|e| format!("header number: {e}"))?;
	let logs = json["digest"]["logs"]
		.as_array()
		.ok_or("the header has no digest")?
		.iter()
		.map(|log| {
			let raw = from_hex(log.as_str().ok_or("a digest item is not a string")?)?;
			sp_runtime::DigestItem::decode(&mut &raw[..]).map_err(|e| e.to_string())
		})
		.collect::<Result<_, String>>()?;
	Ok(Header {
		parent_hash: hash("parentHash")?,
		number,
		state_root: hash("stateRoot")?,
		extrinsics_root: hash("extrinsicsRoot")?,
		digest: sp_runtime::Digest { logs },
	})
}

/// The GRANDPA (`FRNK`) justification among a block's justifications, if it has one.
pub fn grandpa_justification(justifications: &Value) -> Option<Vec<u8>> {
	let as_bytes = |value: &Value| -> Option<Vec<u8>> {
		match value {
			Value::String(text) => from_hex(text).ok(),
			Value::Array(items) => {
				items.iter().map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok())).collect()
			},
			_ => None,
		}
	};
	justifications.as_array()?.iter().find_map(|pair| {
		let engine = as_bytes(pair.get(0)?)?;
		(engine == b"FRNK").then(|| as_bytes(pair.get(1)?)).flatten()
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn one_node_url_for_each_transport() {
		assert_eq!(node_url("ws://127.0.0.1:9944", false), "http://127.0.0.1:9944");
		assert_eq!(node_url("http://127.0.0.1:9944", true), "ws://127.0.0.1:9944");
		assert_eq!(node_url("wss://node.example:443", false), "https://node.example:443");
		assert_eq!(node_url("https://node.example", true), "wss://node.example");
		assert_eq!(node_url("http://127.0.0.1:9944", false), "http://127.0.0.1:9944");
		assert_eq!(node_url("127.0.0.1:9944", true), "127.0.0.1:9944");
	}

	#[test]
	fn headers_decode_from_json_and_refuse_garbage() {
		let json = json!({
			"parentHash": to_hex(&[1; 32]),
			"number": "0x1f",
			"stateRoot": to_hex(&[2; 32]),
			"extrinsicsRoot": to_hex(&[3; 32]),
			"digest": {"logs": [to_hex(&sp_runtime::DigestItem::Other(vec![7]).encode())]},
		});
		let header = header_from_json(&json).unwrap();
		assert_eq!(header.number, 31);
		assert_eq!(header.state_root, H256([2; 32]));
		assert_eq!(header.digest.logs.len(), 1);
		let mut bad = json.clone();
		bad["number"] = json!("0xzz");
		assert!(header_from_json(&bad).is_err());
		let mut bad = json.clone();
		bad["stateRoot"] = json!("0x0102");
		assert!(header_from_json(&bad).is_err());
		let mut bad = json;
		bad["digest"]["logs"] = json!(["0xff"]);
		assert!(header_from_json(&bad).is_err());
	}

	#[test]
	fn the_grandpa_justification_is_found_among_others() {
		let justifications = json!([[[66, 69, 69, 70], "0x01"], [[70, 82, 78, 75], "0x0203"]]);
		assert_eq!(grandpa_justification(&justifications), Some(vec![2, 3]));
		assert_eq!(grandpa_justification(&json!(null)), None);
		assert_eq!(grandpa_justification(&json!([[[66, 69, 69, 70], "0x01"]])), None);
	}

	#[test]
	fn websocket_urls_are_spoken_to_over_http() {
		assert_eq!(NodeRpc::new("ws://127.0.0.1:9944").url(), "http://127.0.0.1:9944");
		assert_eq!(NodeRpc::new("http://a:1").url(), "http://a:1");
	}
}
