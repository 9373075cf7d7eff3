//! The distiller's HTTP API.

use std::sync::Arc;

use axum::{
	extract::{rejection::JsonRejection, DefaultBodyLimit, State},
	http::{header, StatusCode},
	response::{IntoResponse, Response},
	routing::{get, post},
	Json, Router,
};
use membria_offchain::{
	body::MAX_LINKS,
	protocol::{DistillRequest, ErrorResponse},
};
use serde::Deserialize;

use membria_metrics::{HttpMetrics, IntCounterVec, Opts};

use crate::{DistillError, Distiller};

/// Largest request body accepted (a `/verify` carries a whole entry body, and the bodies of the
/// entries it links to).
/// Largest request body accepted: a `/verify` carries the body and up to `MAX_LINKS` linked
/// bodies, each at most the chain's largest body (1 MiB).
pub const MAX_REQUEST_BYTES: usize = (1 + MAX_LINKS) * 1024 * 1024 + 64 * 1024;

fn error(status: StatusCode, message: impl Into<String>) -> Response {
	(status, Json(ErrorResponse { error: message.into() })).into_response()
}

fn bad_json(rejection: JsonRejection) -> Response {
	error(StatusCode::BAD_REQUEST, format!("bad request: {}", rejection.body_text()))
}

/// The `/verify` request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
	question: String,
	body: serde_json::Value,
	/// The bodies of the entries `body` links to (at most [`MAX_LINKS`]).
	#[serde(default)]
	linked: Vec<LinkedBody>,
}

/// The body of an entry a verified body links to.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkedBody {
	entry: u64,
	body: serde_json::Value,
}

/// The distiller and its metrics.
struct Service {
	distiller: Arc<Distiller>,
	/// `/verify` verdicts, by verdict and reason.
	verdicts: IntCounterVec,
	/// `/distill` outcomes.
	distilled: IntCounterVec,
}

/// The distiller's routes (and `GET /metrics`).
pub fn router(distiller: Arc<Distiller>) -> Router {
	let metrics = HttpMetrics::new("distiller");
	let counter = |name: &str, help: &str, label: &[&str]| {
		let counter =
			IntCounterVec::new(Opts::new(format!("membria_distiller_{name}"), help), label)
				.expect("a valid counter");
		metrics.registry().register(Box::new(counter.clone())).expect("registered once");
		counter
	};
	let service = Arc::new(Service {
		verdicts: counter(
			"verdicts_total",
			"/verify verdicts, by verdict and reason.",
			&["verdict", "reason"],
		),
		distilled: counter("distilled_total", "/distill outcomes.", &["outcome"]),
		distiller,
	});
	metrics
		.layer(
			Router::new()
				.route("/distill", post(distill))
				.route("/verify", post(verify))
				.route("/health", get(health))
				.layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
		)
		.with_state(service)
}

/// Serves the distiller on `listener` until `shutdown` completes.
pub async fn serve(
	listener: tokio::net::TcpListener,
	distiller: Arc<Distiller>,
	shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
	tracing::info!(address = %listener.local_addr()?, "distiller listening");
	axum::serve(listener, router(distiller)).with_graceful_shutdown(shutdown).await
}

async fn distill(
	State(service): State<Arc<Service>>,
	request: Result<Json<DistillRequest>, JsonRejection>,
) -> Response {
	let Json(request) = match request {
		Ok(request) => request,
		Err(rejection) => return bad_json(rejection),
	};
	let outcome = service
		.distiller
		.distill_linking(&request.question, request.links.unwrap_or(true))
		.await;
	let counted = match &outcome {
		Ok(_) => "answered",
		Err(DistillError::BadQuestion(_)) => "bad_question",
		Err(DistillError::NoAnswer(_)) => "no_answer",
		Err(DistillError::Teacher(_)) => "teacher_failed",
	};
	service.distilled.with_label_values(&[counted]).inc();
	match outcome {
		Ok(body) => {
			tracing::info!(question = %request.question, source = %body.sources[0].uri, links = ?body.links, "distilled");
			([(header::CONTENT_TYPE, "application/json")], body.to_bytes()).into_response()
		},
		Err(DistillError::BadQuestion(reason)) => error(StatusCode::BAD_REQUEST, reason),
		Err(DistillError::NoAnswer(reason)) => {
			tracing::info!(question = %request.question, %reason, "no answer");
			error(StatusCode::NOT_FOUND, reason)
		},
		Err(DistillError::Teacher(reason)) => {
			tracing::warn!(question = %request.question, %reason, "teacher failed");
			error(StatusCode::BAD_GATEWAY, reason)
		},
	}
}

async fn verify(
	State(service): State<Arc<Service>>,
	request: Result<Json<VerifyRequest>, JsonRejection>,
) -> Response {
	let Json(request) = match request {
		Ok(request) => request,
		Err(rejection) => return bad_json(rejection),
	};
	if let Err(DistillError::BadQuestion(reason)) = crate::check_question(&request.question) {
		return error(StatusCode::BAD_REQUEST, reason);
	}
	if request.linked.len() > MAX_LINKS {
		return error(
			StatusCode::BAD_REQUEST,
			format!(
				"{} linked bodies: a body links to at most {MAX_LINKS} entries",
				request.linked.len()
			),
		);
	}
	let linked: Vec<(u64, serde_json::Value)> =
		request.linked.into_iter().map(|linked| (linked.entry, linked.body)).collect();
	// Checking claims is CPU work: off the async workers.
	let question = request.question.clone();
	let body = request.body;
	let distiller = service.distiller.clone();
	let checked = tokio::task::spawn_blocking(move || {
		let verdict = distiller.verify_linked(&question, &body, &linked);
		(verdict, linked.len())
	})
	.await;
	let Ok((verdict, linked)) = checked else {
		return error(StatusCode::INTERNAL_SERVER_ERROR, "the verification did not finish");
	};
	tracing::info!(question = %request.question, linked, verdict = ?verdict.verdict, reasons = ?verdict.reasons, "verified");
	let label = |value: serde_json::Value| value.as_str().unwrap_or("none").to_string();
	service
		.verdicts
		.with_label_values(&[
			label(serde_json::json!(verdict.verdict)),
			label(serde_json::json!(verdict.reason)),
		])
		.inc();
	Json(verdict).into_response()
}

async fn health(State(service): State<Arc<Service>>) -> Response {
	Json(service.distiller.describe()).into_response()
}
