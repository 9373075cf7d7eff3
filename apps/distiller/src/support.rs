//! When a sentence supports a claim: the one rule `/verify` applies to an answer against its
//! facts, to facts against the trusted corpus, and the `openai` teacher to its model's answer
//! against the passages it retrieved.
//!
//! Sharing words is not enough: "Isolated in 1899 by Ernest Rutherford" shares most of its words
//! with "Isolated in 1898 by Marie and Pierre Curie", and "TCP is not connection-oriented" all of
//! them with "TCP is connection-oriented". A sentence supports a claim when
//! - it holds at least [`COVERAGE`] of the claim's other content words,
//! - it holds every number of the claim (a year, an atomic number, a version),
//! - it holds every name of the claim (a capitalised word inside a sentence), and
//! - it says "not" (no, never, cannot, …) as many times as the claim does.

use crate::corpus::{content_words, words};

/// Share of a claim's content words a sentence must hold to support it.
pub const COVERAGE: f64 = 0.8;

/// Words that turn a statement into its opposite.
const NEGATIONS: &[&str] =
	&["not", "no", "never", "neither", "nor", "none", "nothing", "cannot", "without"];

/// How a sentence fails to support a claim.
#[derive(Clone, Debug, PartialEq)]
pub enum Mismatch {
	/// It holds only this share of the claim's content words.
	Coverage(f64),
	/// It does not hold this number of the claim.
	Number(String),
	/// It does not hold this name of the claim.
	Name(String),
	/// It negates what the claim affirms (`claim_negated: false`) or the other way round.
	Negation { claim_negated: bool },
}

impl std::fmt::Display for Mismatch {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			Self::Coverage(share) => write!(f, "{:.0}% of its words at best", share * 100.0),
			Self::Number(number) => write!(f, "the number {number} is not the source's"),
			Self::Name(name) => write!(f, "the name {name:?} is not the source's"),
			Self::Negation { claim_negated: true } => {
				write!(f, "it negates what the source affirms")
			},
			Self::Negation { claim_negated: false } => {
				write!(f, "it affirms what the source negates")
			},
		}
	}
}

/// `text` with its negative contractions spelt out ("isn't" → "is not", "can't" → "can not"),
/// so that a claim and its source compare word by word however each writes them.
fn expand(text: &str) -> String {
	text.replace('’', "'")
		.replace("can't", "can not")
		.replace("Can't", "Can not")
		.replace("won't", "will not")
		.replace("Won't", "Will not")
		.replace("cannot", "can not")
		.replace("Cannot", "Can not")
		.replace("n't", " not")
}

/// How many negations `text` holds.
pub fn negations(text: &str) -> usize {
	text.split_whitespace()
		.map(|token| {
			token
				.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
				.to_lowercase()
				.replace('’', "'")
		})
		.filter(|token| NEGATIONS.contains(&token.as_str()) || token.ends_with("n't"))
		.count()
}

/// The numbers of `text`: its words that hold a digit ("1898", "db2"; "12.011" is two).
pub fn numbers(text: &str) -> Vec<String> {
	words(text)
		.into_iter()
		.filter(|w| w.chars().any(|c| c.is_ascii_digit()))
		.collect()
}

/// The names of `text`: its capitalised words that are not the first word of a sentence or of
/// what follows a colon ("Radium: Isolated … by Marie Curie" names Marie and Curie), lowercase.
pub fn names(text: &str) -> Vec<String> {
	let mut out = Vec::new();
	let mut opening = true;
	for token in text.split_whitespace() {
		let word = token.trim_matches(|c: char| !c.is_alphanumeric());
		let capitalised = word.chars().next().is_some_and(char::is_uppercase);
		if capitalised && !opening {
			out.extend(content_words(word));
		}
		opening = token.ends_with([':', '.', '!', '?']) && !word.is_empty();
	}
	out
}

/// A sentence of a source, ready to be compared with claims.
#[derive(Clone, Debug)]
pub struct Evidence {
	/// The sentence as the source says it.
	pub sentence: String,
	words: Vec<String>,
	context: Vec<String>,
	negations: usize,
}

impl Evidence {
	/// `sentence`, read together with `context` (its document's title and other names, the
	/// question): words the claim may use without the sentence saying them.
	pub fn new(sentence: &str, context: &[String]) -> Self {
		let mut words = words(&expand(sentence));
		words.extend(context.iter().cloned());
		words.sort();
		words.dedup();
		let mut context = context.to_vec();
		context.sort();
		context.dedup();
		Self { sentence: sentence.to_string(), negations: negations(sentence), words, context }
	}

	fn holds(&self, word: &str) -> bool {
		self.words.binary_search_by(|w| w.as_str().cmp(word)).is_ok()
	}

	/// The share of `claim`'s content words this sentence holds, numbers, names and negations
	/// aside ([`Evidence::supports`] checks those one by one).
	pub fn coverage(&self, claim: &str) -> f64 {
		let claim = &expand(claim);
		let names = names(claim);
		let content: Vec<String> = content_words(claim)
			.into_iter()
			.filter(|w| {
				!w.chars().any(|c| c.is_ascii_digit()) && !names.contains(w) && negations(w) == 0
			})
			.collect();
		if content.is_empty() {
			return 1.0;
		}
		content.iter().filter(|w| self.holds(w)).count() as f64 / content.len() as f64
	}

