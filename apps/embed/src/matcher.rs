//! When a cached entry answers a question: the one rule the device and the gateway share.
//!
//! Similarity ranks; it does not decide. Sentence embeddings put "the atomic number of
//! fluorine" next to "the atomic number of oxygen" and "What is EPROM?" next to "What is ROM?",
//! while a real rewording ("Oxygen has what atomic number?", "What is read-only memory?") can
//! score lower than such a neighbour. So a candidate the embedding ranks high must also agree
//! with the question on what the entry's own question asks:
//!
//! - **Its subject, exactly.** The entry's question is split into the subject (what it is
//!   about: after the last "of"/"for", or the whole of a "What is X?") and the attribute asked
//!   of it ("atomic number", "chemical symbol", the verb of "Who discovered X?"). Every subject
//!   word must be in the question — as the same word stem, or through an abbreviation the
//!   entry itself spells out ("UDP" ↔ "User Datagram Protocol", found in its body). A question
//!   naming another element, protocol or data structure does not name this one: refused.
//! - **Its attribute, or a confident rewording.** When the question names the attribute's head
//!   word ("symbol", "number"; "how many" counts as a number), modifiers may be dropped
//!   ("Which symbol represents iron?") and the base threshold applies. When it does not, the
//!   question asks the same thing in other words or asks something else: it must be very
//!   similar (the reworded threshold), and it must not name something else the entry's body
//!   speaks of ("atomic weight" asked, "atomic number" answered, the weight a fact beside it).
//! - **Its kind of answer.** "Who", "when", "where" and "how many" ask for a person, a time, a
//!   place and a quantity: a question asking for another kind than the entry's is refused, and
//!   a definition ("What is X?") answers no who, when or where question about X.
//!
//! Each entry also carries its other phrasings (its question with an abbreviation spelled out,
//! or the reverse), embedded beside its question, so a question in either form ranks it first.

use std::{collections::BTreeSet, fmt, sync::OnceLock};

use membria_primitives::{
	answer_kind, key_terms, normalize_question,
	question::{is_abbreviation, question_words},
	AnswerKind,
};
use rust_stemmers::{Algorithm, Stemmer};

/// The similarities a hit needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
	/// When the question names the entry's subject and what it asks of it.
	pub base: f32,
	/// When the question names the subject but asks in other words.
	pub reworded: f32,
}

impl Default for Thresholds {
	fn default() -> Self {
		Self { base: 0.5, reworded: 0.8 }
	}
}

/// A word and its stem (what two wordings share: "semaphores" and "semaphore", "atomic" and
/// "atom", "recursion" and "recursive").
#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
	word: String,
	stem: String,
}

fn stemmer() -> &'static Stemmer {
	static STEMMER: OnceLock<Stemmer> = OnceLock::new();
	STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

fn stem(word: &str) -> String {
	stemmer().stem(word).into_owned()
}

fn terms(text: &str) -> Vec<Term> {
	key_terms(text)
		.into_iter()
		.map(|word| Term { stem: stem(&word), word })
		.collect()
}

/// An abbreviation the entry spells out: `short` ("udp") and its long form's words.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Alias {
	short: String,
	long: Vec<Term>,
	/// The long form as written ("User Datagram Protocol").
	long_text: String,
}

/// How many abbreviations of a body are looked up (a body defines its own first).
const MAX_ABBREVIATIONS: usize = 32;

/// Words that do not count in an abbreviation's letters ("Department of Defense").
fn is_filler(word: &str) -> bool {
	matches!(word.to_lowercase().as_str(), "of" | "and" | "the" | "for" | "to" | "in" | "on" | "a")
}

