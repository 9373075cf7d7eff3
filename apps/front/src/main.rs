//! # `membria`, the front
//!
//! The command users type. `membria ask QUESTION` is answered by the `membria serve` running
//! on the same data directory, when there is one, in milliseconds: this binary links no
//! libtorch, whose loading is most of the 0.2 s any full `membria` process takes to start.
//! Everything else — other commands, `ask` with flags this front does not read, `ask` with no
//! serve running or a serve that does not answer — is handed to the full CLI, `membria-full`
//! beside this binary, by `exec`: the same process, arguments, signals and exit status, so the
//! front changes nothing but the time of a served `ask`.

use std::{
	ffi::OsString,
	os::unix::process::CommandExt,
	path::PathBuf,
	process::{Command, ExitCode},
};

/// The full CLI's file name, beside this binary.
const FULL: &str = "membria-full";

/// Variables that change what `ask` does (or how it prints): when one is set, the full CLI
/// reads it.
const FULL_CLI_VARIABLES: [&str; 5] =
	["MEMBRIA_GENERATE", "MEMBRIA_JSON", "MEMBRIA_REQUEST", "MEMBRIA_OFFLINE", "MEMBRIA_NODE_URL"];

fn main() -> ExitCode {
	let args: Vec<OsString> = std::env::args_os().skip(1).collect();
	if let Some(code) = ServedAsk::parse(&args).and_then(|ask| ask.run()) {
		return code;
	}
	hand_over(&args)
}

/// An `ask` a running serve can answer.
#[derive(Debug, PartialEq)]
struct ServedAsk {
	question: String,
	data_dir: PathBuf,
	json: bool,
	request: bool,
	offline: bool,
}

impl ServedAsk {
	/// `ask QUESTION` with only the flags this front reads (`--data-dir`, `--json`,
	/// `--request`, `--offline`); `None` for anything else, which the full CLI parses.
	fn parse(args: &[OsString]) -> Option<Self> {
		let args: Vec<&str> = args.iter().map(|arg| arg.to_str()).collect::<Option<_>>()?;
		let (&"ask", rest) = args.split_first()? else { return None };
		if FULL_CLI_VARIABLES.iter().any(|name| std::env::var_os(name).is_some()) {
			return None;
		}
		let mut ask = Self {
			question: String::new(),
			data_dir: PathBuf::new(),
			json: false,
			request: false,
			offline: false,
		};
		let mut question = None;
		let mut data_dir = std::env::var_os("MEMBRIA_DEVICE_DIR").map(PathBuf::from);
		let mut rest = rest.iter();
		while let Some(&arg) = rest.next() {
			match arg {
				"--json" => ask.json = true,
				"--request" => ask.request = true,
				"--offline" => ask.offline = true,
				"--data-dir" => data_dir = Some(PathBuf::from(rest.next()?)),
				_ if arg.starts_with("--data-dir=") => {
					data_dir = Some(PathBuf::from(&arg["--data-dir=".len()..]))
				},
				_ if arg.starts_with('-') || question.is_some() => return None,
				_ => question = Some(arg.to_string()),
			}
		}
		ask.question = question?;
		ask.data_dir = data_dir.or_else(membria_ask::default_data_dir)?;
		Some(ask)
	}

	/// Asks the running serve and prints its reply; `None` when no serve answers.
	fn run(&self) -> Option<ExitCode> {
		membria_ask::running(&self.data_dir)?;
		let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
		let reply = runtime.block_on(membria_ask::ask_served(
			&self.data_dir,
			&self.question,
			self.offline,
			self.request,
		))?;
		Some(reply.print(self.json))
	}
}

/// Runs the full CLI in this process with the same arguments.
fn hand_over(args: &[OsString]) -> ExitCode {
	let full = std::env::current_exe()
		.map(|exe| exe.with_file_name(FULL))
		.unwrap_or_else(|_| PathBuf::from(FULL));
	let error = Command::new(&full).arg0("membria").args(args).exec();
	eprintln!(
		"membria: cannot run the full CLI at {}: {error} (build it: cargo build --release --manifest-path apps/Cargo.toml)",
		full.display()
	);
	ExitCode::from(127)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn parse(args: &[&str]) -> Option<ServedAsk> {
		let args: Vec<OsString> = args.iter().map(OsString::from).collect();
		ServedAsk::parse(&args)
	}

	#[test]
	fn only_a_plain_ask_is_answered_here() {
		let ask = parse(&["ask", "What is Ethernet?", "--data-dir", "/d", "--json"]).unwrap();
		assert_eq!(ask.question, "What is Ethernet?");
		assert_eq!(ask.data_dir, PathBuf::from("/d"));
		assert!(ask.json && !ask.request && !ask.offline);
		let ask = parse(&["ask", "--request", "--offline", "--data-dir=/e", "Q"]).unwrap();
		assert_eq!((ask.question.as_str(), ask.data_dir.to_str()), ("Q", Some("/e")));
		assert!(ask.request && ask.offline);
		// Anything else is the full CLI's: other commands, flags, a second question, help.
		for args in [
			&["sync"][..],
			&["ask"],
			&["ask", "Q", "--generate"],
			&["ask", "Q", "--gateway", "http://x"],
			&["ask", "Q", "R"],
			&["ask", "--help"],
			&["ask", "Q", "--data-dir"],
			&["--help"],
			&[],
		] {
			assert_eq!(parse(args), None, "{args:?}");
		}
	}
}
