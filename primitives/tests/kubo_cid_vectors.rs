//! Every CID a real Kubo computed for `ipfs add` (CIDv0) and `ipfs add --cid-version=1` must come
//! out of [`membria_primitives::unixfs`] unchanged.

use membria_primitives::{
	unixfs::{cid_from_text, cid_to_text, file_cid},
	CidVersion,
};

struct Vector {
	name: String,
	content: Vec<u8>,
	cid_v0: String,
	cid_v1: String,
}

fn content(size: usize, spec: &str) -> Vec<u8> {
	if let Some(text) = spec.strip_prefix("literal:") {
		let bytes = text.replace("\\n", "\n").into_bytes();
		assert_eq!(bytes.len(), size, "literal vector of the declared size");
		return bytes;
	}
	let seed = spec.strip_prefix("prng:").expect("content is literal: or prng:");
	let mut out = Vec::with_capacity(size + 32);
	let mut i = 0u64;
	while out.len() < size {
		out.extend(sp_crypto_hashing::sha2_256(format!("{seed}:{i}").as_bytes()));
		i += 1;
	}
	out.truncate(size);
	out
}

fn vectors() -> Vec<Vector> {
	let table = include_str!("kubo-cid-vectors.tsv");
	table
		.lines()
		.filter(|line| !line.starts_with('#') && !line.starts_with("name\t"))
		.map(|line| {
			let fields: Vec<&str> = line.split('\t').collect();
			assert_eq!(fields.len(), 5, "five columns in {line:?}");
			Vector {
				name: fields[0].to_string(),
				content: content(fields[1].parse().expect("size"), fields[2]),
				cid_v0: fields[3].to_string(),
				cid_v1: fields[4].to_string(),
			}
		})
		.collect()
}

#[test]
fn every_kubo_vector_matches() {
	let vectors = vectors();
	assert!(vectors.len() >= 8, "the table has its vectors");
	for vector in vectors {
		let v0 = file_cid(&vector.content, CidVersion::V0);
		assert_eq!(cid_to_text(&v0), vector.cid_v0, "CIDv0 of {}", vector.name);
		let v1 = file_cid(&vector.content, CidVersion::V1);
		assert_eq!(cid_to_text(&v1), vector.cid_v1, "CIDv1 of {}", vector.name);
		assert_eq!(cid_from_text(&vector.cid_v0).unwrap(), v0);
		assert_eq!(cid_from_text(&vector.cid_v1).unwrap(), v1);
	}
}