/// Abbreviations in `text` with their long form beside them ("Hypertext Transfer Protocol
/// (HTTP)", "UDP: User Datagram Protocol"): the shortest run of words just before or just after
/// the abbreviation that spells it (see [`spells`]).
fn aliases(text: &str) -> Vec<Alias> {
	// Words, hyphenated parts apart ("read-only memory" spells ROM).
	let parts: Vec<&str> =
		text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
	let mut found: Vec<Alias> = Vec::new();
	let mut seen = 0;
	for (at, word) in parts.iter().enumerate() {
		if !is_abbreviation(word) {
			continue;
		}
		// Bounded work on any body: the first abbreviations are the ones a body defines.
		seen += 1;
		if seen > MAX_ABBREVIATIONS {
			break;
		}
		let short = word.to_lowercase();
		if found.iter().any(|a| a.short == short) {
			continue;
		}
		let longest = (2 * short.len()).min(short.len() + 5);
		let window = (1..=longest).find_map(|n| {
			let before = at.checked_sub(n).map(|start| &parts[start..at]);
			let after = parts.get(at + 1..at + 1 + n);
			[before, after].into_iter().flatten().find(|words| {
				!words.iter().any(|w| w.eq_ignore_ascii_case(word)) && spells(&short, words)
			})
		});
		if let Some(words) = window {
			let long_text = words.join(" ");
			found.push(Alias { short, long: terms(&long_text), long_text });
		}
	}
	found
}

/// Whether `words` spell the abbreviation `short` (lowercase), in the manner of Schwartz and
/// Hearst's definitions: every word gives the abbreviation its initial, in order, and perhaps
/// further letters of its own ("Hypertext Transfer Protocol" spells "http"); a filler ("of",
/// "and") inside may give nothing; the first word gives the first letter.
fn spells(short: &str, words: &[&str]) -> bool {
	let short: Vec<char> = short.chars().filter(char::is_ascii_alphanumeric).collect();
	let words: Vec<Vec<char>> = words
		.iter()
		.map(|w| w.chars().map(|c| c.to_ascii_lowercase()).collect())
		.collect();
	fn from(short: &[char], words: &[Vec<char>], first: bool) -> bool {
		let Some((word, rest)) = words.split_first() else {
			return short.is_empty();
		};
		let text: String = word.iter().collect();
		if !first && is_filler(&text) && from(short, rest, false) {
			return true;
		}
		if short.first() != word.first() {
			return false;
		}
		// The initial, then `k - 1` more letters found in order in the rest of the word.
		(1..=short.len()).any(|k| {
			let mut letters = word[1..].iter();
			short[1..k].iter().all(|c| letters.any(|l| l == c)) && from(&short[k..], rest, false)
		})
	}
	!words.is_empty() && from(&short, &words, true)
}

/// What a cached entry's question asks and what its body speaks of.
#[derive(Clone, Debug)]
pub struct Profile {
	subject: Vec<Term>,
	/// What is asked of the subject; the head word last.
	attribute: Vec<Term>,
	kind: Option<AnswerKind>,
	question: BTreeSet<String>,
	/// Stems of what the answer and facts say.
	said: BTreeSet<String>,
	aliases: Vec<Alias>,
	phrasings: Vec<String>,
}

const AUXILIARIES: &[&str] =
	&["is", "was", "were", "are", "did", "does", "do", "has", "have", "had"];

