// The Membria explorer: reads the gateway's /v1/explorer API and /v1/ask, follows
// /v1/explorer/events for live updates. Everything shown is text (textContent): entry bodies are
// written by agents and may hold anything.
'use strict';

const UNIT = 10n ** 12n;
const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Planck (a decimal string or number) as MEM. */
function mem(planck) {
  if (planck === undefined || planck === null || planck === '') return '—';
  let value;
  try { value = BigInt(planck); } catch { return String(planck); }
  const whole = value / UNIT;
  const cents = (value % UNIT) * 100n / UNIT;
  return `${whole.toLocaleString('en')}${cents ? '.' + String(cents).padStart(2, '0') : ''} MEM`;
}

function short(account) {
  return account && account.length > 16 ? `${account.slice(0, 8)}…${account.slice(-6)}` : account || '—';
}

function entryLink(id, text) {
  return el('a', { href: `#/entry/${id}`, 'data-entry': id }, text ?? `entry ${id}`);
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function fail(container, error) {
  container.replaceChildren(el('p', { class: 'error' }, String(error.message || error)));
}

// --- the chain's head -------------------------------------------------------------------------

async function refreshOverview() {
  const overview = await api('/v1/explorer/overview');
  $('finalized').textContent = overview.finalized;
  $('justified').textContent = overview.justified ?? '…';
  renderEvents($('events'), overview.recent);
}

function describe(event) {
  const f = event.fields || {};
  const who = f.validator || f.who || f.author || f.agent;
  const parts = [`${event.pallet}.${event.event}`];
  if (f.question) parts.push(`“${f.question}”`);
  if (f.verdict !== undefined) parts.push(typeof f.verdict === 'string' ? f.verdict : JSON.stringify(f.verdict));
  if (f.decision) parts.push(String(f.decision));
  if (f.stake !== undefined) parts.push(`stake ${mem(f.stake)}`);
  if (f.amount !== undefined) parts.push(mem(f.amount));
  if (f.bounty !== undefined) parts.push(`bounty ${mem(f.bounty)}`);
  if (f.relation) parts.push(`${typeof f.relation === 'string' ? f.relation.toLowerCase() : ''} → ${f.to}`);
  if (who) parts.push(`by ${short(who)}`);
  return parts.join(' · ');
}

function renderEvents(list, events) {
  list.replaceChildren(...(events || []).map((event) => {
    const entry = event.fields?.entry ?? event.fields?.from;
    return el('li', {},
      el('span', { class: 'block' }, `#${event.block}`), ' ',
      entry !== undefined ? entryLink(entry) : null, entry !== undefined ? ' ' : null,
      describe(event));
  }));
}

// --- lists ------------------------------------------------------------------------------------

async function refreshEntries() {
  const { total, entries } = await api('/v1/explorer/entries?limit=50');
  $('entries-count').textContent = `(${total})`;
  $('entries').replaceChildren(...entries.map((entry) => el('li', { 'data-entry': entry.id },
    entryLink(entry.id, entry.question), ' ',
    el('span', { class: 'meta' }, `entry ${entry.id} · validated at block ${entry.validated_at}`))));
}

async function refreshDemand() {
  const { demand, gaps, truncated } = await api('/v1/explorer/demand');
  $('demand-count').textContent = `(${demand.length}${truncated ? '+' : ''})`;
  $('gaps-count').textContent = `(${gaps.length})`;
  $('demand').replaceChildren(...demand.map((d) => el('li', {},
    `“${d.question}”`, ' ',
    el('span', { class: 'meta' }, `${d.requesters} requester(s) · ${mem(d.held)} held · expires at block ${d.expires_at}`))));
  $('gaps').replaceChildren(...gaps.map((g) => el('li', { 'data-gap': g.id },
    `gap ${g.id}: “${g.question}”`, ' ',
    el('span', { class: 'meta' }, [
      `bounty ${mem(g.bounty)}`,
      `opened at block ${g.opened_at}`,
      g.claim ? `claimed by ${short(g.claim.agent)} until block ${g.claim.until}` : 'unclaimed',
      g.claim?.entry !== undefined && g.claim?.entry !== null ? `answered by entry ${g.claim.entry}` : null,
    ].filter(Boolean).join(' · ')))));
}

async function refreshValidators() {
  const { validators, session, session_stake } = await api('/v1/explorer/validators');
  $('validators-summary').textContent = `(session ${session ?? '?'} · ${mem(session_stake)} voting)`;
  $('validators').tBodies[0].replaceChildren(...validators.map((v) => el('tr', { 'data-account': v.account },
    el('td', { title: v.account }, short(v.account), v.candidate ? '' : ' (not a candidate)'),
    el('td', {}, v.session_stake ? mem(v.session_stake) : '—'),
    el('td', {}, mem(v.active)),
    el('td', {}, v.votes),
    el('td', {}, `${v.approved} / ${v.rejected}`),
    el('td', { class: v.slashed !== '0' ? 'slashed' : '' }, mem(v.slashed)),
    el('td', {}, mem(v.rewarded)),
    el('td', {}, v.last_vote ?? '—'))));
}

// --- asking -----------------------------------------------------------------------------------

/** The block number in a SCALE-encoded header (after the 32-byte parent hash, compact). */
function headerNumber(hex) {
  const bytes = hex.replace(/^0x/, '').match(/../g)?.map((b) => parseInt(b, 16)) || [];
  const at = 32;
  const mode = bytes[at] & 3;
  if (mode === 0) return bytes[at] >> 2;
  if (mode === 1) return (bytes[at] | (bytes[at + 1] << 8)) >> 2;
  if (mode === 2) return ((bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0) >>> 2;
  return undefined;
}

function bodyOf(hex) {
  const bytes = new Uint8Array((hex.replace(/^0x/, '').match(/../g) || []).map((b) => parseInt(b, 16)));
  return JSON.parse(new TextDecoder().decode(bytes));
}

async function ask(event) {
  event.preventDefault();
  const question = $('ask-input').value.trim();
  const result = $('ask-result');
  if (!question) return;
  result.replaceChildren(el('p', { class: 'meta' }, 'asking…'));
  try {
    const answer = await api('/v1/ask', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ question, k: 1, file_demand: $('ask-request').checked }),
    });
    if (!answer.matches.length) {
      const demand = answer.demand;
      result.replaceChildren(el('p', { class: 'miss' }, `No verified answer: ${answer.miss}`),
        demand ? el('p', { class: 'meta' }, demand.extrinsic
          ? `Demand filed on chain (extrinsic ${demand.extrinsic}): the answer appears here once validators approve it.`
          : `No demand filed: ${demand.note}`) : null);
      return;
    }
    const id = answer.matches[0].id;
    const proven = answer.proven.entries.find((e) => e.id === id);
    const body = bodyOf(proven.body);
    const record = await api(`/v1/explorer/entries/${id}`);
    const provenAt = headerNumber(answer.proven.finality.header);
    result.replaceChildren(
      el('p', { class: 'answer', id: 'ask-answer' }, body.answer),
      el('p', { class: 'provenance', id: 'ask-provenance' },
        `verified at block ${record.status_block?.at ?? '?'}`,
        ` · proven at block ${provenAt ?? '?'}`,
        ` · `, entryLink(id), ` (“${body.question}”)`,
        ` · CID ${record.cid}`,
        record.tally ? ` · approved by ${mem(record.tally.approve)} of stake` : '',
        ` · similarity ${answer.matches[0].score.toFixed(2)}`),
      el('ul', { class: 'plain' }, (body.sources || []).map((s) => el('li', {}, `source: ${s.uri}`))));
  } catch (error) {
    fail(result, error);
  }
}

