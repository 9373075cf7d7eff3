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
	Io { path: PathBuf, source: std::io::Error },
	#[error("dictd index {path}, line {line}: {reason}")]
	BadIndex { path: PathBuf, line: usize, reason: String },
	#[error("corpus {0} holds no documents (dictd .index/.dict[.dz] pairs or .txt/.md files)")]
	Empty(PathBuf),
}

/// A dictd entry's names and its definition. The entry opens with its headword line; FOLDOC
/// lists the subject's other names on the next lines, then a blank line and the indented
/// definition. Without that shape (the elements database), the headword is the only name.
fn header(raw: &str) -> (Vec<String>, &str) {
	let (first, rest) = raw.split_once('\n').unwrap_or((raw, ""));
	let mut names = vec![first.trim().to_string()];
	if let Some(blank) = rest.find("\n\n") {
		let (lines, definition) = rest.split_at(blank);
		let unindented = lines.lines().all(|l| !l.starts_with([' ', '\t']));
		let indented = definition.trim_start_matches('\n').starts_with([' ', '\t']);
		if unindented && indented {
			names.extend(lines.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from));
			return (names, definition);
		}
	}
	(names, rest)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CorpusError + '_ {
	move |source| CorpusError::Io { path: path.to_path_buf(), source }
}

/// One document.
#[derive(Clone, Debug)]
pub struct Document {
	/// The headword or file name.
	pub title: String,
	/// What the document names its subject: its entry's own headword first (FOLDOC's entry for
	/// `udp` is headed "User Datagram Protocol"), then the other names its header lists and the
	/// abbreviations its opening parenthesis gives ("(UDP)").
	pub names: Vec<String>,
	/// The headword this document only points to ("DNS: 1. {Domain Name System}."), if that is
	/// all it does.
	pub pointer: Option<String>,
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
	/// uri → document
	uris: HashMap<String, u32>,
	/// Every sentence (or record field) of every document.
	passages: Vec<Passage>,
	/// stem → (passage, occurrences)
	passage_postings: HashMap<String, Vec<(u32, u16)>>,
	/// Mean passage length in words.
	passage_mean: f64,
}

/// One sentence or record field of a document: what passage retrieval finds.
struct Passage {
	document: u32,
	text: String,
	words: u16,
}

/// A passage a search found.
#[derive(Clone, Debug)]
pub struct PassageHit<'a> {
	/// The document it is from.
	pub document: &'a Document,
	/// The passage, verbatim.
	pub text: &'a str,
	/// Its BM25 score.
	pub score: f64,
	/// How many of the query's terms it holds, read with its document's names.
	pub matched: usize,
	/// How many of the query's terms the passage itself holds.
	pub matched_in_text: usize,
}

/// BM25's term-frequency saturation and length normalisation.
const BM25_K1: f64 = 1.2;
const BM25_B: f64 = 0.75;

/// The English (Snowball) stem of `word`: what "translates" and "translating" share.
pub fn stem(word: &str) -> String {
	use std::sync::OnceLock;
	static STEMMER: OnceLock<rust_stemmers::Stemmer> = OnceLock::new();
	STEMMER
		.get_or_init(|| rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English))
		.stem(word)
		.into_owned()
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

