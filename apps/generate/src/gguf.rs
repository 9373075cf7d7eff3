//! A GGUF (v2/v3) reader: metadata, tensor directory, and tensors dequantized to `f32`
//! (`F32`, `F16`, `Q4_0`, `Q4_1`, `Q8_0`). Every read is bounds-checked: a truncated or malformed
//! file is an error, never a panic.

use std::{collections::HashMap, path::Path};

/// Why a GGUF file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
	#[error("reading {path}: {source}")]
	Io { path: String, source: std::io::Error },
	#[error("not a GGUF file (magic {0:02x?})")]
	BadMagic([u8; 4]),
	#[error("GGUF version {0} is not supported (2 and 3 are)")]
	Version(u32),
	#[error("the file ends inside {0}")]
	Truncated(&'static str),
	#[error("malformed {what}: {reason}")]
	Malformed { what: String, reason: String },
	#[error("no metadata {0}")]
	MissingKey(String),
	#[error("no tensor {0}")]
	MissingTensor(String),
	#[error("tensor {name} has type {kind}, which this reader does not dequantize")]
	UnsupportedType { name: String, kind: u32 },
}

/// A metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
	Int(i64),
	UInt(u64),
	Float(f64),
	Bool(bool),
	Str(String),
	Array(Vec<Value>),
}

/// Where a tensor is and what it is.
#[derive(Clone, Debug)]
pub struct TensorInfo {
	/// GGML dimensions, fastest first (`[columns, rows]` for a matrix).
	pub dims: Vec<u64>,
	/// GGML type.
	pub kind: u32,
	/// Offset from the start of the data section.
	pub offset: u64,
}

/// A tensor's stored bytes, borrowed from the file.
pub struct RawTensor<'a> {
	/// GGML type.
	pub kind: u32,
	/// GGML dimensions, fastest first.
	pub dims: &'a [u64],
	/// How many values.
	pub count: usize,
	/// The values as stored (whole blocks of `kind`).
	pub bytes: &'a [u8],
}

/// A GGUF file in memory.
pub struct Gguf {
	pub metadata: HashMap<String, Value>,
	pub tensors: HashMap<String, TensorInfo>,
	bytes: Vec<u8>,
	data_start: usize,
}

pub const F32: u32 = 0;
pub const F16: u32 = 1;
pub const Q4_0: u32 = 2;
pub const Q4_1: u32 = 3;
pub const Q8_0: u32 = 8;

struct Reader<'a> {
	bytes: &'a [u8],
	at: usize,
}

impl<'a> Reader<'a> {
	fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], GgufError> {
		let end = self
			.at
			.checked_add(n)
			.filter(|end| *end <= self.bytes.len())
			.ok_or(GgufError::Truncated(what))?;
		let out = &self.bytes[self.at..end];
		self.at = end;
		Ok(out)
	}

	fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], GgufError> {
		let mut out = [0u8; N];
		out.copy_from_slice(self.take(N, what)?);
		Ok(out)
	}

	fn u32(&mut self, what: &'static str) -> Result<u32, GgufError> {
		Ok(u32::from_le_bytes(self.array(what)?))
	}

	fn u64(&mut self, what: &'static str) -> Result<u64, GgufError> {
		Ok(u64::from_le_bytes(self.array(what)?))
	}

	/// A length that must fit in what is left of the file (at `unit` bytes per item at least).
	fn len(&mut self, what: &'static str, unit: usize) -> Result<usize, GgufError> {
		let n = self.u64(what)?;
		let left = (self.bytes.len() - self.at) as u64;
		if n.saturating_mul(unit.max(1) as u64) > left {
			return Err(GgufError::Truncated(what));
		}
		Ok(n as usize)
	}

	fn string(&mut self, what: &'static str) -> Result<String, GgufError> {
		let n = self.len(what, 1)?;
		let raw = self.take(n, what)?;
		String::from_utf8(raw.to_vec())
			.map_err(|e| GgufError::Malformed { what: what.into(), reason: e.to_string() })
	}

	fn value(&mut self, kind: u32, depth: usize) -> Result<Value, GgufError> {
		Ok(match kind {
			0 => Value::UInt(u64::from(self.array::<1>("u8")?[0])),
			1 => Value::Int(i64::from(self.array::<1>("i8")?[0] as i8)),
			2 => Value::UInt(u64::from(u16::from_le_bytes(self.array("u16")?))),
			3 => Value::Int(i64::from(i16::from_le_bytes(self.array("i16")?))),
			4 => Value::UInt(u64::from(self.u32("u32")?)),
			5 => Value::Int(i64::from(i32::from_le_bytes(self.array("i32")?))),
			6 => Value::Float(f64::from(f32::from_le_bytes(self.array("f32")?))),
			7 => Value::Bool(self.array::<1>("bool")?[0] != 0),
			8 => Value::Str(self.string("string")?),
			9 if depth < 4 => {
				let item = self.u32("array type")?;
				let n = self.len("array", 1)?;
				let mut items = Vec::with_capacity(n.min(1 << 20));
				for _ in 0..n {
					items.push(self.value(item, depth + 1)?);
				}
				Value::Array(items)
			},
			10 => Value::UInt(self.u64("u64")?),
			11 => Value::Int(i64::from_le_bytes(self.array("i64")?)),
			12 => Value::Float(f64::from_le_bytes(self.array("f64")?)),
			other => {
				return Err(GgufError::Malformed {
					what: "metadata value".into(),
					reason: format!("type {other}"),
				})
			},
		})
	}
}