impl Profile {
	/// The profile of an entry answering `question` with `answer` and `facts`.
	pub fn new(question: &str, answer: &str, facts: &[String]) -> Self {
		let normalized = normalize_question(question);
		let words = question_words(&normalized);
		let kind = answer_kind(question);
		let all = terms(&normalized);
		let split = words
			.iter()
			.rposition(|w| matches!(*w, "of" | "for"))
			.map(|at| (terms(&words[..at].join(" ")), terms(&words[at + 1..].join(" "))))
			.filter(|(attribute, subject)| !attribute.is_empty() && !subject.is_empty());
		let (attribute, subject) = match split {
			Some(split) => split,
			// "Who discovered X?": the verb after the question word is what is asked;
			// "When was X discovered?": the last word is.
			None if matches!(
				kind,
				Some(AnswerKind::Person | AnswerKind::Time | AnswerKind::Place)
			) && all.len() >= 2 =>
			{
				let after_question_word = words
					.iter()
					.skip_while(|w| !matches!(**w, "who" | "whom" | "whose" | "when" | "where"))
					.nth(1);
				let inverted = after_question_word.is_some_and(|w| AUXILIARIES.contains(w));
				let mut subject = all.clone();
				let predicate = if inverted { subject.pop() } else { Some(subject.remove(0)) };
				(predicate.into_iter().collect(), subject)
			},
			None => (Vec::new(), all.clone()),
		};
		let question_stems: BTreeSet<String> = all.iter().map(|t| t.stem.clone()).collect();
		let mut said = BTreeSet::new();
		for text in std::iter::once(answer).chain(facts.iter().map(String::as_str)) {
			said.extend(terms(text).into_iter().map(|t| t.stem));
		}
		let whole = format!("{question} {answer} {}", facts.join(" "));
		// A long form without a key word ("the It") would name the abbreviation in any question.
		let aliases: Vec<Alias> = aliases(&whole)
			.into_iter()
			.filter(|alias| !alias.long.is_empty())
			.filter(|alias| {
				question_stems.contains(&alias.short)
					|| alias.long.iter().all(|t| question_stems.contains(&t.stem))
			})
			.collect();
		let phrasings = aliases.iter().filter_map(|alias| spell_out(question, alias)).collect();
		Self { subject, attribute, kind, question: question_stems, said, aliases, phrasings }
	}

	/// The stems one of which a question must name for this profile to accept it (see
	/// [`Index::may_answer`](crate::Index::may_answer)): its subject's, and its abbreviations' both ways — the only ways
	/// [`judge`](Self::judge) finds a subject named. `None`: it has no subject to name (or an
	/// abbreviation whose long form has no key word), so any question may match.
	pub fn anchors(&self) -> Option<BTreeSet<&str>> {
		if self.subject.is_empty() || self.aliases.iter().any(|alias| alias.long.is_empty()) {
			return None;
		}
		let mut anchors: BTreeSet<&str> = self.subject.iter().map(|t| t.stem.as_str()).collect();
		for alias in &self.aliases {
			anchors.insert(alias.short.as_str());
			anchors.extend(alias.long.iter().map(|t| t.stem.as_str()));
		}
		Some(anchors)
	}

	/// The stems a question must name, every one, for [`judge`](Self::judge) to accept it,
	/// when its words alone can tell: its subject's, as judged. `None` when it has no subject,
	/// or abbreviations (one form stands for the other's words: only one of its
	/// [`anchors`](Self::anchors) can be asked for then).
	pub fn whole_subject(&self) -> Option<BTreeSet<&str>> {
		if self.subject.is_empty() || !self.aliases.is_empty() {
			return None;
		}
		Some(self.subject.iter().map(|t| t.stem.as_str()).collect())
	}

	/// Other phrasings of the entry's question worth embedding beside it.
	pub fn phrasings(&self) -> &[String] {
		&self.phrasings
	}

