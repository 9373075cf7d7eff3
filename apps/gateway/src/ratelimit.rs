//! Per-client token buckets: `rate` requests a second sustained, `burst` more at once.

use std::{collections::HashMap, net::IpAddr, sync::Mutex, time::Instant};

/// The most client addresses tracked; full buckets are forgotten beyond it.
const MAX_CLIENTS: usize = 100_000;

struct Bucket {
	tokens: f64,
	updated: Instant,
}

/// Token buckets by client address.
pub struct Limiter {
	rate: f64,
	burst: f64,
	buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl Limiter {
	pub fn new(rate: f64, burst: f64) -> Self {
		Self { rate: rate.max(0.0), burst: burst.max(1.0), buckets: Mutex::new(HashMap::new()) }
	}

	/// Takes a token for `client`; `Err(seconds)` until the next one when none is left.
	pub fn take(&self, client: IpAddr) -> Result<(), f64> {
		self.take_at(client, Instant::now())
	}

	fn take_at(&self, client: IpAddr, now: Instant) -> Result<(), f64> {
		let Ok(mut buckets) = self.buckets.lock() else {
			return Ok(());
		};
		if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&client) {
			let (rate, burst) = (self.rate, self.burst);
			buckets.retain(|_, b| {
				b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst
			});
		}
		let bucket = buckets.entry(client).or_insert(Bucket { tokens: self.burst, updated: now });
		let elapsed = now.duration_since(bucket.updated).as_secs_f64();
		bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
		bucket.updated = now;
		if bucket.tokens >= 1.0 {
			bucket.tokens -= 1.0;
			Ok(())
		} else if self.rate > 0.0 {
			Err((1.0 - bucket.tokens) / self.rate)
		} else {
			Err(f64::INFINITY)
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use std::time::Duration;

	#[test]
	fn a_client_gets_its_burst_then_the_rate_and_others_are_unaffected() {
		let limiter = Limiter::new(2.0, 3.0);
		let (a, b): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
		let start = Instant::now();
		for _ in 0..3 {
			assert!(limiter.take_at(a, start).is_ok());
		}
		let wait = limiter.take_at(a, start).unwrap_err();
		assert!((wait - 0.5).abs() < 1e-9, "{wait}");
		assert!(limiter.take_at(b, start).is_ok());
		assert!(limiter.take_at(a, start + Duration::from_millis(500)).is_ok());
		assert!(limiter.take_at(a, start + Duration::from_millis(500)).is_err());
	}
}
