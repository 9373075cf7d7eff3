//! The runtime's metadata, read from a node: storage values, map keys and events decoded by
//! pallet and item name with the runtime's own type registry, so the apps read the chain's
//! views without copying its types (pallet indices, enum layouts, field order). A runtime
//! upgrade that reshapes a type is followed by fetching the metadata again, not by a release.
//!
//! What is decoded here is the node's word, not a proof: the gateway's explorer shows it. What a
//! device trusts it proves (`membria-client`'s `trust`).

use std::collections::HashMap;

use codec::Decode;
use frame_metadata::{
	v14::{StorageEntryType, StorageHasher},
	RuntimeMetadata, RuntimeMetadataPrefixed,
};
use scale_info::{PortableRegistry, TypeDef, TypeDefPrimitive};
use scale_value::{Composite, Primitive, Value, ValueDef};
use serde_json::{json, Map, Value as Json};
use sp_core::H256;

use crate::rpc::{NodeRpc, RpcError};

/// The largest integer a JSON number carries exactly (JavaScript's `Number.MAX_SAFE_INTEGER`):
/// larger ones are written as decimal strings.
const MAX_SAFE_INTEGER: u128 = (1 << 53) - 1;

/// Why metadata or a value could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
	#[error(transparent)]
	Rpc(#[from] RpcError),
	#[error("undecodable metadata: {0}")]
	Undecodable(String),
	#[error("metadata version {0} is not supported (the node's state_getMetadata gives V14)")]
	Version(u32),
	#[error("the runtime has no storage item {0}")]
	NoSuchItem(String),
	#[error("{item}: {reason}")]
	Value { item: String, reason: String },
}

/// A storage item's types.
#[derive(Clone, Debug)]
struct StorageItem {
	/// The prefix of its keys: twox128(pallet prefix) ++ twox128(item).
	prefix: Vec<u8>,
	value: u32,
	/// For a map: each key part's hasher and type.
	keys: Vec<(StorageHasher, u32)>,
}

/// The metadata of one runtime version.
pub struct ChainMetadata {
	types: PortableRegistry,
	items: HashMap<String, StorageItem>,
	/// `System.Events`' record type, found by name.
	events: u32,
	spec_version: u32,
}

impl ChainMetadata {
	/// The metadata of the runtime at block `at`.
	pub async fn fetch(rpc: &NodeRpc, at: H256) -> Result<Self, MetadataError> {
		let spec_version = rpc.spec_version_at(at).await?;
		let bytes = rpc.metadata(at).await?;
		Self::decode(&bytes, spec_version)
	}

	/// Metadata from its SCALE form (`RuntimeMetadataPrefixed`).
	pub fn decode(bytes: &[u8], spec_version: u32) -> Result<Self, MetadataError> {
		let prefixed = RuntimeMetadataPrefixed::decode(&mut &bytes[..])
			.map_err(|e| MetadataError::Undecodable(e.to_string()))?;
		let RuntimeMetadata::V14(metadata) = prefixed.1 else {
			return Err(MetadataError::Version(prefixed.1.version()));
		};
		let mut items = HashMap::new();
		for pallet in &metadata.pallets {
			let Some(storage) = &pallet.storage else { continue };
			for entry in &storage.entries {
				let mut prefix = sp_crypto_hashing::twox_128(storage.prefix.as_bytes()).to_vec();
				prefix.extend(sp_crypto_hashing::twox_128(entry.name.as_bytes()));
				let item = match &entry.ty {
					StorageEntryType::Plain(value) => {
						StorageItem { prefix, value: value.id, keys: Vec::new() }
					},
					StorageEntryType::Map { hashers, key, value } => {
						let key_types = if hashers.len() == 1 {
							vec![key.id]
						} else {
							match metadata.types.resolve(key.id).map(|ty| &ty.type_def) {
								Some(TypeDef::Tuple(tuple)) => {
									tuple.fields.iter().map(|field| field.id).collect()
								},
								_ => continue,
							}
						};
						if key_types.len() != hashers.len() {
							continue;
						}
						StorageItem {
							prefix,
							value: value.id,
							keys: hashers.iter().cloned().zip(key_types).collect(),
						}
					},
				};
				items.insert(format!("{}.{}", pallet.name, entry.name), item);
			}
		}
		let events = items
			.get("System.Events")
			.map(|item| item.value)
			.ok_or_else(|| MetadataError::NoSuchItem("System.Events".into()))?;
		Ok(Self { types: metadata.types, items, events, spec_version })
	}

	/// The runtime version this metadata describes.
	pub fn spec_version(&self) -> u32 {
		self.spec_version
	}

