//! `membria-node`: the Substrate node of the Membria chain.

// `sc_cli::Error` and `sc_service::Error` are large by polkadot-sdk's design; every command
// returns them.
#![allow(clippy::result_large_err)]

mod aura_equivocation;
mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

use std::process::ExitCode;

use clap::error::ErrorKind;
use sc_cli::SubstrateCli;

fn main() -> ExitCode {
	let cli = match cli::Cli::try_from_iter(std::env::args_os()) {
		Ok(cli) => cli,
		// `--help` and `--version` print and exit 0 as usual.
		Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
			e.exit()
		},
		Err(e) => {
			// One line that says what was wrong, instead of clap's page of usage.
			let rendered = e.render().to_string();
			let reason = rendered
				.lines()
				.map(str::trim)
				.find(|line| !line.is_empty())
				.unwrap_or("invalid arguments")
				.trim_start_matches("error: ");
			eprintln!("membria-node: error: {reason} (see `membria-node --help`)");
			return ExitCode::from(2);
		},
	};
	match command::run(cli) {
		Ok(()) => ExitCode::SUCCESS,
		Err(e) => {
			eprintln!("membria-node: error: {}", one_line(&e.to_string()));
			ExitCode::FAILURE
		},
	}
}

/// Folds a multi-line error message into one line.
fn one_line(message: &str) -> String {
	message.split_whitespace().collect::<Vec<_>>().join(" ")
}
