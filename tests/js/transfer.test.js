// polkadot.js against a real `membria-node --dev` (Aura + GRANDPA): metadata, runtime identity,
// and a transfer whose balance changes add up to the amount and the fee, to the unit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady } from '@polkadot/util-crypto';
import { startDevNode, signAndFinalize } from './lib/node.js';

let node;
before(async () => {
  await cryptoWaitReady();
  node = await startDevNode();
});
after(async () => node && node.stop());

test('runtime identity and metadata V16', async () => {
  const { api } = node;
  const version = api.runtimeVersion;
  assert.equal(version.specName.toString(), 'membria');
  assert.ok(version.specVersion.toNumber() >= 100, `spec version ${version.specVersion}`);
  const versions = (await api.call.metadata.metadataVersions()).map((v) => v.toNumber());
  assert.ok(versions.includes(16), `metadata versions served: ${versions}`);
  assert.equal(api.runtimeMetadata.version, 16, 'polkadot.js should pick metadata V16');
  assert.equal(api.registry.chainTokens[0], 'MEM');
});

test('transfer from //Alice to //Bob: balances change by the amount and the fee', async () => {
  const { api } = node;
  const keyring = new Keyring({ type: 'sr25519' });
  const alice = keyring.addFromUri('//Alice');
  const bob = keyring.addFromUri('//Bob');
  const amount = 12_345_678_900_000n;

  const [aliceBefore, bobBefore] = await Promise.all([
    api.query.system.account(alice.address),
    api.query.system.account(bob.address),
  ]);
  const { events, blockHash } = await signAndFinalize(
    api.tx.balances.transferKeepAlive(bob.address, amount), alice);

  const feeEvent = events.find(({ event }) => api.events.transactionPayment.TransactionFeePaid.is(event));
  assert.ok(feeEvent, 'no TransactionFeePaid event');
  const [who, actualFee, tip] = feeEvent.event.data;
  assert.equal(who.toString(), alice.address);
  const fee = actualFee.toBigInt() + tip.toBigInt();
  assert.ok(fee > 0n, 'the transfer paid no fee');
  assert.ok(events.some(({ event }) => api.events.system.ExtrinsicSuccess.is(event)), 'no ExtrinsicSuccess');

  const at = await api.at(blockHash);
  const [aliceAfter, bobAfter] = await Promise.all([
    at.query.system.account(alice.address),
    at.query.system.account(bob.address),
  ]);
  assert.equal(aliceBefore.data.free.toBigInt() - aliceAfter.data.free.toBigInt(), amount + fee);
  assert.equal(bobAfter.data.free.toBigInt() - bobBefore.data.free.toBigInt(), amount);
  assert.equal(aliceAfter.nonce.toNumber(), aliceBefore.nonce.toNumber() + 1);
});
