//! A Kubo RPC client that verifies every body it reads against its CID.
//!
//! Built on the `ipfs-api` crates (hyper backend), so it speaks to a real Kubo, an IPFS Cluster
//! proxy, or the embedded node alike. Every call has a deadline; transport failures are retried
//! with a growing pause, while answers from the node (an unknown CID, a refused argument) are
//! returned at once.

use std::{io::Cursor, time::Duration};

use futures::TryStreamExt;
use ipfs_api_backend_hyper::{request::Add, Error as ApiError, IpfsApi, IpfsClient, TryFromUri};
use membria_primitives::{
	unixfs::{cid_from_text, cid_to_text, file_cid},
	validate_cid, CidVersion,
};

/// What can go wrong talking to IPFS.
#[derive(Debug, thiserror::Error)]
pub enum IpfsError {
	#[error("bad IPFS API URL {url:?}: {reason}")]
	BadUrl { url: String, reason: String },
	#[error("IPFS did not answer {operation} within {deadline:?} ({attempts} attempts)")]
	Timeout { operation: &'static str, deadline: Duration, attempts: u32 },
	#[error("IPFS unreachable during {operation} after {attempts} attempts: {reason}")]
	Unreachable { operation: &'static str, attempts: u32, reason: String },
	#[error("IPFS refused {operation}: {message}")]
	Refused { operation: &'static str, message: String },
	#[error("IPFS returned a CID that is not a sha2-256 CID: {0:?}")]
	BadCid(String),
	#[error("content from IPFS does not match {expected}: it hashes to {actual}")]
	Mismatch { expected: String, actual: String },
	#[error("IPFS stored the body under {returned}, but it should be {computed}")]
	WrongCid { returned: String, computed: String },
	#[error("content under {cid} is larger than {limit} bytes")]
	TooLarge { cid: String, limit: usize },
}

/// Deadlines and retries of a [`Client`].
#[derive(Clone, Debug)]
pub struct ClientOptions {
	/// Deadline of one attempt.
	pub deadline: Duration,
	/// Attempts per call (at least one).
	pub attempts: u32,
	/// Pause before the second attempt; doubled for each later one.
	pub backoff: Duration,
}

impl Default for ClientOptions {
	fn default() -> Self {
		Self { deadline: Duration::from_secs(10), attempts: 3, backoff: Duration::from_millis(200) }
	}
}

/// A verifying Kubo RPC client.
#[derive(Clone)]
pub struct Client {
	api: IpfsClient,
	options: ClientOptions,
}

/// A body stored on IPFS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
	/// Binary CID.
	pub cid: Vec<u8>,
	/// Text CID as Kubo prints it.
	pub cid_text: String,
}

impl Client {
	/// A client of the Kubo RPC API at `url` (e.g. `http://127.0.0.1:5001`).
	pub fn new(url: &str, options: ClientOptions) -> Result<Self, IpfsError> {
		let api = IpfsClient::from_str(url)
			.map_err(|error| IpfsError::BadUrl { url: url.into(), reason: error.to_string() })?;
		Ok(Self { api, options })
	}

	async fn call<T, F, Fut>(&self, operation: &'static str, mut attempt: F) -> Result<T, IpfsError>
	where
		F: FnMut() -> Fut,
		Fut: std::future::Future<Output = Result<T, ApiError>>,
	{
		let attempts = self.options.attempts.max(1);
		let mut pause = self.options.backoff;
		let mut last = None;
		for number in 1..=attempts {
			match tokio::time::timeout(self.options.deadline, attempt()).await {
				Ok(Ok(value)) => return Ok(value),
				Ok(Err(ApiError::Api(error))) => {
					return Err(IpfsError::Refused { operation, message: error.message })
				},
				Ok(Err(error)) => last = Some(error.to_string()),
				Err(_) => last = None,
			}
			tracing::debug!(operation, attempt = number, "IPFS call failed; retrying");
			if number < attempts {
				tokio::time::sleep(pause).await;
				pause *= 2;
			}
		}
		Err(match last {
			Some(reason) => IpfsError::Unreachable { operation, attempts, reason },
			None => IpfsError::Timeout { operation, deadline: self.options.deadline, attempts },
		})
	}

	/// Adds `body` pinned, as CIDv1 with raw leaves, and checks the node's CID against ours.
	pub async fn add(&self, body: &[u8]) -> Result<Stored, IpfsError> {
		let computed = file_cid(body, CidVersion::V1);
		let response = self
			.call("add", || {
				let options = Add {
					cid_version: Some(1),
					raw_leaves: Some(true),
					pin: Some(true),
					..Add::default()
				};
				self.api.add_with_options(Cursor::new(body.to_vec()), options)
			})
			.await?;
		let returned =
			cid_from_text(&response.hash).map_err(|_| IpfsError::BadCid(response.hash.clone()))?;
		if returned != computed {
			return Err(IpfsError::WrongCid {
				returned: response.hash,
				computed: cid_to_text(&computed),
			});
		}
		Ok(Stored { cid_text: response.hash, cid: computed })
	}

	/// Reads the file under the binary `cid` (at most `limit` bytes) and checks it against the
	/// CID before returning it.
	pub async fn cat(&self, cid: &[u8], limit: usize) -> Result<Vec<u8>, IpfsError> {
		let (version, _, _) = validate_cid(cid).map_err(|_| IpfsError::BadCid(hex(cid)))?;
		let text = cid_to_text(cid);
		let body = self
			.call("cat", || async {
				let mut stream = self.api.cat(&text);
				let mut body = Vec::new();
				while let Some(chunk) = stream.try_next().await? {
					body.extend_from_slice(&chunk);
					if body.len() > limit {
						break;
					}
				}
				Ok(body)
			})
			.await?;
		if body.len() > limit {
			return Err(IpfsError::TooLarge { cid: text, limit });
		}
		let actual = file_cid(&body, version);
		if actual != cid {
			return Err(IpfsError::Mismatch { expected: text, actual: cid_to_text(&actual) });
		}
		Ok(body)
	}

	/// Pins `cid` recursively.
	pub async fn pin(&self, cid: &[u8]) -> Result<(), IpfsError> {
		let text = cid_to_text(cid);
		self.call("pin/add", || self.api.pin_add(&text, true)).await.map(|_| ())
	}

	/// The node's version string (a cheap liveness check).
	pub async fn version(&self) -> Result<String, IpfsError> {
		self.call("version", || self.api.version()).await.map(|v| v.version)
	}
}

fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}