	/// Whether this entry answers `query`, whose embedding is `score` similar to the entry's
	/// closest phrasing; otherwise why not.
	pub fn judge(&self, query: &Query, score: f32, thresholds: &Thresholds) -> Result<(), Refusal> {
		if let (Some(asked), Some(answers)) = (query.kind, self.kind) {
			if asked != answers {
				return Err(Refusal::OtherKind { asked, answers });
			}
		}
		// "What is Linux?" says what Linux is, not who made it, when or where: a definition
		// answers no who/when/where question about its subject ("how many" it may: "How many
		// bits are in a byte?" of "What is a byte?").
		if let (Some(asked @ (AnswerKind::Person | AnswerKind::Time | AnswerKind::Place)), None) =
			(query.kind, self.kind)
		{
			if self.attribute.is_empty() {
				return Err(Refusal::Defines { asked });
			}
		}
		// What the question names (hyphenated words and their parts), abbreviations counted
		// both ways.
		let mut named: BTreeSet<&str> = query.named.iter().map(String::as_str).collect();
		let mut used: BTreeSet<&str> = BTreeSet::new();
		for alias in &self.aliases {
			let long: BTreeSet<&str> = alias.long.iter().map(|t| t.stem.as_str()).collect();
			if named.contains(alias.short.as_str()) {
				used.insert(alias.short.as_str());
				used.extend(&long);
				named.extend(long);
			} else if long.iter().all(|s| named.contains(s)) {
				used.extend(&long);
				named.insert(alias.short.as_str());
			}
		}
		if query.counts {
			named.insert("number");
		}
		let missing: Vec<String> = self
			.subject
			.iter()
			.filter(|t| !named.contains(t.stem.as_str()))
			.map(|t| t.word.clone())
			.collect();
		if !missing.is_empty() {
			return Err(Refusal::NotAbout { missing });
		}
		// Words right beside the subject's ("the Linux kernel", "Fast Ethernet").
		let subject: BTreeSet<&str> = self.subject.iter().map(|t| t.stem.as_str()).collect();
		let beside = |stem: &str, offsets: &[isize]| {
			query.words.iter().enumerate().any(|(i, word)| {
				word == stem
					&& offsets.iter().any(|offset| {
						i.checked_add_signed(*offset)
							.and_then(|j| query.words.get(j))
							.is_some_and(|next| subject.contains(next.as_str()))
					})
			})
		};
		let unknown =
			|t: &&Term| !self.question.contains(&t.stem) && !used.contains(t.stem.as_str());
		// Of a definition ("What is Ethernet?"), a word the question sets before the subject's
		// makes it a narrower thing ("Fast Ethernet", "binary search tree") — unless the entry
		// speaks of it too ("network router").
		let narrower: Vec<String> = if self.attribute.is_empty() {
			query
				.terms
				.iter()
				.filter(unknown)
				.filter(|t| !self.said.contains(&t.stem) && beside(&t.stem, &[1]))
				.map(|t| t.word.clone())
				.collect()
		} else {
			Vec::new()
		};
		if !narrower.is_empty() {
			return Err(Refusal::Narrower {
				subject: self.subject.iter().map(|t| t.word.clone()).collect(),
				beside: narrower,
			});
		}
		let head_named =
			self.attribute.last().is_none_or(|head| named.contains(head.stem.as_str()));
		if head_named {
			return if score >= thresholds.base {
				Ok(())
			} else {
				Err(Refusal::TooFar { score, needed: thresholds.base, unnamed: Vec::new() })
			};
		}
		let unnamed: Vec<String> = self
			.attribute
			.iter()
			.filter(|t| !named.contains(t.stem.as_str()))
			.map(|t| t.word.clone())
			.collect();
		// Asked in other words — unless the other words are something else the entry speaks of
		// (a word beside the subject's narrows the subject, it asks for no other attribute).
		let other: Vec<String> = query
			.terms
			.iter()
			.filter(unknown)
			.filter(|t| self.said.contains(&t.stem) && !beside(&t.stem, &[-1, 1]))
			.map(|t| t.word.clone())
			.collect();
		if !other.is_empty() {
			return Err(Refusal::AsksOther { asked: other, answers: unnamed });
		}
		if score >= thresholds.reworded {
			Ok(())
		} else {
			Err(Refusal::TooFar { score, needed: thresholds.reworded, unnamed })
		}
	}
}

/// `question` with `alias` written the other way round (the short form spelled out, or the long
/// form abbreviated), when the question holds one of them as written.
fn spell_out(question: &str, alias: &Alias) -> Option<String> {
	let upper = alias.short.to_uppercase();
	let words: Vec<&str> = question.split(' ').collect();
	let position = words
		.iter()
		.position(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).eq_ignore_ascii_case(&upper));
	if let Some(position) = position {
		let word = words[position];
		let core = word.trim_matches(|c: char| !c.is_alphanumeric());
		let replaced = word.replacen(core, &alias.long_text, 1);
		let mut out: Vec<String> = words.iter().map(|w| w.to_string()).collect();
		out[position] = replaced;
		return Some(out.join(" "));
	}
	// ASCII lowercase keeps byte offsets: `at` indexes `question` too.
	let lower = question.to_ascii_lowercase();
	let long = alias.long_text.to_ascii_lowercase();
	lower
		.find(&long)
		.map(|at| format!("{}{}{}", &question[..at], upper, &question[at + long.len()..]))
}

