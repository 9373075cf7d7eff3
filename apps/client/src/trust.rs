//! The device's root of trust and the check of everything it is sent.
//!
//! The trusted GRANDPA authority set comes from the chain spec's raw genesis storage (never from
//! a node or a gateway), and moves only through authority-set changes the trusted set itself
//! justified. It lives in `trust.json` in the data dir, with the newest finalized block the device
//! proved. [`Trust::check`] checks a [`Proven`] response whole — set changes, finality, that the
//! block is not older than the newest one proved, one storage proof for every entry, every body —
//! and refuses it whole with the first step that failed; [`Trust::keep`] then records what it
//! established. [`Trust::verify`] does both: nothing of a bad response is loaded or kept.

use std::path::{Path, PathBuf};

use codec::{Decode, Encode};
pub use membria_verifier::proven::ProvenEntry;
use membria_verifier::{
	proven::{verify_proven, ProvenError},
	verify_finality, AuthorityList, AuthoritySet, FinalizedHeader, Header, VerifyError,
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
	#[error("stale: the response is proven at block {proven_at}, older than block {newest} this device already proved (a replayed or lagging response); nothing of it is kept")]
	Stale { proven_at: u32, newest: u32 },
	#[error("the chain spec {path}: {reason}")]
	ChainSpec { path: PathBuf, reason: String },
	#[error("no trust root in {0}: pass --chain-spec <raw chain spec> once (or put it at <data-dir>/chain-spec.json)")]
	NoTrustRoot(PathBuf),
	#[error("trust root I/O at {path}: {reason}")]
	Io { path: PathBuf, reason: String },
}

/// The verifier's refusals of a [`Proven`] document, each as the device names it.
impl From<ProvenError> for TrustError {
	fn from(error: ProvenError) -> Self {
		match error {
			ProvenError::SetChange { index, source } => Self::SetChange { index, source },
			ProvenError::Finality(source) => Self::Finality(source),
			ProvenError::State(source) => Self::State(source),
			ProvenError::Body { id, source } => Self::Body { id, source },
			ProvenError::Undecodable { what, reason } => Self::Undecodable { what, reason },
			ProvenError::DuplicateEntry(id) => Self::DuplicateEntry(id),
		}
	}
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

/// What a [`Proven`] response established, checked whole but not yet kept: its entries, the
/// finalized block they are proven at (from the header the device verified), and the trusted set
/// it leads to. [`Trust::keep`] records it.
#[derive(Clone, Debug)]
pub struct Checked {
	pub entries: Vec<ProvenEntry>,
	/// The finalized block everything is proven at: the verified header's, never a number the
	/// server wrote.
	pub finalized: FinalizedHeader,
	set: AuthoritySet,
	set_start: u32,
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
	TrustError::Io { path: path.to_path_buf(), reason: error.to_string() }
}

impl Trust {
	/// The trust root kept in `data_dir`.
	pub fn open(data_dir: &Path) -> Result<Self, TrustError> {
		let path = data_dir.join(FILE);
		let raw = match std::fs::read(&path) {
			Ok(raw) => raw,
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
				return Err(TrustError::NoTrustRoot(data_dir.to_path_buf()))
			},
			Err(e) => return Err(io_error(&path, e)),
		};
		let record: TrustRecord = serde_json::from_slice(&raw).map_err(|e| io_error(&path, e))?;
		let authorities = AuthorityList::decode(&mut &record.authorities.0[..])
			.map_err(|e| io_error(&path, e))?;
		Ok(Self {
			path,
			set: AuthoritySet { set_id: record.set_id, authorities },
			set_start: record.set_start,
			last_proven: record.last_proven,
		})
	}

