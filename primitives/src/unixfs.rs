//! UnixFS files as Kubo's `ipfs add` builds them, and their CIDs.
//!
//! One implementation of "what CID does this body have", shared by the embedded IPFS node, the
//! IPFS client, the off-chain workers (in the runtime) and the device client:
//!
//! - fixed-size chunks of [`CHUNK_SIZE`] bytes (Kubo's `size-262144` chunker);
//! - a balanced DAG of at most [`MAX_LINKS`] links per node;
//! - sha2-256 everywhere;
//! - [`CidVersion::V0`] (`ipfs add`): every node is `dag-pb`, leaves are UnixFS `File` nodes
//!   carrying their chunk;
//! - [`CidVersion::V1`] (`ipfs add --cid-version=1`, which implies `--raw-leaves`): leaves are
//!   `raw` blocks, inner nodes `dag-pb`.
//!
//! A file of one chunk is that chunk's leaf. The protobuf encodings follow `dag-pb`'s canonical
//! form (links before data) and UnixFS's field order, so the bytes — and so the CIDs — are the
//! ones Kubo produces. The crate's tests check every vector computed by a real Kubo.
//!
//! [`decode_node`] reads `dag-pb` nodes back, which is what `cat` needs to walk a DAG.

use alloc::{string::String, vec::Vec};

use crate::cid::{validate_cid, CidVersion, ContentCodec};

/// Bytes per leaf (Kubo's default chunker, `size-262144`).
pub const CHUNK_SIZE: usize = 262_144;
/// Links per inner node (Kubo's balanced layout).
pub const MAX_LINKS: usize = 174;

const MULTIHASH_SHA2_256: [u8; 2] = [0x12, 0x20];
const CODEC_RAW: u8 = 0x55;
const CODEC_DAG_PB: u8 = 0x70;
const UNIXFS_FILE: u64 = 2;

/// One block of a UnixFS DAG: its binary CID and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
	pub cid: Vec<u8>,
	pub data: Vec<u8>,
}

/// A node built so far: its CID, the file bytes under it and its cumulative DAG size.
struct Built {
	cid: Vec<u8>,
	file_size: u64,
	dag_size: u64,
}

/// The binary CID of `data` as a block of `codec`, under `version`'s prefix.
pub fn block_cid(version: CidVersion, codec: ContentCodec, data: &[u8]) -> Vec<u8> {
	let digest = sp_crypto_hashing::sha2_256(data);
	let mut cid = Vec::with_capacity(36);
	if version == CidVersion::V1 {
		cid.push(0x01);
		cid.push(match codec {
			ContentCodec::Raw => CODEC_RAW,
			ContentCodec::DagPb => CODEC_DAG_PB,
		});
	}
	cid.extend_from_slice(&MULTIHASH_SHA2_256);
	cid.extend_from_slice(&digest);
	cid
}

/// Builds the UnixFS DAG of `data` the way `ipfs add` does and hands every block to `store`,
/// leaves first, the root last. Returns the root's binary CID.
pub fn add_file(data: &[u8], version: CidVersion, mut store: impl FnMut(Block)) -> Vec<u8> {
	let mut level: Vec<Built> = Vec::new();
	let mut chunks = data.chunks(CHUNK_SIZE).peekable();
	if chunks.peek().is_none() {
		level.push(leaf(&[], version, &mut store));
	}
	for chunk in chunks {
		level.push(leaf(chunk, version, &mut store));
	}
	while level.len() > 1 {
		let mut parents = Vec::with_capacity(level.len().div_ceil(MAX_LINKS));
		let mut children = level.into_iter().peekable();
		while children.peek().is_some() {
			let group: Vec<Built> = children.by_ref().take(MAX_LINKS).collect();
			parents.push(inner(&group, version, &mut store));
		}
		level = parents;
	}
	level.pop().map(|root| root.cid).unwrap_or_default()
}

/// The root CID `ipfs add` gives `data`, without keeping the blocks.
pub fn file_cid(data: &[u8], version: CidVersion) -> Vec<u8> {
	add_file(data, version, |_| {})
}

