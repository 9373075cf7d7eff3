//! The device's root of trust and the check of everything it is sent.
//!
//! The trusted GRANDPA authority set comes from the chain spec's raw genesis storage (never from
//! a node or a gateway), and moves only through authority-set changes the trusted set itself
//! justified. It lives in `trust.json` in the data dir. [`Trust::verify`] checks a [`Proven`]
//! response whole — set changes, finality, one storage proof for every entry, every body — and
//! refuses it whole with the first step that failed: nothing of a bad response is loaded.

use std::path::{Path, PathBuf};

use codec::{Decode, Encode};
use membria_offchain::Body;
use membria_verifier::{
	follow_set_change, verify_body, verify_entries, verify_finality, AuthorityList, AuthoritySet,
	FinalizedHeader, Header, VerifiedEntry, VerifyError,
};
use serde::{Deserialize, Serialize};

use crate::wire::{HexBytes, Justified, Proven};

/// Why the device refused what it was sent, or could not keep its trust root.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
	#[error("authority-set change {index}: {source}")]
	SetChange { index: usize, source: VerifyError },
	#[error("finality: {0}")]
	Finality(VerifyError),
	#[error("storage proof: {0}")]
	State(VerifyError),
	#[error("body of entry {id}: {source}")]
	Body { id: u64, source: VerifyError },
	#[error("undecodable {what}: {reason}")]
	Undecodable { what: &'static str, reason: String },
	#[error("entry {0} is listed twice")]
	DuplicateEntry(u64),
	#[error("the chain spec {path}: {reason}")]
	ChainSpec { path: PathBuf, reason: String },
	#[error("no trust root in {0}: pass --chain-spec <raw chain spec> once (or put it at <data-dir>/chain-spec.json)")]
	NoTrustRoot(PathBuf),
	#[error("trust root I/O at {path}: {reason}")]
	Io { path: PathBuf, reason: String },
}

/// A verified entry with its verified body.
#[derive(Clone, Debug)]
pub struct ProvenEntry {
	pub verified: VerifiedEntry,
	pub body: Body,
	/// The body's exact bytes.
	pub bytes: Vec<u8>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct TrustRecord {
	set_id: u64,
	/// SCALE of the authority list.
	authorities: HexBytes,
	/// The block whose justification handed over to this set (0: the genesis set).
	set_start: u32,
	/// The newest finalized block this device proved.
	last_proven: u32,
}

/// The trusted authority set, on disk.
pub struct Trust {
	path: PathBuf,
	set: AuthoritySet,
	set_start: u32,
	last_proven: u32,
}

const FILE: &str = "trust.json";

fn io_error(path: &Path, error: impl ToString) -> TrustError {
	TrustError::Io {
		path: path.to_path_buf(),
		reason: error.to_string(),
	}
}

impl Trust {
	/// The trust root kept in `data_dir`.
	pub fn open(data_dir: &Path) -> Result<Self, TrustError> {
		let path = data_dir.join(FILE);
		let raw = match std::fs::read(&path) {
			Ok(raw) => raw,
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
				return Err(TrustError::NoTrustRoot(data_dir.to_path_buf()))
			}
			Err(e) => return Err(io_error(&path, e)),
		};
		let record: TrustRecord = serde_json::from_slice(&raw).map_err(|e| io_error(&path, e))?;
		let authorities = AuthorityList::decode(&mut &record.authorities.0[..])
			.map_err(|e| io_error(&path, e))?;
		Ok(Self {
			path,
			set: AuthoritySet {
				set_id: record.set_id,
				authorities,
			},
			set_start: record.set_start,
			last_proven: record.last_proven,
		})
	}

	/// A trust root from a raw chain spec (`membria-node build-spec --raw`), saved in
	/// `data_dir`: the genesis authority set.
	pub fn from_chain_spec(data_dir: &Path, spec: &Path) -> Result<Self, TrustError> {
		let bad = |reason: String| TrustError::ChainSpec {
			path: spec.to_path_buf(),
			reason,
		};
		let raw = std::fs::read(spec).map_err(|e| bad(e.to_string()))?;
		let json: serde_json::Value =
			serde_json::from_slice(&raw).map_err(|e| bad(format!("not JSON: {e}")))?;
		let top = json["genesis"]["raw"]["top"].as_object().ok_or_else(|| {
			bad("no raw genesis storage (export it with `build-spec --raw`)".into())
		})?;
		let key = crate::rpc::to_hex(&AuthoritySet::storage_key());
		let value = top
			.get(&key)
			.and_then(|v| v.as_str())
			.ok_or_else(|| bad("no GRANDPA authorities in its genesis".into()))?;
		let value = crate::rpc::from_hex(value).map_err(bad)?;
		let set = AuthoritySet::from_genesis_value(&value).map_err(|e| bad(e.to_string()))?;
		std::fs::create_dir_all(data_dir).map_err(|e| io_error(data_dir, e))?;
		let trust = Self {
			path: data_dir.join(FILE),
			set,
			set_start: 0,
			last_proven: 0,
		};
		trust.save()?;
		Ok(trust)
	}