/// A question, read for matching.
#[derive(Clone, Debug)]
pub struct Query {
	terms: Vec<Term>,
	/// The stems of its terms and of their hyphenated parts ("read-only": "read", "onli").
	named: BTreeSet<String>,
	/// The stem of every word, in order (stopwords too: they keep words apart).
	words: Vec<String>,
	kind: Option<AnswerKind>,
	/// "How many …": asks for a number.
	counts: bool,
}

impl Query {
	pub fn new(question: &str) -> Self {
		let normalized = normalize_question(question);
		let kind = answer_kind(question);
		let terms = terms(&normalized);
		let mut named: BTreeSet<String> = terms.iter().map(|t| t.stem.clone()).collect();
		for term in terms.iter().filter(|t| t.word.contains('-')) {
			named.extend(term.word.split('-').filter(|p| !p.is_empty()).map(stem));
		}
		let words = question_words(&normalized)
			.into_iter()
			.map(|word| stem(word.strip_suffix("'s").unwrap_or(word)))
			.collect();
		Self { terms, named, words, kind, counts: kind == Some(AnswerKind::Quantity) }
	}

	/// The stems this question names, as [`Profile::judge`] counts them before abbreviations:
	/// its terms', their hyphenated parts', and "number" for "how many".
	pub fn named(&self) -> impl Iterator<Item = &str> {
		self.named.iter().map(String::as_str).chain(self.counts.then_some("number"))
	}
}

/// Why a similar entry does not answer a question.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
	/// The question does not name the entry's subject (these words of it).
	NotAbout { missing: Vec<String> },
	/// The question puts words beside the subject that make it another, narrower thing the
	/// entry does not speak of ("Fast Ethernet" of an entry on Ethernet).
	Narrower { subject: Vec<String>, beside: Vec<String> },
	/// The question asks for something else the entry speaks of, not what it answers.
	AsksOther { asked: Vec<String>, answers: Vec<String> },
	/// The question asks for another kind of answer ("when" of a "who" entry).
	OtherKind { asked: AnswerKind, answers: AnswerKind },
	/// The entry defines its subject; the question asks who, when or where.
	Defines { asked: AnswerKind },
	/// Not similar enough for how it is worded.
	TooFar {
		score: f32,
		needed: f32,
		/// What the entry asks that the question does not name (empty: names it all).
		unnamed: Vec<String>,
	},
}

impl fmt::Display for Refusal {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Self::NotAbout { missing } => {
				write!(f, "is about {}, which the question does not name", missing.join(" "))
			}
			Self::Narrower { subject, beside } => write!(
				f,
				"is about {}; the question names {} beside it, which the entry does not speak of",
				subject.join(" "),
				beside.join(" ")
			),
			Self::AsksOther { asked, answers } => write!(
				f,
				"answers its {}; the question asks about {}",
				answers.join(" "),
				asked.join(" ")
			),
			Self::OtherKind { asked, answers } => write!(
				f,
				"answers \"{}\"; the question asks \"{}\"",
				answers.word(),
				asked.word()
			),
			Self::Defines { asked } => write!(
				f,
				"says what its subject is; the question asks \"{}\"",
				asked.word()
			),
			Self::TooFar {
				score,
				needed,
				unnamed,
			} if unnamed.is_empty() => {
				write!(f, "is only {score:.2} similar (needs {needed:.2})")
			}
			Self::TooFar {
				score,
				needed,
				unnamed,
			} => write!(
				f,
				"asks its {}, which the question does not name, and is only {score:.2} similar (a reworded question needs {needed:.2})",
				unnamed.join(" ")
			),
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn profile(question: &str, answer: &str) -> Profile {
		Profile::new(question, answer, &[])
	}

	fn judge(profile: &Profile, question: &str, score: f32) -> Result<(), Refusal> {
		profile.judge(&Query::new(question), score, &Thresholds::default())
	}

