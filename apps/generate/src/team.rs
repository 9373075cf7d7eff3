//! The threads a forward pass shares its work with. A decoded token is about 150 short parallel
//! steps (each layer's products, its attention), tens of microseconds each: a pool whose threads
//! sleep between steps (rayon) spends as long waking them as computing. The team's helpers spin
//! while steps keep coming, as llama.cpp's do, and park after [`SPIN`] without one, so an idle
//! device burns nothing.

use std::{
	panic::{catch_unwind, AssertUnwindSafe},
	sync::{
		atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
		Condvar, Mutex, OnceLock, PoisonError, TryLockError,
	},
	time::{Duration, Instant},
};

/// How long a helper spins for the next step before it parks.
const SPIN: Duration = Duration::from_micros(50);

/// Multiply-adds below which a step runs on its caller alone. Measured on the two vCPUs of the
/// machines this runs on (`--bench generation`): with every step of a decoded token split, down
/// to its smallest products (the keys' and values', 221 thousand), decoding went from 100 to 150
/// tokens a second; a threshold of a million gave 100, 200 thousand 135. (Before libtorch left
/// this crate, its OpenMP threads spun on the second core after each of its operations, and a
/// split step waited for them.)
pub const PARALLEL_FROM: usize = 1 << 16;

/// A step: called on the caller and on each helper that joins it.
type Job = dyn Fn() + Sync;

/// The current step and its number.
struct JobPtr(*const Job, u64);

// SAFETY: the pointee is `Sync`, and `Team::run` keeps it alive until no helper runs it.
unsafe impl Send for JobPtr {}

/// `Shared::state`: the step's number above these bits, then whether it is closed to helpers
/// that have not joined yet, then how many helpers run it.
const STEP_SHIFT: u32 = 17;
const CLOSED: u64 = 1 << 16;
const ACTIVE: u64 = CLOSED - 1;

struct Shared {
	/// The number of the latest step; a helper looks for work when it changes.
	epoch: AtomicU64,
	job: Mutex<Option<JobPtr>>,
	/// The current step's number, whether it is closed, and its helpers at work.
	state: AtomicU64,
	panicked: AtomicBool,
	/// Helpers parked (or about to park) on `wake`.
	sleepers: AtomicUsize,
	sleep: Mutex<()>,
	wake: Condvar,
}

/// The calling thread plus `helpers` spinning threads.
pub struct Team {
	shared: &'static Shared,
	helpers: usize,
	/// One step at a time; a step started while another runs runs on its caller alone.
	running: Mutex<u64>,
}

/// Most threads a team takes unless told otherwise ([`set_threads`]). A decoded token is
/// bound by reading the weights (a few tens of megabytes for a small model): past a few cores
/// more threads add little, and each spins while an answer is generated. llama.cpp, similarly,
/// takes the physical cores, not every hardware thread.
pub const DEFAULT_MAX_THREADS: usize = 4;

/// The threads a team takes on a device of `cores` by default: one per core, at most
/// [`DEFAULT_MAX_THREADS`].
pub fn default_threads(cores: usize) -> usize {
	cores.clamp(1, DEFAULT_MAX_THREADS)
}

/// Threads asked for by [`set_threads`] (0: the default).
static REQUESTED: AtomicUsize = AtomicUsize::new(0);

static TEAM: OnceLock<Team> = OnceLock::new();

/// Sets how many threads generate (the caller and its helpers), before the first generation.
/// Once the team has started it keeps its size: asking for another is an error that says the
/// size it has.
pub fn set_threads(threads: usize) -> Result<(), ThreadsError> {
	if threads == 0 {
		return Err(ThreadsError::Zero);
	}
	REQUESTED.store(threads, Ordering::SeqCst);
	match TEAM.get() {
		Some(team) if team.threads() != threads => {
			Err(ThreadsError::Started { running: team.threads(), asked: threads })
		},
		_ => Ok(()),
	}
}

