//! Typed links between entries: when one body `supports`, `contradicts`, `refines` or is
//! `related` to another. Pure functions over two parsed bodies, the same for the distiller that
//! proposes a link ([`propose`]) and for the validator that checks it ([`check`],
//! [`check_links`]): a link holds when what the two bodies say makes it hold, nothing else.
//!
//! - A body is about its **subject**: the name its answer opens with ("User Datagram Protocol
//!   (UDP): …", the abbreviation an other name of it), else what its question asks about (the
//!   key terms after its last "of" or "for", else all of them).
//! - `a` is **related** to `b` when they answer different questions and one mentions the other's
//!   subject: every word of one of its names, in order, in the other's answer or one of its facts.
//! - `a` **refines** `b` when both are about the same subject and `a` asks more of it: its
//!   question's key terms strictly contain `b`'s ("What is the atomic number of carbon?" refines
//!   "What is carbon?").
//! - `a` **supports** `b` when they are related or about the same subject, and a fact of `a`
//!   supports a claim of `b` under [`crate::support`]'s rule.
//! - `a` **contradicts** `b` when both are about the same subject, and a fact of `a` and a claim
//!   of `b` say the same thing (one covers the other) but for a number, a name or a negation.

use std::collections::BTreeSet;

use membria_offchain::body::{Body, BodyLink, MAX_LINKS};
use membria_primitives::{key_terms, question_key};

use crate::{
	corpus::{self, content_words, words},
	support::{Evidence, Mismatch},
};

/// The longest subject prefix of an answer, in bytes.
const MAX_SUBJECT_BYTES: usize = 100;

/// What a body is about: its names, each as its words (lowercase, [`corpus::words`]), the name
/// first and then its abbreviations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
	pub names: Vec<Vec<String>>,
}

impl Subject {
	/// Every word of every name, each once.
	pub fn words(&self) -> Vec<String> {
		let mut out: Vec<String> = Vec::new();
		for word in self.names.iter().flatten() {
			if !out.contains(word) {
				out.push(word.clone());
			}
		}
		out
	}

	/// Whether both name the same thing (one name in common).
	pub fn same(&self, other: &Subject) -> bool {
		self.names.iter().any(|name| other.names.contains(name))
	}

	/// Whether one of `texts` (each a text's words) holds one of the names, word by word in
	/// order.
	pub fn mentioned_in(&self, texts: &[Vec<String>]) -> bool {
		self.names.iter().any(|name| {
			texts.iter().any(|text| text.windows(name.len()).any(|run| run == &name[..]))
		})
	}
}

impl std::fmt::Display for Subject {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		let names: Vec<String> = self.names.iter().map(|name| name.join(" ")).collect();
		if names.is_empty() {
			write!(f, "no subject")
		} else {
			write!(f, "{}", names.join(" / "))
		}
	}
}

/// Whether `name` can name a subject: some content, more than one letter ("C" would match every
/// "Symbol: C").
fn usable(name: &[String]) -> bool {
	name.iter().map(|w| w.chars().count()).sum::<usize>() >= 2
		&& !content_words(&name.join(" ")).is_empty()
}

/// The subject prefix of an answer: the text before its first ": ", when that is short, holds
/// no sentence end and is no record field ("Atomic number: 6").
fn subject_prefix(answer: &str) -> Option<&str> {
	let (prefix, _) = answer.split_once(": ")?;
	(prefix.len() <= MAX_SUBJECT_BYTES
		&& !prefix.contains(['.', '!', '?'])
		&& !corpus::is_field(answer.trim_start()))
	.then_some(prefix)
}

/// The names a subject prefix gives: the text outside parentheses, and each name inside them
/// ("User Datagram Protocol (UDP)" → `user datagram protocol`, `udp`).
fn names_of(prefix: &str) -> Vec<Vec<String>> {
	let mut long = String::new();
	let mut others = Vec::new();
	let mut rest = prefix;
	while let Some(open) = rest.find('(') {
		long.push_str(&rest[..open]);
		long.push(' ');
		match rest[open..].find(')') {
			Some(close) => {
				others.extend(rest[open + 1..open + close].split([',', ';']).map(words));
				rest = &rest[open + close + 1..];
			},
			None => {
				long.push_str(&rest[open + 1..]);
				rest = "";
			},
		}
	}
	long.push_str(rest);
	let mut names: Vec<Vec<String>> = Vec::new();
	for name in std::iter::once(words(&long)).chain(others) {
		if usable(&name) && !names.contains(&name) {
			names.push(name);
		}
	}
	names
}

