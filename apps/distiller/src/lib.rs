//! # Membria distiller
//!
//! The teacher sidecar the off-chain workers call (protocol in
//! [`membria_offchain::protocol`]):
//!
//! - `POST /distill {"question"}` → an entry body (schema v1): with the `corpus` backend,
//!   extractive — the document that answers, the sentences that carry the answer, the source
//!   cited by sha256; with the `openai` backend, the answer of any OpenAI-compatible
//!   chat-completions endpoint (the larger LLM).
//! - `POST /verify {"question", "body"}` → `approve`, or `reject` with a reason: the body breaks
//!   the schema, does not answer the question (its question's key or its key terms), or says
//!   what the trusted corpus does not support.
//! - `GET /health` → the backend and the corpus size.

pub mod corpus;
pub mod openai;
pub mod server;

use std::sync::Arc;

use membria_offchain::{
	body::{Body, DistillerInfo, Source, MAX_QUESTION_BYTES},
	protocol::{RejectWord, VerdictWord, VerifyResponse},
};
use membria_primitives::{key_terms, question_key};

pub use corpus::Corpus;
pub use openai::OpenAiTeacher;

/// The name bodies carry in `distiller.name`.
pub const DISTILLER_NAME: &str = concat!("membria-distiller/", env!("CARGO_PKG_VERSION"));

/// Why no body was produced.
#[derive(Debug, thiserror::Error)]
pub enum DistillError {
	#[error("bad question: {0}")]
	BadQuestion(String),
	#[error("the teacher has no answer: {0}")]
	NoAnswer(String),
	#[error("the teacher failed: {0}")]
	Teacher(String),
}

/// Where answers come from.
pub enum Teacher {
	/// Extractive distillation over a trusted corpus.
	Corpus(Arc<Corpus>),
	/// An OpenAI-compatible chat-completions endpoint.
	OpenAi(OpenAiTeacher),
}

/// A distiller: a teacher to distill with, and (optionally) a trusted corpus to verify against.
pub struct Distiller {
	teacher: Teacher,
	verifier: Option<Arc<Corpus>>,
}

/// Share of a claim's content words a corpus sentence must hold to support it.
const SUPPORT: f64 = 0.8;
/// Documents consulted per question.
const DOCUMENTS: usize = 5;
/// Facts per body.
const FACTS: usize = 4;

fn now_unix() -> u64 {
	std::time::SystemTime::now()
		.duration_since(std::time::UNIX_EPOCH)
		.map(|d| d.as_secs())
		.unwrap_or_default()
}

/// Checks a question as the chain does (the same bound, some content).
pub fn check_question(question: &str) -> Result<Vec<String>, DistillError> {
	if question.trim().is_empty() {
		return Err(DistillError::BadQuestion("the question is empty".into()));
	}
	if question.len() > MAX_QUESTION_BYTES {
		return Err(DistillError::BadQuestion(format!(
			"the question is longer than {MAX_QUESTION_BYTES} bytes"
		)));
	}
	let terms = key_terms(question);
	if terms.is_empty() {
		return Err(DistillError::BadQuestion("the question names nothing to look up".into()));
	}
	Ok(terms)
}

impl Distiller {
	/// A distiller that verifies against `verifier` when given.
	pub fn new(teacher: Teacher, verifier: Option<Arc<Corpus>>) -> Self {
		Self { teacher, verifier }
	}

	/// What `/health` reports.
	pub fn describe(&self) -> serde_json::Value {
		let (backend, model) = match &self.teacher {
			Teacher::Corpus(_) => ("corpus", "corpus".to_string()),
			Teacher::OpenAi(teacher) => ("openai", teacher.model().to_string()),
		};
		serde_json::json!({
			"backend": backend,
			"model": model,
			"verifierDocuments": self.verifier.as_ref().map(|c| c.len()),
		})
	}

