//! The gateway's embeddings: one model on one thread, fed batches of whatever is waiting, and
//! the embeddings of questions asked before kept in a bounded cache.
//!
//! A question costs the model about as much alone as in a batch of a dozen (the cost is the
//! per-call overhead of small matrix products on two cores), so concurrent questions — and the
//! phrasings of entries being indexed — share one forward pass. Devices ask the same popular
//! questions again and again; those are answered from the cache without the model.

use std::sync::Arc;

use membria_embed::Embedder;
use tokio::sync::{mpsc, oneshot};

/// The most texts one forward pass embeds.
const MAX_BATCH: usize = 32;
/// The most jobs waiting for the model; askers beyond it wait to queue.
const QUEUE: usize = 1024;

/// Why texts could not be embedded.
#[derive(Clone, Debug, thiserror::Error)]
pub(crate) enum EmbedFailure {
	#[error("cannot embed the text: {0}")]
	Text(String),
	#[error("the embedding model stopped")]
	Stopped,
}

struct Job {
	texts: Vec<String>,
	reply: oneshot::Sender<Result<Vec<Vec<f32>>, EmbedFailure>>,
}

/// The model's thread and the question cache.
pub(crate) struct Embeddings {
	jobs: mpsc::Sender<Job>,
	questions: Option<quick_cache::sync::Cache<String, Arc<[f32]>>>,
	dimension: usize,
}

impl Embeddings {
	/// Moves `embedder` to its own thread; caches up to `cached_questions` questions' embeddings
	/// (0: none).
	pub fn start(embedder: Embedder, cached_questions: usize) -> std::io::Result<Self> {
		let dimension = embedder.dimension();
		let (jobs, queue) = mpsc::channel(QUEUE);
		std::thread::Builder::new()
			.name("membria-embed".into())
			.spawn(move || serve(embedder, queue))?;
		let questions =
			(cached_questions > 0).then(|| quick_cache::sync::Cache::new(cached_questions));
		Ok(Self { jobs, questions, dimension })
	}

	/// The embedding's width.
	pub fn dimension(&self) -> usize {
		self.dimension
	}

	/// Unit embeddings of `texts`, one per text, in order.
	pub async fn texts(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedFailure> {
		if texts.is_empty() {
			return Ok(Vec::new());
		}
		let (reply, answer) = oneshot::channel();
		self.jobs.send(Job { texts, reply }).await.map_err(|_| EmbedFailure::Stopped)?;
		answer.await.map_err(|_| EmbedFailure::Stopped)?
	}

	/// The unit embedding of a question, and whether it came from the cache (it does when the
	/// question was asked before; concurrent askers of the same new question wait for one
	/// computation).
	pub async fn question(&self, question: &str) -> Result<(Arc<[f32]>, bool), EmbedFailure> {
		if let Some(hit) = self.questions.as_ref().and_then(|cache| cache.get(question)) {
			return Ok((hit, true));
		}
		let compute = async {
			let mut rows = self.texts(vec![question.to_string()]).await?;
			rows.pop().map(Arc::from).ok_or(EmbedFailure::Stopped)
		};
		let embedding = match &self.questions {
			Some(cache) => cache.get_or_insert_async(question, compute).await?,
			None => compute.await?,
		};
		Ok((embedding, false))
	}
}

/// The model's loop: takes the first job waiting, adds whatever else waits (up to
/// [`MAX_BATCH`] texts), embeds all in one pass and answers each job its rows.
fn serve(embedder: Embedder, mut queue: mpsc::Receiver<Job>) {
	while let Some(first) = queue.blocking_recv() {
		let mut count = first.texts.len();
		let mut jobs = vec![first];
		while count < MAX_BATCH {
			match queue.try_recv() {
				Ok(job) => {
					count += job.texts.len();
					jobs.push(job);
				},
				Err(_) => break,
			}
		}
		let texts: Vec<&str> =
			jobs.iter().flat_map(|job| job.texts.iter().map(String::as_str)).collect();
		match embed(&embedder, &texts) {
			Ok(rows) => {
				let mut rows = rows.into_iter();
				for job in jobs {
					let mine: Vec<Vec<f32>> = rows.by_ref().take(job.texts.len()).collect();
					let _ = job.reply.send(Ok(mine));
				}
			},
			// One job's text failing must not fail the others: each alone, then.
			Err(_) if jobs.len() > 1 => {
				for job in jobs {
					let texts: Vec<&str> = job.texts.iter().map(String::as_str).collect();
					let _ = job.reply.send(embed(&embedder, &texts));
				}
			},
			Err(error) => {
				for job in jobs {
					let _ = job.reply.send(Err(error.clone()));
				}
			},
		}
	}
}

/// One forward pass; a panic in the model (libtorch) fails these texts, not the thread.
fn embed(embedder: &Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedFailure> {
	std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| embedder.embed_rows(texts)))
		.map_err(|_| EmbedFailure::Text("the model failed on it".into()))?
		.map_err(|e| EmbedFailure::Text(e.to_string()))
}