	fn save(&self) -> Result<(), TrustError> {
		let record = TrustRecord {
			set_id: self.set.set_id,
			authorities: HexBytes(self.set.authorities.encode()),
			set_start: self.set_start,
			last_proven: self.last_proven,
		};
		let json = serde_json::to_vec_pretty(&record).map_err(|e| io_error(&self.path, e))?;
		let tmp = self.path.with_extension("tmp");
		std::fs::write(&tmp, json).map_err(|e| io_error(&tmp, e))?;
		std::fs::rename(&tmp, &self.path).map_err(|e| io_error(&self.path, e))
	}

	/// The set the device trusts now.
	pub fn set(&self) -> &AuthoritySet {
		&self.set
	}

	/// The block that handed over to the trusted set (0 for the genesis set): servers send the
	/// set changes after it.
	pub fn set_start(&self) -> u32 {
		self.set_start
	}

	/// The newest finalized block this device proved.
	pub fn last_proven(&self) -> u32 {
		self.last_proven
	}

	/// Checks a justified header against the trusted set.
	pub fn verify_header(&self, justified: &Justified) -> Result<FinalizedHeader, TrustError> {
		let header = decode_header(&justified.header)?;
		verify_finality(&header, &justified.justification.0, &self.set)
			.map_err(TrustError::Finality)
	}

	/// Checks `proven` whole: its set changes from the trusted set on, its justified header, its
	/// storage proof for every entry, every body. Accepted set changes are kept (only when all
	/// of it verifies).
	pub fn verify(&mut self, proven: &Proven) -> Result<Vec<ProvenEntry>, TrustError> {
		self.verify_traced(proven, &mut |_| {})
	}

	/// [`Trust::verify`], telling `trace` what each step established.
	pub fn verify_traced(
		&mut self,
		proven: &Proven,
		trace: &mut dyn FnMut(String),
	) -> Result<Vec<ProvenEntry>, TrustError> {
		let mut set = self.set.clone();
		let mut set_start = self.set_start;
		trace(format!(
			"trusted authority set {} ({} authorities, from block {})",
			set.set_id,
			set.authorities.len(),
			set_start
		));
		for (index, change) in proven.set_changes.iter().enumerate() {
			let header = decode_header(&change.header)?;
			set = follow_set_change(&set, &header, &change.justification.0)
				.map_err(|source| TrustError::SetChange { index, source })?;
			set_start = header.number;
			trace(format!(
				"block {} justified by the trusted set hands over to set {} ({} authorities)",
				header.number,
				set.set_id,
				set.authorities.len()
			));
		}
		let header = decode_header(&proven.finality.header)?;
		let finalized = verify_finality(&header, &proven.finality.justification.0, &set)
			.map_err(TrustError::Finality)?;
		trace(format!(
			"block {} ({:?}) is final: its GRANDPA justification carries precommits of more than two thirds of set {}",
			finalized.number, finalized.hash, set.set_id
		));
		let mut ids = Vec::with_capacity(proven.entries.len());
		for body in &proven.entries {
			if ids.contains(&body.id) {
				return Err(TrustError::DuplicateEntry(body.id));
			}
			ids.push(body.id);
		}
		let proof = proven.proof.iter().map(|node| node.0.clone()).collect();
		let verified = if ids.is_empty() {
			Vec::new()
		} else {
			verify_entries(&finalized, proof, &ids).map_err(TrustError::State)?
		};
		for entry in &verified {
			trace(format!(
				"entry {}: the storage proof against state root {:?} shows it Validated ({:?}), the answer to its question, approved by {} stake",
				entry.id,
				finalized.state_root,
				entry.entry.status,
				entry.approving_stake.map_or("unrecorded".into(), |s| s.to_string())
			));
		}
		let entries = verified
			.into_iter()
			.zip(&proven.entries)
			.map(|(verified, body)| {
				let parsed = verify_body(&verified, &body.body.0).map_err(|source| {
					TrustError::Body {
						id: body.id,
						source,
					}
				})?;
				trace(format!(
					"entry {}: the body's {} bytes hash to its content hash and its CID {}; schema and question key hold",
					body.id,
					body.body.0.len(),
					membria_primitives::unixfs::cid_to_text(&verified.entry.cid)
				));
				Ok(ProvenEntry {
					verified,
					body: parsed,
					bytes: body.body.0.clone(),
				})
			})
			.collect::<Result<Vec<_>, TrustError>>()?;
		if set.set_id != self.set.set_id || finalized.number > self.last_proven {
			self.set = set;
			self.set_start = set_start;
			self.last_proven = self.last_proven.max(finalized.number);
			self.save()?;
		}
		Ok(entries)
	}
}

fn decode_header(raw: &HexBytes) -> Result<Header, TrustError> {
	Header::decode(&mut &raw.0[..]).map_err(|e| TrustError::Undecodable {
		what: "header",
		reason: e.to_string(),
	})
}
