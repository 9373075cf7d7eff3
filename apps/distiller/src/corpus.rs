//! A trusted corpus on disk, searchable by the words of a question.
//!
//! A corpus is a directory of documents:
//! - dictd databases (`NAME.index` with `NAME.dict.dz` or `NAME.dict`), as Debian installs them
//!   under `/usr/share/dictd` (e.g. `dict-foldoc`, `dict-elements`): one document per headword,
//!   cited as `dict://NAME/HEADWORD`;
//! - plain text (`*.txt`, `*.md`): one document per file, titled by the file name, cited as
//!   `file://PATH`.
//!
//! Every document is cited with the sha256 of the exact text used. Search ranks documents by
//! their title matching the question's key terms, then by how many of the terms they contain
//! (rarer terms count more).

use std::{
	collections::HashMap,
	io::Read,
	path::{Path, PathBuf},
};

use membria_offchain::body::sha256_hex;

/// What can go wrong loading a corpus.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
	#[error("corpus directory {path}: {source}")]
	Io {
		path: PathBuf,
		source: std::io::Error,
	},
	#[error("dictd index {path}, line {line}: {reason}")]
	BadIndex {
		path: PathBuf,
		line: usize,
		reason: String,
	},
	#[error("corpus {0} holds no documents (dictd .index/.dict[.dz] pairs or .txt/.md files)")]
	Empty(PathBuf),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CorpusError + '_ {
	move |source| CorpusError::Io {
		path: path.to_path_buf(),
		source,
	}
}

/// One document.
#[derive(Clone, Debug)]
pub struct Document {
	/// The headword or file name.
	pub title: String,
	/// Where it comes from (`dict://…`, `file://…`).
	pub uri: String,
	/// Its text, cleaned of markup and reflowed.
	pub text: String,
	/// sha256 (hex) of `text`.
	pub sha256: String,
}

/// A loaded, indexed corpus.
pub struct Corpus {
	documents: Vec<Document>,
	/// term → (document, occurrences)
	postings: HashMap<String, Vec<(u32, u32)>>,
	/// normalized title → documents
	titles: HashMap<String, Vec<u32>>,
}

/// The words of `text` a search compares: lowercase, letters, digits and the symbols of names.
pub fn words(text: &str) -> Vec<String> {
	text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '+' | '#')))
		.filter(|w| !w.is_empty())
		.map(str::to_lowercase)
		.collect()
}

/// The words that carry content (not question words or grammar).
pub fn content_words(text: &str) -> Vec<String> {
	membria_primitives::key_terms(&words(text).join(" "))
}

const DICTD_DIGITS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn dictd_number(text: &str) -> Option<usize> {
	text.bytes().try_fold(0usize, |value, digit| {
		let position = DICTD_DIGITS.iter().position(|d| *d == digit)?;
		value.checked_mul(64)?.checked_add(position)
	})
}

/// Cleans dictd/FOLDOC markup: `{cross references}` keep their text, leading `<domain>` tags
/// and whitespace runs go.
fn clean(text: &str) -> String {
	let mut out = String::with_capacity(text.len());
	for word in text.split_whitespace() {
		let word = word.replace(['{', '}'], "");
		if out.is_empty() && word.starts_with('<') && word.ends_with('>') {
			continue;
		}
		if !out.is_empty() {
			out.push(' ');
		}
		out.push_str(&word);
	}
	out
}

impl Corpus {
	/// Loads every document under `dir` (not recursively).
	pub fn load(dir: &Path) -> Result<Self, CorpusError> {
		let mut documents = Vec::new();
		let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
			.map_err(io(dir))?
			.filter_map(|entry| entry.ok().map(|e| e.path()))
			.collect();
		entries.sort();
		for path in &entries {
			let name = path
				.file_name()
				.and_then(|n| n.to_str())
				.unwrap_or_default();
			if let Some(database) = name.strip_suffix(".index") {
				let dz = dir.join(format!("{database}.dict.dz"));
				let plain = dir.join(format!("{database}.dict"));
				let data = if dz.exists() {
					let file = std::fs::File::open(&dz).map_err(io(&dz))?;
					let mut data = Vec::new();
					flate2::read::MultiGzDecoder::new(file)
						.read_to_end(&mut data)
						.map_err(io(&dz))?;
					data
				} else if plain.exists() {
					std::fs::read(&plain).map_err(io(&plain))?
				} else {
					continue;
				};
				Self::load_dictd(database, path, &data, &mut documents)?;
			} else if name.ends_with(".txt") || name.ends_with(".md") {
				let text = std::fs::read_to_string(path).map_err(io(path))?;
				let title = name.rsplit_once('.').map(|(stem, _)| stem).unwrap_or(name);
				let text = clean(&text);
				if !text.is_empty() {
					documents.push(Document {
						title: title.replace(['_', '-'], " "),
						uri: format!("file://{}", path.display()),
						sha256: sha256_hex(text.as_bytes()),
						text,
					});
				}
			}
		}
		if documents.is_empty() {
			return Err(CorpusError::Empty(dir.to_path_buf()));
		}
		Ok(Self::index(documents))
	}