	#[test]
	fn the_subject_must_be_named() {
		let carbon = profile("What is the atomic number of carbon?", "Carbon: Atomic number: 6");
		assert_eq!(carbon.subject, terms("carbon"));
		assert_eq!(carbon.attribute, terms("atomic number"));
		assert!(judge(&carbon, "Carbon has which atomic number?", 0.9).is_ok());
		assert!(judge(&carbon, "Give me carbon's atomic number.", 0.85).is_ok());
		assert_eq!(
			judge(&carbon, "What is the atomic number of nitrogen?", 0.95),
			Err(Refusal::NotAbout { missing: vec!["carbon".into()] })
		);
		let tree = profile("What is a binary tree?", "A tree in which each node has two children.");
		assert!(judge(&tree, "Define binary trees.", 0.9).is_ok());
		assert!(matches!(judge(&tree, "What is a B-tree?", 0.9), Err(Refusal::NotAbout { .. })));
		assert!(matches!(judge(&tree, "What is a tree?", 0.9), Err(Refusal::NotAbout { .. })));
		// A word beside the subject makes it another thing, unless the entry speaks of it.
		assert_eq!(
			judge(&tree, "What is a binary search tree?", 0.9),
			Err(Refusal::Narrower {
				subject: vec!["binary".into(), "tree".into()],
				beside: vec!["search".into()]
			})
		);
		assert!(judge(&tree, "What is a binary tree node?", 0.9).is_ok());
		assert!(judge(&tree, "What does binary tree mean in computer science?", 0.9).is_ok());
	}

	#[test]
	fn word_forms_share_a_stem() {
		let recursion = profile("What is recursion?", "When a function calls itself.");
		assert!(judge(&recursion, "What does recursive mean?", 0.9).is_ok());
		let semaphore = profile("What is a semaphore?", "A counter guarding a shared resource.");
		assert!(judge(&semaphore, "Explain semaphores in concurrent programming.", 0.55).is_ok());
		assert!(matches!(
			judge(&semaphore, "Explain semaphores in concurrent programming.", 0.45),
			Err(Refusal::TooFar { .. })
		));
	}

	#[test]
	fn abbreviations_count_both_ways() {
		let udp = profile(
			"What is UDP?",
			"UDP: User Datagram Protocol (UDP) A connectionless transport protocol.",
		);
		assert_eq!(udp.phrasings(), ["What is User Datagram Protocol?"]);
		assert!(judge(&udp, "What is the User Datagram Protocol?", 0.6).is_ok());
		assert!(matches!(
			judge(&udp, "What is the User Protocol?", 0.9),
			Err(Refusal::NotAbout { .. })
		));
		assert!(matches!(judge(&udp, "What is ICMP?", 0.9), Err(Refusal::NotAbout { .. })));
		let rom = profile("What is ROM?", "Read-only memory: memory whose contents are fixed.");
		assert_eq!(rom.phrasings(), ["What is Read only memory?"]);
		assert!(judge(&rom, "What is read-only memory?", 0.9).is_ok());
		assert!(matches!(judge(&rom, "What is EPROM?", 0.9), Err(Refusal::NotAbout { .. })));
		// The other way round: the entry asks the long form, the question the short one.
		let dns = profile(
			"What is the Domain Name System?",
			"The Domain Name System (DNS) maps host names to addresses.",
		);
		assert_eq!(dns.phrasings(), ["What is the DNS?"]);
		assert!(judge(&dns, "What is DNS?", 0.7).is_ok());
		assert!(matches!(judge(&dns, "What is DHCP?", 0.9), Err(Refusal::NotAbout { .. })));
	}

	#[test]
	fn phrasings_of_any_text_never_panic() {
		// Lowercasing that changes byte lengths ("İ") must not shift where the long form is cut.
		let profile = Profile::new(
			"What is the İstanbul Domain Name System?",
			"The Domain Name System (DNS) resolves names.",
			&[],
		);
		assert_eq!(profile.phrasings(), ["What is the İstanbul DNS?"]);
		let _ = Profile::new("ΣΊΣΥΦΟΣ (ΣΣ) of ?", "AB (AB) AB-AB", &["(((".into()]);
	}