	/// A trust root from a raw chain spec (`membria-node build-spec --raw`), saved in
	/// `data_dir`: the genesis authority set.
	pub fn from_chain_spec(data_dir: &Path, spec: &Path) -> Result<Self, TrustError> {
		let bad = |reason: String| TrustError::ChainSpec { path: spec.to_path_buf(), reason };
		let raw = std::fs::read(spec).map_err(|e| bad(e.to_string()))?;
		let json: serde_json::Value =
			serde_json::from_slice(&raw).map_err(|e| bad(format!("not JSON: {e}")))?;
		let top = json["genesis"]["raw"]["top"].as_object().ok_or_else(|| {
			bad("no raw genesis storage (export it with `build-spec --raw`)".into())
		})?;
		let key = membria_chain::rpc::to_hex(&AuthoritySet::storage_key());
		let value = top
			.get(&key)
			.and_then(|v| v.as_str())
			.ok_or_else(|| bad("no GRANDPA authorities in its genesis".into()))?;
		let value = membria_chain::rpc::from_hex(value).map_err(bad)?;
		let set = AuthoritySet::from_genesis_value(&value).map_err(|e| bad(e.to_string()))?;
		std::fs::create_dir_all(data_dir).map_err(|e| io_error(data_dir, e))?;
		let trust = Self { path: data_dir.join(FILE), set, set_start: 0, last_proven: 0 };
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

	/// Checks `proven` whole and keeps what it established ([`Trust::check`], then
	/// [`Trust::keep`]): accepted set changes and the newest proven block are saved only when
	/// all of it verifies.
	pub fn verify(&mut self, proven: &Proven) -> Result<Vec<ProvenEntry>, TrustError> {
		self.verify_traced(proven, &mut |_| {})
	}

	/// [`Trust::verify`], telling `trace` what each step established.
	pub fn verify_traced(
		&mut self,
		proven: &Proven,
		trace: &mut dyn FnMut(String),
	) -> Result<Vec<ProvenEntry>, TrustError> {
		let checked = self.check_traced(proven, trace)?;
		self.keep(&checked)?;
		Ok(checked.entries)
	}

	/// Checks `proven` whole, changing nothing: its set changes from the trusted set on, its
	/// justified header, that the header is not older than the newest block this device proved
	/// ([`TrustError::Stale`]), its storage proof for every entry, every body.
	pub fn check(&self, proven: &Proven) -> Result<Checked, TrustError> {
		self.check_traced(proven, &mut |_| {})
	}

	/// [`Trust::check`], telling `trace` what each step established.
	pub fn check_traced(
		&self,
		proven: &Proven,
		trace: &mut dyn FnMut(String),
	) -> Result<Checked, TrustError> {
		// The check itself is pure, in the verifier, and the same code its fuzz targets run.
		let checked = verify_proven(&self.set, self.set_start, proven, trace)?;
		let finalized = checked.finalized;
		if finalized.number < self.last_proven {
			return Err(TrustError::Stale {
				proven_at: finalized.number,
				newest: self.last_proven,
			});
		}
		trace(format!(
			"block {} is not older than block {}, the newest this device proved",
			finalized.number, self.last_proven
		));
		Ok(Checked {
			entries: checked.entries,
			finalized,
			set: checked.set,
			set_start: checked.set_start,
		})
	}

	/// Keeps what a check established: the set it led to and its block as the newest proven,
	/// saved. Only ever forward: a later set, a newer block.
	pub fn keep(&mut self, checked: &Checked) -> Result<(), TrustError> {
		let new_set = checked.set.set_id > self.set.set_id;
		if !new_set && checked.finalized.number <= self.last_proven {
			return Ok(());
		}
		if new_set {
			self.set = checked.set.clone();
			self.set_start = checked.set_start;
		}
		self.last_proven = self.last_proven.max(checked.finalized.number);
		self.save()
	}
}

fn decode_header(raw: &HexBytes) -> Result<Header, TrustError> {
	Header::decode(&mut &raw.0[..])
		.map_err(|e| TrustError::Undecodable { what: "header", reason: e.to_string() })
}