	fn item(&self, name: &str) -> Result<&StorageItem, MetadataError> {
		self.items.get(name).ok_or_else(|| MetadataError::NoSuchItem(name.to_string()))
	}

	/// The prefix of the keys of storage item `name` (`"Pallet.Item"`): its key for a plain
	/// value, the prefix every entry of a map shares.
	pub fn prefix(&self, name: &str) -> Result<Vec<u8>, MetadataError> {
		Ok(self.item(name)?.prefix.clone())
	}

	/// The key of the entry of map `name` whose first key part is `first` (SCALE): the whole
	/// key of a one-key map, the prefix of a double map's entries under `first`.
	pub fn map_key(&self, name: &str, first: &[u8]) -> Result<Vec<u8>, MetadataError> {
		let item = self.item(name)?;
		let (hasher, _) = item.keys.first().ok_or_else(|| MetadataError::Value {
			item: name.to_string(),
			reason: "not a map".into(),
		})?;
		let mut key = item.prefix.clone();
		key.extend(hash(hasher, first));
		Ok(key)
	}

	/// Decodes a value of storage item `name` as JSON ([`Self::to_json`]).
	pub fn decode_value(&self, name: &str, bytes: &[u8]) -> Result<Json, MetadataError> {
		let item = self.item(name)?;
		let value = self
			.decode_whole(item.value, bytes)
			.map_err(|reason| MetadataError::Value { item: name.to_string(), reason })?;
		Ok(self.to_json(&value))
	}

	/// The key parts of a full storage key of map `name`, decoded (a part whose hasher does
	/// not keep the key, such as `Blake2_128`, cannot be read back).
	pub fn decode_key(&self, name: &str, key: &[u8]) -> Result<Vec<Json>, MetadataError> {
		let item = self.item(name)?;
		let bad = |reason: String| MetadataError::Value { item: name.to_string(), reason };
		let mut rest = key
			.strip_prefix(item.prefix.as_slice())
			.ok_or_else(|| bad("the key is not under the item's prefix".into()))?;
		let mut parts = Vec::with_capacity(item.keys.len());
		for (hasher, ty) in &item.keys {
			let (skip, concat) = hasher_layout(hasher);
			if rest.len() < skip || !concat {
				return Err(bad(format!("a {hasher:?} key part cannot be read back")));
			}
			rest = &rest[skip..];
			let value = scale_value::scale::decode_as_type(&mut rest, *ty, &self.types)
				.map_err(|e| bad(e.to_string()))?;
			parts.push(self.to_json(&value));
		}
		if !rest.is_empty() {
			return Err(bad(format!("{} bytes left after the key", rest.len())));
		}
		Ok(parts)
	}

	/// Decodes the `System.Events` of a block into its events as
	/// `{"pallet", "event", "fields"}` (each field by name, [`Self::to_json`]).
	pub fn decode_events(&self, bytes: &[u8]) -> Result<Vec<ChainEvent>, MetadataError> {
		let bad = |reason: String| MetadataError::Value { item: "System.Events".into(), reason };
		let records = self.decode_whole(self.events, bytes).map_err(bad)?;
		let ValueDef::Composite(records) = records.value else {
			return Err(bad("the event records are not a sequence".into()));
		};
		let mut events = Vec::new();
		for record in records.into_values() {
			let event = match record.value {
				ValueDef::Composite(Composite::Named(fields)) => {
					fields.into_iter().find(|(name, _)| name == "event").map(|(_, v)| v)
				},
				_ => None,
			}
			.ok_or_else(|| bad("an event record has no `event`".into()))?;
			let ValueDef::Variant(pallet) = event.value else {
				return Err(bad("an event is not a variant of the runtime's pallets".into()));
			};
			let Some(inner) = pallet.values.into_values().next() else {
				return Err(bad(format!("the {} event has no content", pallet.name)));
			};
			let ValueDef::Variant(variant) = &inner.value else {
				return Err(bad(format!("the {} event is not a variant", pallet.name)));
			};
			let fields = match self.composite_json(&variant.values) {
				Json::Array(values) if values.is_empty() => Json::Object(Map::new()),
				fields => fields,
			};
			events.push(ChainEvent { pallet: pallet.name, event: variant.name.clone(), fields });
		}
		Ok(events)
	}

	fn decode_whole(&self, ty: u32, bytes: &[u8]) -> Result<Value<u32>, String> {
		let mut rest = bytes;
		let value = scale_value::scale::decode_as_type(&mut rest, ty, &self.types)
			.map_err(|e| e.to_string())?;
		if !rest.is_empty() {
			return Err(format!("{} bytes left after the value", rest.len()));
		}
		Ok(value)
	}

