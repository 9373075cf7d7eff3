//! Prometheus metrics, in the text exposition format.

use std::{
	fmt::Write,
	sync::atomic::{AtomicU64, Ordering},
};

/// Counters and gauges of the gateway.
#[derive(Default)]
pub struct Metrics {
	pub asks: AtomicU64,
	pub ask_hits: AtomicU64,
	pub ask_misses: AtomicU64,
	pub demand_filed: AtomicU64,
	pub demand_failed: AtomicU64,
	pub syncs: AtomicU64,
	pub entry_reads: AtomicU64,
	pub bad_requests: AtomicU64,
	pub rate_limited: AtomicU64,
	pub server_errors: AtomicU64,
	pub entries_indexed: AtomicU64,
	pub follower_errors: AtomicU64,
	pub finalized_block: AtomicU64,
	pub justified_block: AtomicU64,
}

impl Metrics {
	/// The exposition text.
	pub fn render(&self) -> String {
		let counters: [(&str, &str, &AtomicU64); 12] = [
			("membria_gateway_asks_total", "Questions asked.", &self.asks),
			(
				"membria_gateway_ask_hits_total",
				"Questions answered with proven entries.",
				&self.ask_hits,
			),
			(
				"membria_gateway_ask_misses_total",
				"Questions without a validated answer.",
				&self.ask_misses,
			),
			(
				"membria_gateway_demand_filed_total",
				"Dod.request_knowledge extrinsics submitted.",
				&self.demand_filed,
			),
			(
				"membria_gateway_demand_failed_total",
				"Demand the node refused or could not take.",
				&self.demand_failed,
			),
			("membria_gateway_syncs_total", "Sync pages served.", &self.syncs),
			("membria_gateway_entry_reads_total", "Single entries served.", &self.entry_reads),
			(
				"membria_gateway_bad_requests_total",
				"Requests refused as malformed (4xx).",
				&self.bad_requests,
			),
			(
				"membria_gateway_rate_limited_total",
				"Requests refused by the rate limit (429).",
				&self.rate_limited,
			),
			(
				"membria_gateway_server_errors_total",
				"Requests that failed on the gateway's side (5xx).",
				&self.server_errors,
			),
			(
				"membria_gateway_entries_indexed_total",
				"Validated entries indexed.",
				&self.entries_indexed,
			),
			(
				"membria_gateway_follower_errors_total",
				"Failed follower steps (retried).",
				&self.follower_errors,
			),
		];
		let gauges: [(&str, &str, &AtomicU64); 2] = [
			(
				"membria_gateway_finalized_block",
				"The finalized head the follower saw last.",
				&self.finalized_block,
			),
			(
				"membria_gateway_justified_block",
				"The block proofs are made against.",
				&self.justified_block,
			),
		];
		let mut out = String::new();
		for (kind, items) in [("counter", &counters[..]), ("gauge", &gauges[..])] {
			for (name, help, value) in items {
				let _ = writeln!(out, "# HELP {name} {help}");
				let _ = writeln!(out, "# TYPE {name} {kind}");
				let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
			}
		}
		out
	}
}
