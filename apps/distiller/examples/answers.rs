//! Prints what the corpus teacher answers to each question of a file, and the verifier's verdict
//! on it: the measurement of answer quality in BENCHMARKS.md.
//!
//! `cargo run --release --example answers -- [QUESTIONS] [CORPUS_DIR]`
//! (defaults: `examples/questions.txt`, `/usr/share/dictd`).

use std::sync::Arc;

use membria_distiller::{Corpus, Distiller, Teacher};

/// What the corpus teacher answers to each question of a file, and whether it verifies.
#[derive(clap::Parser)]
struct Args {
	/// The questions, one per line.
	#[arg(env = "MEMBRIA_QUESTIONS", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/questions.txt"))]
	questions: std::path::PathBuf,
	/// The trusted corpus directory.
	#[arg(env = "MEMBRIA_CORPUS", default_value = "/usr/share/dictd")]
	corpus: std::path::PathBuf,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
	let Args { questions, corpus } = <Args as clap::Parser>::parse();
	let corpus = Arc::new(Corpus::load(&corpus)?);
	let distiller = Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus));
	let (mut answered, mut approved, mut total) = (0, 0, 0);
	for question in std::fs::read_to_string(&questions)?.lines().filter(|l| !l.trim().is_empty()) {
		total += 1;
		match distiller.distill(question).await {
			Ok(body) => {
				answered += 1;
				let verdict =
					distiller.verify(question, &serde_json::from_slice(&body.to_bytes())?);
				let ok = verdict.verdict == membria_offchain::protocol::VerdictWord::Approve;
				approved += usize::from(ok);
				let first = membria_distiller::corpus::sentences(&body.answer)
					.into_iter()
					.next()
					.unwrap_or_default();
				println!("{question}\n  -> {first}");
				if ok {
					println!("     [approve]");
				} else {
					println!("     [REJECT] {:?}\n     {:?}", verdict.reasons, body.facts);
				}
			},
			Err(error) => println!("{question}\n  -> NO ANSWER: {error}"),
		}
	}
	println!("\n{answered}/{total} answered, {approved} approved by the verifier");
	Ok(())
}
