//! Benchmarks of every call and hook of `pallet-dod`, at their worst cases.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate, Get, Hooks};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use membria_kcg_primitives::{Closure, Decision, EntryClosed, EntrySummary, KnowledgeBase};
use sp_runtime::{traits::Bounded, Perbill};

fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	// Enough for any deposit, with room for thousands of such accounts in the total issuance.
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 1_000_000_000u32.into());
	who
}

fn question(seed: u32) -> alloc::vec::Vec<u8> {
	let mut text = alloc::format!("benchmark question number {seed} ").into_bytes();
	text.resize(T_MAX_QUESTION.min(text.len().max(64)), b'x');
	text
}

const T_MAX_QUESTION: usize = 512;

/// Parameters with the threshold at `MaxRequesters`: the most requesters a gap can open with.
fn set_worst_params<T: Config>() -> ParametersOf<T> {
	let mut params = Pallet::<T>::params().unwrap_or_else(|_| Parameters {
		gap_threshold: 1,
		demand_window: 10u32.into(),
		claim_period: 10u32.into(),
		gap_lifetime: 100u32.into(),
		request_deposit: 1_000u32.into(),
		request_fee: 1_000u32.into(),
		agent_bond: 10_000u32.into(),
		agent_slash: Perbill::from_percent(10),
	});
	params.gap_threshold = T::MaxRequesters::get();
	Params::<T>::put(&params);
	params
}

/// `count` distinct accounts ask `question(seed)`.
fn ask<T: Config>(seed: u32, count: u32) {
	for i in 0..count {
		let who = funded::<T>("requester", seed * 1_000 + i);
		Pallet::<T>::request_knowledge(RawOrigin::Signed(who).into(), question(seed))
			.expect("benchmark setup asks");
	}
}

/// Opens a gap for `question(seed)` with the most requesters; returns its id.
fn open_gap<T: Config>(seed: u32) -> GapId {
	ask::<T>(seed, T::MaxRequesters::get());
	GapByKey::<T>::get(membria_primitives::question_key(
		core::str::from_utf8(&question(seed)).expect("ascii"),
	))
	.expect("the gap opened")
}

fn agent<T: Config>(index: u32) -> T::AccountId {
	let who = funded::<T>("agent", index);
	if !Agents::<T>::contains_key(&who) {
		Pallet::<T>::register_agent(RawOrigin::Signed(who.clone()).into())
			.expect("benchmark setup registers");
	}
	who
}

/// With the worst parameters, a gap with the most requesters claimed by an agent: `(gap, agent,
/// the CID of its answer)`.
fn claimed_gap<T: Config>() -> (GapId, T::AccountId, alloc::vec::Vec<u8>) {
	set_worst_params::<T>();
	let gap = open_gap::<T>(0);
	let who = agent::<T>(0);
	Pallet::<T>::claim_gap(RawOrigin::Signed(who.clone()).into(), gap).expect("setup claims");
	let mut cid = alloc::vec![0x01, 0x55, 0x12, 0x20];
	cid.extend([7u8; 32]);
	(gap, who, cid)
}

/// Fills the voting deadlines of entries submitted now but for one place in the last block
/// they may spill into: the KCG's worst case for the next submission.
fn fill_deadlines<T: Config>() {
	let author = funded::<T>("author", 0);
	for seed in 1u32..T::Knowledge::deadline_capacity() {
		let mut cid = alloc::vec![0x01, 0x55, 0x12, 0x20];
		cid.extend(sp_io::hashing::blake2_256(&seed.to_le_bytes()));
		T::Knowledge::submit(
			author.clone(),
			sp_io::hashing::blake2_256(&seed.to_be_bytes()),
			cid,
			sp_core::H256::repeat_byte(3),
			1_000,
			Default::default(),
			None,
		)
		.expect("benchmark setup fills the deadlines");
	}
}

/// With the worst parameters, a gap with the most requesters whose claimant submitted an
/// entry: `(gap, entry, what the KCG tells listeners of that entry)`.
fn answered_gap<T: Config>() -> (GapId, EntryId, EntrySummary<T::AccountId>) {
	let (gap, who, cid) = claimed_gap::<T>();
	Pallet::<T>::submit_answer(
		RawOrigin::Signed(who.clone()).into(),
		gap,
		cid,
		sp_core::H256::repeat_byte(1),
		1_000,
		Default::default(),
	)
	.expect("setup answers");
	let record = Gaps::<T>::get(gap).expect("the gap is open");
	let entry = record.claim.and_then(|claim| claim.entry).expect("the answer is recorded");
	let summary =
		EntrySummary { question_key: record.question_key, author: who, gap: Some(gap), session: 0 };
	(gap, entry, summary)
}