/// What `body` is about: the names of its answer's subject prefix, else its question's key
/// terms after its last "of" or "for" ("What is the atomic number of carbon?" → `carbon`), else
/// all its key terms.
pub fn subject(body: &Body) -> Subject {
	if let Some(names) = subject_prefix(&body.answer).map(names_of).filter(|n| !n.is_empty()) {
		return Subject { names };
	}
	let question = words(&body.question);
	let after = question
		.iter()
		.rposition(|w| w == "of" || w == "for")
		.map(|i| content_words(&question[i + 1..].join(" ")))
		.unwrap_or_default();
	let terms = if after.is_empty() { content_words(&question.join(" ")) } else { after };
	Subject { names: if usable(&terms) { vec![terms] } else { Vec::new() } }
}

/// What the relations read of a body, computed once (a candidate is compared with every new
/// body).
#[derive(Clone, Debug)]
pub struct Profile {
	key: [u8; 32],
	terms: Vec<String>,
	subject: Subject,
	/// The words of the answer, and of each fact.
	texts: Vec<Vec<String>>,
}

impl Profile {
	pub fn new(body: &Body) -> Self {
		Self {
			key: question_key(&body.question),
			terms: key_terms(&body.question),
			subject: subject(body),
			texts: std::iter::once(&body.answer).chain(&body.facts).map(|t| words(t)).collect(),
		}
	}

	pub fn subject(&self) -> &Subject {
		&self.subject
	}
}

fn related_profiles(a: &Profile, b: &Profile) -> bool {
	a.key != b.key && (b.subject.mentioned_in(&a.texts) || a.subject.mentioned_in(&b.texts))
}

/// Whether `a`'s terms strictly contain `b`'s.
fn asks_more(a: &Profile, b: &Profile) -> bool {
	b.terms.iter().all(|t| a.terms.contains(t)) && a.terms.iter().any(|t| !b.terms.contains(t))
}

fn refines_profiles(a: &Profile, b: &Profile) -> bool {
	a.subject.same(&b.subject) && asks_more(a, b)
}

/// Whether `a` and `b` answer different questions and one mentions the other's subject.
pub fn related(a: &Body, b: &Body) -> bool {
	related_profiles(&Profile::new(a), &Profile::new(b))
}

/// Whether `a` refines `b`: the same subject, and `a`'s question's key terms strictly contain
/// `b`'s.
pub fn refines(a: &Body, b: &Body) -> bool {
	refines_profiles(&Profile::new(a), &Profile::new(b))
}

/// What `body` claims: its facts, then its answer's claims; without those that only name the
/// subject of either body (any fact "supports" a name).
fn claims(body: &Body, subjects: &[&Subject]) -> Vec<String> {
	let names: Vec<String> = subjects.iter().flat_map(|s| s.words()).collect();
	body.facts
		.iter()
		.cloned()
		.chain(crate::answer_claims(&body.answer))
		.filter(|claim| content_words(claim).iter().any(|w| !names.contains(w)))
		.collect()
}

/// The facts of `a`, each read with `a`'s subject (what a claim may name without the fact
/// saying it).
fn grounds(a: &Body, subject: &Subject) -> Vec<Evidence> {
	let context = subject.words();
	a.facts.iter().map(|fact| Evidence::new(fact, &context)).collect()
}

/// The claim of `b` a fact of `a` supports, if any.
fn supported_claim(a: &Body, pa: &Profile, b: &Body, pb: &Profile) -> Option<(String, String)> {
	let grounds = grounds(a, &pa.subject);
	claims(b, &[&pa.subject, &pb.subject]).into_iter().find_map(|claim| {
		let index = crate::support::supported(&claim, &grounds).ok()?;
		Some((grounds[index].sentence.clone(), claim))
	})
}

/// Whether `a` supports `b`: related or the same subject, and a fact of `a` supports a claim of
/// `b`.
pub fn supports(a: &Body, b: &Body) -> bool {
	let (pa, pb) = (Profile::new(a), Profile::new(b));
	(related_profiles(&pa, &pb) || pa.subject.same(&pb.subject))
		&& supported_claim(a, &pa, b, &pb).is_some()
}

