//! # Membria distiller
//!
//! The teacher sidecar the off-chain workers call (protocol in
//! [`membria_offchain::protocol`]):
//!
//! - `POST /distill {"question"}` → an entry body (schema v1): with the `corpus` backend,
//!   extractive — the document that answers, the sentences that carry the answer, the source
//!   cited by sha256; with the `openai` backend, the answer of any OpenAI-compatible
//!   chat-completions endpoint (the larger LLM).
//! - `POST /verify {"question", "body", "linked"}` → `approve`, or `reject` with a reason: the
//!   body breaks the schema, does not answer the question (its question's key or its key terms),
//!   says what the trusted corpus does not support, or links to an entry (whose body `linked`
//!   holds) with a relation that does not hold ([`links`]).
//! - With a gateway ([`Distiller::with_gateway`]), `/distill` links the new body to the validated
//!   entries it refines or is related to.
//! - `GET /health` → the backend and the corpus size.

pub mod corpus;
pub mod gateway;
pub mod links;
pub mod openai;
pub mod phrasings;
pub mod server;
pub mod support;

use std::sync::Arc;

use membria_offchain::{
	body::{Body, DistillerInfo, Source, MAX_LINKS, MAX_QUESTION_BYTES},
	protocol::{RejectWord, VerdictWord, VerifyResponse},
};
use membria_primitives::{key_terms, question_key};

pub use corpus::{Corpus, Document};
pub use openai::OpenAiTeacher;
use support::Evidence;

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

/// How close in meaning a question is to passages: a sentence-embedding model (all-MiniLM-L6-v2,
/// the one devices match with; `membria distiller` loads it). The corpus teacher uses it to
/// choose among the passages BM25 finds, so the one that answers is taken when the question's
/// words are not its headword's. Only retrieval uses it: what validators check does not depend
/// on it.
pub trait Similarity: Send + Sync {
	/// The cosine similarity of `question` to each of `passages`, in order.
	fn similarities(&self, question: &str, passages: &[String]) -> Result<Vec<f32>, String>;
}

/// A distiller: a teacher to distill with, and (optionally) a trusted corpus to verify against.
pub struct Distiller {
	teacher: Teacher,
	verifier: Option<Arc<Corpus>>,
	/// The validated entries new bodies are linked to.
	known: Option<gateway::KnownEntries>,
	/// Re-ranks retrieved passages by meaning.
	similarity: Option<Arc<dyn Similarity>>,
}

