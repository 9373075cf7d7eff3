//! Unit tests of every call's success and refusals, of session planning, and of the tally,
//! slashing and reward arithmetic at its edges.

use frame_support::{
	assert_noop, assert_ok,
	pallet_prelude::DispatchResult,
	traits::{
		fungible::{Inspect, InspectHold},
		Currency,
	},
};
use membria_primitives::{Decision, RejectReason, SessionIndex, Verdict};
use pallet_kcg::EntryStatus;
use sp_core::H256;
use sp_runtime::Perbill;
use sp_runtime::{DispatchError, TokenError};

use crate::{mock::*, *};

const REJECT: Verdict = Verdict::Reject(RejectReason::Incorrect);

fn equal_validators(accounts: &[AccountId]) -> Vec<(AccountId, Balance)> {
	accounts.iter().map(|a| (*a, MIN_BOND)).collect()
}

fn bonded(who: AccountId) -> Balance {
	Balances::balance_on_hold(&RuntimeHoldReason::Validators(HoldReason::Bond), &who)
}

fn pot() -> Balance {
	Balances::free_balance(Validators::pot_account())
}

fn submit_entry() -> u64 {
	submit_entry_by(AUTHOR)
}

fn submit_entry_by(author: AccountId) -> u64 {
	let id = pallet_kcg::NextEntryId::<Test>::get();
	let mut cid = vec![0x01, 0x55, 0x12, 0x20];
	cid.extend([id as u8; 32]);
	assert_ok!(Kcg::submit_entry(
		RuntimeOrigin::signed(author),
		[id as u8; 32],
		cid,
		H256::repeat_byte(1),
		100,
		Default::default(),
		None
	));
	id
}

fn attest(who: AccountId, entry: u64, verdict: Verdict) -> DispatchResult {
	Validators::attest(RuntimeOrigin::signed(who), entry, verdict)
		.map(|_| ())
		.map_err(|e| e.error)
}

fn entry_status(id: u64) -> EntryStatus<u64> {
	pallet_kcg::Entries::<Test>::get(id).unwrap().status
}

#[test]
fn genesis_bonds_the_validators_and_plans_the_first_sessions() {
	run_test(&[(ALICE, 2_000), (BOB, 1_000)], || {
		assert_eq!(bonded(ALICE), 2_000);
		assert_eq!(TotalBonded::<Test>::get(), 3_000);
		assert!(Candidates::<Test>::contains_key(ALICE) && Candidates::<Test>::contains_key(BOB));
		for session in [0, 1] {
			assert_eq!(
				SessionStakes::<Test>::get(session).to_vec(),
				vec![(ALICE, 2_000), (BOB, 1_000)]
			);
			assert_eq!(SessionTotalStake::<Test>::get(session), 3_000);
		}
		assert_eq!(pot(), 1, "the pot keeps the existential deposit");
	});
}

#[test]
fn bond_and_bond_extra_hold_funds() {
	run_test(&[], || {
		assert_noop!(
			Validators::bond(RuntimeOrigin::signed(DAVE), MIN_BOND - 1),
			Error::<Test>::InsufficientBond
		);
		assert_noop!(
			Validators::bond(RuntimeOrigin::signed(DAVE), ENDOWMENT * 2),
			TokenError::FundsUnavailable
		);
		assert_noop!(
			Validators::bond_extra(RuntimeOrigin::signed(DAVE), 5),
			Error::<Test>::NotBonded
		);
		assert_ok!(Validators::bond(RuntimeOrigin::signed(DAVE), MIN_BOND));
		System::assert_last_event(Event::Bonded { who: DAVE, amount: MIN_BOND }.into());
		assert_noop!(
			Validators::bond(RuntimeOrigin::signed(DAVE), MIN_BOND),
			Error::<Test>::AlreadyBonded
		);
		assert_noop!(
			Validators::bond_extra(RuntimeOrigin::signed(DAVE), 0),
			Error::<Test>::ZeroAmount
		);
		assert_ok!(Validators::bond_extra(RuntimeOrigin::signed(DAVE), 500));
		assert_eq!(bonded(DAVE), MIN_BOND + 500);
		assert_eq!(Ledgers::<Test>::get(DAVE).unwrap().active, MIN_BOND + 500);
		assert_eq!(Balances::free_balance(DAVE), ENDOWMENT - MIN_BOND - 500);
		assert_noop!(Validators::bond(RuntimeOrigin::none(), MIN_BOND), DispatchError::BadOrigin);
	});
}