	#[test]
	fn aliases_need_every_initial() {
		assert!(aliases("FTP moves files").is_empty());
		let found = aliases("The Department of Defense (DOD) and the DOD");
		assert_eq!(found.len(), 1);
		assert_eq!(found[0].long_text, "Department of Defense");
		// A compound word gives more than its initial; every word gives its initial.
		assert_eq!(
			aliases("Hypertext Transfer Protocol (HTTP): the web's protocol")[0].long_text,
			"Hypertext Transfer Protocol"
		);
		assert!(aliases("It speaks HTTP to the proxy").is_empty());
		// The shortest run that spells it, beside it.
		assert_eq!(aliases("Read-Only Memory (ROM): a storage")[0].long_text, "Read Only Memory");
		assert!(
			aliases("a CPU: central processing unit")[0].long_text == "central processing unit"
		);
	}

	#[test]
	fn a_named_attribute_may_drop_its_modifiers() {
		let iron = profile("What is the chemical symbol for iron?", "Iron: Symbol: Fe");
		assert!(judge(&iron, "Which symbol represents iron?", 0.88).is_ok());
		assert!(judge(&iron, "Which letter is the symbol of iron?", 0.6).is_ok());
		// "How many" asks for a number.
		let helium = profile("What is the atomic number of helium?", "Helium: Atomic number: 2");
		assert!(judge(&helium, "How many protons does a helium atom have?", 0.85).is_ok());
	}

	#[test]
	fn another_attribute_is_refused_even_when_close() {
		let helium = Profile::new(
			"What is the atomic number of helium?",
			"Helium: Atomic number: 2 Symbol: He",
			&["Atomic number: 2".into(), "Atomic weight: 4.0026".into()],
		);
		assert_eq!(
			judge(&helium, "What is the atomic weight of helium?", 0.95),
			Err(Refusal::AsksOther {
				asked: vec!["weight".into()],
				answers: vec!["number".into()]
			})
		);
		// Not in the body either: only a very close rewording passes.
		assert!(matches!(
			judge(&helium, "What is the melting point of helium?", 0.73),
			Err(Refusal::TooFar { .. })
		));
		let linux = profile(
			"Who created Linux?",
			"Work on the Linux kernel is coordinated by Linus Torvalds.",
		);
		assert_eq!(linux.attribute, terms("created"));
		// "kernel" is in the body, but beside the subject: it narrows it, it asks nothing else.
		assert!(judge(&linux, "Who wrote the Linux kernel?", 0.81).is_ok());
		assert!(matches!(
			judge(&linux, "Who coordinated work on Linux?", 0.9),
			Err(Refusal::AsksOther { .. })
		));
		assert!(matches!(judge(&linux, "Who uses Linux?", 0.72), Err(Refusal::TooFar { .. })));
	}

	#[test]
	fn the_kind_of_answer_must_agree() {
		let oxygen = profile("Who discovered oxygen?", "It was discovered by Priestley in 1774.");
		assert_eq!(oxygen.attribute, terms("discovered"));
		assert!(judge(&oxygen, "Oxygen was discovered by whom?", 0.9).is_ok());
		assert_eq!(
			judge(&oxygen, "When was oxygen discovered?", 0.93),
			Err(Refusal::OtherKind { asked: AnswerKind::Time, answers: AnswerKind::Person })
		);
		// A definition answers no who/when/where question, however close: it may not say.
		let linux = profile("What is Linux?", "Linux is a Unix-like operating system kernel.");
		for (question, asked) in [
			("Who created Linux?", AnswerKind::Person),
			("When was Linux first released?", AnswerKind::Time),
			("Where was Linux written?", AnswerKind::Place),
		] {
			assert_eq!(judge(&linux, question, 0.9), Err(Refusal::Defines { asked }), "{question}");
		}
		assert_eq!(
			Refusal::Defines { asked: AnswerKind::Person }.to_string(),
			"says what its subject is; the question asks \"who\""
		);
		assert!(judge(&linux, "Explain what Linux is.", 0.9).is_ok());
		let byte = profile("What is a byte?", "A byte is a unit of eight bits.");
		assert!(judge(&byte, "How many bits are in a byte?", 0.8).is_ok());
		let when = profile("When was oxygen discovered?", "In 1774.");
		assert_eq!(when.attribute, terms("discovered"));
		assert_eq!(when.subject, terms("oxygen"));
	}