/// Documents consulted per question.
const DOCUMENTS: usize = 5;
/// The longest sentence an answer quotes (longer ones are tables and lists).
const MAX_SENTENCE: usize = 400;
/// Most sentences an answer may have (each is checked against the corpus).
const MAX_CLAIMS: usize = 64;
/// Most passages shown to an LLM teacher.
const PROMPT_PASSAGES: usize = 8;
/// Most bytes of passages shown to an LLM teacher (small models have small contexts).
const PROMPT_BYTES: usize = 1800;
/// Passages consulted per question.
const PASSAGES: usize = 20;
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
		Self { teacher, verifier, known: None, similarity: None }
	}

	/// The same distiller, choosing among retrieved passages by `similarity` too.
	pub fn with_similarity(mut self, similarity: Arc<dyn Similarity>) -> Self {
		self.similarity = Some(similarity);
		self
	}

	/// The same distiller, proposing links to the validated entries the gateway at `url`
	/// (`http://127.0.0.1:8080`) serves.
	pub fn with_gateway(mut self, url: &str) -> Self {
		self.known = Some(gateway::KnownEntries::new(url));
		self
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
			"reranking": self.similarity.is_some(),
		})
	}

	/// Distills a body answering `question`.
	pub async fn distill(&self, question: &str) -> Result<Body, DistillError> {
		self.distill_linking(question, true).await
	}

	/// Distills a body answering `question`, proposing links to the validated entries the
	/// gateway serves only if `links`.
	pub async fn distill_linking(&self, question: &str, links: bool) -> Result<Body, DistillError> {
		let terms = check_question(question)?;
		let (answer, facts, sources, model) = match &self.teacher {
			Teacher::Corpus(corpus) => {
				// Retrieval and the similarity model are CPU work: off the async workers.
				let (corpus, similarity) = (corpus.clone(), self.similarity.clone());
				let asked = question.to_string();
				let (answer, facts, sources) = tokio::task::spawn_blocking(move || {
					extract(&corpus, &asked, &terms, similarity.as_deref())
				})
				.await
				.map_err(|error| DistillError::Teacher(format!("retrieval failed: {error}")))??;
				(answer, facts, sources, "corpus".to_string())
			},
			Teacher::OpenAi(teacher) if self.verifier.is_some() => {
				let corpus = self.verifier.as_deref().expect("checked");
				let (answer, facts, sources) = ground(corpus, teacher, question, &terms).await?;
				(answer, facts, sources, format!("openai:{}+corpus", teacher.model()))
			},
			Teacher::OpenAi(teacher) => {
				let answer = teacher.ask(question, &[]).await?;
				let facts = corpus::sentences(&answer).into_iter().take(FACTS).collect();
				let source = Source {
					uri: teacher.citation(),
					sha256: membria_offchain::body::sha256_hex(answer.as_bytes()),
				};
				(answer, facts, vec![source], format!("openai:{}", teacher.model()))
			},
		};
		// Other ways to ask it: those an LLM teacher writes, then those of the question's form
		// (a chemical symbol is also how an element is abbreviated).
		let mut candidates = match &self.teacher {
			Teacher::OpenAi(teacher) => teacher.rephrase(question).await.unwrap_or_else(|error| {
				tracing::warn!(%question, %error, "the teacher wrote no other phrasings");
				Vec::new()
			}),
			Teacher::Corpus(_) => Vec::new(),
		};
		let symbol = question.to_lowercase().contains("symbol")
			&& facts.iter().any(|fact: &String| fact.starts_with("Symbol:"));
		candidates.extend(phrasings::phrasings(question, symbol));
		// Only the phrasings the verifier will take.
		let said = corpus::words(&format!("{answer} {}", facts.join(" ")));
		candidates.retain(|phrasing| phrasing_holds(question, phrasing, &said).is_ok());
		let mut body = Body {
			v: membria_offchain::body::SCHEMA_VERSION,
			question: question.trim().to_string(),
			phrasings: phrasings::distinct(question, candidates),
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
		let linked = match &self.known {
			Some(known) if links => {
				let (links, linked) = known.propose(&body).await;
				body.links = links;
				linked
			},
			_ => Vec::new(),
		};
		let json = |body: &Body| {
			serde_json::from_slice::<serde_json::Value>(&body.to_bytes())
				.map_err(|error| DistillError::Teacher(format!("body JSON: {error}")))
		};
		let linked: Vec<(u64, serde_json::Value)> = linked
			.iter()
			.map(|(entry, body)| Ok((*entry, json(body)?)))
			.collect::<Result<_, DistillError>>()?;
		// A body its own verifier refuses would be refused by the validators too: the teacher has
		// no answer that holds.
		let mut verdict = self.verify_linked(question, &json(&body)?, &linked);
		if verdict.reason == Some(RejectWord::BadLink) {
			// The links are proposed by the rule they are checked by; should one not hold, the
			// body goes without them.
			tracing::warn!(%question, reasons = ?verdict.reasons, "dropping links that do not hold");
			body.links.clear();
			verdict = self.verify(question, &json(&body)?);
		}
		if verdict.verdict != VerdictWord::Approve {
			return Err(DistillError::NoAnswer(format!(
				"the teacher's answer does not verify: {}",
				verdict.reasons.join("; ")
			)));
		}
		Ok(body)
	}

	/// Verifies that `body` answers `question`, correctly as far as the trusted corpus knows (a
	/// body with links is refused: the bodies they link to are not given).
	pub fn verify(&self, question: &str, body: &serde_json::Value) -> VerifyResponse {
		self.verify_linked(question, body, &[])
	}

	/// Verifies that `body` answers `question`, correctly as far as the trusted corpus knows, and
	/// that each of its links holds, given the bodies of the entries it links to (`linked`:
	/// `(entry, body)`; the first for an entry counts, those it does not link to are ignored).
	/// The content is checked first; the links only of a body that passes.
	pub fn verify_linked(
		&self,
		question: &str,
		body: &serde_json::Value,
		linked: &[(u64, serde_json::Value)],
	) -> VerifyResponse {
		let (body, mut verdict) = match self.verify_content(question, body) {
			Ok(checked) => checked,
			Err(refused) => return refused,
		};
		if body.links.is_empty() {
			return verdict;
		}
		let findings = links::check_links(&body, linked);
		if !findings.is_empty() {
			return VerifyResponse {
				verdict: VerdictWord::Reject,
				reason: Some(RejectWord::BadLink),
				reasons: findings,
			};
		}
		verdict
			.reasons
			.push(format!("each of its {} links holds (at most {MAX_LINKS})", body.links.len()));
		verdict
	}

	/// The checks of a body's content: its schema, that it answers `question`, that its answer
	/// rests on its facts and they on the trusted corpus. The body and the approval, or the
	/// refusal.
	fn verify_content(
		&self,
		question: &str,
		body: &serde_json::Value,
	) -> Result<(Body, VerifyResponse), VerifyResponse> {
		let reject = |reason, finding: String| {
			Err(VerifyResponse {
				verdict: VerdictWord::Reject,
				reason: Some(reason),
				reasons: vec![finding],
			})
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
		// By stem: "translating hostnames" speaks of what "translates" asks.
		let said_stems: Vec<String> = said.iter().map(|w| corpus::stem(w)).collect();
		let missing: Vec<&String> =
			terms.iter().filter(|t| !said_stems.contains(&corpus::stem(t))).collect();
		if terms.is_empty() || missing.len() * 2 > terms.len() {
			return reject(
				RejectWord::Irrelevant,
				format!("the answer does not speak of {missing:?}"),
			);
		}
		// Each other phrasing asks what the answer speaks of, for the same kind of answer: a
		// phrasing is a way for devices to find the entry, so one that asks something else would
		// make them serve it for another question.
		for phrasing in &body.phrasings {
			if let Err(finding) = phrasing_holds(question, phrasing, &said) {
				return reject(RejectWord::Irrelevant, finding);
			}
		}
		let claims = answer_claims(&body.answer).len();
		if claims > MAX_CLAIMS {
			return reject(
				RejectWord::Incorrect,
				format!("the answer makes {claims} claims; at most {MAX_CLAIMS} are checked"),
			);
		}
		// The answer must rest on its facts: each of its sentences is supported by one of them
		// (read with the names of the body's subject), numbers, names and negations included.
		if !body.facts.is_empty() {
			let context = links::subject(&body).words();
			let grounds: Vec<Evidence> =
				body.facts.iter().map(|fact| Evidence::new(fact, &context)).collect();
			for sentence in answer_claims(&body.answer) {
				if let Err((mismatch, _)) = support::supported(&sentence, &grounds) {
					return reject(
						RejectWord::Incorrect,
						format!("the answer says more than its facts support ({mismatch}): {sentence:?}"),
					);
				}
			}
		}
		let mut findings = Vec::new();
		if let Some(corpus) = &self.verifier {
			let evidence = match evidence(corpus, &body) {
				Ok(evidence) => evidence,
				Err(finding) => return reject(RejectWord::Incorrect, finding),
			};
			let mut claims = body.facts.clone();
			claims.extend(answer_claims(&body.answer));
			for claim in claims {
				if let Err((mismatch, closest)) = support::supported(&claim, &evidence) {
					findings.push(match closest {
						Some(closest) if !matches!(mismatch, support::Mismatch::Coverage(_)) => {
							format!(
								"contradicts the trusted corpus ({mismatch}): {claim:?}; the corpus says {:?}",
								closest.sentence
							)
						},
						_ => format!("not supported by the trusted corpus ({mismatch}): {claim:?}"),
					});
				}
			}
			if !findings.is_empty() {
				return Err(VerifyResponse {
					verdict: VerdictWord::Reject,
					reason: Some(RejectWord::Incorrect),
					reasons: findings,
				});
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
		Ok((
			body,
			VerifyResponse { verdict: VerdictWord::Approve, reason: None, reasons: findings },
		))
	}
}

/// The passages a teacher is shown for a question: the opening sentences of the document about
/// its subject, then the passages that hold most of it, each read with its document's names;
/// at most [`PROMPT_PASSAGES`] of them and [`PROMPT_BYTES`] in all.
fn retrieve<'a>(corpus: &'a Corpus, terms: &[String]) -> Vec<(Evidence, &'a Document)> {
	let mut chosen: Vec<(String, &Document)> = Vec::new();
	if let Some((found, _)) = corpus.search(terms, 1).into_iter().next() {
		let document = found.pointer.as_deref().and_then(|to| corpus.named(to)).unwrap_or(found);
		for sentence in corpus::record_fields(&document.text).into_iter().take(3) {
			chosen.push((sentence, document));
		}
	}
	for hit in corpus.passages(terms, PASSAGES) {
		if !chosen.iter().any(|(text, _)| text == hit.text) {
			chosen.push((hit.text.to_string(), hit.document));
		}
	}
	let mut bytes = 0;
	chosen
		.into_iter()
		.filter(|(text, _)| text.len() <= MAX_SENTENCE)
		.take_while(|(text, _)| {
			bytes += text.len();
			bytes <= PROMPT_BYTES
		})
		.take(PROMPT_PASSAGES)
		.map(|(text, document)| {
			let names = corpus::words(&format!("{} {}", document.title, document.names.join(" ")));
			(Evidence::new(&text, &names), document)
		})
		.collect()
}

/// Retrieval-augmented distillation: the LLM answers from the corpus passages it is shown, and
/// each sentence of its answer must be supported by one of them (numbers, names and negations
/// as the passage has them). The supporting passages are the body's facts, verbatim, and their
/// documents its sources; an answer with a sentence no passage supports is no answer.
async fn ground(
	corpus: &Corpus,
	teacher: &OpenAiTeacher,
	question: &str,
	terms: &[String],
) -> Result<(String, Vec<String>, Vec<Source>), DistillError> {
	let passages = retrieve(corpus, terms);
	if passages.is_empty() {
		return Err(DistillError::NoAnswer(format!("no passage of the corpus mentions {terms:?}")));
	}
	let shown: Vec<String> = passages
		.iter()
		.map(|(evidence, document)| format!("({}) {}", document.title, evidence.sentence))
		.collect();
	let answer = teacher.ask(question, &shown).await?;
	let evidence: Vec<Evidence> = passages.iter().map(|(evidence, _)| evidence.clone()).collect();
	let mut facts: Vec<String> = Vec::new();
	let mut sources: Vec<Source> = Vec::new();
	for sentence in corpus::record_fields(&answer) {
		let index = support::supported(&sentence, &evidence).map_err(|(mismatch, closest)| {
			DistillError::NoAnswer(format!(
				"{}'s answer is not supported by the corpus ({mismatch}): {sentence:?}{}",
				teacher.model(),
				closest
					.map(|c| format!("; the closest passage says {:?}", c.sentence))
					.unwrap_or_default()
			))
		})?;
		let (passage, document) = &passages[index];
		if !facts.contains(&passage.sentence) {
			facts.push(passage.sentence.clone());
		}
		if !sources.iter().any(|s| s.uri == document.uri) {
			sources.push(Source { uri: document.uri.clone(), sha256: document.sha256.clone() });
		}
	}
	Ok((answer, facts, sources))
}

/// Words a phrasing may use for what the question says otherwise: each with the question words
/// it restates ("How is potassium abbreviated?" asks for the symbol; "In what year …" asks
/// "when").
const RESTATED: &[(&str, &[&str])] = &[
	("abbreviated", &["symbol"]),
	("abbreviation", &["symbol"]),
	("abbreviate", &["symbol"]),
	("year", &["when"]),
	("date", &["when"]),
	("person", &["who"]),
	("place", &["where"]),
];

/// Whether `phrasing` asks what `question` asks, as far as an answer whose words are `said`
/// shows. A phrasing is how devices find the entry, so one that asks anything else would make
/// them serve it for another question; a phrasing
/// - names nothing the question does not name or the answer does not say (by stem; or a word
///   of [`RESTATED`] for what the question says);
/// - keeps at least half of the question's key terms (by stem, or restated): "Who discovered
///   carbon?" is not a phrasing of "What is the atomic number of carbon?" even when the
///   answer says who did;
/// - asks for the same kind of answer (who, when, where, how many) when both say.
fn phrasing_holds(question: &str, phrasing: &str, said: &[String]) -> Result<(), String> {
	let stems = |words: &[String]| words.iter().map(|w| corpus::stem(w)).collect::<Vec<_>>();
	let terms = key_terms(phrasing);
	let asked = stems(&key_terms(question));
	let said = stems(said);
	let question_words = corpus::words(question);
	let restates = |word: &str| {
		RESTATED.iter().any(|(restating, restated)| {
			*restating == word && restated.iter().any(|w| question_words.iter().any(|q| q == w))
		})
	};
	let unknown: Vec<&String> = terms
		.iter()
		.filter(|term| {
			let stem = corpus::stem(term);
			!asked.contains(&stem) && !said.contains(&stem) && !restates(term)
		})
		.collect();
	if terms.is_empty() || !unknown.is_empty() {
		return Err(format!(
			"the phrasing {phrasing:?} asks of {unknown:?}, which neither the question nor the \
			 answer speaks of"
		));
	}
	let phrased: Vec<String> = stems(&terms);
	let restated = |stem: &String| {
		terms.iter().any(|term| {
			RESTATED.iter().any(|(restating, restated)| {
				restating == term && restated.iter().any(|w| corpus::stem(w) == *stem)
			})
		})
	};
	let kept = asked.iter().filter(|stem| phrased.contains(stem) || restated(stem)).count();
	if kept * 2 < asked.len() {
		return Err(format!(
			"the phrasing {phrasing:?} leaves out most of what the question asks ({} of {:?})",
			kept,
			key_terms(question)
		));
	}
	let (asked, asks) =
		(membria_primitives::answer_kind(question), membria_primitives::answer_kind(phrasing));
	if let (Some(asked), Some(asks)) = (asked, asks) {
		if asked != asks {
			return Err(format!(
				"the phrasing {phrasing:?} asks for another kind of answer ({asks:?}, not {asked:?})"
			));
		}
	}
	Ok(())
}

/// What an answer claims, one by one: the subject it opens with ("World-Wide Web (WWW): …"),
/// then each sentence or record field.
fn answer_claims(answer: &str) -> Vec<String> {
	let mut claims = corpus::record_fields(answer);
	if let Some(first) = claims.first().cloned() {
		if let Some((subject, rest)) = first.split_once(": ") {
			if subject.len() <= 100
				&& !subject.contains(['.', '!', '?'])
				&& !corpus::is_field(&first)
			{
				claims.splice(0..1, [subject.to_string(), rest.to_string()]);
			}
		}
	}
	claims
}

/// The sentences of the trusted corpus `body` is checked against: those of the documents it
/// cites (each a document of the corpus, else the finding), each read with its document's names,
/// that can speak of the body's subject — every sentence of a document the subject names (its
/// headword or other names hold a word of the subject's), and the sentences of other cited
/// documents that name the subject themselves ("Sir Tim Berners-Lee invented the World-Wide
/// Web", from CERN's entry). A fact of another document — nitrogen's `Atomic number: 7` under
/// "Carbon:" — supports nothing.
fn evidence(corpus: &Corpus, body: &Body) -> Result<Vec<Evidence>, String> {
	let subject = links::subject(body);
	let subject_words: Vec<String> = subject
		.words()
		.into_iter()
		.filter(|word| !word.chars().any(char::is_numeric))
		.collect();
	let mut evidence = Vec::new();
	for source in &body.sources {
		let Some(document) = corpus.by_uri(&source.uri) else {
			return Err(format!(
				"the source {:?} is not a document of the trusted corpus",
				source.uri
			));
		};
		// A pointer entry vouches for the entry it points to, under its own name.
		let target = document.pointer.as_deref().and_then(|to| corpus.named(to));
		let alias = target.map(|_| document.title.clone());
		for document in std::iter::once(document).chain(target) {
			let title = corpus::words(&format!(
				"{} {} {}",
				document.title,
				document.names.join(" "),
				alias.clone().unwrap_or_default()
			));
			let about = subject_words.iter().any(|word| title.contains(word));
			for sentence in corpus::record_fields(&document.text) {
				let names = || {
					let words = corpus::words(&sentence);
					subject.names.iter().any(|name| name.iter().all(|w| words.contains(w)))
				};
				if about || names() {
					evidence.push(Evidence::new(&sentence, &title));
				}
			}
		}
	}
	Ok(evidence)
}

/// What a "which X …" or "what X …" question asks for an instance of ("Which element has the
/// symbol Fe?" → `element`), or a superlative one ("What is the lightest element?" →
/// `element`): a category, not the subject, so a document titled by it is not the answer.
fn category(question: &str) -> Option<String> {
	const VERBS: &[&str] = &[
		"is", "are", "was", "were", "does", "do", "did", "has", "have", "had", "can", "could",
		"will", "would", "should", "may", "might", "kind", "type", "sort", "the", "a", "an",
	];
	let words = corpus::words(question);
	let (first, second) = (words.first()?, words.get(1)?);
	if !matches!(first.as_str(), "which" | "what") {
		return None;
	}
	if !VERBS.contains(&second.as_str()) {
		return Some(second.clone());
	}
	// "What is the lightest element (in …)?", "What is the most abundant gas?": the noun after
	// "the" and its superlative.
	const SUPERLATIVES: &[&str] = &[
		"best",
		"biggest",
		"closest",
		"coldest",
		"commonest",
		"deepest",
		"densest",
		"earliest",
		"fastest",
		"first",
		"greatest",
		"hardest",
		"heaviest",
		"highest",
		"hottest",
		"largest",
		"last",
		"latest",
		"lightest",
		"longest",
		"lowest",
		"nearest",
		"newest",
		"oldest",
		"rarest",
		"shortest",
		"simplest",
		"slowest",
		"smallest",
		"softest",
		"strongest",
		"tallest",
		"weakest",
		"worst",
	];
	let the = words.iter().position(|word| word == "the")?;
	let noun = match &words[the + 1..] {
		[most, _, noun, ..] if matches!(most.as_str(), "most" | "least") => noun,
		[adjective, noun, ..] if SUPERLATIVES.contains(&adjective.as_str()) => noun,
		_ => return None,
	};
	(!VERBS.contains(&noun.as_str()) && !matches!(noun.as_str(), "of" | "in")).then(|| noun.clone())
}

/// Whether `word` is as specific as a value: a number or a short symbol ("79", "Fe").
fn is_value(word: &str) -> bool {
	word.chars().any(|c| c.is_ascii_digit()) || word.len() <= 2
}

/// Extractive distillation, the way a reference librarian answers:
/// - the document about the question's subject, by its headword or one of its names (a pointer
///   entry — "DNS: see Domain Name System" — answers with the entry it points to); or, when the
///   question names a value and asks for its subject ("Which element has atomic number 79?"),
///   when the question's subject is no headword, or when a passage of another document holds a
///   value the question asks about that the titled one lacks, the document of the passage (BM25
///   over stemmed passages) that holds most of the question;
/// - the subject named as the document names it ("User Datagram Protocol (UDP)");
/// - first the sentence that answers what is asked — the passage found, the one that carries the
///   question's other words, or, for "who", "when" and "how many", a name, a year, a number —
///   then the definition (the document's first sentence that is not a record field), unless it
///   is the answer itself.
///
/// Every fact is verbatim from the document, whole sentences or record fields.
fn extract(
	corpus: &Corpus,
	question: &str,
	terms: &[String],
	similarity: Option<&dyn Similarity>,
) -> Result<(String, Vec<String>, Vec<Source>), DistillError> {
	let category = category(question);
	let stems: Vec<String> = terms.iter().map(|t| corpus::stem(t)).collect();
	let hits = corpus.search(terms, DOCUMENTS);
	// The document about the question's subject, by its headword or one of its names (not only
	// by the category asked for).
	let titled = hits.iter().map(|(doc, _)| *doc).find(|found| {
		let title_words = corpus::words(&format!("{} {}", found.title, found.names.join(" ")));
		terms.iter().any(|t| title_words.contains(t) && Some(t) != category.as_ref())
	});
	let titled =
		titled.map(|found| match found.pointer.as_deref().and_then(|to| corpus.named(to)) {
			Some(target) => (target, found.names.first().cloned(), found),
			None => (found, None, found),
		});
	// The terms a document holds, by stem, in its names or text.
	let held = |document: &Document, alias: Option<&String>, found: &Document| -> Vec<usize> {
		let mut known: Vec<String> = corpus::words(&format!(
			"{} {} {} {}",
			found.title,
			document.names.join(" "),
			alias.map(String::as_str).unwrap_or_default(),
			document.text
		))
		.iter()
		.map(|w| corpus::stem(w))
		.collect();
		known.sort();
		known.dedup();
		(0..terms.len()).filter(|i| known.binary_search(&stems[*i]).is_ok()).collect()
	};
	let title_held = titled
		.as_ref()
		.map(|(document, alias, found)| held(document, alias.as_ref(), found))
		.unwrap_or_default();
	// The passages that hold most of the question (with their documents' names), best first by
	// BM25 — or, with a similarity model, by meaning.
	let mut candidates: Vec<corpus::PassageHit> = corpus
		.passages(terms, PASSAGES)
		.into_iter()
		.filter(|hit| hit.document.pointer.is_none() && hit.matched * 2 > terms.len())
		.collect();
	let most = candidates.iter().map(|hit| hit.matched).max().unwrap_or_default();
	candidates.retain(|hit| hit.matched == most);
	candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
	// How close in meaning each candidate is to the question, and the titled document's
	// definition last.
	let closeness = similarity.filter(|_| !candidates.is_empty()).and_then(|model| {
		let mut texts: Vec<String> = candidates
			.iter()
			.map(|hit| format!("{}: {}", hit.document.title, hit.text))
			.collect();
		if let Some((document, _, _)) = &titled {
			texts.push(format!("{}: {}", document.title, corpus::opening(document)?));
		}
		model
			.similarities(question, &texts)
			.map_err(|error| tracing::warn!(%question, %error, "no re-ranking"))
			.ok()
			.filter(|scores| scores.len() == texts.len())
	});
	let (best, closer_than_titled) = match &closeness {
		Some(scores) => {
			let best = (0..candidates.len())
				.max_by(|a, b| scores[*a].total_cmp(&scores[*b]).then(b.cmp(a)))
				.unwrap_or_default();
			let titled_score = scores.get(candidates.len()).copied();
			(best, titled_score.is_some_and(|titled| scores[best] > titled))
		},
		None => (0, false),
	};
	let passage = (!candidates.is_empty()).then(|| candidates.swap_remove(best)).filter(|hit| {
		let passage_held = held(hit.document, None, hit.document);
		let extra_value =
			passage_held.iter().any(|i| !title_held.contains(i) && is_value(&terms[*i]));
		titled.is_none()
			|| (category.is_some() && passage_held.len() >= title_held.len())
			|| (category.is_some() && closer_than_titled)
			|| (extra_value && passage_held.len() > title_held.len())
	});
	let (document, alias, found, answering) = match (passage, titled) {
		(Some(hit), _) => (hit.document, None, hit.document, Some(hit.text.to_string())),
		(None, Some((document, alias, found))) => (document, alias, found, None),
		(None, None) => {
			return Err(DistillError::NoAnswer(match hits.first() {
				Some((closest, _)) => format!(
					"no document of the corpus is about {terms:?} (closest: {})",
					closest.title
				),
				None => format!("no document of the corpus mentions {terms:?}"),
			}))
		},
	};
	let covered = held(document, alias.as_ref(), found).len();
	if covered * 2 < terms.len() || covered == 0 {
		return Err(DistillError::NoAnswer(format!(
			"the closest document ({}) covers too few of {terms:?}",
			document.title
		)));
	}
	let names: Vec<String> = document.names.iter().cloned().chain(alias).collect();
	let name_stems: Vec<String> = corpus::words(&format!("{} {}", found.title, names.join(" ")))
		.iter()
		.map(|w| corpus::stem(w))
		.collect();
	// Terms the names do not already give are what the question asks about the subject.
	let asked: Vec<&String> = stems.iter().filter(|t| !name_stems.contains(t)).collect();
	let sentences: Vec<String> = corpus::record_fields(&document.text)
		.into_iter()
		.filter(|s| s.len() <= MAX_SENTENCE)
		.collect();
	if sentences.is_empty() {
		return Err(DistillError::NoAnswer(format!("{} holds no sentence", document.title)));
	}
	let definition = sentences
		.iter()
		.position(|s| !corpus::is_field(s) && !corpus::is_note(s))
		.or_else(|| sentences.iter().position(|s| !corpus::is_field(s)))
		.unwrap_or(0);
	let kind = membria_primitives::answer_kind(question);
	let score = |sentence: &str| {
		let words: Vec<String> = corpus::words(sentence).iter().map(|w| corpus::stem(w)).collect();
		2 * asked.iter().filter(|t| words.contains(t)).count()
			+ corpus::answers_kind(sentence, kind)
	};
	let answering = answering.and_then(|text| sentences.iter().position(|s| *s == text));
	let mut ranked: Vec<(usize, usize)> = sentences
		.iter()
		.enumerate()
		.map(|(i, s)| (i, if Some(i) == answering { usize::MAX } else { score(s) }))
		.filter(|(_, s)| *s > 0)
		.collect();
	// Best first; among equals the definition, then the earlier.
	ranked.sort_by(|a, b| {
		b.1.cmp(&a.1)
			.then((a.0 != definition).cmp(&(b.0 != definition)))
			.then(a.0.cmp(&b.0))
	});
	let best = ranked.first().map(|(i, _)| *i).unwrap_or(definition);
	// What no sentence of the document answers, a sentence of another may: one that holds every
	// word of the question itself ("Sir Tim Berners-Lee invented the World-Wide Web while working
	// at CERN", for "Who invented the World Wide Web?"), and the kind of answer asked for.
	let best_asked = {
		let words: Vec<String> =
			corpus::words(&sentences[best]).iter().map(|w| corpus::stem(w)).collect();
		asked.iter().filter(|t| words.contains(t)).count()
	};
	let elsewhere = (answering.is_none() && best_asked < asked.len())
		.then(|| {
			corpus.passages(terms, PASSAGES).into_iter().find(|hit| {
				!std::ptr::eq(hit.document, document)
					&& hit.matched_in_text == terms.len()
					&& hit.text.len() <= MAX_SENTENCE
					&& (kind.is_none() || corpus::answers_kind(hit.text, kind) > 0)
			})
		})
		.flatten();
	let subject = corpus::naming(&names, &corpus::words(question));
	// Naming the subject by more than the question does is a fact of its own (the entry's
	// header): "User Datagram Protocol (UDP)", or "Iron" for "Which element has the symbol Fe?".
	let question_words = corpus::words(question);
	let named_by_question = corpus::words(&subject)
		.iter()
		.all(|w| question_words.contains(w) || stems.contains(&corpus::stem(w)));
	let naming_fact = (subject.contains('(') || !named_by_question).then(|| subject.clone());
	let room = FACTS - usize::from(naming_fact.is_some()) - usize::from(elsewhere.is_some());
	let mut chosen: Vec<usize> = Vec::new();
	if elsewhere.is_none() {
		chosen.push(best);
	}
	if !chosen.contains(&definition) {
		chosen.push(definition);
	}
	chosen.extend(
		ranked
			.iter()
			.map(|(i, _)| *i)
			.filter(|i| !chosen.contains(i))
			.collect::<Vec<_>>(),
	);
	// What a record says first (an element's symbol and atomic number) belongs to a definition:
	// "What is mercury?" is answered with them too.
	let definition_asked = best == definition && elsewhere.is_none();
	let fields: Vec<usize> = if definition_asked {
		(0..sentences.len())
			.filter(|i| corpus::is_field(&sentences[*i]))
			.take(2)
			.collect()
	} else {
		Vec::new()
	};
	chosen.retain(|i| !fields.contains(i));
	chosen.truncate(room.saturating_sub(fields.len()).max(1));
	let opening: Vec<&str> = elsewhere
		.iter()
		.map(|hit| hit.text)
		.chain(chosen.iter().map(|i| sentences[*i].as_str()))
		.take(2)
		.chain(fields.iter().map(|i| sentences[*i].as_str()))
		.collect();
	chosen.extend(&fields);
	let answer_parts: Vec<String> = opening
		.iter()
		.map(|sentence| {
			if sentence.ends_with(['.', '!', '?']) {
				sentence.to_string()
			} else {
				format!("{sentence}.")
			}
		})
		.collect();
	let answer = format!("{subject}: {}", answer_parts.join(" "));
	chosen.sort_unstable();
	let facts: Vec<String> = naming_fact
		.into_iter()
		.chain(elsewhere.iter().map(|hit| hit.text.to_string()))
		.chain(chosen.iter().map(|i| sentences[*i].clone()))
		.collect();
	let sources = std::iter::once(document)
		.chain(elsewhere.map(|hit| hit.document))
		.map(|doc| Source { uri: doc.uri.clone(), sha256: doc.sha256.clone() })
		.collect();
	Ok((answer, facts, sources))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn holds(question: &str, phrasing: &str, answer: &str) -> Result<(), String> {
		phrasing_holds(question, phrasing, &corpus::words(answer))
	}

	#[test]
	fn which_what_and_superlatives_ask_for_an_instance() {
		assert_eq!(category("Which element has the symbol Fe?").as_deref(), Some("element"));
		assert_eq!(category("What protocol does the web use?").as_deref(), Some("protocol"));
		assert_eq!(category("What is the lightest element?").as_deref(), Some("element"));
		assert_eq!(category("What is the most abundant gas in air?").as_deref(), Some("gas"));
		assert_eq!(category("What is the atomic number of carbon?"), None);
		assert_eq!(category("What is the interest rate?"), None);
		assert_eq!(category("Who is the fastest runner?"), None);
	}

	#[test]
	fn a_phrasing_asks_what_the_question_asks() {
		let symbol = "Potassium: Symbol: K. Potassium is a chemical element.";
		let asked = "What is the chemical symbol for potassium?";
		for phrasing in [
			"What is potassium's chemical symbol?",
			"How is potassium abbreviated?",
			"Which symbol does potassium have?",
		] {
			assert_eq!(holds(asked, phrasing, symbol), Ok(()), "{phrasing}");
		}
		// Another attribute of the same subject, even one the answer speaks of.
		let carbon = "Carbon: Atomic number: 6. Carbon was discovered in prehistoric times.";
		let error =
			holds("What is the atomic number of carbon?", "When was carbon discovered?", carbon)
				.unwrap_err();
		assert!(error.contains("leaves out most of what the question asks"), "{error}");
		// Something neither the question nor the answer speaks of.
		let error =
			holds("What is carbon?", "Who discovered carbon?", "Carbon: Symbol: C.").unwrap_err();
		assert!(error.contains("[\"discovered\"]"), "{error}");
		// A restating word only for what the question says.
		let oxygen = "Oxygen was discovered by Joseph Priestley in 1774.";
		assert_eq!(
			holds("When was oxygen discovered?", "In what year was oxygen discovered?", oxygen),
			Ok(())
		);
		assert!(
			holds("Who discovered oxygen?", "In what year was oxygen discovered?", oxygen).is_err()
		);
		// The kind of answer.
		let error =
			holds("When was oxygen discovered?", "Who discovered oxygen?", oxygen).unwrap_err();
		assert!(error.contains("another kind of answer"), "{error}");
	}
}
