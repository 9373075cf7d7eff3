//! Prints what the corpus teacher answers to each question of a file, and the verifier's verdict
//! on it: the measurement of answer quality in BENCHMARKS.md.
//!
//! `cargo run --release --manifest-path apps/Cargo.toml -p membria-cli --example answers --
//! [QUESTIONS] [CORPUS_DIR] [--no-rerank]` (defaults: `apps/distiller/examples/questions.txt`,
//! `/usr/share/dictd`, passages re-ranked with the installed MiniLM as `membria distiller` does).

use std::sync::Arc;

use membria_distiller::{Corpus, Distiller, Teacher};

/// What the corpus teacher answers to each question of a file, and whether it verifies.
#[derive(clap::Parser)]
struct Args {
	/// The questions, one per line.
	#[arg(env = "MEMBRIA_QUESTIONS", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../distiller/examples/questions.txt"))]
	questions: std::path::PathBuf,
	/// The trusted corpus directory.
	#[arg(env = "MEMBRIA_CORPUS", default_value = "/usr/share/dictd")]
	corpus: std::path::PathBuf,
	/// The re-ranking model (all-MiniLM-L6-v2); default: the installed one.
	#[arg(long, env = "MEMBRIA_EMBED_MODEL")]
	model_dir: Option<std::path::PathBuf>,
	/// Rank retrieved passages by BM25 alone.
	#[arg(long, env = "MEMBRIA_NO_RERANK")]
	no_rerank: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
	let Args { questions, corpus, model_dir, no_rerank } = <Args as clap::Parser>::parse();
	let corpus = Arc::new(Corpus::load(&corpus)?);
	let mut distiller = Distiller::new(Teacher::Corpus(corpus.clone()), Some(corpus));
	if let Some(model) = membria_cli::similarity::reranker(model_dir.as_deref(), no_rerank)? {
		distiller = distiller.with_similarity(Arc::new(model));
	}
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
