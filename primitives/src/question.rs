//! Question normalization: the one rule that decides when two questions are the same question.
//!
//! `normalize_question` lowercases (Unicode-aware), trims, collapses every run of whitespace to
//! one space, and drops trailing sentence punctuation (`.,!?;:…` and their CJK forms).
//! `question_key` is blake2-256 of the normalized text's UTF-8 bytes.

use alloc::{string::String, vec::Vec};

/// Sentence punctuation dropped from the end of a question. Symbols that belong to names
/// ("C++", "C#") are not sentence punctuation and stay.
fn is_trailing_punctuation(c: char) -> bool {
	matches!(
		c,
		'.' | ','
			| '!' | '?'
			| ';' | ':'
			| '…' | '。'
			| '？' | '！'
			| '，' | '、'
			| '；' | '：'
			| '¿' | '¡'
	)
}

/// The normalized form of `question`.
///
/// ```
/// use membria_primitives::normalize_question;
/// assert_eq!(normalize_question("  What IS\tthe atomic  number of Carbon?? "), "what is the atomic number of carbon");
/// assert_eq!(normalize_question("Qu'est-ce que l'ÉNERGIE ?"), "qu'est-ce que l'énergie");
/// ```
pub fn normalize_question(question: &str) -> String {
	let mut normalized = String::with_capacity(question.len());
	for word in question.split_whitespace() {
		if !normalized.is_empty() {
			normalized.push(' ');
		}
		for c in word.chars() {
			normalized.extend(c.to_lowercase());
		}
	}
	// Trailing punctuation may be separated by spaces ("what is rust ?").
	loop {
		let trimmed = normalized.trim_end_matches(is_trailing_punctuation).trim_end();
		if trimmed.len() == normalized.len() {
			break;
		}
		normalized.truncate(trimmed.len());
	}
	normalized
}

/// The key of a question on chain: blake2-256 of its normalized UTF-8 text.
pub fn question_key(question: &str) -> [u8; 32] {
	sp_crypto_hashing::blake2_256(normalize_question(question).as_bytes())
}

/// Words that say what kind of question it is, not what it is about.
const STOPWORDS: &[&str] = &[
	"a",
	"about",
	"an",
	"and",
	"are",
	"as",
	"at",
	"be",
	"by",
	"can",
	"define",
	"definition",
	"describe",
	"did",
	"do",
	"does",
	"explain",
	"for",
	"from",
	"has",
	"have",
	"how",
	"i",
	"in",
	"is",
	"it",
	"its",
	"me",
	"mean",
	"meaning",
	"means",
	"of",
	"on",
	"or",
	"please",
	"tell",
	"that",
	"the",
	"this",
	"to",
	"was",
	"were",
	"what",
	"what's",
	"when",
	"where",
	"which",
	"who",
	"why",
	"with",
	"you",
];

/// What a question is about: the words of its normalized form, without the words that only
/// make it a question, in order, each once.
///
/// Two questions (or a question and an answer) about different things disagree here even when
/// their wording is close: "atomic number of carbon" → `[atomic, number, carbon]`.
///
/// ```
/// use membria_primitives::question::key_terms;
/// assert_eq!(key_terms("What is the atomic number of Carbon?"), ["atomic", "number", "carbon"]);
/// assert_eq!(key_terms("What is C++?"), ["c++"]);
/// ```
pub fn key_terms(text: &str) -> Vec<String> {
	let normalized = normalize_question(text);
	let mut terms: Vec<String> = Vec::new();
	for word in question_words(&normalized) {
		let word = word.trim_matches(|c: char| matches!(c, '\'' | '-'));
		let word = word.strip_suffix("'s").unwrap_or(word);
		if word.is_empty() || STOPWORDS.contains(&word) || terms.iter().any(|t| t == word) {
			continue;
		}
		terms.push(String::from(word));
	}
	terms
}

