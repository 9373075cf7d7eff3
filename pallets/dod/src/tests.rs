use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold};
use membria_primitives::{question_key, Decision};
use pallet_kcg::EntryVoting;
use sp_core::H256;
use sp_runtime::{DispatchError, DispatchResult};

use crate::{mock::*, *};

const QUESTION: &[u8] = b"What is Ethernet?";

fn held(who: AccountId, reason: HoldReason) -> Balance {
	Balances::balance_on_hold(&RuntimeHoldReason::Dod(reason), &who)
}

fn ask(who: AccountId, question: &[u8]) -> DispatchResult {
	Dod::request_knowledge(RuntimeOrigin::signed(who), question.to_vec())
}

fn cid(byte: u8) -> Vec<u8> {
	let mut cid = vec![0x01, 0x55, 0x12, 0x20];
	cid.extend([byte; 32]);
	cid
}

/// Alice and Bob ask: the gap (id 0) opens.
fn open_gap() -> GapId {
	assert_ok!(ask(ALICE, QUESTION));
	assert_ok!(ask(BOB, b"what is ethernet"));
	GapByKey::<Test>::get(question_key("what is ethernet")).expect("gap open")
}

fn submit(who: AccountId, gap: GapId) -> DispatchResult {
	Dod::submit_answer(
		RuntimeOrigin::signed(who),
		gap,
		cid(1),
		H256::repeat_byte(1),
		100,
		Default::default(),
	)
}

#[test]
fn demand_below_the_threshold_holds_and_waits() {
	run_test(|| {
		assert_ok!(ask(ALICE, QUESTION));
		let key = question_key("what is ethernet");
		let demand = Demands::<Test>::get(key).unwrap();
		assert_eq!(demand.requesters.len(), 1);
		assert_eq!(demand.expires_at, 11);
		assert_eq!(held(ALICE, HoldReason::Request), 50);
		System::assert_last_event(
			Event::DemandRecorded { who: ALICE, question_key: key, requesters: 1, held: 50 }.into(),
		);
		assert!(Gaps::<Test>::iter().next().is_none());
	});
}

#[test]
fn distinct_requesters_open_a_gap() {
	run_test(|| {
		let gap = open_gap();
		let key = question_key("what is ethernet");
		assert!(Demands::<Test>::get(key).is_none());
		let record = Gaps::<Test>::get(gap).unwrap();
		assert_eq!(record.question.to_vec(), QUESTION.to_vec());
		assert_eq!(record.bounty, 40);
		assert_eq!(record.expires_at, 51);
		System::assert_last_event(
			Event::GapOpened {
				gap,
				question_key: key,
				question: QUESTION.to_vec().try_into().unwrap(),
				bounty: 40,
			}
			.into(),
		);
		// Later requesters join the open gap and add to its bounty.
		assert_ok!(ask(CHARLIE, QUESTION));
		assert_eq!(Gaps::<Test>::get(gap).unwrap().bounty, 60);
	});
}

