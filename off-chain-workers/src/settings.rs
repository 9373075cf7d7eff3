//! Where the node leaves its off-chain settings for the workers: keys in the PERSISTENT
//! offchain storage, values SCALE-encoded byte strings (what `StorageValueRef::get::<Vec<u8>>`
//! reads).

use alloc::vec::Vec;

/// The Kubo RPC API base URL (`--ipfs-api`), e.g. `http://127.0.0.1:5001`, or several separated
/// by commas ([`endpoints`]): a validator fetches a body again from the next one when one fails
/// or serves bytes that are not the body's.
pub const IPFS_API: &[u8] = b"membria::ipfs-api";
/// The distiller base URL validators verify with (`--distiller`).
pub const DISTILLER: &[u8] = b"membria::distiller";
/// The distiller base URL the DoD agent distills with (`--dod-distiller`, else `--distiller`).
pub const DOD_DISTILLER: &[u8] = b"membria::dod-distiller";

/// The stored form of a setting: SCALE `Vec<u8>` (compact length, then the bytes).
pub fn encode_setting(value: &str) -> Vec<u8> {
	codec::Encode::encode(&value.as_bytes().to_vec())
}

/// The URLs of a setting that may list several, separated by commas (blanks around them and
/// empty items are ignored).
pub fn endpoints(value: &str) -> impl Iterator<Item = &str> {
	value.split(',').map(str::trim).filter(|url| !url.is_empty())
}

#[cfg(test)]
mod tests {
	#[test]
	fn a_setting_lists_one_endpoint_or_several() {
		let list = |value| super::endpoints(value).collect::<alloc::vec::Vec<_>>();
		assert_eq!(list("http://127.0.0.1:5001"), ["http://127.0.0.1:5001"]);
		assert_eq!(list("http://a:5001, http://b:5001,,"), ["http://a:5001", "http://b:5001"]);
		assert!(list(" , ").is_empty());
	}

	#[test]
	fn settings_decode_as_byte_strings() {
		let url = "http://127.0.0.1:5001";
		let stored = super::encode_setting(url);
		let decoded: alloc::vec::Vec<u8> = codec::Decode::decode(&mut &stored[..]).unwrap();
		assert_eq!(decoded, url.as_bytes());
	}
}