// --- one entry --------------------------------------------------------------------------------

let shownEntry = null;

async function showEntry(id) {
  shownEntry = id;
  $('home').hidden = true;
  $('entry').hidden = false;
  $('entry-title').textContent = `Entry ${id}`;
  try {
    renderEntry(await api(`/v1/explorer/entries/${id}`));
  } catch (error) {
    fail($('entry-answer'), error);
    for (const part of ['entry-status', 'entry-record', 'entry-sources', 'entry-tally', 'entry-graph', 'entry-history']) $(part).replaceChildren();
    $('votes').tBodies[0].replaceChildren();
  }
}

function renderEntry(entry) {
  const body = entry.body;
  $('entry-title').textContent = `Entry ${entry.id}${body ? `: ${body.question}` : ''}`;
  const detail = entry.status_block ? Object.entries(entry.status_block).map(([k, v]) => `${k} block ${v}`).join(', ') : '';
  $('entry-status').replaceChildren(el('span', { class: `badge ${entry.status}`, id: 'entry-status-name' }, entry.status), detail ? ` ${detail}` : '');
  $('entry-answer').replaceChildren(body ? el('p', {}, body.answer) : el('p', { class: 'error' }, entry.body_error || 'no body'));
  const rows = [
    ['author', entry.author], ['CID', entry.cid], ['blake2-256', entry.content_hash],
    ['size', `${entry.size} bytes`], ['submitted at block', entry.submitted_at], ['session', entry.session],
    ['deposit', mem(entry.deposit)], ['gap', entry.gap ?? '—'], ['question key', entry.question_key],
  ];
  if (body?.distiller) rows.push(['distilled by', `${body.distiller.name} (${body.distiller.model})`]);
  if (body?.phrasings?.length) rows.push(['also asked as', body.phrasings.join(' · ')]);
  $('entry-record').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  $('entry-sources').replaceChildren(...(body?.sources || []).map((s) => el('li', {}, s.uri, ' ', el('span', { class: 'meta' }, `sha256 ${s.sha256}`))));
  const tally = entry.tally;
  $('entry-tally').textContent = tally ? `approve ${mem(tally.approve)} · reject ${mem(tally.reject)}` : 'no tally on chain';
  $('votes').tBodies[0].replaceChildren(...entry.votes.map((v) => el('tr', { 'data-validator': v.validator },
    el('td', { title: v.validator }, short(v.validator)),
    el('td', { class: v.verdict === 'Approve' ? 'approve' : 'reject' }, typeof v.verdict === 'string' ? v.verdict : JSON.stringify(v.verdict)),
    el('td', {}, mem(v.stake)),
    el('td', {}, v.block))));
  if (!entry.votes.length) {
    $('votes').tBodies[0].replaceChildren(el('tr', {}, el('td', { colspan: 4 }, entry.events_from
      ? `no vote read since block ${entry.events_from}` : 'no vote read yet')));
  }
  renderGraph(entry);
  renderEvents($('entry-history'), entry.history);
  if (entry.truncated) $('entry-history').append(el('li', { class: 'meta' }, 'more events and votes than the gateway keeps for one entry: the rest are left out'));
  if (entry.events_from > 1) $('entry-history').append(el('li', { class: 'meta' }, `events read from block ${entry.events_from} on`));
}