fn leaf(chunk: &[u8], version: CidVersion, store: &mut impl FnMut(Block)) -> Built {
	let (cid, block) = match version {
		CidVersion::V1 => (block_cid(version, ContentCodec::Raw, chunk), chunk.to_vec()),
		CidVersion::V0 => {
			let mut unixfs = Vec::with_capacity(chunk.len() + 16);
			put_varint_field(&mut unixfs, 1, UNIXFS_FILE);
			if !chunk.is_empty() {
				put_bytes_field(&mut unixfs, 2, chunk);
			}
			put_varint_field(&mut unixfs, 3, chunk.len() as u64);
			let mut node = Vec::with_capacity(unixfs.len() + 8);
			put_bytes_field(&mut node, 1, &unixfs);
			(block_cid(version, ContentCodec::DagPb, &node), node)
		},
	};
	let dag_size = block.len() as u64;
	store(Block { cid: cid.clone(), data: block });
	Built { cid, file_size: chunk.len() as u64, dag_size }
}

fn inner(children: &[Built], version: CidVersion, store: &mut impl FnMut(Block)) -> Built {
	let file_size: u64 = children.iter().map(|c| c.file_size).sum();
	let mut unixfs = Vec::with_capacity(16 + 5 * children.len());
	put_varint_field(&mut unixfs, 1, UNIXFS_FILE);
	put_varint_field(&mut unixfs, 3, file_size);
	for child in children {
		put_varint_field(&mut unixfs, 4, child.file_size);
	}
	let mut node = Vec::with_capacity(unixfs.len() + 48 * children.len());
	for child in children {
		let mut link = Vec::with_capacity(48);
		put_bytes_field(&mut link, 1, &child.cid);
		put_bytes_field(&mut link, 2, b"");
		put_varint_field(&mut link, 3, child.dag_size);
		put_bytes_field(&mut node, 2, &link);
	}
	put_bytes_field(&mut node, 1, &unixfs);
	let cid = block_cid(version, ContentCodec::DagPb, &node);
	let dag_size = node.len() as u64 + children.iter().map(|c| c.dag_size).sum::<u64>();
	store(Block { cid: cid.clone(), data: node });
	Built { cid, file_size, dag_size }
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
	while value >= 0x80 {
		out.push((value as u8) | 0x80);
		value >>= 7;
	}
	out.push(value as u8);
}

fn put_varint_field(out: &mut Vec<u8>, field: u64, value: u64) {
	put_varint(out, field << 3);
	put_varint(out, value);
}

fn put_bytes_field(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
	put_varint(out, (field << 3) | 2);
	put_varint(out, bytes.len() as u64);
	out.extend_from_slice(bytes);
}

/// Why bytes are not a UnixFS `dag-pb` node this crate can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeError {
	/// The protobuf ends inside a field or uses a wire type `dag-pb` does not.
	Malformed,
	/// A link's hash is not a sha2-256 CID.
	BadLink,
	/// The node's UnixFS type is not a file (directories, symlinks… are not bodies).
	NotAFile,
}

/// What `cat` needs of a `dag-pb` node: its children in order and the file bytes it carries.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FileNode {
	/// Binary CIDs of the children, in file order.
	pub links: Vec<Vec<u8>>,
	/// File bytes held in the node itself (leaves in CIDv0 DAGs).
	pub data: Vec<u8>,
	/// The file size the node declares for its subtree.
	pub file_size: Option<u64>,
}