/// Whether `word` is written as an abbreviation: 2–8 characters, capitals and digits, at least
/// two letters ("UDP", "POP3"; not "Ra", "K" or "Unix").
///
/// ```
/// use membria_primitives::question::is_abbreviation;
/// assert!(is_abbreviation("SMTP") && is_abbreviation("POP3"));
/// assert!(!is_abbreviation("Fe") && !is_abbreviation("42") && !is_abbreviation("K"));
/// ```
pub fn is_abbreviation(word: &str) -> bool {
	let letters = word.chars().filter(char::is_ascii_alphabetic).count();
	(2..=8).contains(&word.len())
		&& letters >= 2
		&& word.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// The kind of answer a question asks for, when its question word says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerKind {
	/// "Who …", "… by whom?"
	Person,
	/// "When …"
	Time,
	/// "Where …"
	Place,
	/// "How many …", "how much …"
	Quantity,
}

impl AnswerKind {
	/// The question word that asks for it.
	pub fn word(self) -> &'static str {
		match self {
			Self::Person => "who",
			Self::Time => "when",
			Self::Place => "where",
			Self::Quantity => "how many",
		}
	}
}

/// The words of a question as [`key_terms`] splits them (normalized, symbols of names kept).
pub fn question_words(normalized: &str) -> Vec<&str> {
	normalized
		.split(|c: char| !(c.is_alphanumeric() || matches!(c, '+' | '#' | '\'' | '-')))
		.filter(|w| !w.is_empty())
		.collect()
}

/// The kind of answer `question` asks for: "how many"/"how much" anywhere, else its question
/// word, first ("Who discovered …") or last ("… discovered by whom?"). `None` for "what",
/// "which" and the like, which ask for anything.
///
/// ```
/// use membria_primitives::question::{answer_kind, AnswerKind};
/// assert_eq!(answer_kind("Radium was discovered by whom?"), Some(AnswerKind::Person));
/// assert_eq!(answer_kind("How many bits are in a byte?"), Some(AnswerKind::Quantity));
/// assert_eq!(answer_kind("What does a router do when a link fails?"), None);
/// ```
pub fn answer_kind(question: &str) -> Option<AnswerKind> {
	let normalized = normalize_question(question);
	let words = question_words(&normalized);
	if words
		.windows(2)
		.any(|pair| pair[0] == "how" && matches!(pair[1], "many" | "much"))
	{
		return Some(AnswerKind::Quantity);
	}
	let kind = [words.first(), words.last()]
		.into_iter()
		.flatten()
		.find_map(|word| match *word {
			"who" | "whom" | "whose" => Some(AnswerKind::Person),
			"when" => Some(AnswerKind::Time),
			"where" => Some(AnswerKind::Place),
			_ => None,
		});
	kind
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn same_question_same_key() {
		let forms = [
			"What is the atomic number of carbon?",
			"what is the atomic number of carbon",
			"  WHAT is the   atomic number\nof carbon ?!",
			"What is the atomic number of carbon…",
		];
		let key = question_key(forms[0]);
		for form in forms {
			assert_eq!(question_key(form), key, "{form:?}");
		}
	}

	#[test]
	fn different_questions_differ() {
		assert_ne!(
			question_key("atomic number of carbon"),
			question_key("atomic number of nitrogen")
		);
		// Symbols are part of names, even at the end.
		assert_ne!(question_key("what is c++"), question_key("what is c"));
		assert_ne!(question_key("what is C#?"), question_key("what is c"));
		assert_eq!(normalize_question("What is C#?"), "what is c#");
	}

	#[test]
	fn unicode_lowercase_and_whitespace() {
		assert_eq!(normalize_question("ΣΊΣΥΦΟΣ\u{00a0}Άλφα"), "σίσυφοσ άλφα");
		assert_eq!(normalize_question("Straße？"), "straße");
		assert_eq!(normalize_question(""), "");
		assert_eq!(normalize_question(" ?!. "), "");
	}

	#[test]
	fn key_is_blake2_of_normalized_text() {
		assert_eq!(question_key("Hello World!"), sp_crypto_hashing::blake2_256(b"hello world"));
	}

	#[test]
	fn key_terms_keep_what_the_question_is_about() {
		assert_eq!(key_terms("Who was Ada Lovelace?"), ["ada", "lovelace"]);
		assert_eq!(
			key_terms("what's the boiling point of water, and of water?"),
			["boiling", "point", "water"]
		);
		assert_eq!(key_terms("What is C#"), ["c#"]);
		assert!(key_terms("What is it?").is_empty());
	}
}