	/// A decoded value as JSON: structs as objects, byte strings as `0x` hex, integers over
	/// 2^53 as decimal strings, `Option` as the value or `null`, a unit enum variant as its
	/// name and another as `{"Variant": fields}`, a one-field tuple struct as its field.
	pub fn to_json(&self, value: &Value<u32>) -> Json {
		let ty = self.types.resolve(value.context);
		match &value.value {
			ValueDef::Primitive(primitive) => primitive_json(primitive),
			ValueDef::BitSequence(bits) => {
				Json::String(bits.iter().map(|bit| if bit { '1' } else { '0' }).collect())
			},
			ValueDef::Composite(composite) => {
				if let Some(bytes) = self.bytes_of(value.context, composite) {
					return Json::String(format!("0x{}", hex::encode(bytes)));
				}
				match composite {
					Composite::Unnamed(values)
						if values.len() == 1
							&& matches!(ty.map(|t| &t.type_def), Some(TypeDef::Composite(_))) =>
					{
						self.to_json(&values[0])
					},
					composite => self.composite_json(composite),
				}
			},
			ValueDef::Variant(variant) => {
				let is_option =
					ty.and_then(|t| t.path.segments.last()).is_some_and(|name| name == "Option");
				let mut values = variant.values.values();
				match (is_option, variant.name.as_str(), values.len()) {
					(true, "None", 0) => Json::Null,
					(true, "Some", 1) => values.next().map(|v| self.to_json(v)).unwrap_or_default(),
					(_, name, 0) => Json::String(name.to_string()),
					(_, name, 1) if matches!(variant.values, Composite::Unnamed(_)) => {
						json!({ name: values.next().map(|v| self.to_json(v)) })
					},
					(_, name, _) => json!({ name: self.composite_json(&variant.values) }),
				}
			},
		}
	}

	fn composite_json(&self, composite: &Composite<u32>) -> Json {
		match composite {
			Composite::Named(fields) => Json::Object(
				fields.iter().map(|(name, value)| (name.clone(), self.to_json(value))).collect(),
			),
			Composite::Unnamed(values) => {
				Json::Array(values.iter().map(|value| self.to_json(value)).collect())
			},
		}
	}

	/// The bytes of a sequence or array of `u8`.
	fn bytes_of(&self, ty: u32, composite: &Composite<u32>) -> Option<Vec<u8>> {
		let element = match &self.types.resolve(ty)?.type_def {
			TypeDef::Sequence(sequence) => sequence.type_param.id,
			TypeDef::Array(array) => array.type_param.id,
			_ => return None,
		};
		if !matches!(
			self.types.resolve(element).map(|t| &t.type_def),
			Some(TypeDef::Primitive(TypeDefPrimitive::U8))
		) {
			return None;
		}
		composite
			.values()
			.map(|value| match value.value {
				ValueDef::Primitive(Primitive::U128(byte)) => u8::try_from(byte).ok(),
				_ => None,
			})
			.collect()
	}
}

/// One event of a block, decoded: `pallet` and `event` are the runtime's names.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ChainEvent {
	pub pallet: String,
	pub event: String,
	pub fields: Json,
}

fn primitive_json(primitive: &Primitive) -> Json {
	match primitive {
		Primitive::Bool(b) => Json::Bool(*b),
		Primitive::Char(c) => Json::String(c.to_string()),
		Primitive::String(s) => Json::String(s.clone()),
		Primitive::U128(n) if *n <= MAX_SAFE_INTEGER => json!(*n as u64),
		Primitive::U128(n) => Json::String(n.to_string()),
		Primitive::I128(n) if n.unsigned_abs() <= MAX_SAFE_INTEGER => json!(*n as i64),
		Primitive::I128(n) => Json::String(n.to_string()),
		Primitive::U256(bytes) | Primitive::I256(bytes) => {
			Json::String(format!("0x{}", hex::encode(bytes)))
		},
	}
}

/// How many hash bytes a hasher puts before the key part, and whether the key part follows.
fn hasher_layout(hasher: &StorageHasher) -> (usize, bool) {
	match hasher {
		StorageHasher::Blake2_128 => (16, false),
		StorageHasher::Blake2_256 => (32, false),
		StorageHasher::Blake2_128Concat => (16, true),
		StorageHasher::Twox128 => (16, false),
		StorageHasher::Twox256 => (32, false),
		StorageHasher::Twox64Concat => (8, true),
		StorageHasher::Identity => (0, true),
	}
}