/** This entry in the middle, the entries it links to and that link to it around it. */
function renderGraph(entry) {
  const edges = entry.links.map((l) => ({ other: l.to, relation: l.relation, out: true }));
  for (const h of entry.history) {
    if (h.event === 'Linked' && h.fields.to === entry.id) {
      const relation = typeof h.fields.relation === 'string' ? h.fields.relation.toLowerCase() : 'linked';
      edges.push({ other: h.fields.from, relation, out: false });
    }
  }
  const box = $('entry-graph');
  if (!edges.length) { box.replaceChildren(el('p', { class: 'meta' }, 'no links')); return; }
  const size = 320; const c = size / 2; const r = 115;
  const root = svg('svg', { viewBox: `0 0 ${size} ${size}`, width: size, height: size, role: 'img', 'aria-label': 'links' });
  edges.forEach((edge, i) => {
    const angle = (2 * Math.PI * i) / edges.length - Math.PI / 2;
    const x = c + r * Math.cos(angle); const y = c + r * Math.sin(angle);
    root.append(svg('line', { x1: c, y1: c, x2: x, y2: y, class: `edge ${edge.relation}` }));
    root.append(svg('text', { x: (c + x) / 2, y: (c + y) / 2 - 4, class: 'edge-label' }, edge.out ? `${edge.relation} →` : `← ${edge.relation}`));
    const link = svg('a', { href: `#/entry/${edge.other}` });
    link.append(svg('circle', { cx: x, cy: y, r: 20, class: 'node' }), svg('text', { x, y: y + 4, class: 'node-label' }, String(edge.other)));
    root.append(link);
  });
  root.append(svg('circle', { cx: c, cy: c, r: 24, class: 'node self' }), svg('text', { x: c, y: c + 4, class: 'node-label' }, String(entry.id)));
  box.replaceChildren(root);
}

// --- navigation and live updates --------------------------------------------------------------

function route() {
  const match = location.hash.match(/^#\/entry\/(\d+)$/);
  if (match) { showEntry(Number(match[1])); return; }
  shownEntry = null;
  $('entry').hidden = true;
  $('home').hidden = false;
  refreshAll();
}

// At most one refresh of the lists every two seconds, however many blocks bring news.
let refreshing = null;
let lastRefresh = 0;
function refreshAll() {
  if (refreshing) return;
  const wait = Math.max(0, lastRefresh + 2000 - Date.now());
  refreshing = setTimeout(() => {
    refreshing = null;
    lastRefresh = Date.now();
    for (const refresh of [refreshOverview, refreshEntries, refreshDemand, refreshValidators]) {
      refresh().catch((error) => console.warn(refresh.name, error));
    }
  }, wait);
}

function follow() {
  const source = new EventSource('/v1/explorer/events');
  source.addEventListener('open', () => { $('live').textContent = 'live'; $('live').className = 'live on'; });
  source.addEventListener('error', () => { $('live').textContent = 'reconnecting'; $('live').className = 'live off'; });
  source.addEventListener('block', (message) => {
    const news = JSON.parse(message.data);
    $('finalized').textContent = news.number;
    if (shownEntry !== null) {
      if (news.events.some((e) => (e.fields.entry ?? e.fields.from ?? e.fields.to) === shownEntry)) showEntry(shownEntry);
      return;
    }
    refreshOverview().catch(() => {});
    if (news.events.length) refreshAll();
  });
  source.addEventListener('lagged', () => { if (shownEntry === null) refreshAll(); });
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', () => {
  $('ask-form').addEventListener('submit', ask);
  route();
  follow();
  // Entries reach the gateway's index a moment after their validation event: look again.
  setInterval(() => { if (shownEntry === null) refreshEntries().catch(() => {}); }, 10_000);
});
