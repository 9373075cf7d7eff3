// polkadot.js against `membria-node --dev --sealing instant`: the Knowledge Cache Graph and the
// validators, as a user drives them — submit an entry, attest it, read it back Validated; then
// //Dave bonds, sets session keys, validates, and enters the validator set at a session change,
// where GRANDPA's voters weigh their stake.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, blake2AsHex } from '@polkadot/util-crypto';
import { u8aToHex, hexToU8a, stringToU8a } from '@polkadot/util';
import { startDevNode, signAndFinalize } from './lib/node.js';

let node;
let carbonEntry;
let alice;
let dave;
before(async () => {
  await cryptoWaitReady();
  node = await startDevNode(['--sealing', 'instant']);
  const keyring = new Keyring({ type: 'sr25519' });
  alice = keyring.addFromUri('//Alice');
  dave = keyring.addFromUri('//Dave');
});
after(async () => node && node.stop());

/** CIDv1 (raw leaves, sha2-256) of a body of at most one 256 KiB chunk: the raw block's CID. */
function rawCid(bytes) {
  const digest = createHash('sha256').update(bytes).digest();
  return u8aToHex(new Uint8Array([0x01, 0x55, 0x12, 0x20, ...digest]));
}

const eventsOf = (events, section) => events
  .filter(({ event }) => event.section === section)
  .map(({ event }) => event);

test('an entry submitted and attested by //Alice is Validated and becomes the answer', async () => {
  const { api } = node;
  const question = 'What is the atomic number of Carbon?';
  const key = (await api.call.kcgApi.questionKey(question)).unwrap();
  const paraphraseKey = (await api.call.kcgApi.questionKey('  what is the atomic number of carbon ')).unwrap();
  assert.equal(key.toHex(), paraphraseKey.toHex(), 'the chain normalizes questions');

  const body = stringToU8a(JSON.stringify({ v: 1, question, answer: 'Carbon has atomic number 6.' }));
  const cid = rawCid(body);
  const contentHash = blake2AsHex(body, 256);

  const submitted = await signAndFinalize(
    api.tx.kcg.submitEntry(key, cid, contentHash, body.length, [], null), alice);
  const [submittedEvent] = eventsOf(submitted.events, 'kcg').filter((e) => e.method === 'EntrySubmitted');
  assert.ok(submittedEvent, 'no Kcg.EntrySubmitted event');
  const entryId = submittedEvent.data.entry.toNumber();
  assert.equal(submittedEvent.data.author.toString(), alice.address);

  const pending = (await api.query.kcg.entries(entryId)).unwrap();
  assert.ok(pending.status.isPending, `status ${pending.status.type}`);
  assert.equal(pending.cid.toHex(), cid);
  assert.equal(pending.contentHash.toHex(), contentHash);

  const attested = await signAndFinalize(api.tx.validators.attest(entryId, 'Approve'), alice);
  const validatorEvents = eventsOf(attested.events, 'validators');
  const methods = validatorEvents.map((e) => e.method).filter((m) => m !== 'PotDeposited');
  assert.deepEqual(methods.slice(0, 2), ['Attested', 'EntryDecided']);
  // A validated entry pays a tenth of its deposit to the validators' pot: the validation fee.
  const fee = validatorEvents.find((e) => e.method === 'PotDeposited');
  assert.ok(fee, 'no validation fee paid to the pot');
  assert.equal(fee.data.amount.toBigInt() * 10n, pending.deposit.toBigInt());
  const decided = validatorEvents.find((e) => e.method === 'EntryDecided');
  assert.equal(decided.data.decision.toString(), 'Validated');
  assert.equal(decided.data.approve.toBigInt(), decided.data.total.toBigInt());
  const validated = eventsOf(attested.events, 'kcg').find((e) => e.method === 'EntryValidated');
  assert.ok(validated, 'no Kcg.EntryValidated event');
  assert.equal(validated.data.entry.toNumber(), entryId);

  const entry = (await api.query.kcg.entries(entryId)).unwrap();
  assert.ok(entry.status.isValidated, `status ${entry.status.type}`);
  assert.equal((await api.query.kcg.answer(key)).unwrap().toNumber(), entryId);
  const viaApi = (await api.call.kcgApi.answer(key)).unwrap();
  assert.equal(viaApi[0].toNumber(), entryId);
  carbonEntry = entryId;
});

test('one attestMany votes on several entries; a refused vote is reported and the rest stand', async () => {
  const { api } = node;
  const ids = [];
  for (const element of ['Neon', 'Argon']) {
    const question = `Is ${element} a noble gas?`;
    const key = (await api.call.kcgApi.questionKey(question)).unwrap();
    const body = stringToU8a(JSON.stringify({ v: 1, question, answer: `Yes, ${element} is a noble gas.` }));
    const submitted = await signAndFinalize(
      api.tx.kcg.submitEntry(key, rawCid(body), blake2AsHex(body, 256), body.length, [], null), alice);
    const event = eventsOf(submitted.events, 'kcg').find((e) => e.method === 'EntrySubmitted');
    ids.push(event.data.entry.toNumber());
  }
  // //Alice, the dev chain's one validator, decides each entry with her vote; her second vote
  // on the first entry comes after it closed.
  const attested = await signAndFinalize(
    api.tx.validators.attestMany([[ids[0], 'Approve'], [ids[1], 'Approve'], [ids[0], 'Approve']]), alice);
  const events = eventsOf(attested.events, 'validators');
  const decided = events.filter((e) => e.method === 'EntryDecided').map((e) => e.data.entry.toNumber());
  assert.deepEqual(decided, ids);
  for (const id of ids) {
    assert.ok((await api.query.kcg.entries(id)).unwrap().status.isValidated, `entry ${id}`);
  }
  const refused = events.filter((e) => e.method === 'AttestationRefused');
  assert.equal(refused.length, 1);
  assert.equal(refused[0].data.entry.toNumber(), ids[0]);
  const error = api.registry.findMetaError(refused[0].data.error.asModule);
  assert.equal(`${error.section}.${error.name}`, 'validators.EntryClosed');
});