/// A fact of `a` and a claim of `b` that say the same but for a number, a name or a negation:
/// neither supports the other, and where one covers the other ([`Evidence::supports`] got past
/// the coverage) the mismatch is one of those.
fn contradiction(
	a: &Body,
	pa: &Profile,
	b: &Body,
	pb: &Profile,
) -> Option<(String, String, Mismatch)> {
	let changed = |result: &Result<(), Mismatch>| {
		matches!(result, Err(Mismatch::Number(_) | Mismatch::Name(_) | Mismatch::Negation { .. }))
	};
	let (context_a, context_b) = (pa.subject.words(), pb.subject.words());
	let facts: Vec<Evidence> = a.facts.iter().map(|f| Evidence::new(f, &context_a)).collect();
	for claim in claims(b, &[&pa.subject, &pb.subject]) {
		let as_evidence = Evidence::new(&claim, &context_b);
		for fact in &facts {
			let forward = fact.supports(&claim);
			let backward = as_evidence.supports(&fact.sentence);
			if forward.is_ok() || backward.is_ok() {
				continue;
			}
			if let Some(Err(mismatch)) = [forward, backward].into_iter().find(|r| changed(r)) {
				return Some((fact.sentence.clone(), claim, mismatch));
			}
		}
	}
	None
}

/// Whether `a` contradicts `b`: the same subject, and a fact of `a` changes a number, a name or
/// a negation of a claim of `b`.
pub fn contradicts(a: &Body, b: &Body) -> bool {
	let (pa, pb) = (Profile::new(a), Profile::new(b));
	pa.subject.same(&pb.subject) && contradiction(a, &pa, b, &pb).is_some()
}

/// Whether `a` `rel` `b` holds; if not, why, in words naming the relation and what failed.
pub fn check(rel: &str, a: &Body, b: &Body) -> Result<(), String> {
	let (pa, pb) = (Profile::new(a), Profile::new(b));
	let (qa, qb) = (&a.question, &b.question);
	let (sa, sb) = (&pa.subject, &pb.subject);
	let same_subject = || -> Result<(), String> {
		if sa.same(sb) {
			Ok(())
		} else {
			Err(format!("{rel}: {qa:?} is about {sa}, {qb:?} about {sb}, not the same subject"))
		}
	};
	match rel {
		"related" => {
			if pa.key == pb.key {
				Err(format!("related: both answer the question {qa:?}"))
			} else if !related_profiles(&pa, &pb) {
				Err(format!("related: neither {qa:?} mentions {sb} nor {qb:?} mentions {sa}"))
			} else {
				Ok(())
			}
		},
		"refines" => {
			same_subject()?;
			if asks_more(&pa, &pb) {
				Ok(())
			} else {
				Err(format!(
					"refines: the key terms of {qa:?} {:?} do not strictly contain those of \
					 {qb:?} {:?}",
					pa.terms, pb.terms
				))
			}
		},
		"supports" => {
			if !related_profiles(&pa, &pb) && !sa.same(sb) {
				return Err(format!(
					"supports: {qa:?} ({sa}) and {qb:?} ({sb}) are neither about the same subject \
					 nor related"
				));
			}
			match supported_claim(a, &pa, b, &pb) {
				Some(_) => Ok(()),
				None => Err(format!("supports: no fact of {qa:?} supports a claim of {qb:?}")),
			}
		},
		"contradicts" => {
			same_subject()?;
			match contradiction(a, &pa, b, &pb) {
				Some(_) => Ok(()),
				None => Err(format!(
					"contradicts: no fact of {qa:?} changes a number, a name or a negation of a \
					 claim of {qb:?}"
				)),
			}
		},
		other => Err(format!("unknown relation {other:?}")),
	}
}