/// Cleans dictd/FOLDOC markup: `{cross references}` keep their text, whitespace runs go, and
/// what opens a definition without being part of it — `<domain>` tags, `/pronunciations/`,
/// parenthesised other names — goes too. `<domain>` tags and `<e-mail addresses>` inside the
/// text go, and so do FOLDOC's `(1996-06-07)` revision dates. Abbreviations among the opening
/// names are returned.
fn clean(text: &str) -> (String, Vec<String>) {
	let mut joined = String::with_capacity(text.len());
	for word in text.split_whitespace() {
		if !joined.is_empty() {
			joined.push(' ');
		}
		joined.push_str(&word.replace(['{', '}'], ""));
	}
	let mut out = String::with_capacity(joined.len());
	let mut rest = joined.as_str();
	while let Some(start) = rest.find(['<', '(']) {
		let end = if rest[start..].starts_with('<') {
			rest[start..]
				.find('>')
				.filter(|end| *end < 80 && !rest[start + 1..start + end].contains('<'))
		} else {
			let inner = rest[start + 1..].split(')').next().unwrap_or_default();
			let date = inner.len() == 10
				&& inner.char_indices().all(|(i, c)| {
					if i == 4 || i == 7 {
						c == '-'
					} else {
						c.is_ascii_digit()
					}
				});
			(date && rest[start + 1..].contains(')')).then_some(11)
		};
		match end {
			Some(end) => {
				out.push_str(rest[..start].trim_end());
				rest = &rest[start + end + 1..];
				if !rest.starts_with([' ', '.', ',', ';', ':', ')']) && !out.is_empty() {
					out.push(' ');
				}
			},
			None => {
				out.push_str(&rest[..=start]);
				rest = &rest[start + 1..];
			},
		}
	}
	out.push_str(rest);
	// What the markup leaves at the start (a full stop after "(RAM) (Previously …).") is no text.
	let mut abbreviations = Vec::new();
	let mut rest = out.trim_start_matches([' ', '.', ',', ';']).trim_end();
	loop {
		let closing = match rest.chars().next() {
			Some('.' | ',' | ';') => Some(0),
			Some('/') => rest[1..].find('/').map(|i| i + 1).filter(|i| *i < 40),
			Some('(') => closing_parenthesis(rest),
			_ => None,
		};
		let Some(end) = closing else { break };
		if rest.starts_with('(') {
			abbreviations.extend(
				rest[1..end]
					.split(',')
					.map(str::trim)
					.filter(|name| membria_primitives::question::is_abbreviation(name))
					.map(String::from),
			);
		}
		rest = rest[end + 1..].trim_start();
	}
	(rest.to_string(), abbreviations)
}

fn closing_parenthesis(text: &str) -> Option<usize> {
	let mut depth = 0usize;
	for (i, c) in text.char_indices() {
		match c {
			'(' => depth += 1,
			')' => {
				depth = depth.checked_sub(1)?;
				if depth == 0 {
					return Some(i);
				}
			},
			_ => {},
		}
	}
	None
}