#[test]
fn bad_questions_are_refused_by_name() {
	run_test(|| {
		assert_noop!(ask(ALICE, b""), Error::<Test>::EmptyQuestion);
		assert_noop!(ask(ALICE, b"  ?! "), Error::<Test>::EmptyQuestion);
		assert_noop!(
			ask(ALICE, &[b'a'; MAX_QUESTION_LEN as usize + 1]),
			Error::<Test>::QuestionTooLong
		);
		assert_noop!(ask(ALICE, &[0xff, 0xfe, b'a']), Error::<Test>::QuestionNotUtf8);
		assert_noop!(ask(POOR, QUESTION), Error::<Test>::InsufficientBalance);
		assert_ok!(ask(ALICE, QUESTION));
		assert_noop!(ask(ALICE, b"WHAT IS ETHERNET"), Error::<Test>::AlreadyRequested);
		assert_noop!(
			Dod::request_knowledge(RuntimeOrigin::none(), QUESTION.to_vec()),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn demand_lapses_after_its_window_and_is_refunded() {
	run_test(|| {
		assert_ok!(ask(ALICE, QUESTION));
		run_to_block(11);
		assert!(Demands::<Test>::get(question_key("what is ethernet")).is_none());
		assert_eq!(held(ALICE, HoldReason::Request), 0);
		System::assert_has_event(
			Event::DemandLapsed { question_key: question_key("what is ethernet"), refunded: 1 }
				.into(),
		);
		// A new window starts with the next request.
		assert_ok!(ask(BOB, QUESTION));
		assert_eq!(Demands::<Test>::get(question_key(QUESTION_STR)).unwrap().requesters.len(), 1);
	});
}

const QUESTION_STR: &str = "What is Ethernet?";

#[test]
fn agents_register_and_leave_with_their_bond() {
	run_test(|| {
		assert_noop!(
			Dod::register_agent(RuntimeOrigin::signed(AGENT)),
			Error::<Test>::AlreadyAgent
		);
		assert_noop!(
			Dod::register_agent(RuntimeOrigin::signed(POOR)),
			Error::<Test>::InsufficientBalance
		);
		assert_ok!(Dod::register_agent(RuntimeOrigin::signed(AGENT_2)));
		assert_eq!(held(AGENT_2, HoldReason::AgentBond), 1_000);
		assert_ok!(Dod::deregister_agent(RuntimeOrigin::signed(AGENT_2)));
		assert_eq!(held(AGENT_2, HoldReason::AgentBond), 0);
		assert_noop!(
			Dod::deregister_agent(RuntimeOrigin::signed(AGENT_2)),
			Error::<Test>::NotAgent
		);
	});
}

#[test]
fn claims_are_exclusive_until_they_lapse() {
	run_test(|| {
		let gap = open_gap();
		assert_noop!(Dod::claim_gap(RuntimeOrigin::signed(ALICE), gap), Error::<Test>::NotAgent);
		assert_noop!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), 99), Error::<Test>::UnknownGap);
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
		System::assert_last_event(Event::GapClaimed { gap, agent: AGENT, until: 6 }.into());
		assert_noop!(
			Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap),
			Error::<Test>::AlreadyClaimed
		);
		assert_ok!(Dod::register_agent(RuntimeOrigin::signed(AGENT_2)));
		assert_noop!(
			Dod::claim_gap(RuntimeOrigin::signed(AGENT_2), gap),
			Error::<Test>::AlreadyClaimed
		);
		// The claim lapses at block 6: another agent may claim, and the first may not submit.
		run_to_block(6);
		assert_noop!(submit(AGENT, gap), pallet_kcg::Error::<Test>::NotGapClaimant);
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT_2), gap));
		System::assert_has_event(Event::ClaimReleased { gap, agent: AGENT }.into());
		assert!(Agents::<Test>::get(AGENT).unwrap().claims.is_empty());
		// Letting the claim lapse cost the agent its slash.
		System::assert_has_event(Event::ClaimLapsed { gap, agent: AGENT, amount: 100 }.into());
		assert_eq!(held(AGENT, HoldReason::AgentBond), 900);
	});
}

/// Issue 12, finding 5: a claim left to lapse and claimed again by the same agent blocked the
/// gap for free, for as long as the agent liked. Each lapse now costs the agent `agent_slash`.
#[test]
fn claiming_again_after_a_lapse_is_not_free() {
	run_test(|| {
		let gap = open_gap();
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
		run_to_block(6);
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
		assert_eq!(held(AGENT, HoldReason::AgentBond), 900);
		run_to_block(11);
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
		assert_eq!(held(AGENT, HoldReason::AgentBond), 810);
		assert_eq!(Agents::<Test>::get(AGENT).unwrap().bond, 810);
		assert_eq!(SLASHED.with(|s| *s.borrow()), 190);
	});
}