fn hash(hasher: &StorageHasher, key: &[u8]) -> Vec<u8> {
	let concat = |mut hash: Vec<u8>| {
		hash.extend_from_slice(key);
		hash
	};
	match hasher {
		StorageHasher::Blake2_128 => sp_crypto_hashing::blake2_128(key).to_vec(),
		StorageHasher::Blake2_256 => sp_crypto_hashing::blake2_256(key).to_vec(),
		StorageHasher::Blake2_128Concat => concat(sp_crypto_hashing::blake2_128(key).to_vec()),
		StorageHasher::Twox128 => sp_crypto_hashing::twox_128(key).to_vec(),
		StorageHasher::Twox256 => sp_crypto_hashing::twox_256(key).to_vec(),
		StorageHasher::Twox64Concat => concat(sp_crypto_hashing::twox_64(key).to_vec()),
		StorageHasher::Identity => key.to_vec(),
	}
}

/// A JSON integer as written by [`ChainMetadata::to_json`] (a number, or a decimal string
/// above 2^53).
pub fn json_u128(value: &Json) -> Option<u128> {
	match value {
		Json::Number(n) => n.as_u64().map(u128::from),
		Json::String(s) => s.parse().ok(),
		_ => None,
	}
}

/// `0x` hex as written by [`ChainMetadata::to_json`] back to bytes.
pub fn json_bytes(value: &Json) -> Option<Vec<u8>> {
	value.as_str()?.strip_prefix("0x").and_then(|h| hex::decode(h).ok())
}

#[cfg(test)]
mod tests {
	//! The decoder against a registry built from types shaped like the runtime's (an event enum
	//! of pallet enums, accounts, balances, bounded byte strings, options), encoded by `codec`.

	use codec::Encode;
	use frame_metadata::v14::{
		ExtrinsicMetadata, PalletMetadata, PalletStorageMetadata, RuntimeMetadataV14,
		StorageEntryMetadata, StorageEntryModifier,
	};
	use scale_info::{meta_type, TypeInfo};

	use super::*;

	#[derive(Encode, TypeInfo)]
	struct AccountId32([u8; 32]);

	#[derive(Encode, TypeInfo)]
	enum Verdict {
		Approve,
		Reject(u8),
	}

	#[derive(Encode, TypeInfo)]
	enum KcgEvent {
		EntrySubmitted { entry: u64, author: AccountId32, gap: Option<u64>, deposit: u128 },
		Linked { from: u64, to: u64 },
	}

	#[derive(Encode, TypeInfo)]
	enum ValidatorsEvent {
		Attested { entry: u64, validator: AccountId32, verdict: Verdict, stake: u128 },
	}

	#[derive(Encode, TypeInfo)]
	enum RuntimeEvent {
		Kcg(KcgEvent),
		Validators(ValidatorsEvent),
	}

	#[derive(Encode, TypeInfo)]
	enum Phase {
		ApplyExtrinsic(u32),
	}

	#[derive(Encode, TypeInfo)]
	struct EventRecord {
		phase: Phase,
		event: RuntimeEvent,
		topics: Vec<[u8; 32]>,
	}

	#[derive(Encode, TypeInfo)]
	struct Demand {
		question: Vec<u8>,
		expires_at: u32,
	}

