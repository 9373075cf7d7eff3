//! What the generation benches and tests share: the cached entry they ask about, and the
//! Python that runs llama.cpp beside us.

/// The question asked of the cached entry.
pub const QUESTION: &str = "What is Ethernet?";

/// The cached entry's text.
pub const PASSAGE: &str =
	"What is Ethernet? Ethernet: A family of local area network technologies \
	standardised as IEEE 802.3, first developed at Xerox PARC in 1973-1974 by Robert Metcalfe \
	and David Boggs. It carries frames between stations over twisted pair, coaxial cable or \
	optical fibre, at speeds from 10 Mbit/s to 400 Gbit/s.";

/// The Python of the venv `scripts/setup.sh` installs llama-cpp-python in (`$MEMBRIA_LLM`).
pub fn llama_cpp_python() -> String {
	let llm = std::env::var("MEMBRIA_LLM").unwrap_or_else(|_| {
		format!("{}/.cache/membria/llm", std::env::var("HOME").unwrap_or_default())
	});
	format!("{llm}/venv/bin/python")
}