test('an entry links to a validated one; the link is decided with it and becomes an edge', async () => {
  const { api } = node;
  assert.ok(carbonEntry !== undefined, 'the first test validated an entry');
  const submit = async (question, links) => {
    const key = (await api.call.kcgApi.questionKey(question)).unwrap();
    const body = stringToU8a(JSON.stringify({ v: 1, question, links }));
    return signAndFinalize(
      api.tx.kcg.submitEntry(key, rawCid(body), blake2AsHex(body, 256), body.length,
        links.map(({ entry, rel }) => [entry, rel]), null),
      alice);
  };
  const refines = await submit('What is carbon?', [{ entry: carbonEntry, rel: 'Refines' }]);
  const entryId = eventsOf(refines.events, 'kcg').find((e) => e.method === 'EntrySubmitted').data.entry.toNumber();
  const pending = (await api.query.kcg.entries(entryId)).unwrap();
  assert.deepEqual(pending.links.map(([to, rel]) => [to.toNumber(), rel.toString()]), [[carbonEntry, 'Refines']]);
  const linkDeposit = api.consts.kcg.linkDeposit.toBigInt();
  assert.equal(pending.deposit.toBigInt(), api.consts.kcg.entryDeposit.toBigInt() + linkDeposit);
  assert.ok((await api.query.kcg.links(entryId, carbonEntry)).isNone, 'no edge while pending');

  // A link to an entry that is not validated is refused by name.
  const refused = await submit('What is graphite?', [{ entry: entryId, rel: 'Related' }])
    .then(() => null, (error) => error);
  assert.ok(refused && /LinkTargetNotValidated/.test(String(refused.message ?? refused)), `${refused}`);

  const attested = await signAndFinalize(api.tx.validators.attest(entryId, 'Approve'), alice);
  const linked = eventsOf(attested.events, 'kcg').find((e) => e.method === 'Linked');
  assert.ok(linked, 'no Kcg.Linked event');
  assert.deepEqual([linked.data.from.toNumber(), linked.data.to.toNumber(), linked.data.relation.toString()],
    [entryId, carbonEntry, 'Refines']);
  assert.equal((await api.query.kcg.links(entryId, carbonEntry)).unwrap().toString(), 'Refines');
  assert.equal((await api.query.kcg.linkCount(entryId)).toNumber(), 1);
});

test('//Dave bonds, sets session keys, validates, and joins the set at a session change', async () => {
  const { api } = node;
  const params = (await api.query.validators.params()).unwrap();
  const minBond = params.minValidatorBond.toBigInt();

  await signAndFinalize(api.tx.validators.bond(minBond), dave);
  // The node generates the keys in its keystore and proves them for Dave's account
  // (polkadot.js 16 does not decorate this RPC yet, so it is sent as is).
  const generated = await node.provider.send('author_rotateKeysWithOwner', [u8aToHex(dave.publicKey)]);
  assert.ok(generated.proof, 'the node gave no ownership proof');
  await signAndFinalize(api.tx.session.setKeys(generated.keys, generated.proof), dave);
  const { events } = await signAndFinalize(api.tx.validators.validate(), dave);
  assert.ok(events.some(({ event }) => api.events.validators.Validating.is(event)), 'no Validating event');

  // Instant seal makes a block per transaction: remarks move the chain through two session
  // changes (Dave is planned at the first and active from the second).
  const sessionLength = params.sessionLength.toNumber();
  const validatorsNow = async () => (await api.query.session.validators()).map((v) => v.toString());
  assert.ok(!(await validatorsNow()).includes(dave.address));
  for (let i = 0; i < 3 * sessionLength && !(await validatorsNow()).includes(dave.address); i++) {
    await signAndFinalize(api.tx.system.remark(`block ${i}`), alice);
  }
  assert.ok((await validatorsNow()).includes(dave.address), `Dave is not a validator: ${await validatorsNow()}`);
  const stakes = await api.query.validators.sessionStakes((await api.query.session.currentIndex()).toNumber());
  assert.ok(stakes.some(([who]) => who.toString() === dave.address), 'Dave has no stake in the session');

  // GRANDPA's voters, with their weights: each weighs its stake in the session, so Dave's
  // minimum bond weighs a tenth of Alice's genesis bond, not one vote like hers.
  const authorities = await api.query.grandpa.authorities();
  assert.equal(authorities.length, 2, `voters: ${authorities}`);
  const daveGrandpa = u8aToHex(hexToU8a(generated.keys).slice(32, 64));
  const weight = (mine) => authorities.find(([id]) => (id.toHex() === daveGrandpa) === mine)[1].toNumber();
  const stake = (mine) => stakes.find(([who]) => (who.toString() === dave.address) === mine)[1].toBigInt();
  const [daveWeight, aliceWeight] = [weight(true), weight(false)];
  assert.ok(daveWeight > 1, `Dave's weight ${daveWeight}`);
  const stakeRatio = Number(stake(false)) / Number(stake(true));
  assert.ok(Math.abs(aliceWeight / daveWeight - stakeRatio) < 1e-6,
    `weights ${aliceWeight}:${daveWeight}, stakes ${stakeRatio}:1`);
});