/// The findings on `body`'s links, one per link that does not hold: its entry's body was not
/// supplied in `linked` (`(entry, body JSON)`; the first for an entry counts), is no body, or
/// the relation does not hold between the two. Empty: every link holds.
pub fn check_links(body: &Body, linked: &[(u64, serde_json::Value)]) -> Vec<String> {
	let mut parsed: Vec<Option<Result<Body, String>>> = vec![None; linked.len()];
	let mut findings = Vec::new();
	for link in &body.links {
		let entry = link.entry;
		let Some(index) = linked.iter().position(|(id, _)| *id == entry) else {
			findings.push(format!("link to entry {entry}: its body was not supplied"));
			continue;
		};
		let target = parsed[index].get_or_insert_with(|| {
			let bytes = serde_json::to_vec(&linked[index].1).map_err(|e| e.to_string())?;
			Body::parse(&bytes).map_err(|e| e.to_string())
		});
		match target {
			Err(error) => findings
				.push(format!("link to entry {entry}: the body supplied is no body: {error}")),
			Ok(target) => {
				if let Err(reason) = check(&link.rel, body, target) {
					findings.push(format!("link {} to entry {entry}: {reason}", link.rel));
				}
			},
		}
	}
	findings
}

/// The links to propose for the new body `a` among `candidates` (`(entry, body)`): `refines`
/// where it holds, else `related`; none to a candidate answering `a`'s question. At most
/// [`MAX_LINKS`] (those that refine first, then the lowest entries), in ascending entry order.
/// The first body given for an entry counts.
pub fn propose(a: &Body, candidates: &[(u64, Body)]) -> Vec<BodyLink> {
	let profiles: Vec<(u64, Profile)> =
		candidates.iter().map(|(entry, body)| (*entry, Profile::new(body))).collect();
	propose_among(a, profiles.iter().map(|(entry, profile)| (*entry, profile)))
}

/// [`propose`] over candidates' [`Profile`]s.
pub fn propose_among<'a>(
	a: &Body,
	candidates: impl IntoIterator<Item = (u64, &'a Profile)>,
) -> Vec<BodyLink> {
	let a = Profile::new(a);
	let mut seen = BTreeSet::new();
	let (mut refining, mut relating) = (BTreeSet::new(), BTreeSet::new());
	for (entry, b) in candidates {
		if !seen.insert(entry) || b.key == a.key {
			continue;
		}
		if refines_profiles(&a, b) {
			refining.insert(entry);
		} else if related_profiles(&a, b) {
			relating.insert(entry);
		}
	}
	let mut links: Vec<BodyLink> = refining
		.into_iter()
		.map(|entry| BodyLink { rel: "refines".into(), entry })
		.chain(relating.into_iter().map(|entry| BodyLink { rel: "related".into(), entry }))
		.take(MAX_LINKS)
		.collect();
	links.sort_by_key(|link| link.entry);
	links
}

#[cfg(test)]
mod tests {
	use super::*;
	use membria_offchain::body::{DistillerInfo, Source};

	/// A body as the corpus teacher writes it.
	fn body(question: &str, answer: &str, facts: &[&str]) -> Body {
		Body {
			v: 1,
			question: question.into(),
			phrasings: Vec::new(),
			answer: answer.into(),
			facts: facts.iter().map(|f| f.to_string()).collect(),
			sources: vec![Source {
				uri: "dict://test".into(),
				sha256: membria_offchain::body::sha256_hex(answer.as_bytes()),
			}],
			links: Vec::new(),
			distiller: DistillerInfo { name: "test".into(), model: "corpus".into() },
			created: 1,
		}
	}

	fn linux() -> Body {
		body(
			"What is Linux?",
			"Linux: An implementation of the Unix kernel originally written from scratch with no \
			 proprietary code.",
			&["An implementation of the Unix kernel originally written from scratch with no \
			   proprietary code."],
		)
	}

	fn unix() -> Body {
		body("What is Unix?", "Unix: Plural \"Unices\".", &["Plural \"Unices\"."])
	}

	fn carbon() -> Body {
		body(
			"What is carbon?",
			"Carbon: Carbon is a member of group 14 of the periodic table.",
			&["Carbon is a member of group 14 of the periodic table."],
		)
	}

	fn carbon_number(number: &str) -> Body {
		body(
			"What is the atomic number of carbon?",
			&format!(
				"Carbon: Atomic number: {number}. Carbon is a member of group 14 of the periodic \
				 table."
			),
			&[
				&format!("Atomic number: {number}"),
				"Atomic weight: 12.01115",
				"Carbon is a member of group 14 of the periodic table.",
			],
		)
	}

	fn udp() -> Body {
		body(
			"What is UDP?",
			"User Datagram Protocol (UDP): Internet standard network layer, transport layer and \
			 session layer protocols which provide simple but unreliable datagram services.",
			&[
				"User Datagram Protocol (UDP)",
				"Internet standard network layer, transport layer and session layer protocols \
				 which provide simple but unreliable datagram services.",
			],
		)
	}