	fn metadata() -> ChainMetadata {
		let entry = |name: &'static str, ty| StorageEntryMetadata {
			name,
			modifier: StorageEntryModifier::Optional,
			ty,
			default: Vec::new(),
			docs: Vec::new(),
		};
		let pallet = |name: &'static str, entries| PalletMetadata {
			name,
			storage: Some(PalletStorageMetadata { prefix: name, entries }),
			calls: None,
			event: None,
			constants: Vec::new(),
			error: None,
			index: 0,
		};
		let pallets = vec![
			pallet(
				"System",
				vec![entry("Events", StorageEntryType::Plain(meta_type::<Vec<EventRecord>>()))],
			),
			pallet(
				"Dod",
				vec![entry(
					"Demands",
					StorageEntryType::Map {
						hashers: vec![StorageHasher::Blake2_128Concat],
						key: meta_type::<[u8; 32]>(),
						value: meta_type::<Demand>(),
					},
				)],
			),
		];
		let extrinsic =
			ExtrinsicMetadata { ty: meta_type::<()>(), version: 4, signed_extensions: Vec::new() };
		let v14 = RuntimeMetadataV14::new(pallets, extrinsic, meta_type::<()>());
		let bytes = RuntimeMetadataPrefixed::from(v14).encode();
		ChainMetadata::decode(&bytes, 104).unwrap()
	}

	#[test]
	fn events_decode_by_name_with_accounts_balances_and_options_as_json() {
		let metadata = metadata();
		let big = 10_000 * 10u128.pow(12);
		let records = vec![
			EventRecord {
				phase: Phase::ApplyExtrinsic(1),
				event: RuntimeEvent::Kcg(KcgEvent::EntrySubmitted {
					entry: 7,
					author: AccountId32([1; 32]),
					gap: Some(3),
					deposit: big,
				}),
				topics: Vec::new(),
			},
			EventRecord {
				phase: Phase::ApplyExtrinsic(2),
				event: RuntimeEvent::Validators(ValidatorsEvent::Attested {
					entry: 7,
					validator: AccountId32([2; 32]),
					verdict: Verdict::Approve,
					stake: 5,
				}),
				topics: Vec::new(),
			},
			EventRecord {
				phase: Phase::ApplyExtrinsic(2),
				event: RuntimeEvent::Kcg(KcgEvent::Linked { from: 7, to: 2 }),
				topics: Vec::new(),
			},
		];
		let events = metadata.decode_events(&records.encode()).unwrap();
		assert_eq!(events.len(), 3);
		assert_eq!(
			(events[0].pallet.as_str(), events[0].event.as_str()),
			("Kcg", "EntrySubmitted")
		);
		let fields = &events[0].fields;
		assert_eq!(fields["entry"], 7);
		assert_eq!(fields["author"], format!("0x{}", "01".repeat(32)));
		assert_eq!(fields["gap"], 3);
		assert_eq!(fields["deposit"], big.to_string(), "over 2^53: a decimal string");
		assert_eq!(json_u128(&fields["deposit"]), Some(big));
		assert_eq!(events[1].event, "Attested");
		assert_eq!(events[1].fields["verdict"], "Approve");
		assert_eq!(events[1].fields["stake"], 5);
		assert_eq!(events[2].fields, json!({"from": 7, "to": 2}));

		let none = vec![EventRecord {
			phase: Phase::ApplyExtrinsic(0),
			event: RuntimeEvent::Validators(ValidatorsEvent::Attested {
				entry: 1,
				validator: AccountId32([0; 32]),
				verdict: Verdict::Reject(4),
				stake: 0,
			}),
			topics: Vec::new(),
		}];
		let events = metadata.decode_events(&none.encode()).unwrap();
		assert_eq!(events[0].fields["verdict"], json!({"Reject": 4}));
	}

	#[test]
	fn bad_bytes_are_refused_with_the_item_named() {
		let metadata = metadata();
		let mut bytes = vec![EventRecord {
			phase: Phase::ApplyExtrinsic(0),
			event: RuntimeEvent::Kcg(KcgEvent::Linked { from: 1, to: 2 }),
			topics: Vec::new(),
		}]
		.encode();
		bytes.push(0);
		let error = metadata.decode_events(&bytes).unwrap_err().to_string();
		assert!(error.starts_with("System.Events: 1 bytes left"), "{error}");
		let error = metadata.decode_events(&bytes[..bytes.len() - 4]).unwrap_err().to_string();
		assert!(error.starts_with("System.Events:"), "{error}");
		assert!(matches!(
			metadata.decode_value("Dod.Nothing", &[]),
			Err(MetadataError::NoSuchItem(name)) if name == "Dod.Nothing"
		));
		assert!(matches!(
			ChainMetadata::decode(b"meta\x0e", 1),
			Err(MetadataError::Undecodable(_))
		));
	}

	#[test]
	fn map_keys_are_built_and_read_back() {
		let metadata = metadata();
		let question_key = [9u8; 32];
		let key = metadata.map_key("Dod.Demands", &question_key.encode()).unwrap();
		assert!(key.starts_with(&metadata.prefix("Dod.Demands").unwrap()));
		assert_eq!(key.len(), 32 + 16 + 32);
		let parts = metadata.decode_key("Dod.Demands", &key).unwrap();
		assert_eq!(parts, vec![json!(format!("0x{}", "09".repeat(32)))]);
		let mut longer = key.clone();
		longer.push(1);
		assert!(metadata.decode_key("Dod.Demands", &longer).is_err());
		let value = Demand { question: b"What is Rust?".to_vec(), expires_at: 40 }.encode();
		let demand = metadata.decode_value("Dod.Demands", &value).unwrap();
		assert_eq!(json_bytes(&demand["question"]).unwrap(), b"What is Rust?");
		assert_eq!(demand["expires_at"], 40);
	}
}
