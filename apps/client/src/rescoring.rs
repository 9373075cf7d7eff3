//! The exact embeddings the approximate search ranks its candidates by, once the cache holds
//! too many for one matrix product ([`membria_embed::APPROXIMATE_FROM`] phrasings).
//!
//! Each entry's embeddings are copied, as soon as they are checked (the cache opened or the
//! entry stored), into one scratch file the cache alone holds: created unnamed in the cache's
//! directory (`O_TMPFILE` where the filesystem has it), so no other process can open it, and
//! gone with the cache. A search reads its candidates with one positioned read each, where
//! reading the entries' own files took an open, a read and a close each (48 a search), and
//! a file changed on disk after its check could change a ranking.

use std::{
	collections::HashMap,
	fs::File,
	os::unix::fs::FileExt,
	path::Path,
	sync::{PoisonError, RwLock},
};

use membria_embed::{embedding_bytes, embedding_values, Embeddings};

/// Where an entry's rows are in the scratch file.
#[derive(Clone, Copy)]
struct Slot {
	offset: u64,
	bytes: u32,
}

#[derive(Default)]
struct Slots {
	by_id: HashMap<u64, Slot>,
	/// Space freed by removed entries, by size: an entry of the same size takes it (entries
	/// have a few phrasings, so a few sizes cover them all).
	free: HashMap<u32, Vec<u64>>,
	/// The end of the file.
	end: u64,
}

/// The checked embeddings of every entry the search indexes, packed in one private file.
pub struct PackedEmbeddings {
	file: File,
	dimension: usize,
	slots: RwLock<Slots>,
}

impl PackedEmbeddings {
	/// An empty pack for embeddings of `dimension`, its file in `dir`.
	pub fn new(dir: &Path, dimension: usize) -> std::io::Result<Self> {
		Ok(Self { file: tempfile::tempfile_in(dir)?, dimension, slots: RwLock::default() })
	}

	/// Holds entry `id`'s embeddings (replacing any it held).
	pub fn add(&self, id: u64, embeddings: &[f32]) -> std::io::Result<()> {
		let raw = embedding_bytes(embeddings);
		let bytes = u32::try_from(raw.len()).map_err(|_| {
			std::io::Error::new(std::io::ErrorKind::InvalidInput, "embeddings past 4 GiB")
		})?;
		let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
		if let Some(old) = slots.by_id.remove(&id) {
			slots.free.entry(old.bytes).or_default().push(old.offset);
		}
		let reused = slots.free.get_mut(&bytes).and_then(Vec::pop);
		let offset = reused.unwrap_or(slots.end);
		if let Err(error) = self.file.write_all_at(&raw, offset) {
			if let Some(offset) = reused {
				slots.free.entry(bytes).or_default().push(offset);
			}
			return Err(error);
		}
		if reused.is_none() {
			slots.end += u64::from(bytes);
		}
		slots.by_id.insert(id, Slot { offset, bytes });
		Ok(())
	}

	/// Forgets entry `id`'s embeddings; its space goes to the next entry of the same size.
	pub fn forget(&self, id: u64) {
		let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
		if let Some(old) = slots.by_id.remove(&id) {
			slots.free.entry(old.bytes).or_default().push(old.offset);
		}
	}

	/// How many entries' embeddings it holds.
	pub fn len(&self) -> usize {
		self.slots.read().unwrap_or_else(PoisonError::into_inner).by_id.len()
	}

	/// Whether it holds none.
	pub fn is_empty(&self) -> bool {
		self.len() == 0
	}

	/// Bytes held in memory: where each entry's rows are.
	pub fn memory(&self) -> usize {
		let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
		let free: usize = slots.free.values().map(|offsets| offsets.capacity() * 8).sum();
		// A hash table's slot is its key, its value and a control byte.
		slots.by_id.capacity() * (8 + std::mem::size_of::<Slot>() + 1) + free
	}

	/// The scratch file's size in bytes (held entries and space freed for reuse).
	pub fn file_size(&self) -> u64 {
		self.slots.read().unwrap_or_else(PoisonError::into_inner).end
	}
}

impl Embeddings for PackedEmbeddings {
	fn embeddings(&self, id: u64) -> Option<Vec<f32>> {
		// Read under the lock: a removed entry's space is not reused while it is read.
		let slots = self.slots.read().unwrap_or_else(PoisonError::into_inner);
		let slot = *slots.by_id.get(&id)?;
		let mut raw = vec![0u8; slot.bytes as usize];
		self.file.read_exact_at(&mut raw, slot.offset).ok()?;
		drop(slots);
		if raw.is_empty() || !raw.len().is_multiple_of(self.dimension * 4) {
			return None;
		}
		Some(embedding_values(&raw))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn rows(seed: f32, count: usize) -> Vec<f32> {
		(0..count * 4).map(|i| seed + i as f32).collect()
	}

	#[test]
	fn reads_back_what_it_holds_and_reuses_freed_space() {
		let dir = tempfile::tempdir().unwrap();
		let pack = PackedEmbeddings::new(dir.path(), 4).unwrap();
		pack.add(1, &rows(10.0, 2)).unwrap();
		pack.add(2, &rows(20.0, 3)).unwrap();
		pack.add(3, &rows(30.0, 2)).unwrap();
		assert_eq!(pack.len(), 3);
		assert_eq!(pack.embeddings(2), Some(rows(20.0, 3)));
		assert_eq!(pack.file_size(), 7 * 16);
		// The file is unnamed: nothing in the directory to open or change.
		assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

		pack.forget(1);
		assert_eq!(pack.embeddings(1), None);
		// An entry of the same size takes the freed space; another size goes to the end.
		pack.add(4, &rows(40.0, 2)).unwrap();
		assert_eq!(pack.file_size(), 7 * 16);
		pack.add(5, &rows(50.0, 1)).unwrap();
		assert_eq!(pack.file_size(), 8 * 16);
		for (id, seed, count) in [(2, 20.0, 3), (3, 30.0, 2), (4, 40.0, 2), (5, 50.0, 1)] {
			assert_eq!(pack.embeddings(id), Some(rows(seed, count)), "entry {id}");
		}
		// Replacing an entry frees its old space.
		pack.add(3, &rows(60.0, 3)).unwrap();
		assert_eq!(pack.embeddings(3), Some(rows(60.0, 3)));
		assert_eq!(pack.file_size(), 11 * 16);
		pack.add(6, &rows(70.0, 2)).unwrap();
		assert_eq!(pack.file_size(), 11 * 16);
		assert_eq!(pack.embeddings(6), Some(rows(70.0, 2)));
		assert_eq!(pack.len(), 5);
	}
}
