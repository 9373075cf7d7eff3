// A second Substrate client beside polkadot.js: polkadot-api (PAPI), from the runtime's own
// metadata (its unsafe, descriptor-free API): it reads an entry polkadot.js submitted and
// validated, and files demand with Dod.request_knowledge signed as //Dave — our runtime's
// transaction extensions included.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createClient, Binary } from 'polkadot-api';
import { getWsProvider } from 'polkadot-api/ws';
import { getPolkadotSigner } from 'polkadot-api/signer';
import WebSocket from 'ws';
import { Keyring } from '@polkadot/keyring';
import { cryptoWaitReady, blake2AsHex } from '@polkadot/util-crypto';
import { u8aToHex, stringToU8a } from '@polkadot/util';
import { startDevNode, signAndFinalize } from './lib/node.js';

let node;
let client;
before(async () => {
  await cryptoWaitReady();
  node = await startDevNode(['--sealing', 'instant']);
  client = createClient(getWsProvider(node.rpcUrl, { websocketClass: WebSocket }));
});
after(async () => {
  client && client.destroy();
  node && (await node.stop());
});

/** PAPI's first finalized block numbered `number` or higher (within 30 s). */
function finalizedFrom(papiClient, number) {
  return new Promise((resolve, reject) => {
    let done = false;
    let subscription;
    const timer = setTimeout(() => finish(new Error(`PAPI saw no finalized block #${number} in 30 s`)), 30_000);
    function finish(error, block) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      subscription?.unsubscribe();
      error ? reject(error) : resolve(block);
    }
    subscription = papiClient.finalizedBlock$.subscribe({
      next: (block) => block.number >= number && finish(null, block),
      error: (error) => finish(error),
    });
    // The first value can arrive before `subscribe` returns.
    if (done) subscription.unsubscribe();
  });
}

test('PAPI reads an entry and files demand', async () => {
  const keyring = new Keyring({ type: 'sr25519' });
  const alice = keyring.addFromUri('//Alice');
  const dave = keyring.addFromUri('//Dave');

  // An entry, submitted and validated with polkadot.js.
  const { api } = node;
  const question = 'What is the atomic number of neon?';
  const key = (await api.call.kcgApi.questionKey(question)).unwrap();
  const body = stringToU8a(JSON.stringify({ v: 1, question, answer: 'Neon has atomic number 10.' }));
  const digest = createHash('sha256').update(body).digest();
  const cid = u8aToHex(new Uint8Array([0x01, 0x55, 0x12, 0x20, ...digest]));
  const submitted = await signAndFinalize(
    api.tx.kcg.submitEntry(key, cid, blake2AsHex(body, 256), body.length, [], null), alice);
  const id = submitted.events.find(({ event }) => event.method === 'EntrySubmitted').event.data.entry.toNumber();
  const attested = await signAndFinalize(api.tx.validators.attest(id, 'Approve'), alice);
  const attestedAt = (await api.rpc.chain.getHeader(attested.blockHash)).number.toNumber();

  // PAPI follows finality on its own subscription, which can be a block behind the one
  // polkadot.js saw finalized: it reads once its finalized block holds the attestation.
  const finalized = await finalizedFrom(client, attestedAt);
  const at = { at: finalized.hash };

  // PAPI reads it back from storage, decoded from the metadata.
  const papi = client.getUnsafeApi();
  const entry = await papi.query.Kcg.Entries.getValue(BigInt(id), at);
  assert.ok(entry, `entry ${id} is in Kcg.Entries`);
  assert.equal(entry.status.type, 'Validated');
  assert.equal(u8aToHex(entry.cid), cid);
  assert.equal(entry.content_hash, blake2AsHex(body, 256));
  assert.equal(entry.question_key, key.toHex());
  assert.equal(entry.author, alice.address);
  assert.equal(await papi.query.Kcg.Answer.getValue(key.toHex(), at), BigInt(id));

  // And files demand for a question nobody answered, signed by //Dave (sr25519 via the keyring).
  const signer = getPolkadotSigner(dave.publicKey, 'Sr25519', (input) => dave.sign(input));
  const asked = Binary.fromText('What is a tarball?');
  const result = await papi.tx.Dod.request_knowledge({ question: asked }).signAndSubmit(signer);
  assert.ok(result.ok, JSON.stringify(result.dispatchError));
  const dod = result.events.filter((e) => e.type === 'Dod').map((e) => e.value.type);
  assert.deepEqual(dod.slice(0, 2), ['DemandRecorded', 'GapOpened'], `Dod events: ${dod}`);

  // A bad call is refused by name.
  const tooLong = Binary.fromText('x'.repeat(600));
  const refused = await papi.tx.Dod.request_knowledge({ question: tooLong }).signAndSubmit(signer)
    .then((r) => r, (error) => ({ ok: false, error }));
  assert.equal(refused.ok, false);
  const why = JSON.stringify(refused.dispatchError ?? String(refused.error));
  assert.equal(why, '{"type":"Module","value":{"type":"Dod","value":{"type":"QuestionTooLong"}}}');
});