/// IEEE half to single precision.
pub fn f16_to_f32(bits: u16) -> f32 {
	let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
	let exponent = i32::from((bits >> 10) & 0x1f);
	let fraction = f32::from(bits & 0x3ff);
	match exponent {
		0 => sign * fraction * 2f32.powi(-24),
		31 if fraction == 0.0 => sign * f32::INFINITY,
		31 => f32::NAN,
		_ => sign * (1.0 + fraction / 1024.0) * 2f32.powi(exponent - 15),
	}
}

pub(crate) fn half(bytes: &[u8]) -> f32 {
	f16_to_f32(u16::from_le_bytes([bytes[0], bytes[1]]))
}

/// Dequantizes `count` values of GGML type `kind` from `raw`.
pub fn dequantize(kind: u32, raw: &[u8], count: usize) -> Option<Vec<f32>> {
	// As many bytes as `count` values take: what is allocated is bounded by the file.
	if byte_size(kind, count)? != raw.len() {
		return None;
	}
	let mut out = Vec::with_capacity(count);
	match kind {
		F32 => {
			out.extend(raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
		},
		F16 => out.extend(raw.chunks_exact(2).map(half)),
		// 32 values: scale d, 16 bytes of 4-bit quants; value = (q - 8) * d.
		Q4_0 => {
			for block in raw.chunks_exact(18) {
				let d = half(&block[0..2]);
				let quants = &block[2..18];
				out.extend(quants.iter().map(|q| (f32::from(q & 0x0f) - 8.0) * d));
				out.extend(quants.iter().map(|q| (f32::from(q >> 4) - 8.0) * d));
			}
		},
		// 32 values: scale d, minimum m, 16 bytes of 4-bit quants; value = q * d + m, the low
		// nibbles first.
		Q4_1 => {
			for block in raw.chunks_exact(20) {
				let d = half(&block[0..2]);
				let m = half(&block[2..4]);
				let quants = &block[4..20];
				out.extend(quants.iter().map(|q| f32::from(q & 0x0f) * d + m));
				out.extend(quants.iter().map(|q| f32::from(q >> 4) * d + m));
			}
		},
		// 32 values: scale d, 32 signed bytes; value = q * d.
		Q8_0 => {
			for block in raw.chunks_exact(34) {
				let d = half(&block[0..2]);
				out.extend(block[2..34].iter().map(|q| f32::from(*q as i8) * d));
			}
		},
		_ => return None,
	}
	(out.len() == count).then_some(out)
}

/// Bytes `count` values of `kind` take, if this reader knows the type.
fn byte_size(kind: u32, count: usize) -> Option<usize> {
	let (block, bytes) = match kind {
		F32 => (1, 4),
		F16 => (1, 2),
		Q4_0 => (32, 18),
		Q4_1 => (32, 20),
		Q8_0 => (32, 34),
		_ => return None,
	};
	count
		.is_multiple_of(block)
		.then(|| (count / block).checked_mul(bytes))
		.flatten()
}

impl Gguf {
	/// Reads a whole GGUF file.
	pub fn open(path: &Path) -> Result<Self, GgufError> {
		let bytes = std::fs::read(path)
			.map_err(|source| GgufError::Io { path: path.display().to_string(), source })?;
		Self::parse(bytes)
	}

	/// Parses GGUF bytes.
	pub fn parse(bytes: Vec<u8>) -> Result<Self, GgufError> {
		let mut reader = Reader { bytes: &bytes, at: 0 };
		let magic: [u8; 4] = reader.array("magic")?;
		if &magic != b"GGUF" {
			return Err(GgufError::BadMagic(magic));
		}
		let version = reader.u32("version")?;
		if !(2..=3).contains(&version) {
			return Err(GgufError::Version(version));
		}
		let tensor_count = reader.len("tensor count", 24)?;
		let metadata_count = reader.len("metadata count", 12)?;
		let mut metadata = HashMap::new();
		for _ in 0..metadata_count {
			let key = reader.string("metadata key")?;
			let kind = reader.u32("metadata type")?;
			let value = reader.value(kind, 0)?;
			metadata.insert(key, value);
		}
		let mut tensors = HashMap::new();
		for _ in 0..tensor_count {
			let name = reader.string("tensor name")?;
			let rank = reader.u32("tensor rank")? as usize;
			if rank > 4 {
				return Err(GgufError::Malformed { what: name, reason: format!("rank {rank}") });
			}
			let dims =
				(0..rank).map(|_| reader.u64("tensor dims")).collect::<Result<Vec<_>, _>>()?;
			let kind = reader.u32("tensor type")?;
			let offset = reader.u64("tensor offset")?;
			tensors.insert(name, TensorInfo { dims, kind, offset });
		}
		let alignment = match metadata.get("general.alignment") {
			Some(Value::UInt(a)) if *a > 0 && *a <= 1 << 16 => *a as usize,
			_ => 32,
		};
		let data_start = reader.at.div_ceil(alignment) * alignment;
		Ok(Self { metadata, tensors, bytes, data_start })
	}

	fn get(&self, key: &str) -> Result<&Value, GgufError> {
		self.metadata.get(key).ok_or_else(|| GgufError::MissingKey(key.into()))
	}

	fn wrong(key: &str, expected: &str) -> GgufError {
		GgufError::Malformed { what: key.into(), reason: format!("not {expected}") }
	}

	/// An unsigned integer metadata value.
	/// The blake2-256 of the whole file: what names this model's prepared prefixes on disk.
	pub fn digest(&self) -> [u8; 32] {
		sp_crypto_hashing::blake2_256(&self.bytes)
	}

	pub fn uint(&self, key: &str) -> Result<u64, GgufError> {
		match self.get(key)? {
			Value::UInt(v) => Ok(*v),
			Value::Int(v) if *v >= 0 => Ok(*v as u64),
			_ => Err(Self::wrong(key, "an unsigned integer")),
		}
	}

	/// A float metadata value.
	pub fn float(&self, key: &str) -> Result<f64, GgufError> {
		match self.get(key)? {
			Value::Float(v) => Ok(*v),
			_ => Err(Self::wrong(key, "a float")),
		}
	}

	/// A string metadata value.
	pub fn string(&self, key: &str) -> Result<&str, GgufError> {
		match self.get(key)? {
			Value::Str(v) => Ok(v),
			_ => Err(Self::wrong(key, "a string")),
		}
	}

	/// An array of strings.
	pub fn strings(&self, key: &str) -> Result<Vec<&str>, GgufError> {
		match self.get(key)? {
			Value::Array(items) => items
				.iter()
				.map(|item| match item {
					Value::Str(s) => Ok(s.as_str()),
					_ => Err(Self::wrong(key, "an array of strings")),
				})
				.collect(),
			_ => Err(Self::wrong(key, "an array")),
		}
	}

	/// An array of integers.
	pub fn ints(&self, key: &str) -> Result<Vec<i64>, GgufError> {
		match self.get(key)? {
			Value::Array(items) => items
				.iter()
				.map(|item| match item {
					Value::Int(v) => Ok(*v),
					Value::UInt(v) => Ok(*v as i64),
					_ => Err(Self::wrong(key, "an array of integers")),
				})
				.collect(),
			_ => Err(Self::wrong(key, "an array")),
		}
	}

	/// A tensor's bytes as the file stores them (bounds-checked against its type and
	/// dimensions), with its type and GGML dimensions.
	pub fn raw(&self, name: &str) -> Result<RawTensor<'_>, GgufError> {
		let info = self.tensors.get(name).ok_or_else(|| GgufError::MissingTensor(name.into()))?;
		let count = info
			.dims
			.iter()
			.try_fold(1usize, |n, d| n.checked_mul(usize::try_from(*d).ok()?))
			.ok_or_else(|| GgufError::Malformed {
				what: name.into(),
				reason: "its size overflows".into(),
			})?;
		let unsupported = || GgufError::UnsupportedType { name: name.into(), kind: info.kind };
		let size = byte_size(info.kind, count).ok_or_else(unsupported)?;
		let start = usize::try_from(info.offset)
			.ok()
			.and_then(|o| o.checked_add(self.data_start))
			.ok_or(GgufError::Truncated("tensor data"))?;
		let raw = start
			.checked_add(size)
			.and_then(|end| self.bytes.get(start..end))
			.ok_or(GgufError::Truncated("tensor data"))?;
		Ok(RawTensor { kind: info.kind, dims: &info.dims, count, bytes: raw })
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn halves_convert() {
		assert_eq!(f16_to_f32(0x3c00), 1.0);
		assert_eq!(f16_to_f32(0xc000), -2.0);
		assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
		assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
		assert!(f16_to_f32(0x7c00).is_infinite());
	}

	#[test]
	fn quantized_blocks_dequantize() {
		// Q4_1: d = 0.5, m = -1; low nibbles 0..15 then high nibbles 15..0.
		let mut block = vec![0x00, 0x38, 0x00, 0xbc];
		block.extend((0u8..16).map(|i| i | ((15 - i) << 4)));
		let values = dequantize(Q4_1, &block, 32).unwrap();
		assert_eq!(values[0], -1.0);
		assert_eq!(values[15], 6.5);
		assert_eq!(values[16], 6.5);
		assert_eq!(values[31], -1.0);
		// Q8_0: d = 2; q = -3 → -6.
		let mut block = vec![0x00, 0x40];
		block.extend([0xfdu8; 32]);
		assert_eq!(dequantize(Q8_0, &block, 32).unwrap(), vec![-6.0; 32]);
		assert!(dequantize(Q8_0, &block[..30], 32).is_none());
		assert!(dequantize(99, &block, 32).is_none());
	}

	#[test]
	fn sizes_that_overflow_are_refused_before_allocating() {
		// 2^62 values of 4 bytes: the byte count wraps.
		assert_eq!(byte_size(F32, 1 << 62), None);
		assert_eq!(byte_size(Q8_0, usize::MAX / 32 * 32), None);
		// A count the bytes do not hold is refused, not allocated.
		assert!(dequantize(F32, &[0; 8], 1 << 40).is_none());
		assert_eq!(dequantize(F32, &[0; 8], 2), Some(vec![0.0, 0.0]));
	}

	#[test]
	fn malformed_files_are_errors() {
		assert!(matches!(Gguf::parse(b"GGML0000".to_vec()), Err(GgufError::BadMagic(_))));
		assert!(matches!(Gguf::parse(b"GGUF".to_vec()), Err(GgufError::Truncated(_))));
		let mut header = b"GGUF".to_vec();
		header.extend(7u32.to_le_bytes());
		assert!(matches!(Gguf::parse(header), Err(GgufError::Version(7))));
		// A claimed billion tensors in a tiny file.
		let mut header = b"GGUF".to_vec();
		header.extend(3u32.to_le_bytes());
		header.extend(1_000_000_000u64.to_le_bytes());
		header.extend(0u64.to_le_bytes());
		assert!(matches!(Gguf::parse(header), Err(GgufError::Truncated(_))));
		// One string value whose length runs past the end.
		let mut header = b"GGUF".to_vec();
		header.extend(3u32.to_le_bytes());
		header.extend(0u64.to_le_bytes());
		header.extend(1u64.to_le_bytes());
		header.extend(3u64.to_le_bytes());
		header.extend(b"key");
		header.extend(8u32.to_le_bytes());
		header.extend(u64::MAX.to_le_bytes());
		assert!(matches!(Gguf::parse(header), Err(GgufError::Truncated(_))));
	}
}
