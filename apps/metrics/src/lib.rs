//! # Membria metrics
//!
//! Every HTTP service of Membria (the gateway, the distiller, the IPFS node, `membria serve`)
//! exposes Prometheus metrics at `GET /metrics` the same way: a registry of its own, requests
//! counted by route and status class, and a latency histogram per route, recorded by one axum
//! middleware ([`HttpMetrics::layer`]). Services register their own counters and gauges in
//! [`HttpMetrics::registry`]. Routes are labelled by their pattern (`/v1/entries/{id}`), never by
//! the path asked for, so a client cannot grow the label set.

use std::{sync::Arc, time::Instant};

use axum::{
	extract::{MatchedPath, Request, State},
	http::header,
	middleware::Next,
	response::{IntoResponse, Response},
	Router,
};
use prometheus::{Encoder, TextEncoder};
pub use prometheus::{
	Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

/// Latency buckets, in seconds: 0.5 ms to 30 s.
const BUCKETS: &[f64] =
	&[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// A service's metrics: its registry, and the request counts and latencies of its HTTP API.
pub struct HttpMetrics {
	registry: Registry,
	prefix: String,
	requests: IntCounterVec,
	latency: HistogramVec,
}

impl HttpMetrics {
	/// Metrics named `membria_<service>_…`.
	pub fn new(service: &str) -> Arc<Self> {
		let prefix = format!("membria_{service}");
		let registry = Registry::new();
		let requests = IntCounterVec::new(
			Opts::new(
				format!("{prefix}_http_requests_total"),
				"HTTP requests, by route and status class.",
			),
			&["route", "status"],
		)
		.expect("a valid counter");
		let latency = HistogramVec::new(
			HistogramOpts::new(
				format!("{prefix}_http_request_duration_seconds"),
				"Time to answer an HTTP request (to its response head), by route.",
			)
			.buckets(BUCKETS.to_vec()),
			&["route"],
		)
		.expect("a valid histogram");
		registry.register(Box::new(requests.clone())).expect("registered once");
		registry.register(Box::new(latency.clone())).expect("registered once");
		Arc::new(Self { registry, prefix, requests, latency })
	}

	/// The registry a service adds its own metrics to.
	pub fn registry(&self) -> &Registry {
		&self.registry
	}

	/// A counter `membria_<service>_<name>`, registered.
	pub fn counter(&self, name: &str, help: &str) -> IntCounter {
		let counter =
			IntCounter::new(format!("{}_{name}", self.prefix), help).expect("a valid counter");
		self.registry
			.register(Box::new(counter.clone()))
			.expect("a counter registered once");
		counter
	}

	/// A gauge `membria_<service>_<name>`, registered.
	pub fn gauge(&self, name: &str, help: &str) -> IntGauge {
		let gauge = IntGauge::new(format!("{}_{name}", self.prefix), help).expect("a valid gauge");
		self.registry
			.register(Box::new(gauge.clone()))
			.expect("a gauge registered once");
		gauge
	}

	/// The text exposition of every metric.
	pub fn render(&self) -> String {
		let mut out = Vec::new();
		let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
		String::from_utf8(out).unwrap_or_default()
	}

	/// `router` with `GET /metrics` and every request counted and timed.
	pub fn layer<S: Clone + Send + Sync + 'static>(
		self: &Arc<Self>,
		router: Router<S>,
	) -> Router<S> {
		let exposed = self.clone();
		router
			.route(
				"/metrics",
				axum::routing::get(move || {
					let metrics = exposed.clone();
					async move {
						([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render())
							.into_response()
					}
				}),
			)
			.layer(axum::middleware::from_fn_with_state(self.clone(), track))
	}
}

async fn track(State(metrics): State<Arc<HttpMetrics>>, request: Request, next: Next) -> Response {
	let route = request
		.extensions()
		.get::<MatchedPath>()
		.map(|path| path.as_str().to_string())
		.unwrap_or_else(|| "unmatched".into());
	let started = Instant::now();
	let response = next.run(request).await;
	metrics
		.latency
		.with_label_values(&[&route])
		.observe(started.elapsed().as_secs_f64());
	let class = format!("{}xx", response.status().as_u16() / 100);
	metrics.requests.with_label_values(&[&route, &class]).inc();
	response
}

#[cfg(test)]
mod tests {
	use super::*;
	use axum::{body::Body, http::Request as HttpRequest, routing::get};
	use tower::ServiceExt;

	#[tokio::test]
	async fn requests_are_counted_and_timed_by_route() {
		let metrics = HttpMetrics::new("test");
		let asked = metrics.counter("asks_total", "Questions asked.");
		let app: Router = metrics.layer(Router::new().route(
			"/v1/entries/{id}",
			get(move || {
				asked.inc();
				async { "entry" }
			}),
		));
		for path in ["/v1/entries/1", "/v1/entries/2", "/nowhere"] {
			let request = HttpRequest::get(path).body(Body::empty()).unwrap();
			app.clone().oneshot(request).await.unwrap();
		}
		let request = HttpRequest::get("/metrics").body(Body::empty()).unwrap();
		let response = app.oneshot(request).await.unwrap();
		let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
		let text = String::from_utf8(bytes.to_vec()).unwrap();
		assert!(text.contains("membria_test_asks_total 2"), "{text}");
		assert!(
			text.contains(
				r#"membria_test_http_requests_total{route="/v1/entries/{id}",status="2xx"} 2"#
			),
			"{text}"
		);
		assert!(
			text.contains(r#"membria_test_http_requests_total{route="unmatched",status="4xx"} 1"#),
			"{text}"
		);
		assert!(
			text.contains(
				r#"membria_test_http_request_duration_seconds_count{route="/v1/entries/{id}"} 2"#
			),
			"{text}"
		);
	}
}