/// What the KCG does when an entry's vote is over: tells this pallet.
fn close<T: Config>(entry: EntryId, summary: &EntrySummary<T::AccountId>, closure: Closure) {
	<Pallet<T> as EntryClosed<T::AccountId>>::entry_closed(entry, summary, closure);
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn request_knowledge() {
		set_worst_params::<T>();
		// All requesters but one have asked: this request opens the gap.
		ask::<T>(0, T::MaxRequesters::get() - 1);
		let who = funded::<T>("caller", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), question(0));
		assert_eq!(NextGapId::<T>::get(), 1);
	}

	#[benchmark]
	fn register_agent() {
		set_worst_params::<T>();
		let who = funded::<T>("agent", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(Agents::<T>::contains_key(&who));
	}

	#[benchmark]
	fn deregister_agent(c: Linear<0, { T::MaxClaimsPerAgent::get() }>) {
		set_worst_params::<T>();
		let who = agent::<T>(0);
		for seed in 0..c {
			let gap = open_gap::<T>(seed);
			Pallet::<T>::claim_gap(RawOrigin::Signed(who.clone()).into(), gap)
				.expect("benchmark setup claims");
		}
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!Agents::<T>::contains_key(&who));
	}

	#[benchmark]
	fn claim_gap() {
		let params = set_worst_params::<T>();
		let gap = open_gap::<T>(0);
		// Another agent's claim has lapsed: the call releases it first.
		let first = agent::<T>(1);
		Pallet::<T>::claim_gap(RawOrigin::Signed(first).into(), gap).expect("setup claims");
		let now = frame_system::Pallet::<T>::block_number();
		frame_system::Pallet::<T>::set_block_number(now + params.claim_period);
		let who = agent::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), gap);
		assert_eq!(Gaps::<T>::get(gap).and_then(|g| g.claim).map(|c| c.agent), Some(who));
	}

	/// The last give-up a gap allows: the gap of `MaxRequesters` closes, every requester's hold
	/// released (the fees forfeit: agents claimed it).
	#[benchmark]
	fn abandon_claim() {
		set_worst_params::<T>();
		let gap = open_gap::<T>(0);
		for index in 1..MAX_ABANDONS {
			let quitter = agent::<T>(index);
			Pallet::<T>::claim_gap(RawOrigin::Signed(quitter.clone()).into(), gap)
				.expect("setup claims");
			Pallet::<T>::abandon_claim(
				RawOrigin::Signed(quitter).into(),
				gap,
				AbandonReason::NoAnswer,
			)
			.expect("setup gives up");
		}
		let who = agent::<T>(0);
		Pallet::<T>::claim_gap(RawOrigin::Signed(who.clone()).into(), gap).expect("setup claims");
		#[extrinsic_call]
		_(RawOrigin::Signed(who), gap, AbandonReason::NoAnswer);
		assert!(!Gaps::<T>::contains_key(gap));
	}

	/// The entry finds the last free place of its deadline's blocks (the KCG's worst case; a
	/// gap's `answer_gap` weighs `claim_gap` and this).
	#[benchmark]
	fn submit_answer() {
		let (gap, who, cid) = claimed_gap::<T>();
		fill_deadlines::<T>();
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who),
			gap,
			cid,
			sp_core::H256::repeat_byte(1),
			1_000,
			Default::default(),
		);
		assert!(Gaps::<T>::get(gap).and_then(|g| g.claim).and_then(|c| c.entry).is_some());
	}

	#[benchmark]
	fn set_params() {
		let params = set_worst_params::<T>();
		#[extrinsic_call]
		_(RawOrigin::Root, params.clone());
		assert_eq!(Params::<T>::get(), Some(params));
	}

	#[benchmark]
	fn on_initialize_expire(
		d: Linear<0, { T::MaxExpiriesPerBlock::get() }>,
		g: Linear<0, { T::MaxExpiriesPerBlock::get() }>,
	) {
		let params = set_worst_params::<T>();
		let start = frame_system::Pallet::<T>::block_number();
		// `g` gaps and `d` demands (one requester short of a gap) lapse at the same block.
		for seed in 0..g {
			open_gap::<T>(seed);
		}
		frame_system::Pallet::<T>::set_block_number(
			start + params.gap_lifetime - params.demand_window,
		);
		for seed in 0..d {
			ask::<T>(10_000 + seed, T::MaxRequesters::get() - 1);
		}
		let at: BlockNumberFor<T> = start + params.gap_lifetime;
		assert_eq!(GapExpiries::<T>::get(at).len() as u32, g);
		assert_eq!(DemandExpiries::<T>::get(at).len() as u32, d);
		#[block]
		{
			Pallet::<T>::on_initialize(at);
		}
		assert_eq!(Gaps::<T>::iter().count(), 0);
		assert_eq!(Demands::<T>::iter().count(), 0);
	}

	/// The claimant's entry is validated: every one of `MaxRequesters` pays its fee to the
	/// agent and gets its deposit back.
	#[benchmark]
	fn entry_closed_fill() {
		let (gap, entry, summary) = answered_gap::<T>();
		#[block]
		{
			close::<T>(entry, &summary, Closure::Decided(Decision::Validated));
		}
		assert!(!Gaps::<T>::contains_key(gap));
	}

	/// Another author's entry answers the question: every one of `MaxRequesters` is refunded.
	#[benchmark]
	fn entry_closed_elsewhere() {
		let (gap, entry, mut summary) = answered_gap::<T>();
		summary.author = funded::<T>("author", 0);
		summary.gap = None;
		#[block]
		{
			close::<T>(entry + 1, &summary, Closure::Decided(Decision::Validated));
		}
		assert!(!Gaps::<T>::contains_key(gap));
	}

	/// The claimant's entry is rejected: the agent is slashed and its claim ends.
	#[benchmark]
	fn entry_closed_punish() {
		let (gap, entry, summary) = answered_gap::<T>();
		#[block]
		{
			close::<T>(entry, &summary, Closure::Decided(Decision::Rejected));
		}
		assert!(Gaps::<T>::get(gap).is_some_and(|g| g.claim.is_none()));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