	/// Whether this sentence supports `claim`, and if not, why.
	pub fn supports(&self, claim: &str) -> Result<(), Mismatch> {
		// What only names the subject ("UDP", "World-Wide Web (WWW)") the context says.
		let claim_words = words(claim);
		if negations(claim) == 0
			&& !claim_words.is_empty()
			&& claim_words.iter().all(|w| self.context.binary_search(w).is_ok())
		{
			return Ok(());
		}
		let coverage = self.coverage(claim);
		if coverage < COVERAGE {
			return Err(Mismatch::Coverage(coverage));
		}
		if let Some(number) = numbers(claim).into_iter().find(|n| !self.holds(n)) {
			return Err(Mismatch::Number(number));
		}
		if let Some(name) = names(claim).into_iter().find(|n| !self.holds(n)) {
			return Err(Mismatch::Name(name));
		}
		let claimed = negations(claim);
		if claimed != self.negations {
			return Err(Mismatch::Negation { claim_negated: claimed > self.negations });
		}
		Ok(())
	}
}

/// Which sentence of `evidence` supports `claim` (the first that does); if none does, the
/// closest sentence's mismatch (the one holding most of the claim's words) and that sentence.
pub fn supported<'a>(
	claim: &str,
	evidence: &'a [Evidence],
) -> Result<usize, (Mismatch, Option<&'a Evidence>)> {
	let mut closest: Option<(f64, Mismatch, &Evidence)> = None;
	for (index, item) in evidence.iter().enumerate() {
		match item.supports(claim) {
			Ok(()) => return Ok(index),
			Err(mismatch) => {
				let coverage = item.coverage(claim);
				// A sentence that holds the claim's words but changes a fact explains more than
				// one that does not speak of it.
				let rank =
					coverage + if matches!(mismatch, Mismatch::Coverage(_)) { 0.0 } else { 1.0 };
				if closest.as_ref().is_none_or(|(best, _, _)| rank > *best) {
					closest = Some((rank, mismatch, item));
				}
			},
		}
	}
	match closest {
		Some((_, mismatch, item)) => Err((mismatch, Some(item))),
		None => Err((Mismatch::Coverage(0.0), None)),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn evidence(sentence: &str) -> Evidence {
		Evidence::new(sentence, &["radium".to_string()])
	}

	#[test]
	fn a_verbatim_claim_is_supported() {
		let source = evidence("Isolated from pitchblende in 1898 by Marie and Pierre Curie.");
		assert_eq!(
			source.supports("Isolated from pitchblende in 1898 by Marie and Pierre Curie."),
			Ok(())
		);
		// The subject the answer names it by comes from the context.
		assert_eq!(
			source.supports("Radium: Isolated from pitchblende in 1898 by Marie and Pierre Curie."),
			Ok(())
		);
	}

	#[test]
	fn a_changed_number_name_or_negation_is_refused() {
		let source = evidence("Isolated from pitchblende in 1898 by Marie and Pierre Curie.");
		assert_eq!(
			source.supports("Isolated from pitchblende in 1899 by Marie and Pierre Curie."),
			Err(Mismatch::Number("1899".into()))
		);
		assert_eq!(
			source.supports("Isolated from pitchblende in 1898 by Marie and Pierre Rutherford."),
			Err(Mismatch::Name("rutherford".into()))
		);
		assert_eq!(
			source.supports("Not isolated from pitchblende in 1898 by Marie and Pierre Curie."),
			Err(Mismatch::Negation { claim_negated: true })
		);
		let negated = evidence("UDP is not connection-oriented and does not guarantee delivery.");
		assert_eq!(
			negated.supports("UDP is connection-oriented and does guarantee delivery."),
			Err(Mismatch::Negation { claim_negated: false })
		);
		assert_eq!(
			negated.supports("UDP isn't connection-oriented and doesn't guarantee delivery."),
			Ok(())
		);
		assert!(matches!(
			source.supports("Discovered by accident in a laboratory."),
			Err(Mismatch::Coverage(_))
		));
	}

	#[test]
	fn names_skip_the_words_that_open_a_sentence() {
		assert_eq!(
			names("Radium: Isolated in 1898 by Marie Curie. The element glows."),
			["marie", "curie"]
		);
		assert_eq!(
			numbers("Atomic weight: 12.011, found in 1774 by DB2"),
			["12", "011", "1774", "db2"]
		);
		assert_eq!(negations("It is not a protocol, and never was; it can't be."), 3);
	}

	#[test]
	fn the_closest_sentence_explains_a_refusal() {
		let sources = [evidence("Radium glows in the dark."), evidence("Discovered in 1898.")];
		assert_eq!(supported("Radium glows in the dark.", &sources).ok(), Some(0));
		let (mismatch, closest) = supported("Discovered in 1899.", &sources).unwrap_err();
		assert_eq!(mismatch, Mismatch::Number("1899".into()));
		assert_eq!(closest.unwrap().sentence, "Discovered in 1898.");
	}
}
