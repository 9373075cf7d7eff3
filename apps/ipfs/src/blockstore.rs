//! A persistent, content-addressed block store on disk, with recursive pins.
//!
//! Layout under the repo directory:
//! - `blocks/<cid>`: one file per block, named by the CID's text form (base32 CIDv1 for
//!   `raw`/`dag-pb` blocks, so names never depend on which version a caller used), written to a
//!   temporary file and renamed, so a crash never leaves half a block under a real name;
//! - `pins/<cid>`: one empty file per recursive pin, named by the root's text CID as added;
//! - `identity`: the node's ed25519 seed (its peer id survives restarts).
//!
//! Every block read back is re-hashed against its CID: a corrupted file is reported, never served.

use std::{
	io::{ErrorKind, Write},
	path::{Path, PathBuf},
};

use membria_primitives::{
	unixfs::{self, cid_to_text, decode_node, Block, NodeError},
	validate_cid, CidVersion, ContentCodec,
};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
	#[error("block was not found locally (offline): ipld: could not find {0}")]
	NotFound(String),
	#[error("block {0} is corrupted on disk: its bytes do not hash to its CID")]
	Corrupted(String),
	#[error("block {cid} is not a UnixFS file node: {reason:?}")]
	NotAFile { cid: String, reason: NodeError },
	#[error("{0} is not pinned or pinned indirectly")]
	NotPinned(String),
	#[error("file is larger than {limit} bytes")]
	TooLarge { limit: u64 },
	#[error("blockstore I/O at {path}: {source}")]
	Io { path: PathBuf, source: std::io::Error },
}

/// The on-disk store of one embedded node.
#[derive(Clone, Debug)]
pub struct BlockStore {
	root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
	move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// The file name a block is kept under: its CIDv1 text, whatever version names it.
fn block_name(cid: &[u8]) -> String {
	match validate_cid(cid) {
		Ok((CidVersion::V0, _, digest)) => {
			let mut v1 = vec![0x01, 0x70, 0x12, 0x20];
			v1.extend_from_slice(&digest);
			cid_to_text(&v1)
		},
		_ => cid_to_text(cid),
	}
}

impl BlockStore {
	/// Opens (creating if needed) the store in `root`.
	pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
		let root = root.into();
		for dir in [root.join("blocks"), root.join("pins")] {
			std::fs::create_dir_all(&dir).map_err(io(&dir))?;
		}
		Ok(Self { root })
	}

	/// The repo directory.
	pub fn root(&self) -> &Path {
		&self.root
	}

	/// The node's identity seed, created on first use.
	pub fn identity_seed(&self) -> Result<[u8; 32], StoreError> {
		let path = self.root.join("identity");
		match std::fs::read(&path) {
			Ok(bytes) if bytes.len() == 32 => {
				let mut seed = [0u8; 32];
				seed.copy_from_slice(&bytes);
				Ok(seed)
			},
			Ok(_) => Err(StoreError::Corrupted("identity".into())),
			Err(error) if error.kind() == ErrorKind::NotFound => {
				let seed: [u8; 32] = rand::random();
				self.write_atomically(&path, &seed)?;
				Ok(seed)
			},
			Err(error) => Err(io(&path)(error)),
		}
	}

	fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
		let tmp = path.with_extension(format!("tmp{}", rand::random::<u32>()));
		let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
		file.write_all(bytes).map_err(io(&tmp))?;
		file.sync_all().map_err(io(&tmp))?;
		std::fs::rename(&tmp, path).map_err(io(path))
	}

	/// Stores one block (a no-op when it is already there).
	pub fn put(&self, block: &Block) -> Result<(), StoreError> {
		let path = self.root.join("blocks").join(block_name(&block.cid));
		if path.exists() {
			return Ok(());
		}
		self.write_atomically(&path, &block.data)
	}

	/// Whether the store has the block.
	pub fn has(&self, cid: &[u8]) -> bool {
		self.root.join("blocks").join(block_name(cid)).exists()
	}

	/// Reads one block and checks it against its CID.
	pub fn get(&self, cid: &[u8]) -> Result<Vec<u8>, StoreError> {
		let path = self.root.join("blocks").join(block_name(cid));
		let data = match std::fs::read(&path) {
			Ok(data) => data,
			Err(error) if error.kind() == ErrorKind::NotFound => {
				return Err(StoreError::NotFound(cid_to_text(cid)))
			},
			Err(error) => return Err(io(&path)(error)),
		};
		let (_, _, digest) =
			validate_cid(cid).map_err(|_| StoreError::NotFound(cid_to_text(cid)))?;
		if sp_crypto_hashing::sha2_256(&data) != digest {
			return Err(StoreError::Corrupted(cid_to_text(cid)));
		}
		Ok(data)
	}

	/// Adds a whole file as `ipfs add` would, returning its root CID and DAG size.
	pub fn add_file(&self, data: &[u8], version: CidVersion) -> Result<(Vec<u8>, u64), StoreError> {
		let mut result = Ok(());
		let mut dag_size = 0u64;
		let root = unixfs::add_file(data, version, |block| {
			dag_size += block.data.len() as u64;
			if result.is_ok() {
				result = self.put(&block);
			}
		});
		result.map(|()| (root, dag_size))
	}

	/// Reads a whole UnixFS file back, walking its DAG; refuses files above `limit` bytes.
	pub fn cat(&self, cid: &[u8], limit: u64) -> Result<Vec<u8>, StoreError> {
		let mut out = Vec::new();
		self.cat_into(cid, limit, &mut out)?;
		Ok(out)
	}

	fn cat_into(&self, cid: &[u8], limit: u64, out: &mut Vec<u8>) -> Result<(), StoreError> {
		let data = self.get(cid)?;
		let codec = validate_cid(cid).map(|(_, codec, _)| codec);
		if codec == Ok(ContentCodec::Raw) {
			out.extend_from_slice(&data);
		} else {
			let node = decode_node(&data)
				.map_err(|reason| StoreError::NotAFile { cid: cid_to_text(cid), reason })?;
			if node.file_size.is_some_and(|size| size > limit) {
				return Err(StoreError::TooLarge { limit });
			}
			out.extend_from_slice(&node.data);
			for link in &node.links {
				self.cat_into(link, limit, out)?;
			}
		}
		if out.len() as u64 > limit {
			return Err(StoreError::TooLarge { limit });
		}
		Ok(())
	}

	/// Checks that every block under `cid` is present and intact.
	fn check_dag(&self, cid: &[u8]) -> Result<(), StoreError> {
		let data = self.get(cid)?;
		if validate_cid(cid).map(|(_, codec, _)| codec) == Ok(ContentCodec::DagPb) {
			let node = decode_node(&data)
				.map_err(|reason| StoreError::NotAFile { cid: cid_to_text(cid), reason })?;
			for link in &node.links {
				self.check_dag(link)?;
			}
		}
		Ok(())
	}

	/// Pins `cid` recursively; every block under it must be in the store.
	pub fn pin(&self, cid: &[u8]) -> Result<(), StoreError> {
		self.check_dag(cid)?;
		let path = self.root.join("pins").join(cid_to_text(cid));
		self.write_atomically(&path, b"")
	}

	/// Removes a recursive pin.
	pub fn unpin(&self, cid: &[u8]) -> Result<(), StoreError> {
		let path = self.root.join("pins").join(cid_to_text(cid));
		match std::fs::remove_file(&path) {
			Ok(()) => Ok(()),
			Err(error) if error.kind() == ErrorKind::NotFound => {
				Err(StoreError::NotPinned(cid_to_text(cid)))
			},
			Err(error) => Err(io(&path)(error)),
		}
	}

	/// Whether `cid` is pinned recursively.
	pub fn is_pinned(&self, cid: &[u8]) -> bool {
		self.root.join("pins").join(cid_to_text(cid)).exists()
	}

	/// The text CIDs of every recursive pin.
	pub fn pins(&self) -> Result<Vec<String>, StoreError> {
		let dir = self.root.join("pins");
		let mut pins = Vec::new();
		for item in std::fs::read_dir(&dir).map_err(io(&dir))? {
			let name = item.map_err(io(&dir))?.file_name();
			if let Some(name) = name.to_str() {
				if unixfs::cid_from_text(name).is_ok() {
					pins.push(name.to_string());
				}
			}
		}
		pins.sort();
		Ok(pins)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn files_round_trip_and_survive_reopening() {
		let dir = tempfile::tempdir().unwrap();
		let data: Vec<u8> = (0..600_000u32).map(|i| (i % 253) as u8).collect();
		let (root, dag_size) = {
			let store = BlockStore::open(dir.path()).unwrap();
			store.add_file(&data, CidVersion::V1).unwrap()
		};
		assert!(dag_size > data.len() as u64, "inner node bytes count in the DAG size");
		let store = BlockStore::open(dir.path()).unwrap();
		assert_eq!(store.cat(&root, 1 << 20).unwrap(), data);
		assert!(matches!(store.cat(&root, 1000), Err(StoreError::TooLarge { .. })));
		store.pin(&root).unwrap();
		assert!(store.is_pinned(&root));
		assert_eq!(store.pins().unwrap(), vec![cid_to_text(&root)]);
		store.unpin(&root).unwrap();
		assert!(matches!(store.unpin(&root), Err(StoreError::NotPinned(_))));
	}

	#[test]
	fn corrupted_and_missing_blocks_are_reported() {
		let dir = tempfile::tempdir().unwrap();
		let store = BlockStore::open(dir.path()).unwrap();
		let (root, _) = store.add_file(b"the body", CidVersion::V0).unwrap();
		assert_eq!(store.cat(&root, 100).unwrap(), b"the body");
		let path = dir.path().join("blocks").join(block_name(&root));
		std::fs::write(&path, b"tampered").unwrap();
		assert!(matches!(store.cat(&root, 100), Err(StoreError::Corrupted(_))));
		let missing = unixfs::file_cid(b"never added", CidVersion::V1);
		assert!(matches!(store.get(&missing), Err(StoreError::NotFound(_))));
		assert!(matches!(store.pin(&missing), Err(StoreError::NotFound(_))));
	}
}