	/// Distills a body answering `question`.
	pub async fn distill(&self, question: &str) -> Result<Body, DistillError> {
		let terms = check_question(question)?;
		let (answer, facts, sources, model) = match &self.teacher {
			Teacher::Corpus(corpus) => {
				let (answer, facts, source) = extract(corpus, question, &terms)?;
				(answer, facts, vec![source], "corpus".to_string())
			},
			Teacher::OpenAi(teacher) => {
				let answer = teacher.ask(question).await?;
				let facts = corpus::sentences(&answer).into_iter().take(FACTS).collect();
				let source = Source {
					uri: teacher.citation(),
					sha256: membria_offchain::body::sha256_hex(answer.as_bytes()),
				};
				(answer, facts, vec![source], format!("openai:{}", teacher.model()))
			},
		};
		let body = Body {
			v: membria_offchain::body::SCHEMA_VERSION,
			question: question.trim().to_string(),
			answer,
			facts,
			sources,
			links: Vec::new(),
			distiller: DistillerInfo { name: DISTILLER_NAME.into(), model },
			created: now_unix(),
		};
		body.validate().map_err(|error| {
			DistillError::Teacher(format!("the teacher's answer is no body: {error}"))
		})?;
		Ok(body)
	}

	/// Verifies that `body` answers `question`, correctly as far as the trusted corpus knows.
	pub fn verify(&self, question: &str, body: &serde_json::Value) -> VerifyResponse {
		let reject = |reason, finding: String| VerifyResponse {
			verdict: VerdictWord::Reject,
			reason: Some(reason),
			reasons: vec![finding],
		};
		let bytes = serde_json::to_vec(body).unwrap_or_default();
		let body = match Body::parse(&bytes) {
			Ok(body) => body,
			Err(error) => return reject(RejectWord::BadSchema, error.to_string()),
		};
		if question_key(&body.question) != question_key(question) {
			return reject(
				RejectWord::Irrelevant,
				format!("the body answers {:?}, not {question:?}", body.question),
			);
		}
		let terms = key_terms(question);
		let said: Vec<String> = corpus::words(&format!("{} {}", body.answer, body.facts.join(" ")));
		let missing: Vec<&String> = terms.iter().filter(|t| !said.contains(t)).collect();
		if terms.is_empty() || missing.len() * 2 > terms.len() {
			return reject(
				RejectWord::Irrelevant,
				format!("the answer does not speak of {missing:?}"),
			);
		}
		// The answer must rest on its facts: what it says beyond the question is in them.
		if !body.facts.is_empty() {
			let grounds: Vec<String> =
				corpus::words(&format!("{} {}", body.facts.join(" "), body.question));
			let content = corpus::content_words(&body.answer);
			let grounded = content.iter().filter(|w| grounds.contains(w)).count();
			if !content.is_empty() && (grounded as f64) < SUPPORT * content.len() as f64 {
				return reject(
					RejectWord::Incorrect,
					"the answer says more than its facts support".to_string(),
				);
			}
		}
		let mut findings = Vec::new();
		if let Some(corpus) = &self.verifier {
			let evidence: Vec<Vec<String>> = corpus
				.search(&terms, DOCUMENTS)
				.into_iter()
				.flat_map(|(doc, _)| {
					// A pointer entry vouches for the entry it points to, under its own name.
					let target = doc.pointer.as_deref().and_then(|to| corpus.named(to));
					let alias = target.map(|_| doc.title.clone());
					std::iter::once(doc).chain(target).map(move |doc| (doc, alias.clone()))
				})
				.flat_map(|(doc, alias)| {
					let title = corpus::words(&format!(
						"{} {} {}",
						doc.title,
						doc.names.join(" "),
						alias.unwrap_or_default()
					));
					corpus::record_fields(&doc.text).into_iter().map(move |sentence| {
						let mut words = corpus::words(&sentence);
						words.extend(title.iter().cloned());
						words
					})
				})
				.collect();
			let claims: Vec<String> = if body.facts.is_empty() {
				corpus::sentences(&body.answer)
			} else {
				body.facts.clone()
			};
			for claim in claims {
				let content = corpus::content_words(&claim);
				if content.is_empty() {
					continue;
				}
				let best = evidence
					.iter()
					.map(|sentence| {
						content.iter().filter(|w| sentence.contains(w)).count() as f64
							/ content.len() as f64
					})
					.fold(0.0, f64::max);
				if best < SUPPORT {
					findings.push(format!(
						"not supported by the trusted corpus ({:.0}% at best): {claim:?}",
						best * 100.0
					));
				}
			}
			if !findings.is_empty() {
				return VerifyResponse {
					verdict: VerdictWord::Reject,
					reason: Some(RejectWord::Incorrect),
					reasons: findings,
				};
			}
			findings.push(format!(
				"every claim is supported by the trusted corpus ({} documents)",
				corpus.len()
			));
		} else {
			findings.push(
				"schema, question and key terms checked; no trusted corpus to check claims".into(),
			);
		}
		VerifyResponse { verdict: VerdictWord::Approve, reason: None, reasons: findings }
	}
}

