//! Who a request comes from, and how often they may ask.
//!
//! - **The client** is the connection's peer — unless the peer is one of the configured trusted
//!   proxies, whose `X-Forwarded-For` is then read from the right: each proxy appends the
//!   address it received the request from, so the rightmost address that is not a trusted
//!   proxy is the client ("rightmost untrusted"). Whatever a client writes into the header
//!   itself stands to the left of that and is never believed; without trusted proxies the
//!   header is ignored. IPv6 clients are counted by their /64 (one host gets a whole prefix).
//! - **The rate** is `governor`'s keyed GCRA limiter: `rate` requests a second sustained and
//!   `burst` at once, per client.
//! - **Memory** stays bounded: clients whose bucket is full again are forgotten (at most every
//!   [`FORGET_EVERY`], and at once beyond [`MAX_CLIENTS`]).

use std::{
	net::IpAddr,
	num::NonZeroU32,
	sync::Mutex,
	time::{Duration, Instant},
};

use axum::http::HeaderMap;
use governor::{
	clock::{Clock, DefaultClock},
	middleware::NoOpMiddleware,
	state::keyed::HashMapStateStore,
	Quota, RateLimiter,
};
use ipnet::IpNet;

/// Clients tracked before idle ones are forgotten at once.
pub const MAX_CLIENTS: usize = 100_000;
/// How often idle clients are forgotten.
pub const FORGET_EVERY: Duration = Duration::from_secs(10);
/// `X-Forwarded-For` hops read at most (right to left).
pub const MAX_HOPS: usize = 32;

type Keyed<C> =
	RateLimiter<IpAddr, HashMapStateStore<IpAddr>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Rate limits by client.
pub struct Limiter<C: Clock = DefaultClock> {
	limiter: Keyed<C>,
	clock: C,
	trusted: Vec<IpNet>,
	forgotten: Mutex<Instant>,
}

impl Limiter<DefaultClock> {
	/// `rate` requests a second (at least one a thousand seconds), `burst` at once (at least
	/// one), behind the `trusted` proxies.
	pub fn new(rate: f64, burst: f64, trusted: Vec<IpNet>) -> Self {
		Self::with_clock(rate, burst, trusted, DefaultClock::default())
	}
}

impl<C: Clock + Clone> Limiter<C> {
	pub fn with_clock(rate: f64, burst: f64, trusted: Vec<IpNet>, clock: C) -> Self {
		let period = Duration::from_secs_f64(1.0 / rate.clamp(1e-3, 1e9));
		let burst = NonZeroU32::new(burst.clamp(1.0, f64::from(u32::MAX)) as u32)
			.unwrap_or(NonZeroU32::MIN);
		let quota = Quota::with_period(period)
			.unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
			.allow_burst(burst);
		Self {
			limiter: RateLimiter::hashmap_with_clock(quota, clock.clone()),
			clock,
			trusted,
			forgotten: Mutex::new(Instant::now()),
		}
	}

	/// The client a request with these `headers` from `peer` comes from.
	pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
		let peer = peer.to_canonical();
		let trusted = |ip: &IpAddr| self.trusted.iter().any(|net| net.contains(ip));
		if !trusted(&peer) {
			return peer;
		}
		let mut hops = Vec::new();
		for value in headers.get_all("x-forwarded-for") {
			let Ok(value) = value.to_str() else { return peer };
			hops.extend(value.split(','));
		}
		let mut client = peer;
		for hop in hops.iter().rev().take(MAX_HOPS) {
			let Ok(ip) = hop.trim().parse::<IpAddr>() else { break };
			client = ip.to_canonical();
			if !trusted(&client) {
				break;
			}
		}
		client
	}

	/// Takes a request of `client`'s; `Err(seconds)` to wait when it has none left.
	pub fn take(&self, client: IpAddr) -> Result<(), f64> {
		self.forget_idle();
		let key = match client {
			IpAddr::V6(v6) => ipnet::Ipv6Net::new(v6, 64)
				.map(|net| IpAddr::V6(net.trunc().addr()))
				.unwrap_or(client),
			v4 => v4,
		};
		self.limiter
			.check_key(&key)
			.map_err(|not_until| not_until.wait_time_from(self.clock.now()).as_secs_f64())
	}

	/// Clients tracked now.
	#[cfg(test)]
	fn clients(&self) -> usize {
		self.limiter.len()
	}

	fn forget_idle(&self) {
		let due = self.forgotten.lock().map(|mut last| {
			let due = last.elapsed() >= FORGET_EVERY || self.limiter.len() > MAX_CLIENTS;
			if due {
				*last = Instant::now();
			}
			due
		});
		if due.unwrap_or(false) {
			self.limiter.retain_recent();
			self.limiter.shrink_to_fit();
		}
	}
}