/// Issue 12, finding 5: the claimant's entry retracted (or left to expire) held the gap and
/// answered nothing, for free. It now costs the agent `agent_slash`, like a rejected one.
#[test]
fn a_retracted_or_expired_claimant_entry_costs_the_agent() {
	run_test(|| {
		let gap = open_gap();
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
		assert_ok!(submit(AGENT, gap));
		assert_ok!(pallet_kcg::Pallet::<Test>::retract(RuntimeOrigin::signed(AGENT), 0));
		System::assert_has_event(
			Event::AgentSlashed { agent: AGENT, gap, entry: 0, amount: 100 }.into(),
		);
		assert!(Gaps::<Test>::get(gap).unwrap().claim.is_none());
		// Again, and this time the entry expires undecided.
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
		assert_ok!(Dod::submit_answer(
			RuntimeOrigin::signed(AGENT),
			gap,
			cid(2),
			H256::repeat_byte(2),
			100,
			Default::default(),
		));
		run_to_block(21);
		assert_eq!(
			pallet_kcg::Entries::<Test>::get(1).unwrap().status,
			pallet_kcg::EntryStatus::Expired
		);
		System::assert_has_event(
			Event::AgentSlashed { agent: AGENT, gap, entry: 1, amount: 90 }.into(),
		);
		assert_eq!(held(AGENT, HoldReason::AgentBond), 810);
	});
}

/// Issue 12, finding 5: anyone's validated entry for a claimed gap's question took the bounty
/// the claimant was working for. Only the entry submitted under the claim earns it now; another
/// answer closes the gap and the requesters get everything back.
#[test]
fn a_bounty_is_earned_under_the_claim_only() {
	run_test(|| {
		let gap = open_gap();
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
		let sniper_before = Balances::free_balance(CHARLIE);
		assert_ok!(pallet_kcg::Pallet::<Test>::submit_entry(
			RuntimeOrigin::signed(CHARLIE),
			question_key(QUESTION_STR),
			cid(3),
			H256::repeat_byte(3),
			100,
			Default::default(),
			None
		));
		assert_ok!(<Kcg as EntryVoting>::decide(0, Decision::Validated));
		assert!(Gaps::<Test>::get(gap).is_none());
		System::assert_has_event(Event::GapAnsweredElsewhere { gap, entry: 0, refunded: 2 }.into());
		// No bounty: the sniper only paid the validation fee of its entry.
		assert_eq!(Balances::free_balance(CHARLIE), sniper_before - ENTRY_DEPOSIT / 10);
		assert_eq!(Balances::free_balance(ALICE), ENDOWMENT);
		assert_eq!(Balances::free_balance(BOB), ENDOWMENT);
		assert!(Agents::<Test>::get(AGENT).unwrap().claims.is_empty());
		assert_eq!(held(AGENT, HoldReason::AgentBond), 1_000, "the claimant is not punished");
	});
}

#[test]
fn only_the_claimant_submits_once() {
	run_test(|| {
		let gap = open_gap();
		assert_noop!(submit(AGENT, gap), pallet_kcg::Error::<Test>::NotGapClaimant);
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
		assert_noop!(submit(ALICE, gap), pallet_kcg::Error::<Test>::NotGapClaimant);
		assert_noop!(submit(AGENT, 7), Error::<Test>::UnknownGap);
		assert_ok!(submit(AGENT, gap));
		let entry = pallet_kcg::Entries::<Test>::get(0).unwrap();
		assert_eq!(entry.gap, Some(gap));
		assert_eq!(entry.question_key, question_key(QUESTION_STR));
		assert_eq!(Gaps::<Test>::get(gap).unwrap().claim.unwrap().entry, Some(0));
		assert_noop!(submit(AGENT, gap), pallet_kcg::Error::<Test>::GapEntryPending);
		assert_noop!(
			Dod::deregister_agent(RuntimeOrigin::signed(AGENT)),
			Error::<Test>::AgentHasPendingEntry
		);
		// A KCG entry naming the gap must answer the gap's question.
		assert_noop!(
			pallet_kcg::Pallet::<Test>::submit_entry(
				RuntimeOrigin::signed(AGENT),
				[9; 32],
				cid(2),
				H256::zero(),
				5,
				Default::default(),
				Some(gap)
			),
			pallet_kcg::Error::<Test>::GapQuestionMismatch
		);
	});
}

