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
	/// Misses known from the question's words alone (no embedding computed).
	pub ask_unnamed: IntCounter,
	pub embeddings_cached: IntCounter,
	pub embeddings_computed: IntCounter,
	/// Lookups answered from the cache (same question and `k`, index unchanged).
	pub lookups_cached: IntCounter,
	/// Lookups that searched the index.
	pub lookups_searched: IntCounter,
	pub proofs_cached: IntCounter,
	pub proofs_read: IntCounter,
	pub proofs_warmed: IntCounter,
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
	/// 1 while the follower is subscribed to the node's finalized heads, 0 while it polls.
	pub head_subscription: IntGauge,
}

impl Default for Metrics {
	fn default() -> Self {
		let http = HttpMetrics::new("gateway");
		let counter = |name: &str, help: &str| http.counter(name, help);
		Self {
			asks: counter("asks_total", "Questions asked."),
			ask_hits: counter("ask_hits_total", "Questions answered with proven entries."),
			ask_misses: counter("ask_misses_total", "Questions without a validated answer."),
			ask_unnamed: counter(
				"ask_unnamed_total",
				"Misses known from the question's words alone: it names no entry's whole subject.",
			),
			embeddings_cached: counter(
				"question_embeddings_cached_total",
				"Questions whose embedding came from the cache.",
			),
			embeddings_computed: counter(
				"question_embeddings_computed_total",
				"Questions embedded by the model.",
			),
			lookups_cached: counter(
				"lookups_cached_total",
				"Questions whose lookup came from the cache (asked before, index unchanged).",
			),
			lookups_searched: counter(
				"lookups_searched_total",
				"Questions looked up in the index (a search and the matcher's judgement).",
			),
			proofs_cached: counter(
				"entry_proofs_cached_total",
				"Entry proofs reused from the justified block's cache.",
			),
			proofs_read: counter(
				"entry_proofs_read_total",
				"Entry proofs read from the node (once per entry and justified block).",
			),
			proofs_warmed: counter(
				"entry_proofs_warmed_total",
				"Entry proofs read at a newly justified block before answers switch to it.",
			),
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
			head_subscription: http.gauge(
				"head_subscription",
				"1 while subscribed to the node's finalized heads, 0 while polling.",
			),
			http,
		}
	}
}
