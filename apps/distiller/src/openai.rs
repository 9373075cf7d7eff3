//! The `openai` teacher: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM,
//! llama.cpp's server, Ollama…).

use std::time::Duration;

use serde::Deserialize;

use crate::DistillError;

const SYSTEM_PROMPT: &str =
	"You are a careful teacher. Answer the question in one to three short, \
factual sentences. If you do not know, answer exactly: I don't know.";

/// With passages: the model answers from them, in their words.
const GROUNDED_PROMPT: &str = "You are a careful reference librarian. Answer the question in one \
to three short sentences using only the passages below. Start with the sentence that answers \
the question. Copy names, numbers and years exactly as the passages give them. If the passages \
do not answer the question, answer exactly: I don't know.";

/// For other phrasings (the question goes in the user message; small models answer a question
/// put there instead of rephrasing it unless the instruction is with it).
const REPHRASE_PROMPT: &str = "You rewrite questions: other ways to ask the same thing.";

/// A chat-completions client.
pub struct OpenAiTeacher {
	client: reqwest::Client,
	base_url: String,
	model: String,
	api_key: Option<String>,
	max_tokens: u32,
}

#[derive(Deserialize)]
struct Completion {
	choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
	message: Message,
}

#[derive(Deserialize)]
struct Message {
	content: Option<String>,
}

impl OpenAiTeacher {
	/// A teacher at `base_url` (the API root, e.g. `http://127.0.0.1:8080/v1`) using `model`.
	pub fn new(
		base_url: &str,
		model: &str,
		api_key: Option<String>,
		timeout: Duration,
	) -> Result<Self, DistillError> {
		let client = reqwest::Client::builder()
			.timeout(timeout)
			.build()
			.map_err(|error| DistillError::Teacher(format!("HTTP client: {error}")))?;
		Ok(Self {
			client,
			base_url: base_url.trim_end_matches('/').to_string(),
			model: model.to_string(),
			api_key,
			max_tokens: 160,
		})
	}

	/// The model answers come from.
	pub fn model(&self) -> &str {
		&self.model
	}

	/// How bodies cite this teacher.
	pub fn citation(&self) -> String {
		format!("{}/chat/completions#model={}", self.base_url, self.model)
	}

	/// Asks the model, showing it `passages` (numbered) if there are any; its answer, with
	/// whitespace runs collapsed.
	pub async fn ask(&self, question: &str, passages: &[String]) -> Result<String, DistillError> {
		let (system, user) = if passages.is_empty() {
			(SYSTEM_PROMPT, question.to_string())
		} else {
			let numbered: Vec<String> =
				passages.iter().enumerate().map(|(i, p)| format!("[{}] {p}", i + 1)).collect();
			(GROUNDED_PROMPT, format!("Passages:\n{}\n\nQuestion: {question}", numbered.join("\n")))
		};
		let answer = without_citations(&self.complete(system, &user).await?)
			.split_whitespace()
			.collect::<Vec<_>>()
			.join(" ");
		if answer.is_empty() || answer.to_lowercase().starts_with("i don't know") {
			return Err(DistillError::NoAnswer(format!("{} does not know", self.model)));
		}
		Ok(answer)
	}

	/// Other ways to ask `question`, as the model writes them (one per line; read by
	/// [`crate::phrasings::listed`], each still to be checked against the answer).
	pub async fn rephrase(&self, question: &str) -> Result<Vec<String>, DistillError> {
		let ask = format!(
			"Paraphrase the question {:?} three times. Output only the three questions.",
			question.trim()
		);
		let written = self.complete(REPHRASE_PROMPT, &ask).await?;
		Ok(crate::phrasings::listed(question, &written))
	}

	/// One chat completion: the model's reply to `user` under `system` (empty if it has none).
	async fn complete(&self, system: &str, user: &str) -> Result<String, DistillError> {
		let request = serde_json::json!({
			"model": self.model,
			"messages": [
				{ "role": "system", "content": system },
				{ "role": "user", "content": user },
			],
			"max_tokens": self.max_tokens,
			"temperature": 0.0,
		});
		let mut call =
			self.client.post(format!("{}/chat/completions", self.base_url)).json(&request);
		if let Some(key) = &self.api_key {
			call = call.bearer_auth(key);
		}
		let response =
			call.send().await.map_err(|error| DistillError::Teacher(error.to_string()))?;
		let status = response.status();
		if !status.is_success() {
			let text = response.text().await.unwrap_or_default();
			return Err(DistillError::Teacher(format!(
				"{status}: {}",
				text.chars().take(300).collect::<String>()
			)));
		}
		let completion: Completion = response
			.json()
			.await
			.map_err(|error| DistillError::Teacher(error.to_string()))?;
		Ok(completion
			.choices
			.into_iter()
			.next()
			.and_then(|choice| choice.message.content)
			.unwrap_or_default())
	}
}

/// `text` without the passage numbers a model cites ("… is 6 [1].").
fn without_citations(text: &str) -> String {
	let mut out = String::with_capacity(text.len());
	let mut rest = text;
	while let Some(start) = rest.find('[') {
		let inner = &rest[start + 1..];
		match inner.find(']') {
			Some(end)
				if end > 0
					&& inner[..end].chars().all(|c| c.is_ascii_digit() || c == ',' || c == ' ') =>
			{
				out.push_str(rest[..start].trim_end());
				rest = &inner[end + 1..];
			},
			_ => {
				out.push_str(&rest[..=start]);
				rest = inner;
			},
		}
	}
	out.push_str(rest);
	out
}

#[cfg(test)]
mod tests {
	#[test]
	fn citations_go() {
		assert_eq!(
			super::without_citations("It is 6 [1]. It is [2, 3] gas [x]."),
			"It is 6. It is gas [x]."
		);
	}
}
