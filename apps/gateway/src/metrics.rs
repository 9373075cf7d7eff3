//! The gateway's Prometheus metrics: request counts and latency histograms per route (from
//! [`membria_metrics`], shared with the other services), and its own counters and gauges.

use std::sync::Arc;

use membria_metrics::{HttpMetrics, IntCounter, IntGauge};

/// Counters and gauges of the gateway.
pub struct Metrics {
	pub http: Arc<HttpMetrics>,
	pub asks: IntCounter,
	pub ask_hits: IntCounter,
	pub ask_misses: IntCounter,
	pub demand_filed: IntCounter,
	pub demand_failed: IntCounter,
	pub syncs: IntCounter,
	pub entry_reads: IntCounter,
	pub bad_requests: IntCounter,
	pub rate_limited: IntCounter,
	pub server_errors: IntCounter,
	pub entries_indexed: IntCounter,
	pub follower_errors: IntCounter,
	pub finalized_block: IntGauge,
	pub justified_block: IntGauge,
}

impl Default for Metrics {
	fn default() -> Self {
		let http = HttpMetrics::new("gateway");
		let counter = |name: &str, help: &str| http.counter(name, help);
		Self {
			asks: counter("asks_total", "Questions asked."),
			ask_hits: counter("ask_hits_total", "Questions answered with proven entries."),
			ask_misses: counter("ask_misses_total", "Questions without a validated answer."),
			demand_filed: counter(
				"demand_filed_total",
				"Dod.request_knowledge extrinsics submitted.",
			),
			demand_failed: counter(
				"demand_failed_total",
				"Demand the node refused or could not take.",
			),
			syncs: counter("syncs_total", "Sync pages served."),
			entry_reads: counter("entry_reads_total", "Single entries served."),
			bad_requests: counter("bad_requests_total", "Requests refused as malformed (4xx)."),
			rate_limited: counter(
				"rate_limited_total",
				"Requests refused by the rate limit (429).",
			),
			server_errors: counter(
				"server_errors_total",
				"Requests that failed on the gateway's side (5xx).",
			),
			entries_indexed: counter("entries_indexed_total", "Validated entries indexed."),
			follower_errors: counter("follower_errors_total", "Failed follower steps (retried)."),
			finalized_block: http
				.gauge("finalized_block", "The finalized head the follower saw last."),
			justified_block: http.gauge("justified_block", "The block proofs are made against."),
			http,
		}
	}
}
