//! Other ways people ask the question a body answers (body version 2, `phrasings`), so devices
//! match more of what is asked. They are written from the question's own form, the forms the
//! corpus answers — never a new subject or attribute: validators refuse a phrasing the answer
//! does not speak of ([`crate::Distiller::verify`]).

use membria_offchain::body::{MAX_PHRASINGS, MAX_QUESTION_BYTES};
use membria_primitives::{answer_kind, key_terms, question_key, AnswerKind};

/// The question's words, as asked (capitals kept), without its closing punctuation.
fn tokens(question: &str) -> Vec<&str> {
	question.trim().trim_end_matches(['?', '.', '!']).split_whitespace().collect()
}

fn lower(word: &str) -> String {
	word.to_lowercase()
}

/// Up to [`MAX_PHRASINGS`] other phrasings of `question`, distinct from it and each other (by
/// question key); `symbol` says the answer is a chemical symbol (the corpus's records).
pub fn phrasings(question: &str, symbol: bool) -> Vec<String> {
	let words = tokens(question);
	let lowered: Vec<String> = words.iter().map(|w| lower(w)).collect();
	let text = |range: &[&str]| range.join(" ");
	let mut out: Vec<String> = Vec::new();
	match lowered.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
		// "What is the A of X?" → "What is X's A?", "What A does X have?"
		["what", "is", "the", ..] => {
			if let Some(at) = lowered.iter().rposition(|w| w == "of" || w == "for") {
				let attribute = text(&words[3..at]);
				let subject = text(&words[at + 1..]);
				if !attribute.is_empty() && !subject.is_empty() {
					out.push(format!("What is {subject}'s {attribute}?"));
					out.push(format!("What {attribute} does {subject} have?"));
					if symbol {
						out.push(format!("How is {subject} abbreviated?"));
					}
				}
			}
		},
		// "What is (a|an) X?" → "What does X mean?", "Define X."
		["what", "is", rest @ ..] if !rest.is_empty() => {
			let subject = text(&words[2..]);
			out.push(format!("What does {subject} mean?"));
			out.push(format!("Define {subject}."));
			out.push(format!("Can you explain what {subject} is?"));
		},
		// "Who V X?" → "By whom was X V?", "X was V by whom?"
		["who", verb, rest @ ..]
			if !rest.is_empty()
				&& verb.ends_with("ed")
				&& answer_kind(question) == Some(AnswerKind::Person) =>
		{
			let subject = text(&words[2..]);
			out.push(format!("By whom was {subject} {verb}?"));
			out.push(format!("{} was {verb} by whom?", capitalised(&subject)));
		},
		// "When was X V?" → "In what year was X V?"
		["when", "was", ..] if words.len() >= 4 => {
			let rest = text(&words[2..]);
			out.push(format!("In what year was {rest}?"));
		},
		_ => {},
	}
	distinct(question, out)
}

/// The phrasings a teacher wrote, one per line ("1. How is … ?", "- …", quoted or not): each
/// line that is a question of at most [`MAX_QUESTION_BYTES`] that names something to look up,
/// without its list marker and quotes; at most [`MAX_PHRASINGS`] distinct from `question` and
/// each other.
pub fn listed(question: &str, text: &str) -> Vec<String> {
	let lines = text.lines().map(|line| {
		let line = line.trim().trim_start_matches(|c: char| {
			c.is_ascii_digit() || matches!(c, '.' | ')' | '-' | '*' | '•') || c.is_whitespace()
		});
		line.trim_matches(|c: char| matches!(c, '"' | '\'' | '“' | '”') || c.is_whitespace())
			.to_string()
	});
	let questions = lines
		.filter(|line| line.ends_with('?') && line.len() <= MAX_QUESTION_BYTES)
		.filter(|line| !key_terms(line).is_empty())
		.collect();
	distinct(question, questions)
}

/// `candidates` in order, without those that ask `question` itself or an earlier one (by
/// question key); at most [`MAX_PHRASINGS`].
pub fn distinct(question: &str, mut candidates: Vec<String>) -> Vec<String> {
	let mut seen = vec![question_key(question)];
	candidates.retain(|phrasing| {
		let key = question_key(phrasing);
		let fresh = !seen.contains(&key);
		seen.push(key);
		fresh
	});
	candidates.truncate(MAX_PHRASINGS);
	candidates
}

fn capitalised(text: &str) -> String {
	let mut chars = text.chars();
	match chars.next() {
		Some(first) => first.to_uppercase().chain(chars).collect(),
		None => String::new(),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn attribute_questions_are_asked_of_the_subject() {
		assert_eq!(
			phrasings("What is the chemical symbol for potassium?", true),
			[
				"What is potassium's chemical symbol?",
				"What chemical symbol does potassium have?",
				"How is potassium abbreviated?"
			]
		);
		assert_eq!(
			phrasings("What is the atomic number of carbon?", false),
			["What is carbon's atomic number?", "What atomic number does carbon have?"]
		);
	}

	#[test]
	fn definitions_who_and_when_have_their_forms() {
		assert_eq!(
			phrasings("What is UDP?", false),
			["What does UDP mean?", "Define UDP.", "Can you explain what UDP is?"]
		);
		assert_eq!(
			phrasings("Who discovered radium?", false),
			["By whom was radium discovered?", "Radium was discovered by whom?"]
		);
		assert_eq!(
			phrasings("When was oxygen discovered?", false),
			["In what year was oxygen discovered?"]
		);
		// Nothing for a form it does not know.
		assert!(phrasings("How do routers work?", false).is_empty());
	}

	#[test]
	fn a_teachers_list_is_read_line_by_line() {
		let written = "Here are other ways to ask it:\n1. What is carbon's atomic number?\n\
			2) \"Which atomic number does carbon have?\"\n- What is the atomic number of carbon?\n\
			* what is carbon's atomic number?\n\n• How many protons does a carbon atom have?\n\
			A line that asks nothing.\n?\n";
		assert_eq!(
			listed("What is the atomic number of carbon?", written),
			[
				"What is carbon's atomic number?",
				"Which atomic number does carbon have?",
				"How many protons does a carbon atom have?"
			]
		);
		let long = format!("What is {}?", "carbon ".repeat(80));
		assert!(listed("What is carbon?", &long).is_empty());
	}
}