#[test]
fn unbond_keeps_funds_held_until_the_period_ends() {
	run_test(&[(ALICE, 3_000)], || {
		assert_noop!(
			Validators::unbond(RuntimeOrigin::signed(ALICE), 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(Validators::unbond(RuntimeOrigin::signed(BOB), 1), Error::<Test>::NotBonded);
		assert_noop!(
			Validators::unbond(RuntimeOrigin::signed(ALICE), 3_001),
			Error::<Test>::UnbondExceedsActive
		);
		assert_ok!(Validators::unbond(RuntimeOrigin::signed(ALICE), 1_000));
		System::assert_last_event(
			Event::Unbonded { who: ALICE, amount: 1_000, unlock_at: 1 + UNBONDING }.into(),
		);
		assert_eq!(bonded(ALICE), 3_000, "unbonding funds stay held");
		assert_eq!(Ledgers::<Test>::get(ALICE).unwrap().active, 2_000);
		assert!(Candidates::<Test>::contains_key(ALICE), "still above the minimum");

		assert_noop!(
			Validators::withdraw_unbonded(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::NothingToWithdraw
		);
		run_to_block(UNBONDING);
		assert_noop!(
			Validators::withdraw_unbonded(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::NothingToWithdraw
		);
		assert_ok!(Validators::unbond(RuntimeOrigin::signed(ALICE), 500));
		assert_noop!(
			Validators::unbond(RuntimeOrigin::signed(ALICE), 1),
			Error::<Test>::TooManyUnlockingChunks
		);
		run_to_block(1 + UNBONDING);
		assert_ok!(Validators::withdraw_unbonded(RuntimeOrigin::signed(ALICE)));
		System::assert_last_event(Event::Withdrawn { who: ALICE, amount: 1_000 }.into());
		assert_eq!(bonded(ALICE), 2_000);
		assert_eq!(TotalBonded::<Test>::get(), 2_000);
		assert_eq!(Balances::free_balance(ALICE), ENDOWMENT - 2_000);
	});
}

#[test]
fn unbonding_below_the_minimum_chills_and_a_full_withdrawal_removes_the_ledger() {
	run_test(&[(ALICE, MIN_BOND)], || {
		assert_ok!(Validators::unbond(RuntimeOrigin::signed(ALICE), 1));
		System::assert_last_event(Event::Chilled { who: ALICE }.into());
		assert!(!Candidates::<Test>::contains_key(ALICE));
		assert_ok!(Validators::unbond(RuntimeOrigin::signed(ALICE), MIN_BOND - 1));
		run_to_block(1 + UNBONDING);
		assert_ok!(Validators::withdraw_unbonded(RuntimeOrigin::signed(ALICE)));
		assert!(Ledgers::<Test>::get(ALICE).is_none());
		assert_eq!(Balances::free_balance(ALICE), ENDOWMENT);
		assert_eq!(TotalBonded::<Test>::get(), 0);
	});
}

#[test]
fn validate_and_chill() {
	run_test(&[(ALICE, MIN_BOND)], || {
		assert_noop!(Validators::validate(RuntimeOrigin::signed(DAVE)), Error::<Test>::NotBonded);
		assert_noop!(
			Validators::validate(RuntimeOrigin::signed(ALICE)),
			Error::<Test>::AlreadyValidating
		);
		assert_ok!(Validators::bond(RuntimeOrigin::signed(DAVE), MIN_BOND));
		assert_ok!(Validators::unbond(RuntimeOrigin::signed(DAVE), 1));
		assert_noop!(
			Validators::validate(RuntimeOrigin::signed(DAVE)),
			Error::<Test>::InsufficientBond
		);
		assert_ok!(Validators::bond_extra(RuntimeOrigin::signed(DAVE), 1));
		assert_ok!(Validators::validate(RuntimeOrigin::signed(DAVE)));
		System::assert_last_event(Event::Validating { who: DAVE }.into());
		assert_noop!(Validators::chill(RuntimeOrigin::signed(EVE)), Error::<Test>::NotValidating);
		assert_ok!(Validators::chill(RuntimeOrigin::signed(DAVE)));
		System::assert_last_event(Event::Chilled { who: DAVE }.into());
		assert!(!Candidates::<Test>::contains_key(DAVE));
	});
}

#[test]
fn candidates_are_bounded() {
	run_test(&equal_validators(&[1, 2, 3, 4, 5, 10]), || {
		assert_eq!(Candidates::<Test>::count(), MAX_CANDIDATES);
		let newcomer = 42;
		Balances::make_free_balance_be(&newcomer, ENDOWMENT);
		assert_ok!(Validators::bond(RuntimeOrigin::signed(newcomer), MIN_BOND));
		assert_noop!(
			Validators::validate(RuntimeOrigin::signed(newcomer)),
			Error::<Test>::TooManyCandidates
		);
	});
}

#[test]
fn a_new_validator_with_keys_joins_at_the_next_session() {
	run_test(&equal_validators(&[ALICE]), || {
		assert_ok!(Validators::bond(RuntimeOrigin::signed(DAVE), 5_000));
		assert_ok!(Validators::validate(RuntimeOrigin::signed(DAVE)));
		// Without session keys Dave is not selected; the set is unchanged.
		assert_eq!(rotate_to_session(1), None);
		assert_eq!(SessionStakes::<Test>::get(2).to_vec(), vec![(ALICE, MIN_BOND)]);
		set_keys(DAVE);
		assert_eq!(rotate_to_session(2), Some(vec![ALICE, DAVE]));
		assert_eq!(SessionStakes::<Test>::get(3).to_vec(), vec![(ALICE, MIN_BOND), (DAVE, 5_000)]);
		assert_eq!(SessionTotalStake::<Test>::get(3), MIN_BOND + 5_000);
		// Chilling leaves at the next planned session.
		assert_ok!(Validators::chill(RuntimeOrigin::signed(DAVE)));
		assert_eq!(rotate_to_session(3), Some(vec![ALICE]));
		// An unchanged set is not re-announced (no needless GRANDPA set change).
		assert_eq!(rotate_to_session(4), None);
	});
}

#[test]
fn the_top_validators_by_bond_are_selected() {
	let validators = [(ALICE, 1_000), (BOB, 5_000), (CHARLIE, 3_000), (DAVE, 4_000), (EVE, 2_000)];
	run_test(&validators, || {
		// MaxValidators = 4: Alice has the smallest bond and is left out, order is by account.
		assert_eq!(
			SessionStakes::<Test>::get(1).to_vec(),
			vec![(BOB, 5_000), (CHARLIE, 3_000), (DAVE, 4_000), (EVE, 2_000)]
		);
		assert_ok!(Validators::bond_extra(RuntimeOrigin::signed(ALICE), 2_000));
		assert_eq!(rotate_to_session(1), Some(vec![ALICE, BOB, CHARLIE, DAVE]));
	});
}

#[test]
fn nobody_selectable_keeps_the_current_set_and_its_stake() {
	run_test(&equal_validators(&[ALICE]), || {
		assert_ok!(Validators::chill(RuntimeOrigin::signed(ALICE)));
		assert_eq!(rotate_to_session(1), None);
		assert_eq!(SessionStakes::<Test>::get(2).to_vec(), vec![(ALICE, MIN_BOND)]);
	});
}

#[test]
fn old_session_snapshots_are_dropped() {
	run_test(&equal_validators(&[ALICE]), || {
		for session in 1..=4 {
			rotate_to_session(session);
		}
		// Session 5 was planned last; with a history of 3, sessions 0..=2 are gone.
		assert!(SessionStakes::<Test>::get(2).is_empty());
		assert_eq!(SessionStakes::<Test>::get(3).len(), 1);
	});
}

#[test]
fn sessions_end_after_their_length() {
	use pallet_session::ShouldEndSession;
	run_test(&equal_validators(&[ALICE]), || {
		// Genesis started session 0 at block 1.
		assert!(!Validators::should_end_session(SESSION_LENGTH));
		assert!(Validators::should_end_session(1 + SESSION_LENGTH));
		System::set_block_number(11);
		rotate_to_session(1);
		assert!(!Validators::should_end_session(20));
		assert!(Validators::should_end_session(21));
	});
}

#[test]
fn attest_refuses_outsiders_double_votes_and_closed_entries() {
	run_test(&equal_validators(&[ALICE, BOB, CHARLIE]), || {
		let entry = submit_entry();
		assert_noop!(attest(DAVE, entry, Verdict::Approve), Error::<Test>::NotActiveValidator);
		assert_noop!(attest(ALICE, 99, Verdict::Approve), Error::<Test>::UnknownEntry);
		assert_ok!(attest(ALICE, entry, Verdict::Approve));
		System::assert_last_event(
			Event::Attested { entry, validator: ALICE, verdict: Verdict::Approve, stake: MIN_BOND }
				.into(),
		);
		assert_noop!(attest(ALICE, entry, REJECT), Error::<Test>::AlreadyVoted);
		assert_ok!(attest(BOB, entry, Verdict::Approve));
		assert_eq!(entry_status(entry), EntryStatus::Validated { at: 1 });
		assert_noop!(attest(CHARLIE, entry, Verdict::Approve), Error::<Test>::EntryClosed);

		let late = submit_entry();
		System::set_block_number(1 + VOTING_PERIOD);
		assert_noop!(attest(ALICE, late, Verdict::Approve), Error::<Test>::VotingClosed);
		<Kcg as frame_support::traits::Hooks<u64>>::on_initialize(1 + VOTING_PERIOD);
		assert_eq!(entry_status(late), EntryStatus::Expired);
		assert_noop!(attest(ALICE, late, Verdict::Approve), Error::<Test>::EntryClosed);
	});
}

fn attest_many(
	who: AccountId,
	votes: &[(u64, Verdict)],
) -> frame_support::dispatch::PostDispatchInfo {
	Validators::attest_many(RuntimeOrigin::signed(who), votes.to_vec().try_into().unwrap())
		.expect("attest_many never fails as a whole for a signed caller")
}

/// What the mock charges `n` votes that decide nothing.
fn votes_weight(n: u32) -> frame_support::weights::Weight {
	<() as WeightInfo>::attest_many(n)
}

fn refused(entry: u64, validator: AccountId, error: Error<Test>) -> RuntimeEvent {
	Event::AttestationRefused { entry, validator, error: error.into() }.into()
}

#[test]
fn attest_many_records_every_vote_and_reports_each_refused_one() {
	run_test(&equal_validators(&[ALICE, BOB, CHARLIE, DAVE]), || {
		let first = submit_entry();
		let second = submit_entry();
		let post = attest_many(
			ALICE,
			&[(first, Verdict::Approve), (second, REJECT), (first, REJECT), (99, Verdict::Approve)],
		);
		let ballot = Ballots::<Test>::get(first).expect("opened with the entry");
		assert_eq!(ballot.votes.into_inner(), vec![(0, Verdict::Approve)], "Alice is first");
		assert_eq!(ballot.tally, Tally { approve: MIN_BOND, reject: 0 });
		let ballot = Ballots::<Test>::get(second).expect("opened");
		assert_eq!(ballot.tally, Tally { approve: 0, reject: MIN_BOND });
		System::assert_has_event(refused(first, ALICE, Error::<Test>::AlreadyVoted));
		System::assert_has_event(refused(99, ALICE, Error::<Test>::UnknownEntry));
		// Paid: four votes (two recorded, two refused), nothing for decisions.
		assert_eq!(post.actual_weight, Some(votes_weight(4)));
		assert!(votes_weight(4).all_lt(Validators::attest_many_weight(4)));

		// Bob's votes land on open ballots, in his place.
		let post = attest_many(BOB, &[(second, Verdict::Approve), (first, Verdict::Approve)]);
		assert_eq!(post.actual_weight, Some(votes_weight(2)));
		let ballot = Ballots::<Test>::get(first).unwrap();
		assert_eq!(ballot.votes.into_inner(), vec![(0, Verdict::Approve), (1, Verdict::Approve)]);
		assert!(
			matches!(entry_status(first), EntryStatus::Pending { .. }),
			"2 of 4 decide nothing"
		);

		// A call without votes is refused, named.
		assert_noop!(
			Validators::attest_many(RuntimeOrigin::signed(ALICE), Default::default())
				.map_err(|e| e.error),
			Error::<Test>::NoVotes
		);

		// An outsider's votes are all refused and change nothing.
		let third = submit_entry();
		attest_many(EVE, &[(third, Verdict::Approve)]);
		System::assert_has_event(refused(third, EVE, Error::<Test>::NotActiveValidator));
		assert_eq!(Ballots::<Test>::get(third), Some(Ballot::new(0, 1 + VOTING_PERIOD)));

		// No ballot for an open entry is a broken invariant, named (and `try_state` says so).
		let ballot = Ballots::<Test>::take(third).unwrap();
		assert!(Validators::do_try_state().is_err());
		attest_many(ALICE, &[(third, Verdict::Approve)]);
		System::assert_has_event(refused(third, ALICE, Error::<Test>::NoBallot));
		Ballots::<Test>::insert(third, ballot);
	});
}

#[test]
fn attest_many_decides_at_most_its_limit_and_a_refused_decision_changes_nothing() {
	run_test(&equal_validators(&[ALICE, BOB, CHARLIE]), || {
		let entries: Vec<u64> = (0..=MAX_DECISIONS_PER_CALL).map(|_| submit_entry()).collect();
		let approvals: Vec<(u64, Verdict)> =
			entries.iter().map(|entry| (*entry, Verdict::Approve)).collect();
		attest_many(ALICE, &approvals);
		// The last entry's record is gone from the KCG for a moment: had its decision been
		// tried, the KCG's error would show instead of the limit.
		let last = *entries.last().unwrap();
		let record = pallet_kcg::Entries::<Test>::take(last).unwrap();
		// Bob's approvals each reach two thirds: the call decides its limit, refuses the rest
		// before settling anything.
		let post = attest_many(BOB, &approvals);
		pallet_kcg::Entries::<Test>::insert(last, record);
		let (decided, left) = entries.split_at(MAX_DECISIONS_PER_CALL as usize);
		for entry in decided {
			assert_eq!(entry_status(*entry), EntryStatus::Validated { at: 1 });
			assert!(Tallies::<Test>::contains_key(entry));
		}
		for entry in left {
			System::assert_has_event(refused(*entry, BOB, Error::<Test>::DecisionLimit));
			assert!(matches!(entry_status(*entry), EntryStatus::Pending { .. }));
			let ballot = Ballots::<Test>::get(entry).expect("still open");
			assert_eq!(ballot.votes.len(), 1, "Bob's vote was rolled back");
			assert!(!Tallies::<Test>::contains_key(entry));
		}
		// Paid for the decisions it made and the refused vote, not for its limit.
		let voters = Validators::attest_weight(2).saturating_mul(MAX_DECISIONS_PER_CALL.into());
		assert_eq!(
			post.actual_weight,
			Some(voters.saturating_add(votes_weight(left.len() as u32)))
		);
		// The refused vote, sent again, decides.
		attest_many(BOB, &[(left[0], Verdict::Approve)]);
		assert_eq!(entry_status(left[0]), EntryStatus::Validated { at: 1 });
		assert!(!Ballots::<Test>::contains_key(left[0]));
	});
}

#[test]
fn a_ballot_counts_each_voter_once() {
	let mut ballot = Ballot::<Balance, u64, frame_support::traits::ConstU32<3>>::new(0, 10);
	assert!(ballot.record(2, 10, Verdict::Approve));
	assert!(ballot.record(0, 5, REJECT));
	assert!(!ballot.record(2, 10, REJECT), "a second vote");
	assert!(ballot.record(1, 1, Verdict::Approve));
	assert!(!ballot.record(3, 1, Verdict::Approve), "full");
	assert_eq!(ballot.tally, Tally { approve: 11, reject: 5 });
	assert_eq!(
		ballot.votes.into_inner(),
		vec![(0, REJECT), (1, Verdict::Approve), (2, Verdict::Approve)]
	);
}

#[test]
fn the_migration_moves_open_entries_votes_into_ballots() {
	use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
	run_test(&equal_validators(&[ALICE, BOB, CHARLIE]), || {
		let open = submit_entry();
		let quiet = submit_entry();
		let decided = submit_entry();
		assert_ok!(attest(ALICE, decided, Verdict::Approve));
		assert_ok!(attest(BOB, decided, Verdict::Approve));
		let final_tally = Tallies::<Test>::get(decided).unwrap();
		// Version 0's records of an open entry: one vote each, and the running tally.
		StorageVersion::new(0).put::<Validators>();
		Ballots::<Test>::remove(open);
		Ballots::<Test>::remove(quiet);
		migrations::v1::Votes::<Test>::insert(open, CHARLIE, REJECT);
		migrations::v1::Votes::<Test>::insert(open, ALICE, Verdict::Approve);
		Tallies::<Test>::insert(open, Tally { approve: MIN_BOND, reject: MIN_BOND });

		migrations::MigrateV0ToV1::<Test>::on_runtime_upgrade();

		assert_eq!(Validators::on_chain_storage_version(), 1);
		let ballot = Ballots::<Test>::get(open).expect("the open entry's ballot");
		assert_eq!(ballot.votes.into_inner(), vec![(0, Verdict::Approve), (2, REJECT)]);
		assert_eq!(ballot.tally, Tally { approve: MIN_BOND, reject: MIN_BOND });
		assert!(!Tallies::<Test>::contains_key(open), "the running tally moved");
		assert_eq!(
			Ballots::<Test>::get(quiet),
			Some(Ballot::new(0, 1 + VOTING_PERIOD)),
			"an entry without votes"
		);
		assert_eq!(Tallies::<Test>::get(decided), Some(final_tally), "a final tally stays");
		assert_eq!(migrations::v1::Votes::<Test>::iter().count(), 0);
		// Bob's vote now decides the entry on its migrated ballot.
		assert_ok!(attest(BOB, open, Verdict::Approve));
		assert_eq!(entry_status(open), EntryStatus::Validated { at: 1 });
	});
}

#[test]
fn exactly_two_thirds_validates_and_just_below_does_not() {
	run_test(&equal_validators(&[ALICE, BOB, CHARLIE]), || {
		let entry = submit_entry();
		assert_ok!(attest(ALICE, entry, Verdict::Approve));
		assert!(matches!(entry_status(entry), EntryStatus::Pending { .. }), "1/3 decides nothing");
		assert_ok!(attest(BOB, entry, Verdict::Approve));
		assert_eq!(entry_status(entry), EntryStatus::Validated { at: 1 }, "exactly 2/3 validates");
		System::assert_has_event(
			Event::EntryDecided {
				entry,
				decision: Decision::Validated,
				approve: 2 * MIN_BOND,
				reject: 0,
				total: 3 * MIN_BOND,
			}
			.into(),
		);
	});
	// 2/3 minus one unit of stake does not validate.
	run_test(&[(ALICE, 3_000), (BOB, 2_999), (CHARLIE, 3_000)], || {
		let entry = submit_entry();
		assert_ok!(attest(ALICE, entry, Verdict::Approve));
		assert_ok!(attest(BOB, entry, Verdict::Approve));
		assert!(matches!(entry_status(entry), EntryStatus::Pending { .. }));
	});
}

#[test]
fn rejection_needs_more_than_one_third() {
	run_test(&equal_validators(&[ALICE, BOB, CHARLIE]), || {
		let entry = submit_entry();
		assert_ok!(attest(ALICE, entry, REJECT));
		assert!(
			matches!(entry_status(entry), EntryStatus::Pending { .. }),
			"exactly 1/3 rejects nothing"
		);
		assert_ok!(attest(BOB, entry, REJECT));
		assert_eq!(entry_status(entry), EntryStatus::Rejected { at: 1 });
		// The author's deposit went to the pot; the decision paid the two who rejected the
		// decision reward (10; half the pot would be 50): 5 each.
		assert_eq!(<Balances as Inspect<_>>::total_balance(&AUTHOR), ENDOWMENT - ENTRY_DEPOSIT);
		System::assert_has_event(Event::Rewarded { who: ALICE, entry, amount: 5 }.into());
		System::assert_has_event(Event::Rewarded { who: BOB, entry, amount: 5 }.into());
		assert_eq!(pot(), 1 + 90);
	});
}

#[test]
fn one_validator_decides_alone() {
	run_test(&equal_validators(&[ALICE]), || {
		let entry = submit_entry();
		assert_ok!(attest(ALICE, entry, Verdict::Approve));
		assert_eq!(entry_status(entry), EntryStatus::Validated { at: 1 });
		assert!(!Ballots::<Test>::contains_key(entry), "the ballot is settled");
		let tally = Tallies::<Test>::get(entry).expect("the decided tally is kept");
		assert!(tally.approve > 0);
		assert_eq!(tally.reject, 0);
	});
}

#[test]
fn no_stake_snapshot_means_no_vote() {
	run_test(&equal_validators(&[ALICE]), || {
		SESSION.with(|s| *s.borrow_mut() = 50);
		let entry = submit_entry();
		assert_noop!(attest(ALICE, entry, Verdict::Approve), Error::<Test>::NoStakeSnapshot);
	});
}

#[test]
fn losers_are_slashed_and_winners_share_the_pot_pro_rata() {
	let validators = [(ALICE, 1_000), (BOB, 2_000), (CHARLIE, 3_000), (DAVE, 4_000)];
	run_test(&validators, || {
		let entry = submit_entry();
		// Total 10_000; approval needs 6_667.
		assert_ok!(attest(ALICE, entry, REJECT));
		assert_ok!(attest(BOB, entry, REJECT)); // 3_000 reject: not > 3_333.
		assert_ok!(attest(DAVE, entry, Verdict::Approve));
		assert_ok!(attest(CHARLIE, entry, Verdict::Approve)); // 7_000 approve: validated.
		assert_eq!(entry_status(entry), EntryStatus::Validated { at: 1 });

		// 10% of the losers' bonds: 100 + 200 = 300 into the pot.
		System::assert_has_event(Event::Slashed { who: ALICE, entry, amount: 100 }.into());
		System::assert_has_event(Event::Slashed { who: BOB, entry, amount: 200 }.into());
		assert_eq!(bonded(ALICE), 900);
		assert_eq!(Ledgers::<Test>::get(BOB).unwrap().active, 1_800);
		assert_eq!(TotalBonded::<Test>::get(), 10_000 - 300);
		// The pot got the slashes and the entry's validation fee (10); the decision pays at
		// most DECISION_REWARD (10; half the pot would be 155), shared 3:4 between Charlie and
		// Dave: 10 * 3/7 = 4, 10 * 4/7 = 5; the rest stays in the pot.
		System::assert_has_event(Event::Rewarded { who: CHARLIE, entry, amount: 4 }.into());
		System::assert_has_event(Event::Rewarded { who: DAVE, entry, amount: 5 }.into());
		assert_eq!(Balances::free_balance(CHARLIE), ENDOWMENT - 3_000 + 4);
		assert_eq!(pot(), 1 + 300 + 10 - 9);
	});
}

#[test]
fn unbonding_funds_are_still_slashed() {
	run_test(&equal_validators(&[ALICE, BOB, CHARLIE]), || {
		let entry = submit_entry();
		assert_ok!(Validators::unbond(RuntimeOrigin::signed(CHARLIE), MIN_BOND));
		assert_ok!(attest(CHARLIE, entry, REJECT));
		assert_ok!(attest(ALICE, entry, Verdict::Approve));
		assert_ok!(attest(BOB, entry, Verdict::Approve));
		System::assert_has_event(Event::Slashed { who: CHARLIE, entry, amount: 100 }.into());
		let ledger = Ledgers::<Test>::get(CHARLIE).unwrap();
		assert_eq!(ledger.active, 0);
		assert_eq!(ledger.total(), MIN_BOND - 100);
		run_to_block(1 + UNBONDING);
		assert_ok!(Validators::withdraw_unbonded(RuntimeOrigin::signed(CHARLIE)));
		assert_eq!(Balances::free_balance(CHARLIE), ENDOWMENT - 100);
	});
}

#[test]
fn expired_and_retracted_entries_drop_their_votes_without_slashing() {
	run_test(&equal_validators(&[ALICE, BOB, CHARLIE]), || {
		let expiring = submit_entry();
		let retracted = submit_entry();
		assert_ok!(attest(ALICE, expiring, REJECT));
		assert_ok!(attest(ALICE, retracted, Verdict::Approve));
		assert!(Ballots::<Test>::contains_key(retracted));
		assert_ok!(Kcg::retract(RuntimeOrigin::signed(AUTHOR), retracted));
		assert!(!Ballots::<Test>::contains_key(retracted));
		assert!(Ballots::<Test>::contains_key(expiring));
		run_to_block(1 + VOTING_PERIOD);
		assert_eq!(entry_status(expiring), EntryStatus::Expired);
		assert!(!Ballots::<Test>::contains_key(expiring));
		assert!(Tallies::<Test>::get(expiring).is_none());
		assert_eq!(bonded(ALICE), MIN_BOND);
		// The retraction fee and the expiry slash (the author's, not the voters') went to the
		// pot.
		assert_eq!(
			pot(),
			1 + ENTRY_DEPOSIT / 10 + pallet_kcg::DEFAULT_EXPIRY_SLASH * ENTRY_DEPOSIT
		);
	});
}

#[test]
fn params_are_set_by_root_and_checked() {
	run_test(&[], || {
		let mut new = params();
		new.session_length = 50;
		assert_noop!(
			Validators::set_params(RuntimeOrigin::signed(ALICE), new.clone()),
			DispatchError::BadOrigin
		);
		let mut invalid = new.clone();
		invalid.session_length = 0;
		assert_noop!(
			Validators::set_params(RuntimeOrigin::root(), invalid),
			Error::<Test>::InvalidParams
		);
		assert_ok!(Validators::set_params(RuntimeOrigin::root(), new.clone()));
		System::assert_last_event(Event::ParamsSet { params: new.clone() }.into());
		assert_eq!(Params::<Test>::get(), Some(new));
	});
}

#[test]
fn tally_thresholds_at_the_edges() {
	let tally = |approve: u128, reject: u128| Tally { approve, reject };
	assert_eq!(tally(0, 0).decision(0), None, "no stake, no decision");
	assert_eq!(tally(1, 0).decision(1), Some(Decision::Validated));
	assert_eq!(tally(2, 0).decision(3), Some(Decision::Validated));
	assert_eq!(tally(1, 1).decision(3), None);
	assert_eq!(tally(0, 2).decision(3), Some(Decision::Rejected));
	assert_eq!(tally(666, 0).decision(1000), None);
	assert_eq!(tally(667, 0).decision(1000), Some(Decision::Validated));
	assert_eq!(tally(0, 333).decision(1000), None);
	assert_eq!(tally(0, 334).decision(1000), Some(Decision::Rejected));
	assert_eq!(tally(u128::MAX, 0).decision(u128::MAX), Some(Decision::Validated));
}

fn rewards() -> Vec<(AccountId, Balance)> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::Validators(Event::Rewarded { who, amount, .. }) => Some((who, amount)),
			_ => None,
		})
		.collect()
}

/// Issue 12, finding 4: a validator with over a third of the stake submitted its own entry
/// (from another account), rejected it alone, and took the whole pot. Now a decision pays at
/// most the decision reward — less than the entry's deposit, which the rejection sends to the
/// pot — so the attack loses money, and the pot stays for the work of other entries.
#[test]
fn rejecting_your_own_entry_does_not_take_the_pot() {
	run_test(&[(ALICE, 1_100), (BOB, 1_000), (CHARLIE, 1_000)], || {
		assert_ok!(<Balances as Currency<_>>::transfer(
			&EVE,
			&Validators::pot_account(),
			10_000,
			frame_support::traits::ExistenceRequirement::KeepAlive
		));
		let attacker = |_: ()| {
			<Balances as Inspect<_>>::total_balance(&ALICE)
				+ <Balances as Inspect<_>>::total_balance(&AUTHOR)
		};
		let before = attacker(());
		let entry = submit_entry();
		assert_ok!(attest(ALICE, entry, REJECT));
		assert_eq!(entry_status(entry), EntryStatus::Rejected { at: 1 });
		assert_eq!(rewards(), vec![(ALICE, DECISION_REWARD)]);
		assert_eq!(attacker(()), before - ENTRY_DEPOSIT + DECISION_REWARD);
		assert!(attacker(()) < before, "the attack must cost");
		assert_eq!(pot(), 1 + 10_000 + ENTRY_DEPOSIT - DECISION_REWARD);
	});
}

/// The author of an entry earns nothing for deciding it, and validators who did not vote on an
/// entry earn nothing for it.
#[test]
fn neither_the_author_nor_absent_validators_are_paid_for_a_decision() {
	run_test(&equal_validators(&[ALICE, BOB, CHARLIE, DAVE]), || {
		assert_ok!(<Balances as Currency<_>>::transfer(
			&EVE,
			&Validators::pot_account(),
			10_000,
			frame_support::traits::ExistenceRequirement::KeepAlive
		));
		let id = submit_entry_by(ALICE);
		for who in [ALICE, BOB, CHARLIE] {
			assert_ok!(attest(who, id, Verdict::Approve));
		}
		assert_eq!(entry_status(id), EntryStatus::Validated { at: 1 });
		// Bob and Charlie share the reward; Alice (the author) and Dave (absent) get nothing.
		let mut paid = rewards();
		paid.sort();
		assert_eq!(paid, vec![(BOB, DECISION_REWARD / 2), (CHARLIE, DECISION_REWARD / 2)]);
	});
}

mod arithmetic {
	use super::*;
	use proptest::prelude::*;

	proptest! {
		/// A tally within its session's stake never reaches both decisions: approving two
		/// thirds leaves at most a third to reject.
		#[test]
		fn a_tally_never_reaches_both_decisions(
			total in 1u128..=u128::MAX / 4,
			approve_share in 0u128..=1_000_000,
			reject_share in 0u128..=1_000_000,
		) {
			let approve = total / 1_000_000 * approve_share.min(1_000_000);
			let reject = (total - approve).min(total / 1_000_000 * reject_share);
			let tally = Tally { approve, reject };
			if approve * 3 >= total * 2 {
				prop_assert!(reject * 3 <= total);
				prop_assert_eq!(tally.decision(total), Some(Decision::Validated));
			}
			if reject * 3 > total {
				prop_assert!(approve * 3 < total * 2);
				prop_assert_eq!(tally.decision(total), Some(Decision::Rejected));
			}
		}

		/// Any set of votes on an entry: at most one decision; what the decision pays is at
		/// most the decision reward and half the pot; no funds are created or lost (issuance
		/// is constant), the pot keeps its existential deposit and the rounding dust, and the
		/// ledgers still match the holds.
		#[test]
		fn decisions_pay_out_no_more_than_came_in(
			stakes in proptest::collection::vec(1_000u128..=20_000, 2..=MAX_VALIDATORS as usize),
			verdicts in proptest::collection::vec(any::<bool>(), MAX_VALIDATORS as usize),
			pot_funds in 0u128..=50_000,
		) {
			let accounts = [ALICE, BOB, CHARLIE, DAVE, EVE];
			let validators: Vec<(AccountId, Balance)> =
				accounts.iter().copied().zip(stakes.iter().copied()).collect();
			run_test(&validators, || {
				if pot_funds > 0 {
					<Balances as frame_support::traits::fungible::Mutate<_>>::set_balance(
						&Validators::pot_account(),
						1 + pot_funds,
					);
				}
				let issuance = <Balances as Inspect<_>>::total_issuance();
				let pot_before = pot();
				let entry = submit_entry();
				for ((who, _), approves) in validators.iter().zip(&verdicts) {
					let verdict = if *approves { Verdict::Approve } else { REJECT };
					if matches!(entry_status(entry), EntryStatus::Pending { .. }) {
						assert_ok!(attest(*who, entry, verdict));
					} else {
						assert!(attest(*who, entry, verdict).is_err());
					}
				}
				let decided = System::events()
					.iter()
					.filter(|r| matches!(r.event, RuntimeEvent::Validators(Event::EntryDecided { .. })))
					.count();
				assert!(decided <= 1);
				let paid: Balance = rewards().iter().map(|(_, a)| *a).sum();
				assert!(paid <= DECISION_REWARD);
				let slashed: Balance = System::events()
					.iter()
					.filter_map(|r| match r.event {
						RuntimeEvent::Validators(Event::Slashed { amount, .. }) => Some(amount),
						_ => None,
					})
					.sum();
				let deposit_in = match entry_status(entry) {
					EntryStatus::Rejected { .. } => ENTRY_DEPOSIT,
					EntryStatus::Validated { .. } => ValidationFee::get() * ENTRY_DEPOSIT,
					_ => 0,
				};
				// What the pot held above its ED plus what came in, at most half of it paid.
				assert!(paid * 2 <= pot_before - 1 + slashed + deposit_in);
				assert_eq!(pot(), pot_before + slashed + deposit_in - paid);
				assert!(pot() >= 1);
				assert_eq!(<Balances as Inspect<_>>::total_issuance(), issuance);
				Validators::do_try_state().unwrap();
			});
		}
	}
}

fn offence(offenders: &[AccountId], session: SessionIndex) {
	use sp_staking::offence::{OffenceDetails, OnOffenceHandler};
	let details: Vec<OffenceDetails<AccountId, (AccountId, ())>> = offenders
		.iter()
		.map(|who| OffenceDetails { offender: (*who, ()), reporters: vec![] })
		.collect();
	// The seat-counting fraction pallet-offences passes is ignored: stake decides.
	let _ = <Validators as OnOffenceHandler<_, _, _>>::on_offence(
		&details,
		&vec![Perbill::one(); details.len()],
		session,
	);
}

/// An equivocation costs the share of the stake that equivocated, `min(1, (3·s/S)²)`: a lone
/// validator with over a third of the stake loses its whole bond however many cheap seats pad
/// the set, a cheap seat loses little, and a later report of more offenders in the same slot
/// only adds the difference.
#[test]
fn equivocations_are_slashed_by_the_stake_that_equivocated() {
	run_test(&[(ALICE, 4_000), (BOB, 1_000), (CHARLIE, 1_000), (DAVE, 4_000)], || {
		// Bob holds a tenth: (3/10)² = 9% of his bond.
		offence(&[BOB], 0);
		assert_eq!(Ledgers::<Test>::get(BOB).unwrap().active, 1_000 - 90);
		assert!(!Candidates::<Test>::contains_key(BOB), "chilled");
		// Reported again with Charlie (same slot): together a fifth, (3/5)² = 36%; Bob loses
		// what 36% adds to his 9%, Charlie 36%.
		offence(&[BOB, CHARLIE], 0);
		assert_eq!(Ledgers::<Test>::get(BOB).unwrap().active, 1_000 - 360);
		assert_eq!(Ledgers::<Test>::get(CHARLIE).unwrap().active, 1_000 - 360);
		// The same report once more takes nothing.
		offence(&[BOB, CHARLIE], 0);
		assert_eq!(Ledgers::<Test>::get(BOB).unwrap().active, 640);
		// Alice holds four tenths: everything.
		offence(&[ALICE], 0);
		assert!(Ledgers::<Test>::get(ALICE).is_none());
		System::assert_has_event(
			Event::OffenceSlashed {
				who: ALICE,
				session: 0,
				fraction: Perbill::one(),
				amount: 4_000,
			}
			.into(),
		);
	});
}

/// A report that lands after the session's stake snapshot (and its slash records) were dropped
/// is ignored: it must not slash a second time from zero.
#[test]
fn offences_older_than_the_stake_history_are_ignored() {
	run_test(&[(ALICE, 1_000), (BOB, 1_000), (CHARLIE, 1_000)], || {
		offence(&[ALICE], 0);
		assert!(Ledgers::<Test>::get(ALICE).is_none());
		for session in 1..=SESSION_HISTORY + 1 {
			rotate_to_session(session);
		}
		assert_eq!(SessionTotalStake::<Test>::get(0), 0, "session 0 forgotten");
		let bonded = TotalBonded::<Test>::get();
		offence(&[BOB], 0);
		assert_eq!(TotalBonded::<Test>::get(), bonded);
		assert_eq!(Ledgers::<Test>::get(BOB).unwrap().active, 1_000);
	});
}
