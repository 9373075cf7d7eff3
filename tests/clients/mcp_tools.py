#!/usr/bin/env python3
"""`membria mcp` through the official `mcp` Python SDK (installed by scripts/setup.sh): the SDK
starts `membria mcp` on stdio, as an agent or editor configured with it would.

usage: mcp_tools.py MEMBRIA_BIN DATA_DIR CHAIN_SPEC QUESTION UNKNOWN_QUESTION

QUESTION must be validated on the gateway's chain already; UNKNOWN_QUESTION must not be.
Prints one line per check; exits non-zero at the first failure.
"""
import asyncio
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from checks import check

membria_bin, data_dir, chain_spec, question, unknown = sys.argv[1:6]


def text(result):
    return "\n".join(block.text for block in result.content if getattr(block, "text", None))


async def main():
    params = StdioServerParameters(
        command=membria_bin,
        args=["mcp", "--data-dir", data_dir, "--chain-spec", chain_spec],
        env={"RUST_LOG": "warn"},
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            info = await session.initialize()
            check(info.server_info.name == "membria", "the server introduces itself", info.server_info)
            names = {tool.name for tool in (await session.list_tools()).tools}
            check(names == {"ask", "verify", "sync", "request_knowledge", "status"}, "the five tools are listed", names)

            answer = await session.call_tool("ask", {"question": question})
            structured = answer.structured_content or {}
            check(not answer.is_error and structured.get("verified") is True, "ask answers from verified entries", text(answer))
            entry = structured["entries"][0]
            check(f"[entry {entry['id']}] proven at block {entry['proven_at']}" in text(answer), "… and cites the entry", text(answer))
            check(entry["cid"].startswith("baf") and entry["approving_stake"] > 0, "… with its CID and approving stake", entry)

            verified = await session.call_tool("verify", {"entry": entry["id"]})
            check(f"entry {entry['id']} verifies" in text(verified) and (verified.structured_content or {}).get("verified"),
                  "verify checks the entry's trust chain step by step", text(verified))

            synced = await session.call_tool("sync", {})
            check(not synced.is_error and text(synced).startswith("synced:"), "sync syncs", text(synced))

            status = await session.call_tool("status", {})
            check((status.structured_content or {}).get("entries", 0) >= 1, "status counts the cached entries", text(status))

            miss = await session.call_tool("ask", {"question": unknown})
            check((miss.structured_content or {}).get("verified") is False and text(miss).startswith("No verified answer"),
                  "a question nobody answered yet is a miss, said so", text(miss))
            filed = await session.call_tool("request_knowledge", {"question": unknown})
            check((filed.structured_content or {}).get("filed") is True and "Demand filed on chain" in text(filed),
                  "request_knowledge files demand on chain", text(filed))

            bad = await session.call_tool("ask", {})
            check(bad.is_error and "question is missing" in text(bad), "ask without a question is refused by name", text(bad))
            bad = await session.call_tool("ask", {"question": "What is " + "x" * 600 + "?"})
            check(bad.is_error and "at most 512" in text(bad), "an oversize question is refused with the bound", text(bad))
            bad = await session.call_tool("verify", {"entry": "seven"})
            check(bad.is_error and "entry must be" in text(bad), "verify without an entry id is refused", text(bad))
            try:
                await session.call_tool("forget", {})
                check(False, "an unknown tool is refused", "accepted")
            except Exception as error:  # the SDK raises the server's JSON-RPC error
                check("no tool" in str(error), "an unknown tool is refused", error)
    print("all checks passed", flush=True)


asyncio.run(main())
