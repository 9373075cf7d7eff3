//! Unit tests of every call's success and every refusal.

use frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold};
use membria_primitives::{question_key, Decision, Relation};
use sp_core::H256;
use sp_runtime::{DispatchError, Perbill, TokenError};

use crate::{mock::*, *};

fn cid(seed: u8) -> Vec<u8> {
	let mut cid = vec![0x01, 0x55, 0x12, 0x20];
	cid.extend([seed; 32]);
	cid
}

fn submit(who: AccountId, question: &str, seed: u8) -> EntryId {
	submit_linked(who, question, seed, Vec::new())
}

fn held(who: AccountId, reason: HoldReason) -> Balance {
	Balances::balance_on_hold(&RuntimeHoldReason::Kcg(reason), &who)
}

fn status(id: EntryId) -> EntryStatus<u64> {
	Entries::<Test>::get(id).expect("entry exists").status
}

fn closed() -> Vec<(EntryId, Closure)> {
	CLOSED.with(|c| c.borrow().clone())
}

#[test]
fn submit_entry_stores_a_pending_entry_and_holds_the_deposit() {
	run_test(|| {
		SESSION.with(|s| *s.borrow_mut() = 7);
		let key = question_key("What is Rust?");
		assert_ok!(Kcg::submit_entry(
			RuntimeOrigin::signed(ALICE),
			key,
			cid(1),
			H256::repeat_byte(1),
			512,
			Default::default(),
			Some(9)
		));
		let entry = Entries::<Test>::get(0).unwrap();
		assert_eq!(entry.author, ALICE);
		assert_eq!(entry.question_key, key);
		assert_eq!(entry.cid.to_vec(), cid(1));
		assert_eq!(entry.size, 512);
		assert_eq!(entry.gap, Some(9));
		assert_eq!(entry.session, 7);
		assert_eq!(entry.status, EntryStatus::Pending { deadline: 1 + VOTING_PERIOD });
		assert_eq!(held(ALICE, HoldReason::EntryDeposit), ENTRY_DEPOSIT);
		assert_eq!(NextEntryId::<Test>::get(), 1);
		assert_eq!(Deadlines::<Test>::get(1 + VOTING_PERIOD).to_vec(), vec![0]);
		System::assert_last_event(
			Event::EntrySubmitted {
				entry: 0,
				author: ALICE,
				question_key: key,
				cid: cid(1).try_into().unwrap(),
				content_hash: H256::repeat_byte(1),
				size: 512,
				gap: Some(9),
				links: Default::default(),
				session: 7,
				deadline: 1 + VOTING_PERIOD,
				deposit: ENTRY_DEPOSIT,
			}
			.into(),
		);
	});
}

#[test]
fn submit_entry_for_a_gap_needs_its_claim() {
	run_test(|| {
		let submit = |who, gap| {
			Kcg::submit_entry(
				RuntimeOrigin::signed(who),
				[0; 32],
				cid(1),
				H256::repeat_byte(1),
				10,
				Default::default(),
				Some(gap),
			)
		};
		assert_noop!(submit(BOB, 3), Error::<Test>::NotGapClaimant);
		assert_noop!(submit(ALICE, 42), Error::<Test>::UnknownGap);
		assert_ok!(submit(ALICE, 3));
	});
}

#[test]
fn submit_entry_accepts_a_cidv0() {
	run_test(|| {
		let mut v0 = vec![0x12, 0x20];
		v0.extend([3u8; 32]);
		assert_ok!(Kcg::submit_entry(
			RuntimeOrigin::signed(ALICE),
			[0; 32],
			v0,
			H256::zero(),
			1,
			Default::default(),
			None
		));
	});
}

