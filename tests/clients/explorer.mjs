// The gateway's explorer in a real browser: Debian's chromium driven by playwright-core (both
// installed by scripts/setup.sh), headless. Run by apps/cli/tests/explorer.rs against a
// `membria up` at its defaults:
//
//   node tests/clients/explorer.mjs http://127.0.0.1:8080 "<a question the chain has not seen>" 300
//
// Checks, in one page load (no reload): the page and its live connection come up; an ask of an
// unknown question files demand and shows the gap; the entry distilled for it appears in the
// list once validated; asking again shows the answer with its provenance; the entry's page
// shows the validators' votes with their stake and its history; the validators' table counts
// the votes. Then what a lying agent or gateway could try: markup in an entry's text is shown
// as text and runs nothing; an unknown entry is a clear error. Exits non-zero on the first
// failed check; prints "all checks passed" at the end.

import { chromium } from 'playwright-core';

const [gateway, question, timeoutArg] = process.argv.slice(2);
if (!gateway || !question) {
  console.error('usage: explorer.mjs GATEWAY_URL QUESTION [TIMEOUT_SECONDS]');
  process.exit(2);
}
const timeout = Number(timeoutArg || 300) * 1000;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
const problems = [];
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // CSP violations and script errors are console errors; a 404 of a made-up entry is expected.
    if (message.type() === 'error' && !message.text().includes('404')) problems.push(`console: ${message.text()}`);
  });
  let documents = 0;
  page.on('load', () => { documents += 1; });

  const response = await page.goto(`${gateway}/`);
  check(response.ok(), 'GET / answers 200');
  const csp = response.headers()['content-security-policy'] || '';
  check(csp.includes("script-src 'self'"), `the page is served with a strict Content-Security-Policy (${csp})`);
  await page.waitForFunction(() => Number(document.getElementById('finalized').textContent) > 0);
  check(true, `finalized block shown: ${await page.textContent('#finalized')}`);
  await page.waitForFunction(() => document.getElementById('live').textContent === 'live');
  check(true, 'the live connection (server-sent events) is open');
  await page.waitForSelector('#validators tbody tr[data-account]');
  check((await page.locator('#validators tbody tr').count()) >= 1, 'the validators are listed');

  // An unknown question: a miss, and demand filed through the gateway.
  await page.fill('#ask-input', question);
  await page.check('#ask-request');
  await page.click('#ask-form button');
  await page.waitForSelector('#ask-result .miss');
  const filed = await page.textContent('#ask-result');
  check(/No verified answer/.test(filed) && /Demand filed on chain/.test(filed), `a miss files demand: ${filed}`);
  await page.waitForFunction((q) => [...document.querySelectorAll('#gaps li, #demand li')].some((li) => li.textContent.includes(q)),
    question, { timeout: 60_000 });
  check(true, 'the demand shows as a gap, live');

  // The network answers it: the entry appears in the list without a reload.
  await page.waitForFunction((q) => [...document.querySelectorAll('#entries li')].some((li) => li.textContent.includes(q)),
    question, { timeout });
  check(documents === 1, 'the newly validated entry appeared without reloading the page');

  // Asked again: the verified answer with its provenance.
  await page.uncheck('#ask-request');
  await page.click('#ask-form button');
  await page.waitForSelector('#ask-answer');
  const answer = await page.textContent('#ask-answer');
  const provenance = await page.textContent('#ask-provenance');
  check(answer.trim().length > 0, `an answer: ${answer}`);
  check(/verified at block \d+/.test(provenance) && /proven at block \d+/.test(provenance), `provenance: ${provenance}`);
  check(/CID b[a-z2-7]+/.test(provenance) && /approved by [\d,.]+ MEM of stake/.test(provenance), 'provenance names the CID and the approving stake');

  // The entry's page: status, votes with stake, history.
  await page.click('#ask-provenance a[data-entry]');
  await page.waitForSelector('#entry-status-name');
  check((await page.textContent('#entry-status-name')) === 'validated', 'the entry page shows it validated');
  await page.waitForSelector('#votes tbody tr[data-validator]');
  const votes = await page.$$eval('#votes tbody tr[data-validator]', (rows) => rows.map((r) => r.textContent));
  check(votes.length >= 1 && votes.every((v) => /Approve/.test(v) && /MEM/.test(v)), `the validators' votes with their stake: ${votes.join(' | ')}`);
  const history = await page.textContent('#entry-history');
  check(/Kcg\.EntrySubmitted/.test(history) && /Validators\.EntryDecided/.test(history) && /Kcg\.EntryValidated/.test(history),
    'the history shows submission, decision and validation');
  check((await page.textContent('#entry-answer')).includes(answer.trim().slice(0, 20)), 'the entry page shows the same answer');

  // Back home: the validator's table counts the votes.
  await page.click('text=← all entries');
  await page.waitForFunction(() => [...document.querySelectorAll('#validators tbody tr')].some((r) => Number(r.children[3].textContent) > 0));
  check(true, 'the validators table counts votes');
  check(documents === 1, 'all of it in one page load');

  // A lying agent's text (or a lying gateway's): markup is shown as text and runs nothing.
  const evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
  await page.route('**/v1/explorer/entries/999999', (route) => route.fulfill({
    status: 200,
    contentType: 'application/json',
    body: JSON.stringify({
      id: 999999, status: 'validated', status_block: { at: 1 }, author: evil, question_key: '0x00',
      content_hash: '0x00', cid: evil, size: 1, gap: null, links: [{ to: 1, relation: evil }],
      submitted_at: 1, session: 0, deposit: '0', tally: { approve: '1', reject: '0' },
      body: { v: 2, question: evil, answer: evil, facts: [evil], sources: [{ uri: evil, sha256: evil }], links: [] },
      body_error: null, votes: [{ validator: evil, verdict: evil, stake: '1', block: 1 }],
      history: [{ block: 1, pallet: evil, event: evil, fields: { entry: 999999, question: evil } }], events_from: 1,
    }),
  }));
  await page.goto(`${gateway}/#/entry/999999`);
  await page.waitForSelector('#entry-answer p');
  check((await page.textContent('#entry-answer')).includes('<img src=x'), 'markup in an answer is shown as text');
  check((await page.locator('#entry img, #entry script').count()) === 0, 'no element made from an entry\'s text');
  check((await page.evaluate(() => window.__pwned)) === undefined, 'no script of an entry ran');
  check((await page.locator('#entry-graph svg a[href="#/entry/1"]').count()) === 1, 'its link is drawn in the graph, to the entry it names');

  // An entry that does not exist: the gateway's reason, shown.
  await page.unroute('**/v1/explorer/entries/999999');
  await page.goto(`${gateway}/#/entry/987654321`);
  await page.waitForSelector('#entry-answer .error');
  const error = await page.textContent('#entry-answer');
  check(/no entry 987654321/.test(error), `an unknown entry is reported: ${error}`);

  check(problems.length === 0, `no script error or policy violation on the page${problems.length ? ': ' + problems.join('; ') : ''}`);
  console.log('all checks passed');
} finally {
  await browser.close();
}
