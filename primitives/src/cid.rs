//! Which content identifiers the chain accepts, in binary form.
//!
//! Membria stores entry bodies on IPFS the way Kubo's `ipfs add` does, with sha2-256: a CIDv0
//! (`0x12 0x20` + digest, the `Qm…` form) or a CIDv1 (`0x01`, codec `raw` 0x55 or `dag-pb`
//! 0x70, then the sha2-256 multihash; the `bafy…`/`bafk…` forms). The chain keeps the binary
//! CID, which is canonical (one CID, one byte string, whatever its text encoding).

/// Multihash code of sha2-256.
const SHA2_256: u8 = 0x12;
/// sha2-256 digest length.
const SHA2_256_LEN: u8 = 0x20;

/// CID version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CidVersion {
	V0,
	V1,
}

/// What the CID's content is: a UnixFS DAG node (`dag-pb`) or a raw block (`raw`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentCodec {
	DagPb,
	Raw,
}

/// Why bytes are not an acceptable CID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CidError {
	/// Fewer or more bytes than a sha2-256 CID has.
	BadLength,
	/// The version byte is neither CIDv1 nor the start of a CIDv0 multihash.
	UnsupportedVersion,
	/// The content codec is neither `raw` nor `dag-pb`.
	UnsupportedCodec,
	/// The multihash is not sha2-256 with a 32-byte digest.
	UnsupportedHash,
}

/// Checks that `bytes` is a binary sha2-256 CIDv0 or CIDv1 and returns its version, codec and
/// digest.
///
/// ```
/// use membria_primitives::{validate_cid, CidVersion, ContentCodec};
/// let mut v1 = vec![0x01, 0x55, 0x12, 0x20];
/// v1.extend([7u8; 32]);
/// assert_eq!(validate_cid(&v1).unwrap(), (CidVersion::V1, ContentCodec::Raw, [7u8; 32]));
/// assert!(validate_cid(b"QmNotBinary").is_err());
/// ```
pub fn validate_cid(bytes: &[u8]) -> Result<(CidVersion, ContentCodec, [u8; 32]), CidError> {
	let (version, codec, multihash) = match bytes.first() {
		Some(&SHA2_256) => (CidVersion::V0, ContentCodec::DagPb, bytes),
		Some(0x01) => {
			let codec = match bytes.get(1) {
				Some(0x55) => ContentCodec::Raw,
				Some(0x70) => ContentCodec::DagPb,
				Some(_) => return Err(CidError::UnsupportedCodec),
				None => return Err(CidError::BadLength),
			};
			(CidVersion::V1, codec, &bytes[2..])
		},
		Some(_) => return Err(CidError::UnsupportedVersion),
		None => return Err(CidError::BadLength),
	};
	match multihash {
		[SHA2_256, SHA2_256_LEN, digest @ ..] if digest.len() == 32 => {
			let mut out = [0u8; 32];
			out.copy_from_slice(digest);
			Ok((version, codec, out))
		},
		[SHA2_256, SHA2_256_LEN, ..] => Err(CidError::BadLength),
		[_, _, ..] => Err(CidError::UnsupportedHash),
		_ => Err(CidError::BadLength),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn v0(digest: u8) -> alloc::vec::Vec<u8> {
		let mut bytes = alloc::vec![0x12, 0x20];
		bytes.extend([digest; 32]);
		bytes
	}

	#[test]
	fn accepts_v0_and_v1() {
		assert_eq!(validate_cid(&v0(1)), Ok((CidVersion::V0, ContentCodec::DagPb, [1; 32])));
		let mut dag_pb = alloc::vec![0x01, 0x70];
		dag_pb.extend(v0(2));
		assert_eq!(validate_cid(&dag_pb), Ok((CidVersion::V1, ContentCodec::DagPb, [2; 32])));
	}

	#[test]
	fn refuses_what_is_not_a_sha256_cid() {
		assert_eq!(validate_cid(&[]), Err(CidError::BadLength));
		assert_eq!(validate_cid(&v0(1)[..33]), Err(CidError::BadLength));
		let mut long = v0(1);
		long.push(0);
		assert_eq!(validate_cid(&long), Err(CidError::BadLength));
		assert_eq!(validate_cid(&[0x02, 0x55, 0x12, 0x20]), Err(CidError::UnsupportedVersion));
		assert_eq!(validate_cid(b"bafkreih"), Err(CidError::UnsupportedVersion));
		let mut dag_cbor = alloc::vec![0x01, 0x71];
		dag_cbor.extend(v0(3));
		assert_eq!(validate_cid(&dag_cbor), Err(CidError::UnsupportedCodec));
		let mut blake3 = alloc::vec![0x01, 0x55, 0x1e, 0x20];
		blake3.extend([0; 32]);
		assert_eq!(validate_cid(&blake3), Err(CidError::UnsupportedHash));
		assert_eq!(validate_cid(&[0x01]), Err(CidError::BadLength));
	}
}