#[test]
fn a_validated_answer_fills_the_gap() {
	run_test(|| {
		let gap = open_gap();
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
		assert_ok!(submit(AGENT, gap));
		let before = Balances::free_balance(AGENT);
		assert_ok!(<Kcg as EntryVoting>::decide(0, Decision::Validated));
		assert!(Gaps::<Test>::get(gap).is_none());
		assert!(GapByKey::<Test>::get(question_key(QUESTION_STR)).is_none());
		assert_eq!(held(ALICE, HoldReason::Request), 0);
		assert_eq!(held(BOB, HoldReason::Request), 0);
		assert_eq!(Balances::free_balance(ALICE), ENDOWMENT - 20);
		// The bounty, and the deposit less the KCG's validation fee.
		assert_eq!(Balances::free_balance(AGENT), before + 40 + ENTRY_DEPOSIT * 9 / 10);
		System::assert_has_event(
			Event::GapFilled { gap, entry: 0, author: AGENT, bounty: 40 }.into(),
		);
		assert!(Agents::<Test>::get(AGENT).unwrap().claims.is_empty());
		// The question is answered now.
		assert_noop!(ask(CHARLIE, QUESTION), Error::<Test>::AlreadyAnswered);
	});
}

#[test]
fn a_rejected_answer_slashes_the_agent_and_reopens_the_gap() {
	run_test(|| {
		let gap = open_gap();
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
		assert_ok!(submit(AGENT, gap));
		assert_ok!(<Kcg as EntryVoting>::decide(0, Decision::Rejected));
		assert_eq!(held(AGENT, HoldReason::AgentBond), 900);
		assert_eq!(Agents::<Test>::get(AGENT).unwrap().bond, 900);
		assert_eq!(SLASHED.with(|s| *s.borrow()), 100 + ENTRY_DEPOSIT);
		System::assert_has_event(
			Event::AgentSlashed { agent: AGENT, gap, entry: 0, amount: 100 }.into(),
		);
		let record = Gaps::<Test>::get(gap).unwrap();
		assert!(record.claim.is_none());
		assert_eq!(held(ALICE, HoldReason::Request), 50);
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
	});
}

#[test]
fn unanswered_gaps_nobody_claimed_expire_with_refunds() {
	run_test(|| {
		let gap = open_gap();
		run_to_block(51);
		assert!(Gaps::<Test>::get(gap).is_none());
		assert_eq!(held(ALICE, HoldReason::Request), 0);
		assert_eq!(Balances::free_balance(BOB), ENDOWMENT);
		System::assert_has_event(Event::GapExpired { gap, refunded: 2, fees_forfeited: 0 }.into());
	});
}

/// Issue 12, finding 5: a gap opened by fresh accounts cost them nothing but transaction fees
/// (deposits and fees came back at expiry) while agents worked on it. When an agent has claimed
/// it, the requesters' fees are now forfeit to the pot at expiry; their deposits come back.
#[test]
fn gaps_an_agent_worked_on_forfeit_their_fees_at_expiry() {
	run_test(|| {
		let gap = open_gap();
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
		run_to_block(51);
		assert!(Gaps::<Test>::get(gap).is_none());
		assert_eq!(held(ALICE, HoldReason::Request), 0);
		assert_eq!(Balances::free_balance(BOB), ENDOWMENT - 20);
		System::assert_has_event(Event::GapExpired { gap, refunded: 2, fees_forfeited: 40 }.into());
		// The agent's claim lapsed unused: that cost it too.
		System::assert_has_event(Event::ClaimLapsed { gap, agent: AGENT, amount: 100 }.into());
		assert_eq!(SLASHED.with(|s| *s.borrow()), 40 + 100);
		assert!(Agents::<Test>::get(AGENT).unwrap().claims.is_empty());
	});
}

#[test]
fn parameters_are_roots_and_checked() {
	run_test(|| {
		let mut new = params();
		new.gap_threshold = 3;
		assert_noop!(
			Dod::set_params(RuntimeOrigin::signed(ALICE), new.clone()),
			DispatchError::BadOrigin
		);
		assert_ok!(Dod::set_params(RuntimeOrigin::root(), new.clone()));
		assert_eq!(Params::<Test>::get(), Some(new.clone()));
		new.gap_threshold = 5; // above MaxRequesters (4)
		assert_noop!(
			Dod::set_params(RuntimeOrigin::root(), new.clone()),
			Error::<Test>::InvalidParameters
		);
		new.gap_threshold = 0;
		assert_noop!(Dod::set_params(RuntimeOrigin::root(), new), Error::<Test>::InvalidParameters);
	});
}