#[test]
fn submit_entry_refuses_bad_input() {
	run_test(|| {
		let submit_with = |who, cid: Vec<u8>, size| {
			Kcg::submit_entry(
				RuntimeOrigin::signed(who),
				[0; 32],
				cid,
				H256::zero(),
				size,
				Default::default(),
				None,
			)
		};
		assert_noop!(
			submit_with(ALICE, b"QmTextIsNotBinary".to_vec(), 10),
			Error::<Test>::InvalidCid
		);
		assert_noop!(submit_with(ALICE, vec![], 10), Error::<Test>::InvalidCid);
		let mut sha512 = vec![0x01, 0x55, 0x13, 0x40];
		sha512.extend([0u8; 64]);
		assert_noop!(submit_with(ALICE, sha512, 10), Error::<Test>::CidTooLong);
		assert_noop!(submit_with(ALICE, vec![0x01; 65], 10), Error::<Test>::CidTooLong);
		assert_noop!(submit_with(ALICE, cid(1), 0), Error::<Test>::EmptyBody);
		assert_noop!(submit_with(ALICE, cid(1), MAX_BODY_SIZE + 1), Error::<Test>::BodyTooLarge);
		assert_ok!(submit_with(ALICE, cid(1), MAX_BODY_SIZE));
		assert_noop!(submit_with(POOR, cid(1), 10), TokenError::FundsUnavailable);
		assert_noop!(
			Kcg::submit_entry(
				RuntimeOrigin::none(),
				[0; 32],
				cid(1),
				H256::zero(),
				1,
				Default::default(),
				None
			),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn submissions_per_deadline_block_are_bounded() {
	run_test(|| {
		let capacity = MAX_ENTRIES_PER_BLOCK * (DEADLINE_SPILL + 1);
		for seed in 0..capacity as u8 {
			submit(ALICE, "q", seed);
		}
		// A full deadline block spills into the next ones.
		let deadline = |id: u64| match Entries::<Test>::get(id).unwrap().status {
			EntryStatus::Pending { deadline } => deadline,
			other => panic!("{other:?}"),
		};
		let first = deadline(0);
		assert_eq!(deadline(u64::from(MAX_ENTRIES_PER_BLOCK) - 1), first);
		assert_eq!(deadline(u64::from(MAX_ENTRIES_PER_BLOCK)), first + 1);
		assert_eq!(deadline(u64::from(capacity) - 1), first + u64::from(DEADLINE_SPILL));
		assert_eq!(Deadlines::<Test>::get(first + 1).len(), MAX_ENTRIES_PER_BLOCK as usize);
		assert_noop!(
			Kcg::submit_entry(
				RuntimeOrigin::signed(BOB),
				[0; 32],
				cid(9),
				H256::zero(),
				1,
				Default::default(),
				None
			),
			Error::<Test>::TooManyEntriesThisBlock
		);
		// The next block has room again.
		run_to_block(2);
		submit(BOB, "q", 9);
	});
}

#[test]
fn validation_makes_the_answer_and_returns_the_deposit() {
	run_test(|| {
		let id = submit(ALICE, "What is Rust?", 1);
		assert_eq!(Kcg::open_for_votes(id).map(|(session, _)| session), Ok(0));
		run_to_block(5);
		assert_ok!(Kcg::decide(id, Decision::Validated));
		assert_eq!(status(id), EntryStatus::Validated { at: 5 });
		assert_eq!(Answer::<Test>::get(question_key("what is rust")), Some(id));
		assert_eq!(held(ALICE, HoldReason::EntryDeposit), 0);
		assert_eq!(
			Balances::free_balance(ALICE),
			ENDOWMENT - ENTRY_DEPOSIT / 10,
			"the validation fee"
		);
		assert_eq!(closed(), vec![(id, Closure::Decided(Decision::Validated))]);
		assert!(Deadlines::<Test>::get(1 + VOTING_PERIOD).is_empty());
		System::assert_last_event(
			Event::EntryValidated {
				entry: id,
				question_key: question_key("What is Rust?"),
				superseded: None,
				deposit_returned: ENTRY_DEPOSIT - ENTRY_DEPOSIT / 10,
			}
			.into(),
		);
		assert_eq!(Kcg::open_for_votes(id), Err(VoteRefusal::AlreadyClosed));
		assert_noop!(Kcg::decide(id, Decision::Rejected), Error::<Test>::NotPending);
	});
}

#[test]
fn a_newer_validated_entry_supersedes_the_answer() {
	run_test(|| {
		let old = submit(ALICE, "What is Rust?", 1);
		let new = submit(BOB, "what is rust", 2);
		assert_ok!(Kcg::decide(old, Decision::Validated));
		run_to_block(3);
		assert_ok!(Kcg::decide(new, Decision::Validated));
		assert_eq!(Answer::<Test>::get(question_key("What is Rust?")), Some(new));
		assert_eq!(status(old), EntryStatus::Superseded { by: new });
		System::assert_has_event(
			Event::EntryValidated {
				entry: new,
				question_key: question_key("What is Rust?"),
				superseded: Some(old),
				deposit_returned: ENTRY_DEPOSIT - ENTRY_DEPOSIT / 10,
			}
			.into(),
		);
		let page = Kcg::validated_since(0, None, 10);
		assert_eq!(page.entries, vec![(old, 1), (new, 3)]);
	});
}

#[test]
fn rejection_slashes_the_deposit_to_the_pot() {
	run_test(|| {
		let id = submit(ALICE, "q", 1);
		assert_ok!(Kcg::decide(id, Decision::Rejected));
		assert_eq!(status(id), EntryStatus::Rejected { at: 1 });
		assert_eq!(Balances::total_balance(&ALICE), ENDOWMENT - ENTRY_DEPOSIT);
		assert_eq!(SLASHED.with(|s| *s.borrow()), ENTRY_DEPOSIT);
		assert_eq!(Answer::<Test>::get(question_key("q")), None);
		System::assert_last_event(
			Event::EntryRejected { entry: id, deposit_slashed: ENTRY_DEPOSIT }.into(),
		);
	});
}

#[test]
fn undecided_entries_expire_at_their_deadline_and_cost_their_author_the_expiry_slash() {
	run_test(|| {
		let id = submit(ALICE, "q", 1);
		run_to_block(VOTING_PERIOD);
		assert_eq!(Kcg::open_for_votes(id).map(|(session, _)| session), Ok(0));
		run_to_block(1 + VOTING_PERIOD);
		assert_eq!(status(id), EntryStatus::Expired);
		// An entry nobody could judge (its body never became available) is not free: the
		// default expiry slash (a quarter) of its deposit goes where rejected deposits go.
		let slashed = DEFAULT_EXPIRY_SLASH * ENTRY_DEPOSIT;
		assert_eq!(slashed, ENTRY_DEPOSIT / 4);
		assert_eq!(held(ALICE, HoldReason::EntryDeposit), 0);
		assert_eq!(Balances::free_balance(ALICE), ENDOWMENT - slashed);
		assert_eq!(SLASHED.with(|s| *s.borrow()), slashed);
		assert_eq!(closed(), vec![(id, Closure::Expired)]);
		assert_eq!(Kcg::open_for_votes(id), Err(VoteRefusal::AlreadyClosed));
		assert_noop!(Kcg::decide(id, Decision::Validated), Error::<Test>::NotPending);
		System::assert_last_event(
			Event::EntryExpired {
				entry: id,
				deposit_returned: ENTRY_DEPOSIT - slashed,
				deposit_slashed: slashed,
			}
			.into(),
		);
	});
}

#[test]
fn closing_an_entry_charges_what_its_listeners_may_weigh() {
	use crate::weights::WeightInfo;
	use frame_support::{dispatch::GetDispatchInfo, traits::Hooks};
	run_test(|| {
		// Two entries expire in one block: the hook charges its own work and, for each, the
		// worst its listeners may take for an expiry (votes dropped, a claimant agent slashed).
		let first = submit(ALICE, "q1", 1);
		submit(ALICE, "q2", 2);
		let deadline = 1 + VOTING_PERIOD;
		let charged = Kcg::on_initialize(deadline);
		assert_eq!(closed().len(), 2);
		assert_eq!(charged, <() as WeightInfo>::on_initialize_expire(2) + LISTENER_WEIGHT * 2);
		assert_eq!(status(first), EntryStatus::Expired);
		// A retraction tells the listeners too, and says so in its weight.
		let call = crate::Call::<Test>::retract { entry: 0 };
		assert_eq!(
			call.get_dispatch_info().call_weight,
			<() as WeightInfo>::retract() + LISTENER_WEIGHT
		);
		// So does the decision the validators pallet records, at its dearer outcome (a validation
		// also writes the entry's links as edges, `MaxEntryLinks` at most).
		assert_eq!(
			<Kcg as EntryVoting>::decide_weight(),
			DECIDED_LISTENER_WEIGHT + <() as WeightInfo>::write_edges(8)
		);
	});
}

#[test]
fn the_expiry_slash_set_by_root_is_what_an_expiry_takes() {
	run_test(|| {
		let id = submit(ALICE, "q", 1);
		assert_ok!(Kcg::set_expiry_slash(RuntimeOrigin::root(), Perbill::from_percent(50)));
		System::assert_last_event(
			Event::ExpirySlashSet { share: Perbill::from_percent(50) }.into(),
		);
		run_to_block(1 + VOTING_PERIOD);
		assert_eq!(Balances::free_balance(ALICE), ENDOWMENT - ENTRY_DEPOSIT / 2);
		assert_eq!(SLASHED.with(|s| *s.borrow()), ENTRY_DEPOSIT / 2);
		System::assert_last_event(
			Event::EntryExpired {
				entry: id,
				deposit_returned: ENTRY_DEPOSIT / 2,
				deposit_slashed: ENTRY_DEPOSIT / 2,
			}
			.into(),
		);
	});
}

#[test]
fn the_expiry_slash_is_set_by_root_only_and_never_below_the_retraction_fee() {
	run_test(|| {
		assert_eq!(ExpirySlash::<Test>::get(), DEFAULT_EXPIRY_SLASH);
		assert_noop!(
			Kcg::set_expiry_slash(RuntimeOrigin::signed(ALICE), Perbill::from_percent(30)),
			DispatchError::BadOrigin
		);
		// Below the retraction fee, letting an unfetchable entry expire would be cheaper than
		// withdrawing it.
		assert_noop!(
			Kcg::set_expiry_slash(RuntimeOrigin::root(), Perbill::from_percent(9)),
			Error::<Test>::ExpirySlashBelowRetractFee
		);
		assert_ok!(Kcg::set_expiry_slash(RuntimeOrigin::root(), RetractFee::get()));
		assert_ok!(Kcg::set_expiry_slash(RuntimeOrigin::root(), Perbill::from_percent(100)));
		assert_eq!(ExpirySlash::<Test>::get(), Perbill::from_percent(100));
	});
}

#[test]
fn open_entries_are_listed_by_id_and_read_one_at_a_time() {
	run_test(|| {
		let first = submit(ALICE, "q1", 1);
		run_to_block(2);
		let second = submit(ALICE, "q2", 2);
		let third = submit(BOB, "q3", 3);
		assert_ok!(Kcg::decide(second, Decision::Rejected));
		assert_eq!(Kcg::open_entry_ids(), vec![first, third]);
		let open = Kcg::open_entry(third).expect("third is open");
		assert_eq!(
			(open.entry, open.cid, open.size, open.deadline),
			(third, cid(3), 1_000, 2 + VOTING_PERIOD)
		);
		assert_eq!(Kcg::open_entry(second), None);
		// At its deadline block an entry is no longer open, even before the hook expires it.
		System::set_block_number(1 + VOTING_PERIOD);
		assert_eq!(Kcg::open_entry_ids(), vec![third]);
		assert_eq!(Kcg::open_entry(first), None);
	});
}

#[test]
fn deciding_after_the_deadline_is_refused() {
	run_test(|| {
		let id = submit(ALICE, "q", 1);
		// The deadline block has come but its on_initialize has not run (as inside a block's
		// own hooks): the vote is closed all the same.
		System::set_block_number(1 + VOTING_PERIOD);
		assert_eq!(Kcg::open_for_votes(id), Err(VoteRefusal::VotingClosed));
		assert_noop!(Kcg::decide(id, Decision::Validated), Error::<Test>::VotingClosed);
		assert_noop!(Kcg::decide(99, Decision::Validated), Error::<Test>::UnknownEntry);
		assert_eq!(Kcg::open_for_votes(99), Err(VoteRefusal::UnknownEntry));
		run_to_block(2 + VOTING_PERIOD);
	});
}

#[test]
fn retract_by_the_author_returns_the_deposit_minus_the_fee() {
	run_test(|| {
		let id = submit(ALICE, "q", 1);
		assert_noop!(Kcg::retract(RuntimeOrigin::signed(BOB), id), Error::<Test>::NotAuthor);
		assert_noop!(Kcg::retract(RuntimeOrigin::signed(ALICE), 42), Error::<Test>::UnknownEntry);
		assert_ok!(Kcg::retract(RuntimeOrigin::signed(ALICE), id));
		assert_eq!(status(id), EntryStatus::Retracted);
		let fee = ENTRY_DEPOSIT / 10;
		assert_eq!(Balances::free_balance(ALICE), ENDOWMENT - fee);
		assert_eq!(SLASHED.with(|s| *s.borrow()), fee);
		assert_eq!(closed(), vec![(id, Closure::Retracted)]);
		assert!(Deadlines::<Test>::get(1 + VOTING_PERIOD).is_empty());
		System::assert_last_event(
			Event::EntryRetracted { entry: id, deposit_returned: ENTRY_DEPOSIT - fee, fee }.into(),
		);
		assert_noop!(Kcg::retract(RuntimeOrigin::signed(ALICE), id), Error::<Test>::NotPending);
		// A retracted entry does not expire again.
		run_to_block(2 + VOTING_PERIOD);
		assert_eq!(status(id), EntryStatus::Retracted);
	});
}

fn submit_linked(
	who: AccountId,
	question: &str,
	seed: u8,
	links: Vec<(EntryId, Relation)>,
) -> EntryId {
	let id = NextEntryId::<Test>::get();
	assert_ok!(Kcg::submit_entry(
		RuntimeOrigin::signed(who),
		question_key(question),
		cid(seed),
		H256::repeat_byte(seed),
		1_000,
		links.try_into().expect("at most MaxEntryLinks"),
		None
	));
	id
}

#[test]
fn links_are_proposed_with_the_entry_paid_for_and_become_edges_when_it_is_validated() {
	run_test(|| {
		let unix = submit(BOB, "What is Unix?", 1);
		let c = submit(BOB, "What is C?", 2);
		assert_ok!(Kcg::decide(unix, Decision::Validated));
		assert_ok!(Kcg::decide(c, Decision::Validated));
		let held_before = held(ALICE, HoldReason::EntryDeposit);
		let links = vec![(unix, Relation::Related), (c, Relation::Related)];
		let linux = submit_linked(ALICE, "What is Linux?", 3, links.clone());
		let record = Entries::<Test>::get(linux).unwrap();
		assert_eq!(record.links.to_vec(), links);
		// Each link adds its deposit to the entry's.
		assert_eq!(record.deposit, ENTRY_DEPOSIT + 2 * LINK_DEPOSIT);
		assert_eq!(held(ALICE, HoldReason::EntryDeposit), held_before + record.deposit);
		// Pending: no edge yet.
		assert_eq!(Links::<Test>::iter_prefix(linux).count(), 0);
		assert_ok!(Kcg::decide(linux, Decision::Validated));
		assert_eq!(Links::<Test>::get(linux, unix), Some(Relation::Related));
		assert_eq!(Links::<Test>::get(linux, c), Some(Relation::Related));
		assert_eq!(LinkCount::<Test>::get(linux), 2);
		System::assert_has_event(
			Event::Linked { from: linux, to: unix, relation: Relation::Related }.into(),
		);
		assert_eq!(held(ALICE, HoldReason::EntryDeposit), held_before);
		assert_ok!(Kcg::do_try_state());
	});
}

#[test]
fn a_rejected_entry_leaves_no_edge_and_pays_for_its_links() {
	run_test(|| {
		let unix = submit(BOB, "What is Unix?", 1);
		assert_ok!(Kcg::decide(unix, Decision::Validated));
		let free = Balances::free_balance(ALICE);
		let linux = submit_linked(ALICE, "What is Linux?", 3, vec![(unix, Relation::Refines)]);
		assert_ok!(Kcg::decide(linux, Decision::Rejected));
		assert_eq!(Links::<Test>::iter_prefix(linux).count(), 0);
		assert_eq!(LinkCount::<Test>::get(linux), 0);
		assert_eq!(Balances::free_balance(ALICE), free - ENTRY_DEPOSIT - LINK_DEPOSIT);
		assert_ok!(Kcg::do_try_state());
	});
}

#[test]
fn links_name_distinct_validated_entries() {
	run_test(|| {
		let validated = submit(BOB, "What is Unix?", 1);
		assert_ok!(Kcg::decide(validated, Decision::Validated));
		let pending = submit(BOB, "What is C?", 2);
		let rejected = submit(BOB, "What is B?", 4);
		assert_ok!(Kcg::decide(rejected, Decision::Rejected));
		let with = |links: Vec<(EntryId, Relation)>| {
			Kcg::submit_entry(
				RuntimeOrigin::signed(ALICE),
				question_key("What is Linux?"),
				cid(3),
				H256::repeat_byte(3),
				1_000,
				links.try_into().unwrap(),
				None,
			)
		};
		assert_noop!(with(vec![(77, Relation::Related)]), Error::<Test>::UnknownLinkTarget);
		assert_noop!(
			with(vec![(pending, Relation::Related)]),
			Error::<Test>::LinkTargetNotValidated
		);
		assert_noop!(
			with(vec![(rejected, Relation::Supports)]),
			Error::<Test>::LinkTargetNotValidated
		);
		assert_noop!(
			with(vec![(validated, Relation::Related), (validated, Relation::Refines)]),
			Error::<Test>::DuplicateLink
		);
		// A link cannot name the entry itself: its id is not validated (it does not exist yet).
		let next = NextEntryId::<Test>::get();
		assert_noop!(with(vec![(next, Relation::Related)]), Error::<Test>::UnknownLinkTarget);
		// More than `MaxEntryLinks` links do not even decode.
		let nine: Vec<(EntryId, Relation)> = (0..9).map(|i| (i, Relation::Related)).collect();
		assert!(EntryLinks::try_from(nine).is_err());
		assert_ok!(with(vec![(validated, Relation::Related)]));
	});
}

#[test]
fn try_state_catches_an_edge_that_is_not_the_entry_link() {
	run_test(|| {
		let unix = submit(BOB, "What is Unix?", 1);
		assert_ok!(Kcg::decide(unix, Decision::Validated));
		let linux = submit_linked(ALICE, "What is Linux?", 3, vec![(unix, Relation::Related)]);
		assert_ok!(Kcg::decide(linux, Decision::Validated));
		assert_ok!(Kcg::do_try_state());
		Links::<Test>::insert(linux, unix, Relation::Contradicts);
		assert!(Kcg::do_try_state().is_err());
		Links::<Test>::insert(linux, unix, Relation::Related);
		LinkCount::<Test>::insert(unix, 1);
		assert!(Kcg::do_try_state().is_err(), "edges from an entry without links");
		LinkCount::<Test>::remove(unix);
	});
}

#[test]
fn validated_since_pages_through_the_log() {
	run_test(|| {
		let mut expected = vec![];
		for block in 1..=6u64 {
			run_to_block(block);
			let id = submit(ALICE, &format!("question {block}"), block as u8);
			assert_ok!(Kcg::decide(id, Decision::Validated));
			expected.push((id, block));
		}
		assert_eq!(Kcg::validated_since(4, None, 100).entries, expected[3..].to_vec());
		assert_eq!(Kcg::validated_since(7, None, 100).entries, vec![]);

		let first = Kcg::validated_since(2, None, 2);
		assert_eq!(first.entries, expected[1..3].to_vec());
		let second = Kcg::validated_since(2, first.next_cursor, 2);
		assert_eq!(second.entries, expected[3..5].to_vec());
		let last = Kcg::validated_since(2, second.next_cursor, 2);
		assert_eq!(last.entries, expected[5..].to_vec());
		assert_eq!(last.next_cursor, None);
		// A zero limit is the largest page, never an empty page that goes nowhere.
		assert_eq!(Kcg::validated_since(2, None, 0).entries, expected[1..].to_vec());
		// A cursor before `since` does not go back before it.
		assert_eq!(Kcg::validated_since(5, Some(0), 100).entries, expected[4..].to_vec());
	});
}

#[test]
fn voting_period_is_set_by_root_only() {
	run_test(|| {
		assert_noop!(
			Kcg::set_voting_period(RuntimeOrigin::signed(ALICE), 5),
			DispatchError::BadOrigin
		);
		assert_noop!(
			Kcg::set_voting_period(RuntimeOrigin::root(), 0),
			Error::<Test>::ZeroVotingPeriod
		);
		assert_ok!(Kcg::set_voting_period(RuntimeOrigin::root(), 5));
		System::assert_last_event(Event::VotingPeriodSet { blocks: 5 }.into());
		let id = submit(ALICE, "q", 1);
		assert_eq!(status(id), EntryStatus::Pending { deadline: 6 });
	});
}

#[test]
fn try_state_catches_a_dangling_answer() {
	new_test_ext().execute_with(|| {
		Answer::<Test>::insert([1u8; 32], 5);
		assert!(Kcg::do_try_state().is_err());
	});
}

/// A chain whose entries were stored by version 0 (no links) reads them after the migration,
/// each with no links; the storage version is then 1, and the migration does nothing again.
#[test]
fn version_0_entries_are_migrated_with_no_links() {
	use codec::Encode;
	use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
	run_test(|| {
		let id = submit(ALICE, "What is Rust?", 1);
		let record = Entries::<Test>::get(id).unwrap();
		let old = crate::migrations::v1::EntryV0 {
			question_key: record.question_key,
			content_hash: record.content_hash,
			cid: record.cid.clone(),
			size: record.size,
			author: record.author,
			gap: record.gap,
			status: record.status,
			submitted_at: record.submitted_at,
			session: record.session,
			deposit: record.deposit,
		};
		let key = Entries::<Test>::hashed_key_for(id);
		frame_support::storage::unhashed::put_raw(&key, &old.encode());
		StorageVersion::new(0).put::<Kcg>();
		assert!(
			Entries::<Test>::try_get(id).is_err(),
			"version 0 bytes do not decode as version 1"
		);
		crate::migrations::MigrateV0ToV1::<Test>::on_runtime_upgrade();
		assert_eq!(Entries::<Test>::get(id), Some(record));
		assert_eq!(Kcg::on_chain_storage_version(), StorageVersion::new(1));
		// Again: a no-op.
		crate::migrations::MigrateV0ToV1::<Test>::on_runtime_upgrade();
		assert_eq!(Entries::<Test>::get(id).map(|e| e.links.len()), Some(0));
	});
}