	#[test]
	fn a_question_naming_no_anchor_is_refused_however_similar() {
		let entries = [
			profile("What is the atomic number of carbon?", "Carbon: Atomic number: 6"),
			profile("What is UDP?", "UDP: User Datagram Protocol (UDP) A transport protocol."),
			profile("What is the Domain Name System?", "The Domain Name System (DNS) maps names."),
			profile("What is ROM?", "Read-only memory: memory whose contents are fixed."),
			profile("Who discovered oxygen?", "It was discovered by Priestley in 1774."),
			profile("When was oxygen discovered?", "In 1774."),
			profile("How many moons does Mars have?", "Two: Phobos and Deimos."),
			profile("What is a binary tree?", "A tree in which each node has two children."),
			profile("What is recursion?", "When a function calls itself."),
			profile("Who wrote Linux?", "Linus Torvalds wrote the Linux kernel."),
		];
		let questions = [
			"Carbon has which atomic number?",
			"What is the atomic number of nitrogen?",
			"How many protons does carbon have?",
			"What is the User Datagram Protocol?",
			"What is DNS?",
			"What is read-only memory?",
			"Oxygen was discovered by whom?",
			"How many moons orbit Mars?",
			"What does recursive mean?",
			"Define binary trees.",
			"Who wrote the Linux kernel?",
			"How heavy is the moon of planet 7?",
			"What is the capital of France?",
			"How many?",
			"What number is it?",
			"",
		];
		let (mut unnamed, mut accepted, mut partly) = (0, 0, 0);
		for profile in &entries {
			let anchors = profile.anchors().expect("every entry here has a subject");
			for question in questions {
				let query = Query::new(question);
				let verdict = profile.judge(&query, 1.0, &Thresholds::default());
				accepted += usize::from(verdict.is_ok());
				if !query.named().any(|stem| anchors.contains(stem)) {
					unnamed += 1;
					assert!(verdict.is_err(), "{question:?} names no anchor of {anchors:?}");
				}
				let named: BTreeSet<&str> = query.named().collect();
				if let Some(subject) = profile.whole_subject() {
					if !subject.is_subset(&named) {
						partly += usize::from(subject.iter().any(|stem| named.contains(stem)));
						assert!(verdict.is_err(), "{question:?} does not name all of {subject:?}");
					}
				}
			}
		}
		assert!(unnamed > 100 && accepted >= 8, "{unnamed} unnamed, {accepted} accepted");
		// The whole subject tells more than one anchor: questions naming part of a subject
		// (not all of it) are refused too.
		assert!(partly >= 3, "{partly} questions name part of a subject");
		// Abbreviations leave it to the anchors; no subject, to nothing.
		assert!(entries[1].whole_subject().is_none() && entries[2].whole_subject().is_none());
		let carbon = entries[0].whole_subject().unwrap();
		assert_eq!(carbon.into_iter().collect::<Vec<_>>(), ["carbon"]);
		let tree = entries[7].whole_subject().unwrap();
		assert_eq!(tree.len(), 2, "{tree:?}");
		// Abbreviations anchor both ways; a question without a subject anchors nothing.
		let udp = entries[1].anchors().unwrap();
		assert!(udp.contains("udp") && udp.contains("datagram"));
		assert_eq!(profile("What is it?", "Something.").anchors(), None);
	}

	#[test]
	fn refusals_say_why() {
		let carbon = profile("What is the atomic number of carbon?", "Carbon: Atomic number: 6");
		let refusal = judge(&carbon, "What is the atomic number of neon?", 0.9).unwrap_err();
		assert_eq!(refusal.to_string(), "is about carbon, which the question does not name");
	}
}