/// Decodes a UnixFS file node (`dag-pb`).
pub fn decode_node(bytes: &[u8]) -> Result<FileNode, NodeError> {
	let mut node = FileNode::default();
	let mut unixfs: Option<&[u8]> = None;
	let mut reader = Reader { bytes };
	while !reader.bytes.is_empty() {
		let (field, value) = reader.field()?;
		match (field, value) {
			(2, Value::Bytes(link)) => node.links.push(decode_link(link)?),
			(1, Value::Bytes(data)) => unixfs = Some(data),
			_ => return Err(NodeError::Malformed),
		}
	}
	let mut reader = Reader { bytes: unixfs.unwrap_or_default() };
	let mut is_file = false;
	while !reader.bytes.is_empty() {
		match reader.field()? {
			// Type: File (2) or Raw (0, written by old go-ipfs for leaves).
			(1, Value::Varint(kind)) => is_file = kind == UNIXFS_FILE || kind == 0,
			(2, Value::Bytes(data)) => node.data = data.to_vec(),
			(3, Value::Varint(size)) => node.file_size = Some(size),
			(_, _) => {},
		}
	}
	if is_file {
		Ok(node)
	} else {
		Err(NodeError::NotAFile)
	}
}

fn decode_link(bytes: &[u8]) -> Result<Vec<u8>, NodeError> {
	let mut reader = Reader { bytes };
	let mut hash = None;
	while !reader.bytes.is_empty() {
		if let (1, Value::Bytes(cid)) = reader.field()? {
			hash = Some(cid);
		}
	}
	let cid = hash.ok_or(NodeError::BadLink)?;
	validate_cid(cid).map_err(|_| NodeError::BadLink)?;
	Ok(cid.to_vec())
}

enum Value<'a> {
	Varint(u64),
	Bytes(&'a [u8]),
}

struct Reader<'a> {
	bytes: &'a [u8],
}

impl<'a> Reader<'a> {
	fn varint(&mut self) -> Result<u64, NodeError> {
		let mut value = 0u64;
		for shift in (0..64).step_by(7) {
			let (&byte, rest) = self.bytes.split_first().ok_or(NodeError::Malformed)?;
			self.bytes = rest;
			value |= u64::from(byte & 0x7f) << shift;
			if byte & 0x80 == 0 {
				return Ok(value);
			}
		}
		Err(NodeError::Malformed)
	}

	fn field(&mut self) -> Result<(u64, Value<'a>), NodeError> {
		let key = self.varint()?;
		let value = match key & 7 {
			0 => Value::Varint(self.varint()?),
			2 => {
				let len = usize::try_from(self.varint()?).map_err(|_| NodeError::Malformed)?;
				if len > self.bytes.len() {
					return Err(NodeError::Malformed);
				}
				let (value, rest) = self.bytes.split_at(len);
				self.bytes = rest;
				Value::Bytes(value)
			},
			_ => return Err(NodeError::Malformed),
		};
		Ok((key >> 3, value))
	}
}

/// Why a text CID cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CidTextError {
	/// Neither a base58btc CIDv0 (`Qm…`) nor a base32 CIDv1 (`b…`).
	UnknownEncoding,
	/// A character outside the encoding's alphabet.
	BadCharacter,
	/// Decodes, but not to a sha2-256 CID of a supported codec.
	NotSupported,
}

/// The text form Kubo prints: base58btc for CIDv0, multibase base32 (`b…`) for CIDv1.
pub fn cid_to_text(cid: &[u8]) -> String {
	if cid.first() == Some(&0x01) {
		let mut text = String::with_capacity(1 + cid.len().div_ceil(5) * 8);
		text.push('b');
		base32_encode(cid, &mut text);
		text
	} else {
		bs58::encode(cid).into_string()
	}
}

/// Reads a CID printed by Kubo (`Qm…` or `b…`) into its binary form.
pub fn cid_from_text(text: &str) -> Result<Vec<u8>, CidTextError> {
	let cid = if text.len() == 46 && text.starts_with("Qm") {
		bs58::decode(text).into_vec().map_err(|_| CidTextError::BadCharacter)?
	} else if let Some(body) = text.strip_prefix('b') {
		base32_decode(body)?
	} else {
		return Err(CidTextError::UnknownEncoding);
	};
	validate_cid(&cid).map_err(|_| CidTextError::NotSupported)?;
	Ok(cid)
}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn base32_encode(bytes: &[u8], out: &mut String) {
	let mut buffer = 0u32;
	let mut bits = 0;
	for &byte in bytes {
		buffer = (buffer << 8) | u32::from(byte);
		bits += 8;
		while bits >= 5 {
			bits -= 5;
			out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
		}
	}
	if bits > 0 {
		out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
	}
}