#[cfg(test)]
mod tests {
	use governor::clock::FakeRelativeClock;

	use super::*;

	fn limiter(
		rate: f64,
		burst: f64,
		trusted: &[&str],
	) -> (Limiter<FakeRelativeClock>, FakeRelativeClock) {
		let clock = FakeRelativeClock::default();
		let trusted = trusted.iter().map(|net| net.parse().unwrap()).collect();
		(Limiter::with_clock(rate, burst, trusted, clock.clone()), clock)
	}

	fn ip(text: &str) -> IpAddr {
		text.parse().unwrap()
	}

	fn forwarded(values: &[&str]) -> HeaderMap {
		let mut headers = HeaderMap::new();
		for value in values {
			headers.append("x-forwarded-for", value.parse().unwrap());
		}
		headers
	}

	#[test]
	fn a_client_gets_its_burst_then_the_rate_and_others_are_unaffected() {
		let (limiter, clock) = limiter(2.0, 3.0, &[]);
		let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
		for _ in 0..3 {
			assert!(limiter.take(a).is_ok());
		}
		let wait = limiter.take(a).unwrap_err();
		assert!((wait - 0.5).abs() < 1e-6, "{wait}");
		assert!(limiter.take(b).is_ok(), "another client has its own bucket");
		clock.advance(Duration::from_millis(500));
		assert!(limiter.take(a).is_ok());
		assert!(limiter.take(a).is_err());
	}

	#[test]
	fn the_client_is_the_rightmost_address_no_trusted_proxy_wrote() {
		let (limiter, _) = limiter(1.0, 1.0, &["10.0.0.0/8", "fd00::/8"]);
		let proxy = ip("10.0.0.5");
		// A client behind the proxy, and one that forged entries of its own to the left.
		assert_eq!(limiter.client(proxy, &forwarded(&["198.51.100.7"])), ip("198.51.100.7"));
		assert_eq!(
			limiter.client(proxy, &forwarded(&["1.2.3.4, 5.6.7.8", "198.51.100.7, 10.0.0.9"])),
			ip("198.51.100.7"),
			"two trusted hops, then the client; its own entries to the left are not believed"
		);
		// An untrusted peer's header is not read at all.
		assert_eq!(
			limiter.client(ip("203.0.113.1"), &forwarded(&["198.51.100.7"])),
			ip("203.0.113.1")
		);
		// No header, garbage, or only trusted hops: the nearest address known.
		assert_eq!(limiter.client(proxy, &HeaderMap::new()), proxy);
		assert_eq!(limiter.client(proxy, &forwarded(&["not-an-ip"])), proxy);
		assert_eq!(limiter.client(proxy, &forwarded(&["10.1.1.1"])), ip("10.1.1.1"));
		// IPv4-mapped IPv6 peers are their IPv4 address.
		assert_eq!(
			limiter.client(ip("::ffff:10.0.0.5"), &forwarded(&["192.0.2.9"])),
			ip("192.0.2.9")
		);
	}

	#[test]
	fn clients_behind_one_proxy_are_limited_one_by_one() {
		let (limiter, _) = limiter(1.0, 2.0, &["127.0.0.1/32"]);
		let proxy = ip("127.0.0.1");
		let alice = limiter.client(proxy, &forwarded(&["192.0.2.1"]));
		let bob = limiter.client(proxy, &forwarded(&["192.0.2.2"]));
		assert!(limiter.take(alice).is_ok() && limiter.take(alice).is_ok());
		assert!(limiter.take(alice).is_err(), "alice used her burst");
		assert!(limiter.take(bob).is_ok(), "bob is not alice");
	}

	#[test]
	fn an_ipv6_host_is_one_client_across_its_prefix_and_idle_clients_are_forgotten() {
		let (limiter, clock) = limiter(1.0, 1.0, &[]);
		assert!(limiter.take(ip("2001:db8::1")).is_ok());
		assert!(limiter.take(ip("2001:db8::ffff")).is_err(), "same /64");
		assert!(limiter.take(ip("2001:db8:0:1::1")).is_ok(), "another /64");
		assert_eq!(limiter.clients(), 2);
		clock.advance(Duration::from_secs(5));
		*limiter.forgotten.lock().unwrap() = Instant::now() - FORGET_EVERY;
		assert!(limiter.take(ip("192.0.2.1")).is_ok());
		assert_eq!(limiter.clients(), 1, "the idle IPv6 clients were forgotten");
	}
}
