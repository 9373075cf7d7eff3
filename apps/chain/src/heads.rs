//! Finalized heads as the node announces them (`chain_subscribeFinalizedHeads` over its
//! WebSocket, with `jsonrpsee`): what followers wake on instead of polling. An announcement is
//! only a signal — followers read what they need by RPC and trust it no more than before — so
//! a node that announces nothing, or too much, costs a follower its fallback poll at worst.

use std::time::Duration;

use jsonrpsee_core::{
	client::{Error as ClientError, Subscription, SubscriptionClientT},
	rpc_params,
};
use jsonrpsee_ws_client::{WsClient, WsClientBuilder};

/// The largest announcement taken (a header is a few hundred bytes).
const MAX_MESSAGE: u32 = 64 * 1024;
/// Announcements waiting to be read before the client drops the subscription.
const BUFFER: usize = 64;
/// How long after a dropped subscription it is reopened.
const REOPEN_AFTER: Duration = Duration::from_secs(1);

/// A subscription to the node's finalized heads, reopened when it drops.
pub struct FinalizedHeads {
	url: String,
	live: Option<(WsClient, Subscription<serde_json::Value>)>,
}

impl FinalizedHeads {
	/// Finalized heads of the node whose RPC is at `url` (`ws://` or `http://`: one port).
	pub fn new(url: &str) -> Self {
		Self { url: crate::rpc::node_url(url, true), live: None }
	}

	/// Whether the subscription is open now.
	pub fn is_live(&self) -> bool {
		self.live.is_some()
	}

	/// Waits up to `wait` for the next announced finalized head; whether one came. Without a
	/// subscription it opens one first (a failure is logged and waits out `wait`: the caller's
	/// poll).
	pub async fn next(&mut self, wait: Duration) -> bool {
		let deadline = tokio::time::Instant::now() + wait;
		if self.live.is_none() {
			match tokio::time::timeout_at(deadline, self.open()).await {
				Ok(Ok(live)) => self.live = Some(live),
				Ok(Err(error)) => {
					tracing::debug!(url = %self.url, %error, "no finalized-head subscription; polling");
					tokio::time::sleep_until(deadline).await;
					return false;
				},
				Err(_) => return false,
			}
		}
		let Some((_, subscription)) = self.live.as_mut() else {
			return false;
		};
		match tokio::time::timeout_at(deadline, subscription.next()).await {
			Ok(Some(Ok(_header))) => true,
			Ok(Some(Err(_)) | None) => {
				// Dropped (the node restarted, or we fell behind): reopen on the next call, a
				// moment from now, so a node that keeps dropping it is not reconnected to in a
				// loop.
				self.live = None;
				let pause = tokio::time::Instant::now() + REOPEN_AFTER;
				tokio::time::sleep_until(pause.min(deadline)).await;
				false
			},
			Err(_) => false,
		}
	}

	async fn open(&self) -> Result<(WsClient, Subscription<serde_json::Value>), ClientError> {
		let client = WsClientBuilder::default()
			.max_response_size(MAX_MESSAGE)
			.max_buffer_capacity_per_subscription(BUFFER)
			.connection_timeout(Duration::from_secs(5))
			.build(&self.url)
			.await?;
		let subscription = client
			.subscribe(
				"chain_subscribeFinalizedHeads",
				rpc_params![],
				"chain_unsubscribeFinalizedHeads",
			)
			.await?;
		Ok((client, subscription))
	}
}