/// Issue 13: an agent whose teacher has no answer could only let its claim lapse (and be
/// slashed) while the gap waited. It gives the claim up with a reason instead.
#[test]
fn an_agent_whose_teacher_cannot_answer_gives_the_claim_up() {
	run_test(|| {
		let gap = open_gap();
		assert_ok!(Dod::register_agent(RuntimeOrigin::signed(AGENT_2)));
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
		let give_up =
			|who, gap| Dod::abandon_claim(RuntimeOrigin::signed(who), gap, AbandonReason::NoAnswer);
		assert_noop!(give_up(AGENT, 99), Error::<Test>::UnknownGap);
		assert_noop!(give_up(AGENT_2, gap), Error::<Test>::NotClaimant);
		assert_noop!(give_up(ALICE, gap), Error::<Test>::NotClaimant);
		assert_ok!(give_up(AGENT, gap));
		System::assert_last_event(
			Event::ClaimAbandoned { gap, agent: AGENT, reason: AbandonReason::NoAnswer }.into(),
		);
		// No slash, the claim is gone, the gap is open to others at once and never to AGENT.
		assert_eq!(held(AGENT, HoldReason::AgentBond), 1_000);
		assert!(Agents::<Test>::get(AGENT).unwrap().claims.is_empty());
		assert_eq!(Gaps::<Test>::get(gap).unwrap().claim, None);
		assert_noop!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap), Error::<Test>::GaveUpGap);
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT_2), gap));
		// An entry under vote is settled by its vote, not given up; a lapsed claim is slashed
		// when it is taken over, not given up for free.
		assert_ok!(submit(AGENT_2, gap));
		assert_noop!(give_up(AGENT_2, gap), Error::<Test>::AgentHasPendingEntry);
	});
}

#[test]
fn a_lapsed_claim_cannot_be_given_up_to_escape_its_slash() {
	run_test(|| {
		let gap = open_gap();
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
		run_to_block(6);
		assert_noop!(
			Dod::abandon_claim(RuntimeOrigin::signed(AGENT), gap, AbandonReason::NoAnswer),
			Error::<Test>::NotClaimant
		);
	});
}

/// After `MAX_ABANDONS` agents gave a gap up, it closes at once instead of waiting out its
/// lifetime: deposits back, fees (the agents worked) to the pot.
#[test]
fn the_last_allowed_give_up_closes_the_gap() {
	run_test(|| {
		let gap = open_gap();
		let agents = [AGENT, AGENT_2, CHARLIE, ALICE];
		assert_eq!(agents.len() as u32, MAX_ABANDONS);
		for who in agents {
			if !Agents::<Test>::contains_key(who) {
				assert_ok!(Dod::register_agent(RuntimeOrigin::signed(who)));
			}
			assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(who), gap));
			assert_ok!(Dod::abandon_claim(
				RuntimeOrigin::signed(who),
				gap,
				AbandonReason::TeacherUnavailable
			));
		}
		assert!(Gaps::<Test>::get(gap).is_none());
		assert!(GapByKey::<Test>::get(question_key("what is ethernet")).is_none());
		System::assert_has_event(Event::GapExpired { gap, refunded: 2, fees_forfeited: 40 }.into());
		assert_eq!(held(BOB, HoldReason::Request), 0);
		assert_eq!(Balances::free_balance(BOB), ENDOWMENT - 20);
		Dod::do_try_state().unwrap();
	});
}

fn answer(who: AccountId, gap: GapId, cid: Vec<u8>) -> DispatchResult {
	Dod::answer_gap(
		RuntimeOrigin::signed(who),
		gap,
		cid,
		H256::repeat_byte(1),
		100,
		Default::default(),
	)
}