/// Why [`set_threads`] refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ThreadsError {
	#[error("generation needs at least one thread")]
	Zero,
	#[error("generation already runs on {running} threads; {asked} must be set before the first generation")]
	Started { running: usize, asked: usize },
}

/// The process's team: [`set_threads`]'s count, else [`default_threads`] of the cores (the
/// caller's thread among them).
pub fn team() -> &'static Team {
	TEAM.get_or_init(|| {
		let threads = match REQUESTED.load(Ordering::SeqCst) {
			0 => default_threads(std::thread::available_parallelism().map_or(1, |n| n.get())),
			asked => asked,
		};
		Team::new(threads - 1)
	})
}

impl Team {
	fn new(helpers: usize) -> Self {
		let shared: &'static Shared = Box::leak(Box::new(Shared {
			epoch: AtomicU64::new(0),
			job: Mutex::new(None),
			state: AtomicU64::new(0),
			panicked: AtomicBool::new(false),
			sleepers: AtomicUsize::new(0),
			sleep: Mutex::new(()),
			wake: Condvar::new(),
		}));
		let mut started = 0;
		for index in 1..=helpers.min(ACTIVE as usize) {
			let spawned = std::thread::Builder::new()
				.name(format!("membria-generate-{index}"))
				.spawn(move || helper(shared));
			if spawned.is_ok() {
				started += 1;
			} else {
				break;
			}
		}
		Self { shared, helpers: started, running: Mutex::new(0) }
	}

	/// Threads that run a step: the caller and the helpers.
	pub fn threads(&self) -> usize {
		self.helpers + 1
	}

	/// Calls `job` on the caller and on every helper that joins before the caller's own call
	/// returns (a parked helper that wakes late finds the step closed and waits for the next:
	/// the caller never waits for a thread to wake). Returns when all who joined are done;
	/// re-raises a panic.
	fn run(&self, job: &(dyn Fn() + Sync)) {
		let mut step = match self.running.try_lock() {
			Ok(guard) => guard,
			Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
			// Another step runs (another thread's, or this step's own): alone, then.
			Err(TryLockError::WouldBlock) => return job(),
		};
		if self.helpers == 0 {
			return job();
		}
		let shared = self.shared;
		*step += 1;
		let number = *step;
		// SAFETY: only the lifetime is erased; the step is closed and every helper that joined
		// it has finished before this function returns.
		let erased: *const Job =
			unsafe { std::mem::transmute::<*const (dyn Fn() + Sync + '_), *const Job>(job) };
		*shared.job.lock().unwrap_or_else(PoisonError::into_inner) = Some(JobPtr(erased, number));
		shared.state.store(number << STEP_SHIFT, Ordering::SeqCst);
		shared.epoch.store(number, Ordering::SeqCst);
		if shared.sleepers.load(Ordering::SeqCst) > 0 {
			let _guard = shared.sleep.lock().unwrap_or_else(PoisonError::into_inner);
			shared.wake.notify_all();
		}
		let mine = catch_unwind(AssertUnwindSafe(job));
		shared.state.fetch_or(CLOSED, Ordering::SeqCst);
		let mut spins = 0u32;
		while shared.state.load(Ordering::Acquire) & ACTIVE > 0 {
			spins = spins.wrapping_add(1);
			if spins.is_multiple_of(4096) {
				std::thread::yield_now();
			} else {
				std::hint::spin_loop();
			}
		}
		*shared.job.lock().unwrap_or_else(PoisonError::into_inner) = None;
		// Cleared in any case, so the next step does not re-raise this one's panic.
		let helper_panicked = shared.panicked.swap(false, Ordering::SeqCst);
		if let Err(panic) = mine {
			std::panic::resume_unwind(panic);
		}
		if helper_panicked {
			panic!("a generation thread panicked");
		}
	}

	/// Calls `task(i)` for every `i` in `0..tasks`, spread over the team (each thread takes the
	/// next task left) when they amount to `work` multiply-adds or more than
	/// [`PARALLEL_FROM`], on the caller alone below that.
	pub fn for_each_sized(&self, tasks: usize, work: usize, task: impl Fn(usize) + Sync) {
		if work < PARALLEL_FROM {
			(0..tasks).for_each(&task);
		} else {
			self.for_each(tasks, task);
		}
	}

	/// Calls `task(i)` for every `i` in `0..tasks`, spread over the team (each thread takes the
	/// next task left).
	pub fn for_each(&self, tasks: usize, task: impl Fn(usize) + Sync) {
		if tasks <= 1 {
			(0..tasks).for_each(&task);
			return;
		}
		let next = AtomicUsize::new(0);
		self.run(&|| loop {
			let i = next.fetch_add(1, Ordering::Relaxed);
			if i >= tasks {
				break;
			}
			task(i);
		});
	}
}

fn helper(shared: &'static Shared) {
	let mut seen = 0;
	loop {
		let mut spinning_since = Instant::now();
		let mut spins = 0u32;
		while shared.epoch.load(Ordering::Acquire) == seen {
			spins = spins.wrapping_add(1);
			if spins.is_multiple_of(64) && spinning_since.elapsed() > SPIN {
				let mut guard = shared.sleep.lock().unwrap_or_else(PoisonError::into_inner);
				// Counted before the epoch is checked again: `run` publishes the epoch before
				// it reads the count, so either it sees this helper asleep or this helper sees
				// the new epoch.
				shared.sleepers.fetch_add(1, Ordering::SeqCst);
				while shared.epoch.load(Ordering::SeqCst) == seen {
					guard = shared.wake.wait(guard).unwrap_or_else(PoisonError::into_inner);
				}
				shared.sleepers.fetch_sub(1, Ordering::SeqCst);
				spinning_since = Instant::now();
			} else {
				std::hint::spin_loop();
			}
		}
		let job = shared
			.job
			.lock()
			.unwrap_or_else(PoisonError::into_inner)
			.as_ref()
			.map(|j| (j.0, j.1));
		seen = shared.epoch.load(Ordering::Acquire);
		let Some((job, number)) = job else { continue };
		seen = seen.max(number);
		// Join the step unless it is over or closed.
		let mut state = shared.state.load(Ordering::Acquire);
		let joined = loop {
			if state >> STEP_SHIFT != number || state & CLOSED != 0 {
				break false;
			}
			match shared.state.compare_exchange_weak(
				state,
				state + 1,
				Ordering::AcqRel,
				Ordering::Acquire,
			) {
				Ok(_) => break true,
				Err(now) => state = now,
			}
		};
		if joined {
			// SAFETY: `run` keeps the step alive until no helper that joined it is active.
			let job = unsafe { &*job };
			if let Err(payload) = catch_unwind(AssertUnwindSafe(job)) {
				shared.panicked.store(true, Ordering::SeqCst);
				// Its drop could panic too, outside any catch: leaked instead.
				std::mem::forget(payload);
			}
			shared.state.fetch_sub(1, Ordering::Release);
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// A task that takes a while (20 µs).
	fn work() {
		let started = Instant::now();
		while started.elapsed() < Duration::from_micros(20) {
			std::hint::spin_loop();
		}
	}

	#[test]
	fn every_task_runs_once_on_the_team() {
		let team = Team::new(3);
		let helpers_ran = AtomicUsize::new(0);
		let caller = std::thread::current().id();
		// 300 rounds, and more (up to 10 s) until a helper took a task: on a loaded machine the
		// caller can finish every task before a helper gets a core.
		let started = Instant::now();
		let mut round = 0;
		while round < 300
			|| (helpers_ran.load(Ordering::Relaxed) == 0
				&& started.elapsed() < Duration::from_secs(10))
		{
			round += 1;
			let tasks = round % 37;
			let counts: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
			team.for_each(tasks, |i| {
				counts[i].fetch_add(1, Ordering::Relaxed);
				if std::thread::current().id() != caller {
					helpers_ran.fetch_add(1, Ordering::Relaxed);
				}
				work();
			});
			assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1), "round {round}");
		}
		assert!(helpers_ran.load(Ordering::Relaxed) > 0, "the helpers take tasks");
	}

	#[test]
	fn the_default_takes_each_core_up_to_a_cap_and_a_started_team_keeps_its_size() {
		assert_eq!(default_threads(0), 1);
		assert_eq!(default_threads(2), 2);
		assert_eq!(default_threads(DEFAULT_MAX_THREADS), DEFAULT_MAX_THREADS);
		assert_eq!(default_threads(64), DEFAULT_MAX_THREADS);
		assert_eq!(set_threads(0), Err(ThreadsError::Zero));
		let running = team().threads();
		assert!((1..=DEFAULT_MAX_THREADS).contains(&running));
		assert_eq!(set_threads(running), Ok(()));
		let refused = set_threads(running + 1).unwrap_err();
		assert_eq!(refused, ThreadsError::Started { running, asked: running + 1 });
		assert!(refused.to_string().contains(&format!("already runs on {running} threads")));
		assert_eq!(team().threads(), running);
		assert_eq!(Team::new(2).threads(), 3);
	}

	#[test]
	fn a_parked_helper_never_holds_the_caller_up() {
		let team = Team::new(1);
		std::thread::sleep(SPIN * 2);
		let ran = AtomicUsize::new(0);
		team.for_each(4, |_| {
			ran.fetch_add(1, Ordering::Relaxed);
		});
		assert_eq!(ran.load(Ordering::Relaxed), 4);
		// Steps keep coming: the woken helper joins them.
		let by_helper = AtomicUsize::new(0);
		let caller = std::thread::current().id();
		let started = Instant::now();
		while by_helper.load(Ordering::Relaxed) == 0 && started.elapsed() < Duration::from_secs(5) {
			team.for_each(64, |_| {
				if std::thread::current().id() != caller {
					by_helper.fetch_add(1, Ordering::Relaxed);
				}
				work();
			});
		}
		assert!(by_helper.load(Ordering::Relaxed) > 0);
	}

	#[test]
	fn panics_reach_the_caller_and_leave_the_next_step_alone() {
		let team = Team::new(1);
		let caller = std::thread::current().id();
		let mut raised_by_helper = 0;
		// 100 rounds, and more (up to 10 s) until a helper's panic was seen: on a loaded machine
		// the caller can run every task before the helper gets a core.
		let started = Instant::now();
		let mut round = 0;
		while round < 100 || (raised_by_helper == 0 && started.elapsed() < Duration::from_secs(10))
		{
			round += 1;
			// Odd rounds: only the helper's tasks fail. Even rounds: every task fails, the
			// caller's and (when it joins) the helper's.
			let only_helpers = round % 2 == 1;
			let failed = catch_unwind(AssertUnwindSafe(|| {
				team.for_each(8, |_| {
					work();
					let helper = std::thread::current().id() != caller;
					assert!(only_helpers && !helper, "a task fails");
				});
			}))
			.is_err();
			if !only_helpers {
				assert!(failed);
			} else if failed {
				raised_by_helper += 1;
			}
			// The next step runs whole, whoever panicked before.
			let ran = AtomicUsize::new(0);
			team.for_each(8, |_| {
				ran.fetch_add(1, Ordering::Relaxed);
			});
			assert_eq!(ran.load(Ordering::Relaxed), 8, "round {round}");
		}
		assert!(raised_by_helper > 0, "a helper's panic reaches the caller");
	}

	#[test]
	fn a_step_inside_a_step_runs_on_its_caller() {
		let team = Team::new(1);
		let inner = AtomicUsize::new(0);
		team.for_each(2, |_| {
			team.for_each(5, |_| {
				inner.fetch_add(1, Ordering::Relaxed);
			});
		});
		assert_eq!(inner.load(Ordering::Relaxed), 10);
	}
}