	fn load_dictd(
		database: &str,
		index_path: &Path,
		data: &[u8],
		documents: &mut Vec<Document>,
	) -> Result<(), CorpusError> {
		let index = std::fs::read_to_string(index_path).map_err(io(index_path))?;
		for (number, line) in index.lines().enumerate() {
			let bad = |reason: &str| CorpusError::BadIndex {
				path: index_path.to_path_buf(),
				line: number + 1,
				reason: reason.into(),
			};
			let mut fields = line.split('\t');
			let (Some(headword), Some(offset), Some(length)) =
				(fields.next(), fields.next(), fields.next())
			else {
				return Err(bad("expected headword, offset and length"));
			};
			if headword.starts_with("00database") || headword.starts_with("00-database") {
				continue;
			}
			let offset = dictd_number(offset).ok_or_else(|| bad("bad offset"))?;
			let length = dictd_number(length).ok_or_else(|| bad("bad length"))?;
			let Some(raw) = data.get(offset..offset.saturating_add(length)) else {
				return Err(bad("entry outside the data file"));
			};
			let raw = String::from_utf8_lossy(raw);
			// The entry starts with its headword line; the definition follows.
			let body = raw.split_once('\n').map(|(_, rest)| rest).unwrap_or(&raw);
			let text = clean(body);
			if text.is_empty() {
				continue;
			}
			documents.push(Document {
				title: headword.to_string(),
				uri: format!("dict://{database}/{}", headword.replace(' ', "%20")),
				sha256: sha256_hex(text.as_bytes()),
				text,
			});
		}
		Ok(())
	}

	fn index(documents: Vec<Document>) -> Self {
		let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
		let mut titles: HashMap<String, Vec<u32>> = HashMap::new();
		for (id, document) in documents.iter().enumerate() {
			let id = id as u32;
			let mut counts: HashMap<String, u32> = HashMap::new();
			for word in words(&document.title)
				.into_iter()
				.chain(words(&document.text))
			{
				*counts.entry(word).or_default() += 1;
			}
			for (word, count) in counts {
				postings.entry(word).or_default().push((id, count));
			}
			titles
				.entry(words(&document.title).join(" "))
				.or_default()
				.push(id);
		}
		Self {
			documents,
			postings,
			titles,
		}
	}

	/// How many documents the corpus holds.
	pub fn len(&self) -> usize {
		self.documents.len()
	}

	/// Whether the corpus holds no documents (never true for a loaded corpus).
	pub fn is_empty(&self) -> bool {
		self.documents.is_empty()
	}

	/// The documents that best match `terms`, best first, with their scores.
	pub fn search(&self, terms: &[String], limit: usize) -> Vec<(&Document, f64)> {
		if terms.is_empty() {
			return Vec::new();
		}
		let total = self.documents.len() as f64;
		let mut scores: HashMap<u32, f64> = HashMap::new();
		for term in terms {
			let Some(list) = self.postings.get(term) else {
				continue;
			};
			let idf = (total / list.len() as f64).ln() + 1.0;
			for (doc, count) in list {
				*scores.entry(*doc).or_default() += idf * (1.0 + f64::from(*count).ln());
			}
		}
		// A title that is the question's subject is the strongest evidence: the whole key phrase,
		// any run of consecutive terms, or a single term, longest first.
		for start in 0..terms.len() {
			for end in (start + 1..=terms.len()).rev() {
				let phrase = terms[start..end].join(" ");
				if let Some(docs) = self.titles.get(&phrase) {
					let bonus = 10.0 * (end - start) as f64;
					for doc in docs {
						*scores.entry(*doc).or_default() += bonus;
					}
				}
			}
		}
		let mut ranked: Vec<(u32, f64)> = scores.into_iter().collect();
		ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
		ranked
			.into_iter()
			.take(limit)
			.map(|(doc, score)| (&self.documents[doc as usize], score))
			.collect()
	}
}