/// Issue 15, goal 4: claim and entry in one call, a block sooner. It takes the gap exactly as
/// `claim_gap` would, and its entry is the claimant's as `submit_answer`'s would be.
#[test]
fn an_agent_answers_a_gap_in_one_call() {
	run_test(|| {
		let gap = open_gap();
		assert_noop!(answer(AGENT, 99, cid(1)), Error::<Test>::UnknownGap);
		assert_noop!(answer(ALICE, gap, cid(1)), Error::<Test>::NotAgent);
		assert_ok!(answer(AGENT, gap, cid(1)));
		let claim = Gaps::<Test>::get(gap).unwrap().claim.expect("claimed");
		assert_eq!((claim.agent, claim.entry), (AGENT, Some(0)));
		assert_eq!(Agents::<Test>::get(AGENT).unwrap().claims.to_vec(), vec![gap]);
		System::assert_has_event(Event::GapClaimed { gap, agent: AGENT, until: 6 }.into());
		System::assert_has_event(Event::GapEntrySubmitted { gap, entry: 0, agent: AGENT }.into());
		let entry = pallet_kcg::Entries::<Test>::get(0).unwrap();
		assert_eq!((entry.author, entry.gap), (AGENT, Some(gap)));
		// Taken: another agent's answer (a copy of the call, say) is refused.
		assert_ok!(Dod::register_agent(RuntimeOrigin::signed(AGENT_2)));
		assert_noop!(answer(AGENT_2, gap, cid(1)), Error::<Test>::AlreadyClaimed);
		// Validated, it fills the gap as an answer under a claim does.
		assert_ok!(<Kcg as EntryVoting>::decide(0, Decision::Validated));
		assert!(Gaps::<Test>::get(gap).is_none());
		System::assert_has_event(
			Event::GapFilled { gap, entry: 0, author: AGENT, bounty: 40 }.into(),
		);
		Dod::do_try_state().unwrap();
	});
}

/// An answer the KCG refuses claims nothing: the call is all or nothing.
#[test]
fn an_answer_the_kcg_refuses_leaves_the_gap_open() {
	run_test(|| {
		let gap = open_gap();
		assert_noop!(answer(AGENT, gap, vec![0x01, 0x55]), pallet_kcg::Error::<Test>::InvalidCid);
		assert_eq!(Gaps::<Test>::get(gap).unwrap().claim, None);
		assert!(Agents::<Test>::get(AGENT).unwrap().claims.is_empty());
		// A claim already held is answered with `submit_answer`.
		assert_ok!(Dod::claim_gap(RuntimeOrigin::signed(AGENT), gap));
		assert_noop!(answer(AGENT, gap, cid(1)), Error::<Test>::AlreadyClaimed);
		assert_ok!(submit(AGENT, gap));
	});
}

/// An agent that asks its teacher before claiming declines an open gap the way a claimant
/// gives its claim up: recorded with the reason, never answered by it, closing the gap with the
/// others' give-ups.
#[test]
fn an_agent_declines_an_open_gap() {
	run_test(|| {
		let gap = open_gap();
		let decline =
			|who, gap| Dod::abandon_claim(RuntimeOrigin::signed(who), gap, AbandonReason::NoAnswer);
		assert_noop!(decline(ALICE, gap), Error::<Test>::NotAgent);
		assert_ok!(decline(AGENT, gap));
		System::assert_last_event(
			Event::ClaimAbandoned { gap, agent: AGENT, reason: AbandonReason::NoAnswer }.into(),
		);
		let record = Gaps::<Test>::get(gap).unwrap();
		assert_eq!((record.claim, record.abandoned_by.to_vec()), (None, vec![AGENT]));
		assert!(record.claimed, "an agent worked on it: the fees are forfeit at expiry");
		assert_noop!(decline(AGENT, gap), Error::<Test>::GaveUpGap);
		assert_noop!(answer(AGENT, gap, cid(1)), Error::<Test>::GaveUpGap);
		// Another agent can still answer it.
		assert_ok!(Dod::register_agent(RuntimeOrigin::signed(AGENT_2)));
		assert_ok!(answer(AGENT_2, gap, cid(1)));
		Dod::do_try_state().unwrap();
	});
}
