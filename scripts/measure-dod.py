#!/usr/bin/env python3
"""Distillation on Demand, measured against a live dev stack (`membria up`).

Files demand for each question of QUESTIONS (one per line) through the gateway, waits for the
DoD flow to validate answers, syncs them into a fresh device cache with proofs, then reports for
each question: whether it was answered, the first line of the answer, the blocks from the
request to the entry's validation, and the entry's links. The summary line counts answers,
the median request-to-validation time in blocks, and links per entry.

usage: measure-dod.py MEMBRIA_BIN GATEWAY_URL NODE_HTTP_URL DATA_DIR QUESTIONS [WAIT_S [OUT_JSON]]
DATA_DIR: a fresh device data dir holding a copy of the stack's chain-spec.json (the trust root).
"""
import json, re, statistics, subprocess, sys, time, urllib.request

bin_, gateway, node, data, path = sys.argv[1:6]
wait_s = int(sys.argv[6]) if len(sys.argv) > 6 else 600
out_json = sys.argv[7] if len(sys.argv) > 7 else None
questions = [line.strip() for line in open(path) if line.strip()]
device = ["--gateway", gateway, "--data-dir", data]


def membria(*args, timeout=180):
    run = subprocess.run([bin_, *args, *device], capture_output=True, text=True, timeout=timeout)
    return run.returncode, run.stdout + run.stderr


def best_block():
    request = urllib.request.Request(
        node, json.dumps({"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": []}).encode(),
        {"content-type": "application/json"})
    header = json.load(urllib.request.urlopen(request, timeout=10))["result"]
    return int(header["number"], 16)


requested = {}
for number, question in enumerate(questions):
    # The chain opens at most 12 new demands a block (Dod::MaxExpiriesPerBlock): pace them.
    if number and number % 10 == 0:
        time.sleep(7)
    for _ in range(30):  # a gateway still catching up answers 503 for its first seconds
        code, out = membria("ask", question, "--request")
        if "catching up" not in out:
            break
        time.sleep(2)
    requested[question] = best_block()
    print(f"requested at block {requested[question]}: {question}", flush=True)

answers = {}
started = time.time()
while time.time() - started < wait_s and len(answers) < len(questions):
    time.sleep(15)
    membria("sync", timeout=600)
    for question in questions:
        if question in answers:
            continue
        code, out = membria("ask", question, "--offline")
        entry = re.search(r"entry (\d+) · proven at block", out)
        if code == 0 and entry:
            answers[question] = {"first": out.splitlines()[0], "entry": int(entry.group(1))}
    print(f"{int(time.time() - started)} s: {len(answers)}/{len(questions)} answered", flush=True)

blocks, links = [], []
for question in questions:
    answer = answers.get(question)
    if not answer:
        print(f"NO ANSWER  {question}")
        continue
    _, trace = membria("verify", str(answer["entry"]))
    validated = re.search(r"Validated \{ at: (\d+) \}", trace)
    if validated:
        answer["blocks"] = int(validated.group(1)) - requested[question]
        blocks.append(answer["blocks"])
    _, graph = membria("graph", str(answer["entry"]), "--offline")
    answer["links"] = [line.strip() for line in graph.splitlines() if line.strip().startswith("→")]
    links.append(len(answer["links"]))
    print(f"{answer.get('blocks', '?'):>4} blocks  {question}\n           {answer['first']}")
    for link in answer["links"]:
        print(f"           {link}")

print(f"\nanswered {len(answers)}/{len(questions)}; request → validated: median "
      f"{statistics.median(blocks) if blocks else '-'} blocks (max {max(blocks) if blocks else '-'}); "
      f"links per entry {sum(links) / max(len(links), 1):.2f} ({sum(1 for n in links if n)} entries with links)")
if out_json:
    json.dump(answers, open(out_json, "w"), indent=1)
