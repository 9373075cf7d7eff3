#!/usr/bin/env python3
"""`membria serve` through the official `openai` Python package (installed by scripts/setup.sh).

usage: openai_serve.py SERVE_URL UPSTREAM_SERVE_URL QUESTION WAIT_S

SERVE_URL: a `membria serve --request` (at its default, http://127.0.0.1:8081/v1) on a device
whose cache does not yet answer QUESTION; UPSTREAM_SERVE_URL: a `membria serve --upstream …`
whose upstream answers everything with "UPSTREAM SAYS: …".

Checks, in order: the model list; a miss that files demand; the entry reaching the cache with no
request and no `membria sync` (serve follows the gateway's events) within WAIT_S; the hit, plain and streamed,
with its citations in the text and in the `membria` field; generation by the local model on the
verified entry; OpenAI-style errors for bad input; the upstream's unverified answer to a miss.
Prints one line per check; exits non-zero at the first failure.
"""
import json
import sys
import time
import urllib.error
import urllib.request

import openai

from checks import check

serve_url, upstream_url, question, wait_s = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = openai.OpenAI(base_url=serve_url, api_key="not-needed", max_retries=0, timeout=120)


def membria(response):
    return (response.model_extra or {}).get("membria") or {}


models = [m.id for m in client.models.list().data]
check("membria-cache" in models, "the model list names membria-cache", models)

ask = lambda q, **kw: client.chat.completions.create(
    model=kw.pop("model", "membria-cache"), messages=[{"role": "user", "content": q}], **kw
)

first = ask(question)
provenance = membria(first)
content = first.choices[0].message.content
check(provenance.get("verified") is False, "a question the cache cannot answer is a miss", provenance)
check(content.startswith("No verified answer"), "the miss says so", content)
check(provenance.get("demand") is not None, "the miss filed demand on chain", provenance)

# No chat request asks again meanwhile: the entry must reach the cache by serve following the
# gateway's events (its /health counts the cached entries).
health = serve_url.rsplit("/v1", 1)[0] + "/health"
deadline = time.time() + wait_s
while json.load(urllib.request.urlopen(health, timeout=30))["entries"] == 0:
    if time.time() > deadline:
        check(False, f"the validated entry is synced within {wait_s} s", "not yet")
    time.sleep(2)
print(f"the entry was validated and synced {int(time.time() - (deadline - wait_s))} s after the demand", flush=True)
hit = ask(question)
check(membria(hit).get("source") == "verified cache", "it is answered from the verified cache", membria(hit))

provenance = membria(hit)
content = hit.choices[0].message.content
entry = provenance["entries"][0]
check(hit.model == "membria-cache" and hit.object == "chat.completion", "a chat completion", hit.model)
check(entry["cid"].startswith("baf") and entry["proven_at"] > 0 and entry["approving_stake"] > 0,
      "the entry's CID, proven block and approving stake", entry)
check(f"[entry {entry['id']}] proven at block {entry['proven_at']}" in content, "the text cites the entry", content)
check(hit.usage.completion_tokens > 0, "usage is reported", hit.usage)

# The same, streamed: the pieces make the same text, the last chunk carries the provenance.
pieces, last = [], None
for chunk in ask(question, stream=True):
    last = chunk
    if chunk.choices and chunk.choices[0].delta.content:
        pieces.append(chunk.choices[0].delta.content)
check("".join(pieces) == content, "the streamed answer is the same text", "".join(pieces))
check(last.choices[0].finish_reason == "stop", "the stream ends with finish_reason stop", last)
check(membria(last).get("entries", [{}])[0].get("id") == entry["id"], "the last chunk cites the entry", membria(last))

# Generation on the verified entry (Cache-Augmented Generation with the local model).
if "membria-smollm2" in models:
    generated = ask(question, model="membria-smollm2", max_tokens=40)
    text = generated.choices[0].message.content
    check(membria(generated).get("verified") and f"[entry {entry['id']}]" in text,
          "membria-smollm2 generates on the verified entry and cites it", text)
    streamed = "".join(c.choices[0].delta.content or "" for c in ask(question, model="membria-smollm2", max_tokens=40, stream=True) if c.choices)
    check(f"[entry {entry['id']}]" in streamed, "generation streams too", streamed)

# Bad input: OpenAI-style errors the SDK raises as its own exceptions.
def refused(exception, what, **kw):
    try:
        client.chat.completions.create(**kw)
    except exception as error:
        body = error.body or {}
        check(isinstance(body, dict) and body.get("message"), what, body)
        return body["message"]
    check(False, what, "accepted")

message = refused(openai.BadRequestError, "no messages: 400", model="membria-cache", messages=[])
check("messages is empty" in message, "… says the messages are empty", message)
message = refused(openai.BadRequestError, "a wrong role: 400", model="membria-cache",
                  messages=[{"role": "robot", "content": question}])
check("robot" in message, "… names the role", message)
message = refused(openai.BadRequestError, "the last message not the user's: 400", model="membria-cache",
                  messages=[{"role": "user", "content": question}, {"role": "assistant", "content": "x"}])
message = refused(openai.BadRequestError, "an oversize question: 400", model="membria-cache",
                  messages=[{"role": "user", "content": "What is " + "x" * 600 + "?"}])
check("at most 512" in message, "… gives the bound", message)
message = refused(openai.NotFoundError, "an unknown model: 404", model="gpt-5",
                  messages=[{"role": "user", "content": question}])
check("gpt-5" in message, "… names the model", message)

# `membria ask`'s own endpoint refuses bad input by name too.
native = serve_url.rsplit("/v1", 1)[0] + "/membria/v1/ask"
for body, expected in [({"question": ""}, "1 to 512 bytes"), ({"question": "x" * 600}, "1 to 512 bytes"),
                       ({"asked": question}, "question")]:
    request = urllib.request.Request(native, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=30)
        check(False, f"{body!r} is refused", "accepted")
    except urllib.error.HTTPError as error:
        reason = error.read().decode()
        check(400 <= error.code < 500 and expected in reason, f"/membria/v1/ask refuses {list(body)[0]}={str(list(body.values())[0])[:12]!r}", reason)

# A miss on the server with an upstream: the upstream's answer, marked unverified.
upstream = openai.OpenAI(base_url=upstream_url, api_key="not-needed", max_retries=0, timeout=120)
answer = upstream.chat.completions.create(
    model="membria-cache", messages=[{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": "What is the capital of Atlantis?"}])
provenance = membria(answer)
content = answer.choices[0].message.content
check(content.startswith("UPSTREAM SAYS:"), "a miss goes to the upstream", content)
check("(Unverified: answered by" in content and provenance.get("verified") is False
      and provenance.get("source") == "upstream", "… marked unverified", provenance)
print("all checks passed", flush=True)