/// Extractive distillation, the way a reference librarian answers: the document about the
/// question's subject (a pointer entry — "DNS: see Domain Name System" — answers with the entry
/// it points to), named as the document names it ("User Datagram Protocol (UDP)"), then the
/// sentence that answers what is asked — the one that carries the question's other words, or,
/// for "who", "when" and "how many", a name, a year, a number — before the definition's first
/// sentence. Every fact is verbatim from the document.
fn extract(
	corpus: &Corpus,
	question: &str,
	terms: &[String],
) -> Result<(String, Vec<String>, Source), DistillError> {
	let hits = corpus.search(terms, DOCUMENTS);
	let Some((found, _)) = hits.first() else {
		return Err(DistillError::NoAnswer(format!(
			"no document of the corpus mentions {terms:?}"
		)));
	};
	let title_words = corpus::words(&format!("{} {}", found.title, found.names.join(" ")));
	if !terms.iter().any(|t| title_words.contains(t)) {
		return Err(DistillError::NoAnswer(format!(
			"no document of the corpus is about {terms:?} (closest: {})",
			found.title
		)));
	}
	let (document, alias) = match found.pointer.as_deref().and_then(|to| corpus.named(to)) {
		Some(target) => (target, found.names.first().cloned()),
		None => (*found, None),
	};
	let names: Vec<String> = document.names.iter().cloned().chain(alias).collect();
	let name_words = corpus::words(&format!("{} {}", found.title, names.join(" ")));
	let known: Vec<String> = corpus::words(&format!("{} {}", names.join(" "), document.text));
	let covered = terms.iter().filter(|t| known.contains(t) || name_words.contains(t)).count();
	if covered * 2 < terms.len() || covered == 0 {
		return Err(DistillError::NoAnswer(format!(
			"the closest document ({}) covers too few of {terms:?}",
			document.title
		)));
	}
	// Terms the names do not already give are what the question asks about the subject.
	let asked: Vec<&String> = terms.iter().filter(|t| !name_words.contains(t)).collect();
	let sentences = corpus::record_fields(&document.text);
	let kind = membria_primitives::answer_kind(question);
	let score = |sentence: &str| {
		let words = corpus::words(sentence);
		2 * asked.iter().filter(|t| words.contains(t)).count()
			+ corpus::answers_kind(sentence, kind)
	};
	let mut ranked: Vec<(usize, usize)> = sentences
		.iter()
		.enumerate()
		.skip(1)
		.map(|(i, s)| (i, score(s)))
		.filter(|(_, s)| *s > 0)
		.collect();
	ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
	let subject = corpus::naming(&names);
	// Naming the subject by more than its headword is a fact of its own (the entry's header).
	let naming_fact = subject.contains('(').then(|| subject.clone());
	let room = FACTS - 1 - usize::from(naming_fact.is_some());
	let mut chosen: Vec<usize> = vec![0];
	chosen.extend(ranked.iter().take(room).map(|(i, _)| *i));
	chosen.sort_unstable();
	let facts: Vec<String> = naming_fact
		.into_iter()
		.chain(chosen.iter().map(|i| sentences[*i].clone()))
		.collect();
	let best = ranked.first().map(|(i, _)| *i).unwrap_or(0);
	let answer = if best == 0 {
		format!("{subject}: {}", sentences[0])
	} else {
		format!("{subject}: {} {}", sentences[best], sentences[0])
	};
	Ok((answer, facts, Source { uri: document.uri.clone(), sha256: document.sha256.clone() }))
}