	fn names(subject: &Subject) -> Vec<String> {
		subject.names.iter().map(|n| n.join(" ")).collect()
	}

	#[test]
	fn subjects_come_from_the_answer_else_the_question() {
		assert_eq!(names(&subject(&udp())), ["user datagram protocol", "udp"]);
		assert_eq!(names(&subject(&linux())), ["linux"]);
		// No subject prefix: what the question asks about, after its last "of".
		let plain = body("What is the atomic number of Carbon?", "It is 6.", &["6"]);
		assert_eq!(names(&subject(&plain)), ["carbon"]);
		// A record field or a sentence is no subject prefix.
		let field = body("What is the atomic number of carbon?", "Atomic number: 6", &["6"]);
		assert_eq!(names(&subject(&field)), ["carbon"]);
		let long = body("How does TCP work?", "It works well. Really: yes.", &["yes"]);
		assert_eq!(names(&subject(&long)), ["tcp work"]);
	}

	#[test]
	fn a_body_mentioning_another_subject_is_related() {
		assert!(related(&linux(), &unix()));
		assert!(related(&unix(), &linux()), "either way round");
		assert_eq!(check("related", &linux(), &unix()), Ok(()));
		// Either of a subject's names counts as a mention.
		let over_udp = body(
			"What is DNS?",
			"Domain Name System (DNS): Queries are sent over UDP.",
			&["Queries are sent over UDP."],
		);
		assert!(related(&over_udp, &udp()));
		let long_name = body(
			"What is DNS?",
			"Domain Name System (DNS): Queries use the User Datagram Protocol.",
			&["Queries use the User Datagram Protocol."],
		);
		assert!(related(&long_name, &udp()));
		// A part of the long name is no mention.
		let partial = body(
			"What is DNS?",
			"Domain Name System (DNS): Queries are datagram protocol messages.",
			&["Queries are datagram protocol messages."],
		);
		assert!(!related(&partial, &udp()));
	}

	#[test]
	fn unrelated_subjects_have_no_relation() {
		let (linux, carbon) = (linux(), carbon_number("6"));
		assert!(!related(&linux, &carbon) && !related(&carbon, &linux));
		for rel in ["related", "refines", "supports", "contradicts"] {
			let reason = check(rel, &linux, &carbon).unwrap_err();
			assert!(reason.starts_with(rel), "{reason}");
		}
		assert!(check("likes", &linux, &unix()).is_err());
		// The same question is no relation either.
		let reason = check("related", &linux, &linux).unwrap_err();
		assert!(reason.contains("both answer"), "{reason}");
	}

	#[test]
	fn asking_more_of_the_same_subject_refines() {
		assert!(refines(&carbon_number("6"), &carbon()));
		assert_eq!(check("refines", &carbon_number("6"), &carbon()), Ok(()));
		assert!(!refines(&carbon(), &carbon_number("6")), "not the other way round");
		assert!(!refines(&carbon_number("6"), &carbon_number("6")), "strictly");
		// More terms about another subject do not refine.
		let nitrogen = body(
			"What is the atomic number of nitrogen?",
			"Nitrogen: Atomic number: 7.",
			&["Atomic number: 7"],
		);
		assert!(!refines(&nitrogen, &carbon()));
		assert!(check("refines", &nitrogen, &carbon())
			.unwrap_err()
			.contains("not the same subject"));
	}

	#[test]
	fn a_fact_that_supports_a_claim_supports() {
		assert!(supports(&carbon_number("6"), &carbon()));
		assert!(supports(&carbon(), &carbon_number("6")));
		// Related, but no fact of Linux's says what Unix's body says.
		assert!(!supports(&linux(), &unix()));
		let reason = check("supports", &linux(), &unix()).unwrap_err();
		assert!(reason.contains("no fact"), "{reason}");
		// A changed number supports nothing of the claim it changes (the shared sentence aside).
		let bare = |n: &str| {
			body(
				"What is the atomic number of carbon?",
				&format!("Carbon: Atomic number: {n}."),
				&[&format!("Atomic number: {n}")],
			)
		};
		assert!(supports(&bare("6"), &carbon_number("6")));
		assert!(!supports(&bare("7"), &carbon_number("6")));
	}

