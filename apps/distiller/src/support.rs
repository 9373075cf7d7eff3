//! When a sentence supports a claim: the one rule `/verify` applies to an answer against its
//! facts, to facts against the trusted corpus, and the `openai` teacher to its model's answer
//! against the passages it retrieved.
//!
//! Sharing words is not enough: "Isolated in 1899 by Ernest Rutherford" shares most of its words
//! with "Isolated in 1898 by Marie and Pierre Curie", and "TCP is not connection-oriented" all of
//! them with "TCP is connection-oriented". A sentence supports a claim when
//! - it holds every number of the claim, whole (a year, an atomic number, a version),
//! - it holds every name of the claim (a capitalised word inside a sentence),
//! - it says "not" (no, never, cannot, …) as many times as the claim does, and
//! - it holds every other content word of the claim (by stem: "translates", "translating").
//!
//! A claim that is a bare number is supported by nothing. Checked in that order, after a first
//! look at [`COVERAGE`] of the content words, so that a sentence that says the same but for a
//! number, a name or a negation is told apart from one that speaks of something else (what
//! `contradicts` links are made of).

use crate::corpus::{content_words, stem, words};

/// Share of a claim's content words a sentence must hold to be about the same thing (to support
/// it, it must hold them all).
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
	/// It does not hold these words of the claim (stems).
	Words(Vec<String>),
	/// The claim is a bare number: nothing a sentence could support.
	NothingSaid,
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
			Self::Words(words) => write!(f, "the words {words:?} are not the source's"),
			Self::NothingSaid => write!(f, "a bare number says nothing"),
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