fn base32_decode(text: &str) -> Result<Vec<u8>, CidTextError> {
	let mut out = Vec::with_capacity(text.len() * 5 / 8);
	let mut buffer = 0u32;
	let mut bits = 0;
	for character in text.bytes() {
		let value = match character {
			b'a'..=b'z' => character - b'a',
			b'2'..=b'7' => character - b'2' + 26,
			_ => return Err(CidTextError::BadCharacter),
		};
		buffer = (buffer << 5) | u32::from(value);
		bits += 5;
		if bits >= 8 {
			bits -= 8;
			out.push((buffer >> bits) as u8);
		}
	}
	Ok(out)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn one_chunk_files_are_their_leaf() {
		let data = b"hello world\n";
		let v1 = file_cid(data, CidVersion::V1);
		assert_eq!(v1, block_cid(CidVersion::V1, ContentCodec::Raw, data));
		let mut blocks = Vec::new();
		let v0 = add_file(data, CidVersion::V0, |b| blocks.push(b));
		assert_eq!(blocks.len(), 1);
		let node = decode_node(&blocks[0].data).unwrap();
		assert_eq!(node.data, data);
		assert!(node.links.is_empty());
		assert_eq!(blocks[0].cid, v0);
	}

	#[test]
	fn inner_nodes_link_every_chunk_in_order() {
		let data: Vec<u8> = (0..(CHUNK_SIZE * 3 + 5)).map(|i| (i % 251) as u8).collect();
		let mut blocks = Vec::new();
		let root = add_file(&data, CidVersion::V1, |b| blocks.push(b));
		assert_eq!(blocks.len(), 5);
		let root_block = blocks.last().unwrap();
		assert_eq!(root_block.cid, root);
		let node = decode_node(&root_block.data).unwrap();
		assert_eq!(node.file_size, Some(data.len() as u64));
		let leaves: Vec<_> = blocks[..4].iter().map(|b| b.cid.clone()).collect();
		assert_eq!(node.links, leaves);
	}

	#[test]
	fn more_chunks_than_links_make_a_deeper_tree() {
		let data = alloc::vec![7u8; CHUNK_SIZE * (MAX_LINKS + 1)];
		let mut roots = Vec::new();
		let root = add_file(&data, CidVersion::V1, |b| roots.push(b));
		let top = decode_node(&roots.last().unwrap().data).unwrap();
		assert_eq!(roots.last().unwrap().cid, root);
		assert_eq!(top.links.len(), 2, "a full node of 174 leaves and a node of one");
		assert_eq!(top.file_size, Some(data.len() as u64));
	}

	#[test]
	fn text_cids_round_trip() {
		let v1 = file_cid(b"", CidVersion::V1);
		assert_eq!(cid_to_text(&v1), "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
		let v0 = file_cid(b"", CidVersion::V0);
		assert_eq!(cid_to_text(&v0), "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
		assert_eq!(cid_from_text(&cid_to_text(&v1)).unwrap(), v1);
		assert_eq!(cid_from_text(&cid_to_text(&v0)).unwrap(), v0);
		assert_eq!(cid_from_text("zdj7W"), Err(CidTextError::UnknownEncoding));
		assert_eq!(cid_from_text("bafy!"), Err(CidTextError::BadCharacter));
		assert_eq!(cid_from_text("baaaa"), Err(CidTextError::NotSupported));
	}

	#[test]
	fn malformed_nodes_are_refused() {
		assert_eq!(decode_node(&[0x12, 0x05, 0x0a]), Err(NodeError::Malformed));
		assert_eq!(decode_node(&[0x0f]), Err(NodeError::Malformed));
		// A directory (UnixFS type 1) is not a file.
		assert_eq!(decode_node(&[0x0a, 0x02, 0x08, 0x01]), Err(NodeError::NotAFile));
		// A link whose hash is not a CID.
		assert_eq!(decode_node(&[0x12, 0x03, 0x0a, 0x01, 0x00]), Err(NodeError::BadLink));
	}
}