/// Splits a document's text into sentences (and `Field: value` lines of records).
pub fn sentences(text: &str) -> Vec<String> {
	let mut out = Vec::new();
	let mut current = String::new();
	let chars: Vec<char> = text.chars().collect();
	for (i, &c) in chars.iter().enumerate() {
		current.push(c);
		let next = chars.get(i + 1).copied();
		let after = chars.get(i + 2).copied();
		let ends = matches!(c, '.' | '!' | '?')
			&& next.is_none_or(char::is_whitespace)
			&& after.is_none_or(|a| a.is_uppercase() || a == '(' || a.is_numeric());
		// Short abbreviations ("e.g.", "i.e.", "U.S.") do not end sentences.
		let last_word = current.split_whitespace().last().unwrap_or_default();
		let abbreviation = last_word.len() <= 4 && last_word.matches('.').count() >= 2;
		if ends && !abbreviation {
			push_sentence(&mut out, &current);
			current.clear();
		}
	}
	push_sentence(&mut out, &current);
	out
}

fn push_sentence(out: &mut Vec<String>, text: &str) {
	let text = text.trim();
	if !text.is_empty() {
		out.push(text.to_string());
	}
}

/// Splits record-like texts ("Symbol: C Atomic number: 6 …") into their fields, so each field is
/// a fact of its own.
pub fn record_fields(text: &str) -> Vec<String> {
	const FIELDS: [&str; 3] = ["Symbol:", "Atomic number:", "Atomic weight:"];
	let mut rest = text;
	let mut fields = Vec::new();
	while let Some((index, field)) = FIELDS
		.iter()
		.filter_map(|f| rest.find(f).map(|i| (i, *f)))
		.min()
	{
		if index > 0 {
			fields.extend(sentences(&rest[..index]));
		}
		let after = &rest[index + field.len()..];
		let value_end = after
			.trim_start()
			.find(char::is_whitespace)
			.map(|i| i + (after.len() - after.trim_start().len()))
			.unwrap_or(after.len());
		fields.push(format!("{} {}", field, after[..value_end].trim()));
		rest = &after[value_end..];
	}
	fields.extend(sentences(rest));
	fields
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn dictd_numbers_decode() {
		assert_eq!(dictd_number("A"), Some(0));
		assert_eq!(dictd_number("p6"), Some(41 * 64 + 58));
		assert_eq!(dictd_number("!"), None);
	}

	#[test]
	fn sentences_split_on_full_stops_only() {
		assert_eq!(
			sentences("A LAN, e.g. Ethernet. It was made in 1976. Done"),
			vec!["A LAN, e.g. Ethernet.", "It was made in 1976.", "Done"]
		);
	}

	#[test]
	fn records_split_into_fields() {
		assert_eq!(
			record_fields(
				"Symbol: C Atomic number: 6 Atomic weight: 12.011 A nonmetal. Found in coal."
			),
			vec![
				"Symbol: C",
				"Atomic number: 6",
				"Atomic weight: 12.011",
				"A nonmetal.",
				"Found in coal."
			]
		);
	}

	#[test]
	fn text_corpora_load_and_rank_by_title() {
		let dir = tempfile::tempdir().unwrap();
		std::fs::write(
			dir.path().join("token-ring.txt"),
			"Token Ring is a LAN protocol.",
		)
		.unwrap();
		std::fs::write(
			dir.path().join("ethernet.txt"),
			"Ethernet is a LAN. Token passing is not used.",
		)
		.unwrap();
		let corpus = Corpus::load(dir.path()).unwrap();
		assert_eq!(corpus.len(), 2);
		let hits = corpus.search(&["token".into(), "ring".into()], 2);
		assert_eq!(hits[0].0.title, "token ring");
		assert!(hits[0].1 > hits[1].1);
		assert!(matches!(
			Corpus::load(&dir.path().join("missing")),
			Err(CorpusError::Io { .. })
		));
		let empty = tempfile::tempdir().unwrap();
		assert!(matches!(
			Corpus::load(empty.path()),
			Err(CorpusError::Empty(_))
		));
	}
}