/// The numbers of `text`, each whole: a run of digits (any script's) with the `.` and `,` inside
/// it, and a minus sign that opens it ("12.011", "1,000,000", "-39"; "7-bit" holds 7). "5.2"
/// is not "2.5", and "1,000" is not in "1,000,000".
pub fn numbers(text: &str) -> Vec<String> {
	let chars: Vec<char> = text.chars().collect();
	let mut out = Vec::new();
	let mut i = 0;
	while i < chars.len() {
		if !chars[i].is_numeric() {
			i += 1;
			continue;
		}
		let negative = i > 0
			&& chars[i - 1] == '-'
			&& (i == 1 || chars[i - 2].is_whitespace() || chars[i - 2] == '(');
		let mut number: String = if negative { "-".into() } else { String::new() };
		while i < chars.len() {
			let c = chars[i];
			let inner = matches!(c, '.' | ',') && chars.get(i + 1).is_some_and(|n| n.is_numeric());
			if c.is_numeric() || inner {
				number.push(c);
				i += 1;
			} else {
				break;
			}
		}
		out.push(number);
	}
	out
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

fn stems(words: impl IntoIterator<Item = String>) -> Vec<String> {
	let mut stems: Vec<String> = words.into_iter().map(|w| stem(&w)).collect();
	stems.sort();
	stems.dedup();
	stems
}

/// A claim, read once: what a supporting sentence must hold.
#[derive(Clone, Debug)]
pub struct Claim {
	words: Vec<String>,
	/// Stems of its content words, numbers, names and negations aside.
	content: Vec<String>,
	numbers: Vec<String>,
	names: Vec<String>,
	negations: usize,
}

impl Claim {
	pub fn new(text: &str) -> Self {
		let expanded = expand(text);
		let names = names(&expanded);
		let content = content_words(&expanded).into_iter().filter(|w| {
			!w.chars().any(char::is_numeric) && !names.contains(w) && negations(w) == 0
		});
		Self {
			words: words(text),
			content: stems(content),
			numbers: numbers(text),
			names,
			negations: negations(text),
		}
	}
}

/// A sentence of a source, ready to be compared with claims.
#[derive(Clone, Debug)]
pub struct Evidence {
	/// The sentence as the source says it.
	pub sentence: String,
	words: Vec<String>,
	/// Stems of its words and of the context's.
	stems: Vec<String>,
	numbers: Vec<String>,
	context: Vec<String>,
	context_stems: Vec<String>,
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
		let mut numbers = numbers(sentence);
		numbers.extend(context.iter().flat_map(|w| self::numbers(w)));
		numbers.sort();
		Self {
			sentence: sentence.to_string(),
			negations: negations(sentence),
			stems: stems(words.iter().cloned()),
			context_stems: stems(context.iter().cloned()),
			numbers,
			words,
			context,
		}
	}

	fn holds(&self, word: &str) -> bool {
		self.words.binary_search_by(|w| w.as_str().cmp(word)).is_ok()
	}

	fn holds_stem(&self, stem: &str) -> bool {
		self.stems.binary_search_by(|w| w.as_str().cmp(stem)).is_ok()
	}

	/// The share of `claim`'s content words this sentence holds, numbers, names and negations
	/// aside ([`Evidence::supports`] checks those one by one).
	pub fn coverage(&self, claim: &str) -> f64 {
		self.coverage_of(&Claim::new(claim))
	}

	fn coverage_of(&self, claim: &Claim) -> f64 {
		if claim.content.is_empty() {
			return 1.0;
		}
		claim.content.iter().filter(|w| self.holds_stem(w)).count() as f64
			/ claim.content.len() as f64
	}

	/// Whether this sentence supports `claim`, and if not, why.
	pub fn supports(&self, claim: &str) -> Result<(), Mismatch> {
		self.supports_claim(&Claim::new(claim))
	}

	/// [`Evidence::supports`] for a claim already read.
	pub fn supports_claim(&self, claim: &Claim) -> Result<(), Mismatch> {
		// What only names the subject ("UDP", "World-Wide Web (WWW)") the context says.
		if claim.negations == 0
			&& claim.numbers.is_empty()
			&& !claim.words.is_empty()
			&& claim.words.iter().all(|w| self.context.binary_search(w).is_ok())
		{
			return Ok(());
		}
		// A bare number ("Carbon: 14.": the subject and a number) says nothing a sentence could
		// support.
		let says = claim
			.content
			.iter()
			.any(|w| self.context_stems.binary_search_by(|c| c.as_str().cmp(w)).is_err());
		if !says && claim.names.is_empty() && !claim.numbers.is_empty() {
			return Err(Mismatch::NothingSaid);
		}
		let coverage = self.coverage_of(claim);
		if coverage < COVERAGE {
			return Err(Mismatch::Coverage(coverage));
		}
		if let Some(number) = claim.numbers.iter().find(|n| self.numbers.binary_search(n).is_err())
		{
			return Err(Mismatch::Number(number.clone()));
		}
		if let Some(name) = claim.names.iter().find(|n| !self.holds(n)) {
			return Err(Mismatch::Name(name.clone()));
		}
		if claim.negations != self.negations {
			return Err(Mismatch::Negation { claim_negated: claim.negations > self.negations });
		}
		// The words that remain must all be the source's too: one word in five changed
		// ("reliable" for "unreliable", a discoverer opening the sentence) changes the fact.
		let missing: Vec<String> =
			claim.content.iter().filter(|w| !self.holds_stem(w)).cloned().collect();
		if !missing.is_empty() {
			return Err(Mismatch::Words(missing));
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
	let claim = Claim::new(claim);
	let mut closest: Option<(f64, Mismatch, &Evidence)> = None;
	for (index, item) in evidence.iter().enumerate() {
		match item.supports_claim(&claim) {
			Ok(()) => return Ok(index),
			Err(mismatch) => {
				let coverage = item.coverage_of(&claim);
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
			numbers(
				"Atomic weight: 12.011, found in 1774 by DB2; -39 °C, 1,000,000 7-bit ｘ１８９９"
			),
			["12.011", "1774", "2", "-39", "1,000,000", "7", "１８９９"]
		);
		assert_eq!(negations("It is not a protocol, and never was; it can't be."), 3);
	}

	/// What the first rule let through: a word changed into its opposite, a discoverer opening
	/// the sentence, digits reordered or cut, a number in another script, a bare number.
	#[test]
	fn every_word_and_whole_numbers_are_the_sources() {
		let udp = Evidence::new(
			"Internet standard protocols which provide simple but unreliable datagram services.",
			&["udp".into()],
		);
		assert_eq!(
			udp.supports(
				"Internet standard protocols which provide simple but reliable datagram services."
			),
			Err(Mismatch::Words(vec!["reliabl".into()]))
		);
		let polonium = Evidence::new(
			"Discovered by Marie Curie in 1898 in a sample of pitchblende.",
			&["polonium".into()],
		);
		assert_eq!(
			polonium.supports("Rutherford discovered polonium in 1898 in a sample of pitchblende."),
			Err(Mismatch::Words(vec!["rutherford".into()]))
		);
		assert_eq!(
			polonium.supports("Discovered by Marie Curie in １８９８ in a sample of pitchblende."),
			Err(Mismatch::Number("１８９８".into()))
		);
		let weight = Evidence::new("Atomic weight: 12.011", &["carbon".into()]);
		assert_eq!(weight.supports("Atomic weight: 12.011"), Ok(()));
		assert_eq!(
			weight.supports("Atomic weight: 011.12"),
			Err(Mismatch::Number("011.12".into()))
		);
		assert_eq!(weight.supports("Atomic weight: 12"), Err(Mismatch::Number("12".into())));
		let group = Evidence::new(
			"Carbon is a member of group 14 of the periodic table.",
			&["carbon".into()],
		);
		assert_eq!(group.supports("Carbon: 14."), Err(Mismatch::NothingSaid));
		assert_eq!(group.supports("14"), Err(Mismatch::NothingSaid));
		// Stems: the same word in another form is the source's.
		let dns = Evidence::new("It translates host names into addresses.", &[]);
		assert_eq!(dns.supports("It translated host names into addresses."), Ok(()));
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
