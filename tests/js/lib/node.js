// Starts a real membria-node on 127.0.0.1 for a test, and stops it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { ApiPromise, WsProvider } from '@polkadot/api';

/** The node binary: $MEMBRIA_NODE, else the release build in the shared target dir. */
export function nodeBinary() {
  if (process.env.MEMBRIA_NODE) return process.env.MEMBRIA_NODE;
  const target = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'membria', 'target');
  return join(target, 'release', 'membria-node');
}

/** Whether `port` on 127.0.0.1 could be listened on a moment ago. */
function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port that was free a moment ago on 127.0.0.1, below the system's ephemeral ports (which
 * any outgoing connection can take before the node binds it) and below 30333 (`membria up`'s
 * p2p port), as `membria_launch::free_port` picks them.
 */
export async function freePort() {
  let end = 30_000;
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    end = Math.min(end, Number(low) || end);
  } catch {
    // Not Linux: the range above.
  }
  for (let tries = 0; tries < 200; tries++) {
    const port = 10_000 + Math.floor(Math.random() * Math.max(1, end - 10_000));
    if (await portFree(port)) return port;
  }
  throw new Error(`no free port found between 10000 and ${end}`);
}

/**
 * The IPv4 port a membria-node's log says its JSON-RPC server listens on
 * (`Running JSON-RPC server: addr=127.0.0.1:9944,[::1]:9944`), or undefined before that line.
 */
export function nodeRpcPort(log) {
  // Only a whole line: the node may be writing it.
  const rest = log.split('Running JSON-RPC server: addr=')[1];
  if (rest === undefined || !rest.includes('\n')) return undefined;
  const line = rest.split('\n')[0];
  const port = line.split(',').map((a) => a.trim()).find((a) => a.startsWith('127.0.0.1:'))?.slice(10);
  return port === undefined ? undefined : Number(port);
}

/**
 * Starts `membria-node --dev` plus `extraArgs` and connects polkadot.js to it.
 * Returns { api, provider, rpcUrl, stop, log }: `provider.send(method, params)` reaches RPC
 * methods polkadot.js does not decorate.
 */
export async function startDevNode(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'membria-js-'));
  const rpcPort = await freePort();
  const p2pPort = await freePort();
  const logPath = join(dir, 'node.log');
  const logFd = openSync(logPath, 'w');
  const child = spawn(nodeBinary(), [
    '--dev', '--base-path', join(dir, 'chain'),
    '--rpc-port', String(rpcPort), '--port', String(p2pPort),
    '--no-prometheus', '--no-telemetry', '--no-mdns',
    ...extraArgs,
  ], { stdio: ['ignore', 'ignore', logFd] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const log = () => readFileSync(logPath, 'utf8');

  const deadline = Date.now() + 60_000;
  let api;
  let provider;
  let rpcUrl;
  while (!api) {
    if (child.exitCode !== null) throw new Error(`membria-node exited early:\n${log()}`);
    if (Date.now() > deadline) throw new Error(`membria-node RPC did not come up:\n${log()}`);
    // The port the node listens on: if ours was taken between `freePort` and its bind, the
    // node falls back to a random one and says so in its log.
    const listening = nodeRpcPort(log());
    if (listening === undefined) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    rpcUrl = `ws://127.0.0.1:${listening}`;
    provider = new WsProvider(rpcUrl, false);
    try {
      await provider.connect();
      api = await ApiPromise.create({ provider, throwOnConnect: true, noInitWarn: true });
    } catch {
      await provider.disconnect().catch(() => {});
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  const stop = async () => {
    await api.disconnect().catch(() => {});
    if (child.exitCode === null) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { api, provider, rpcUrl, stop, log };
}

/** Resolves with the events of `tx` once the block holding it is finalized. */
export function signAndFinalize(tx, signer) {
  return new Promise((resolve, reject) => {
    tx.signAndSend(signer, ({ status, events, dispatchError }) => {
      if (dispatchError) {
        // A pallet's error by its name (`kcg.LinkTargetNotValidated`), others as the chain says.
        const named = dispatchError.isModule
          ? (({ section, name }) => `${section}.${name}`)(tx.registry.findMetaError(dispatchError.asModule))
          : dispatchError.toString();
        reject(new Error(`dispatch failed: ${named}`));
      }
      else if (status.isFinalized) resolve({ events, blockHash: status.asFinalized });
      else if (status.isDropped || status.isInvalid || status.isUsurped) reject(new Error(`transaction ${status.type}`));
    }).catch(reject);
  });
}