/// The headword a definition only points to: "{X}." or "1. {X}." followed by nothing or by
/// other numbered senses.
fn pointer(definition: &str) -> Option<String> {
	let text = definition.trim_start();
	let text = text.strip_prefix("1.").unwrap_or(text).trim_start();
	let inner = text.strip_prefix('{')?;
	let end = inner.find('}')?;
	let after = inner[end + 1..].trim_start();
	let after = after.strip_prefix('.').unwrap_or(after).trim_start();
	(after.is_empty() || after.starts_with("2."))
		.then(|| inner[..end].split_whitespace().collect::<Vec<_>>().join(" "))
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
			let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
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
				let (text, _) = clean(&text);
				if !text.is_empty() {
					let title = title.replace(['_', '-'], " ");
					documents.push(Document {
						names: vec![title.clone()],
						pointer: None,
						title,
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
			let (mut names, body) = header(&raw);
			let (text, abbreviations) = clean(body);
			if text.is_empty() {
				continue;
			}
			for name in abbreviations {
				if !names.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
					names.push(name);
				}
			}
			documents.push(Document {
				title: headword.to_string(),
				names,
				pointer: pointer(body),
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
		let mut passages = Vec::new();
		let mut passage_postings: HashMap<String, Vec<(u32, u16)>> = HashMap::new();
		let mut stems: HashMap<String, String> = HashMap::new();
		let mut total_words = 0usize;
		for (id, document) in documents.iter().enumerate() {
			let id = id as u32;
			// A passage is read under its document's headword: "Domain Name System: … translating
			// hostnames into Internet addresses" is found by "domain names".
			let title_words = words(&document.title);
			for text in record_fields(&document.text) {
				let mut counts: HashMap<String, u16> = HashMap::new();
				let mut passage_words = words(&text);
				passage_words.extend(title_words.iter().cloned());
				for word in &passage_words {
					let stemmed = stems.entry(word.clone()).or_insert_with(|| stem(word)).clone();
					*counts.entry(stemmed).or_default() += 1;
				}
				let passage = passages.len() as u32;
				for (term, count) in counts {
					passage_postings.entry(term).or_default().push((passage, count));
				}
				total_words += passage_words.len();
				let words = passage_words.len().min(usize::from(u16::MAX)) as u16;
				passages.push(Passage { document: id, text, words });
			}
			let mut counts: HashMap<String, u32> = HashMap::new();
			for word in words(&document.title).into_iter().chain(words(&document.text)) {
				*counts.entry(word).or_default() += 1;
			}
			for (word, count) in counts {
				postings.entry(word).or_default().push((id, count));
			}
			let mut named: Vec<String> = std::iter::once(&document.title)
				.chain(&document.names)
				.map(|name| words(name).join(" "))
				.collect();
			named.sort();
			named.dedup();
			for name in named {
				titles.entry(name).or_default().push(id);
			}
		}
		let passage_mean = total_words as f64 / passages.len().max(1) as f64;
		let uris = documents
			.iter()
			.enumerate()
			.map(|(id, doc)| (doc.uri.clone(), id as u32))
			.collect();
		Self { documents, postings, titles, uris, passages, passage_postings, passage_mean }
	}

	/// The passages that best match `terms` by BM25 over stems, best first. A passage's
	/// document names count towards `matched` (a sentence of the entry for iron speaks of iron).
	pub fn passages(&self, terms: &[String], limit: usize) -> Vec<PassageHit<'_>> {
		let total = self.passages.len() as f64;
		let mut scores: HashMap<u32, f64> = HashMap::new();
		let stems: Vec<String> = terms.iter().map(|t| stem(t)).collect();
		for term in &stems {
			let Some(list) = self.passage_postings.get(term) else {
				continue;
			};
			let n = list.len() as f64;
			let idf = ((total - n + 0.5) / (n + 0.5) + 1.0).ln();
			for (passage, count) in list {
				let length = f64::from(self.passages[*passage as usize].words);
				let tf = f64::from(*count);
				let norm = BM25_K1 * (1.0 - BM25_B + BM25_B * length / self.passage_mean);
				*scores.entry(*passage).or_default() += idf * tf * (BM25_K1 + 1.0) / (tf + norm);
			}
		}
		let mut ranked: Vec<(u32, f64)> = scores.into_iter().collect();
		ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
		ranked
			.into_iter()
			.take(limit)
			.map(|(passage, score)| {
				let passage = &self.passages[passage as usize];
				let document = &self.documents[passage.document as usize];
				let stemmed = |text: &str| {
					let mut held: Vec<String> = words(text).iter().map(|w| stem(w)).collect();
					held.sort();
					held
				};
				let in_text = stemmed(&passage.text);
				let names = stemmed(&format!("{} {}", document.title, document.names.join(" ")));
				let matched_in_text =
					stems.iter().filter(|s| in_text.binary_search(s).is_ok()).count();
				let matched = stems
					.iter()
					.filter(|s| in_text.binary_search(s).is_ok() || names.binary_search(s).is_ok())
					.count();
				PassageHit { document, text: &passage.text, score, matched, matched_in_text }
			})
			.collect()
	}

	/// The document whose headword (or one of its names) is `name`, when `name` is its own
	/// entry rather than a pointer.
	pub fn named(&self, name: &str) -> Option<&Document> {
		let key = words(name).join(" ");
		self.titles
			.get(&key)?
			.iter()
			.map(|doc| &self.documents[*doc as usize])
			.find(|doc| doc.pointer.is_none())
	}

	/// The document cited as `uri`.
	pub fn by_uri(&self, uri: &str) -> Option<&Document> {
		self.uris.get(uri).map(|id| &self.documents[*id as usize])
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

/// How well `sentence` holds the kind of answer the question asks for: for "who", a name after
/// "by" (2) or two capitalised words in a row (1); for "when", a year (2); for "how many", a
/// number (1).
pub fn answers_kind(sentence: &str, kind: Option<membria_primitives::AnswerKind>) -> usize {
	use membria_primitives::AnswerKind;
	let tokens: Vec<&str> = sentence.split_whitespace().collect();
	// "Curie", "Berners-Lee,".
	let capitalised = |token: &str| {
		token.split('-').all(|part| {
			let mut chars = part.chars();
			chars.next().is_some_and(char::is_uppercase)
				&& chars.clone().next().is_some()
				&& chars.all(|c| c.is_lowercase() || matches!(c, ',' | '.' | ';'))
		})
	};
	let plain = |token: &str| token.chars().all(char::is_alphabetic);
	match kind {
		Some(AnswerKind::Person) => {
			let by_name = tokens
				.windows(2)
				.any(|pair| matches!(pair[0], "by" | "By") && capitalised(pair[1]));
			let name = tokens.windows(2).enumerate().any(|(i, pair)| {
				i > 0 && plain(pair[0]) && capitalised(pair[0]) && capitalised(pair[1])
			});
			2 * usize::from(by_name) + usize::from(name)
		},
		Some(AnswerKind::Time) => {
			let year = tokens.iter().any(|token| {
				let digits = token.trim_matches(|c: char| !c.is_ascii_digit());
				digits.len() == 4 && token.trim_end_matches(['.', ',', ')', ';']).len() >= 4
			});
			2 * usize::from(year)
		},
		Some(AnswerKind::Quantity) => usize::from(sentence.chars().any(|c| c.is_ascii_digit())),
		_ => 0,
	}
}

/// How an answer names its subject: the document's own headword, capitalised, with the
/// abbreviations among its other names ("User Datagram Protocol (UDP)") and the name the
/// question used, if another (`asked`: the question's words; "What is IPv6?" → "Internet
/// Protocol version 6 (IPv6)").
pub fn naming(names: &[String], asked: &[String]) -> String {
	let Some(first) = names.first() else {
		return String::new();
	};
	let mut chars = first.chars();
	let headword: String = match chars.next() {
		Some(c) => c.to_uppercase().chain(chars).collect(),
		None => String::new(),
	};
	let mut abbreviations: Vec<&str> = Vec::new();
	for name in &names[1..] {
		let used = !name.contains(' ') && asked.contains(&name.to_lowercase());
		// "(NB: …)" opens a note, not a name.
		let note = matches!(name.as_str(), "NB" | "PS" | "AKA");
		if (membria_primitives::question::is_abbreviation(name) && !note || used)
			&& !name.eq_ignore_ascii_case(first)
			&& !abbreviations.contains(&name.as_str())
		{
			abbreviations.push(name);
		}
	}
	if abbreviations.is_empty() {
		headword
	} else {
		format!("{headword} ({})", abbreviations.join(", "))
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
		// Short abbreviations ("e.g.", "i.e.", "U.S.", "ca.") and initials ("Martin H.
		// Klaproth") do not end sentences.
		let last_word = current.split_whitespace().last().unwrap_or_default();
		let last_word = last_word.trim_start_matches(['(', '"', '\'']);
		let initial =
			last_word.len() == 2 && last_word.starts_with(|c: char| c.is_ascii_uppercase());
		let abbreviation = (last_word.len() <= 4 && last_word.matches('.').count() >= 2)
			|| initial
			|| ABBREVIATIONS.contains(&last_word.to_lowercase().as_str());
		if ends && !abbreviation {
			push_sentence(&mut out, &current);
			current.clear();
		}
	}
	push_sentence(&mut out, &current);
	out
}

/// Abbreviations written with a full stop that does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
	"ca.", "cf.", "approx.", "vs.", "viz.", "dr.", "mr.", "mrs.", "ms.", "st.", "jr.", "sr.",
	"fig.", "vol.", "inc.", "ltd.", "corp.",
];

/// Keeps a sentence that says something: a sense number ("2.") opening it goes, and what holds
/// no letter or digit is no sentence.
fn push_sentence(out: &mut Vec<String>, text: &str) {
	let mut text = text.trim();
	if let Some((number, rest)) = text.split_once(". ") {
		if !number.is_empty() && number.len() <= 2 && number.chars().all(|c| c.is_ascii_digit()) {
			text = rest.trim_start();
		}
	}
	if text.chars().any(char::is_alphanumeric)
		&& !(text.len() <= 3
			&& text.ends_with('.')
			&& text[..text.len() - 1].chars().all(|c| c.is_ascii_digit()))
	{
		out.push(text.to_string());
	}
}

/// The fields of records (the elements database's).
const FIELDS: [&str; 3] = ["Symbol:", "Atomic number:", "Atomic weight:"];

/// Whether `passage` is a record's field rather than a sentence.
pub fn is_field(passage: &str) -> bool {
	FIELDS.iter().any(|field| passage.starts_with(field))
}

/// A document's definition: its first sentence that is neither a record field nor a note (else
/// its first that is no field).
pub fn opening(document: &Document) -> Option<String> {
	let sentences = record_fields(&document.text);
	let position = sentences
		.iter()
		.position(|s| !is_field(s) && !is_note(s))
		.or_else(|| sentences.iter().position(|s| !is_field(s)))?;
	sentences.into_iter().nth(position)
}

/// Whether `sentence` is a note about the headword rather than a statement of what it is
/// (FOLDOC's `Plural "Unices".`, `Pronounced …`, `See also …`).
pub fn is_note(sentence: &str) -> bool {
	const NOTES: [&str; 6] = ["plural", "pronounced", "note", "see", "also", "abbreviated"];
	let first = sentence
		.split_whitespace()
		.next()
		.unwrap_or_default()
		.trim_matches(|c: char| !c.is_alphanumeric())
		.to_lowercase();
	NOTES.contains(&first.as_str())
}

/// Splits record-like texts ("Symbol: C Atomic number: 6 …") into their fields, so each field is
/// a fact of its own.
pub fn record_fields(text: &str) -> Vec<String> {
	let mut rest = text;
	let mut fields = Vec::new();
	while let Some((index, field)) =
		FIELDS.iter().filter_map(|f| rest.find(f).map(|i| (i, *f))).min()
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
	fn initials_abbreviations_and_sense_numbers_do_not_make_sentences() {
		assert_eq!(
			sentences(
				"Discovered by Martin H. Klaproth in 1789. Designed ca. 1972 at Bell Labs. 2. A \
				 second sense. (Note.)"
			),
			vec![
				"Discovered by Martin H. Klaproth in 1789.",
				"Designed ca. 1972 at Bell Labs.",
				"A second sense.",
				"(Note.)"
			]
		);
	}

	#[test]
	fn markup_goes_wherever_it_is() {
		let (text, abbreviations) = clean(
			"<storage> (RAM) (Previously \"direct\").  A {data} storage device\n   by Guido \
			 <guido@cwi.nl> in 1991.  2. <language> A core. (1996-06-07)",
		);
		assert_eq!(text, "A data storage device by Guido in 1991. 2. A core.");
		assert_eq!(abbreviations, ["RAM"]);
	}

	#[test]
	fn passages_are_found_by_their_stems() {
		let dir = tempfile::tempdir().unwrap();
		std::fs::write(dir.path().join("iron.txt"), "Symbol: Fe A metallic element.").unwrap();
		std::fs::write(dir.path().join("symbol.txt"), "A symbol is a name.").unwrap();
		std::fs::write(
			dir.path().join("dns.txt"),
			"A directory. It translates host names into addresses.",
		)
		.unwrap();
		let corpus = Corpus::load(dir.path()).unwrap();
		let hits = corpus.passages(&["symbol".into(), "fe".into()], 3);
		assert_eq!((hits[0].document.title.as_str(), hits[0].text), ("iron", "Symbol: Fe"));
		assert_eq!((hits[0].matched, hits[0].matched_in_text), (2, 2));
		let hits = corpus.passages(&["translating".into(), "name".into()], 3);
		assert_eq!(hits[0].text, "It translates host names into addresses.");
		assert!(corpus.passages(&["absent".into()], 3).is_empty());
	}

	#[test]
	fn notes_are_no_definitions() {
		assert!(is_note("Plural \"Unices\"."));
		assert!(is_note("See also microkernel."));
		assert!(!is_note("An interactive time-sharing operating system."));
		assert!(!is_note("Monatomic noble gas."));
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
	fn foldoc_headers_give_the_names_and_the_definition() {
		let raw = "User Datagram Protocol\nUDP\n\n   <protocol> (UDP) {Internet} {standard}\n   protocols.\n";
		let (names, definition) = header(raw);
		assert_eq!(names, ["User Datagram Protocol", "UDP"]);
		assert_eq!(
			clean(definition),
			("Internet standard protocols.".to_string(), vec!["UDP".to_string()])
		);
		// No other names: the headword only, the definition whole.
		let (names, definition) = header("Linux\n\n   <operating system> (\"Linus Unix\") /li'nuks/ (but see below)\n   An implementation.\n\n   More.\n");
		assert_eq!(names, ["Linux"]);
		assert_eq!(clean(definition).0, "An implementation. More.");
		// The elements database: no blank line after the headword, no indentation.
		let (names, definition) = header("helium\nSymbol: He\nAtomic number: 2\n");
		assert_eq!(names, ["helium"]);
		assert_eq!(clean(definition).0, "Symbol: He Atomic number: 2");
	}

	#[test]
	fn pointer_entries_are_recognised() {
		assert_eq!(
			pointer(
				"\n   1. {Domain Name System}.\n\n   2. Distributed Name Service.  See {DECdns}.\n"
			)
			.as_deref(),
			Some("Domain Name System")
		);
		assert_eq!(pointer("   {Internet Protocol}.\n").as_deref(), Some("Internet Protocol"));
		assert_eq!(pointer("   A {protocol} for mail.\n"), None);
		assert_eq!(pointer("   {X} is a language.\n"), None);
	}

	#[test]
	fn subjects_are_named_with_their_abbreviations() {
		assert_eq!(
			naming(&["central processing unit".into(), "CPU".into(), "processor".into()], &[]),
			"Central processing unit (CPU)"
		);
		assert_eq!(naming(&["oxygen".into()], &[]), "Oxygen");
		assert_eq!(naming(&["SMTP".into(), "SMTP".into()], &[]), "SMTP");
		assert_eq!(
			naming(&["Internet Protocol version 6".into(), "IPv6".into()], &["ipv6".into()]),
			"Internet Protocol version 6 (IPv6)"
		);
	}

	#[test]
	fn sentences_are_scored_for_the_kind_of_answer() {
		use membria_primitives::AnswerKind::*;
		let torvalds =
			"Work on the kernel is coordinated by Linus Torvalds, who holds the copyright.";
		assert_eq!(answers_kind(torvalds, Some(Person)), 3);
		assert_eq!(answers_kind("Isolated in 1898 by Marie and Pierre Curie.", Some(Person)), 3);
		assert_eq!(answers_kind("The kernel runs on Intel hardware.", Some(Person)), 0);
		assert_eq!(answers_kind("It was discovered in 1774.", Some(Time)), 2);
		assert_eq!(answers_kind("It has 8 protons.", Some(Quantity)), 1);
		assert_eq!(answers_kind(torvalds, None), 0);
	}

	#[test]
	fn text_corpora_load_and_rank_by_title() {
		let dir = tempfile::tempdir().unwrap();
		std::fs::write(dir.path().join("token-ring.txt"), "Token Ring is a LAN protocol.").unwrap();
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
		assert!(matches!(Corpus::load(&dir.path().join("missing")), Err(CorpusError::Io { .. })));
		let empty = tempfile::tempdir().unwrap();
		assert!(matches!(Corpus::load(empty.path()), Err(CorpusError::Empty(_))));
	}
}