	#[test]
	fn a_changed_number_name_or_negation_contradicts() {
		let (six, seven) = (carbon_number("6"), carbon_number("7"));
		assert!(contradicts(&seven, &six));
		assert_eq!(check("contradicts", &seven, &six), Ok(()));
		assert!(!contradicts(&six, &carbon_number("6")), "the same facts");
		assert!(!contradicts(&six, &carbon()), "more facts are no contradiction");
		let said = |fact: &str| body("Who discovered radium?", &format!("Radium: {fact}"), &[fact]);
		let curie = said("Isolated from pitchblende in 1898 by Marie and Pierre Curie.");
		let rutherford = said("Isolated from pitchblende in 1898 by Marie and Pierre Rutherford.");
		let never = said("Never isolated from pitchblende in 1898 by Marie and Pierre Curie.");
		assert!(contradicts(&rutherford, &curie));
		assert!(contradicts(&never, &curie));
		assert!(contradicts(&curie, &never));
		// About another subject, the same change contradicts nothing.
		let polonium = body(
			"Who discovered polonium?",
			"Polonium: Isolated from pitchblende in 1899 by Marie and Pierre Curie.",
			&["Isolated from pitchblende in 1899 by Marie and Pierre Curie."],
		);
		assert!(!contradicts(&polonium, &curie));
		assert!(check("contradicts", &polonium, &curie).unwrap_err().contains("not the same"));
	}

	#[test]
	fn proposals_refine_else_relate_in_entry_order() {
		let candidates = vec![
			(9, unix()),
			(4, carbon()),
			(2, linux()),
			(7, body("What is Unix?", "Unix: An operating system.", &["An operating system."])),
			(5, carbon_number("6")),
		];
		let links = propose(&linux(), &candidates);
		assert_eq!(
			links,
			[
				BodyLink { rel: "related".into(), entry: 7 },
				BodyLink { rel: "related".into(), entry: 9 }
			]
		);
		let links = propose(&carbon_number("6"), &candidates);
		assert_eq!(links, [BodyLink { rel: "refines".into(), entry: 4 }]);
		// Whatever is proposed, checks.
		for link in propose(&linux(), &candidates) {
			let target = &candidates.iter().find(|(id, _)| *id == link.entry).unwrap().1;
			assert_eq!(check(&link.rel, &linux(), target), Ok(()));
		}
		// At most MAX_LINKS, those that refine first.
		let mut many: Vec<(u64, Body)> = (0..20u64)
			.map(|i| {
				let q = format!("What is Unix version {i}?");
				let answer = format!("Unix {i}: A relative of Linux.");
				(100 - i, body(&q, &answer, &["A relative of Linux."]))
			})
			.collect();
		many.push((500, carbon()));
		let links = propose(&carbon_number("6"), &many);
		assert_eq!(links, [BodyLink { rel: "refines".into(), entry: 500 }]);
		let links = propose(&linux(), &many);
		assert_eq!(links.len(), MAX_LINKS);
		assert!(links.windows(2).all(|w| w[0].entry < w[1].entry));
		assert_eq!(links[0].entry, 81, "the lowest entries");
	}

	#[test]
	fn links_are_checked_against_the_supplied_bodies() {
		let mut linux = linux();
		linux.links = vec![
			BodyLink { rel: "related".into(), entry: 3 },
			BodyLink { rel: "related".into(), entry: 4 },
			BodyLink { rel: "refines".into(), entry: 3 },
			BodyLink { rel: "related".into(), entry: 5 },
		];
		let value = |b: &Body| serde_json::from_slice(&b.to_bytes()).unwrap();
		let linked = vec![
			(3, value(&unix())),
			(4, value(&carbon())),
			(9, value(&carbon())),
			(5, serde_json::json!({"v": 1})),
		];
		let findings = check_links(&linux, &linked);
		assert_eq!(findings.len(), 3, "{findings:?}");
		assert!(findings[0].starts_with("link related to entry 4: related:"), "{findings:?}");
		assert!(findings[1].starts_with("link refines to entry 3: refines:"), "{findings:?}");
		assert!(findings[2].starts_with("link to entry 5: the body supplied is no body"));
		let missing = check_links(&linux, &linked[..1]);
		assert!(missing.contains(&"link to entry 4: its body was not supplied".to_string()));
		linux.links.truncate(1);
		assert!(check_links(&linux, &linked).is_empty());
	}
}
