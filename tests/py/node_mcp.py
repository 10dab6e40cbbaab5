"""Drives a running Hearth node's MCP server (`/mcp`) with the official `mcp` Python client
(PyPI) over streamable HTTP, the way an agent app would: the grant is the bearer token.

Environment: HEARTH_URL (http://127.0.0.1:PORT), HEARTH_GRANT (memories.search and
persona.chat), HEARTH_WA_GRANT (memories.search, WhatsApp only), HEARTH_EMBED_GRANT
(model.embed only: outside every tool).
Prints one JSON object with what it saw; tests/tests/node_mcp.rs asserts on it.
"""

import asyncio
import importlib.metadata
import json
import os

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

url = os.environ["HEARTH_URL"] + "/mcp"
grant = os.environ["HEARTH_GRANT"]
wa_grant = os.environ["HEARTH_WA_GRANT"]
embed_grant = os.environ["HEARTH_EMBED_GRANT"]
QUERY = "running a half marathon in Lisbon"


def http_client(token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300))


async def with_session(token, work):
    async with http_client(token) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await work(session)


def tool_result(result):
    """A tool result as JSON: its structured content and whether it is an error."""
    return {"is_error": result.is_error, "value": result.structured_content}


async def main():
    out = {"mcp_version": importlib.metadata.version("mcp")}

    async def full(session):
        tools = await session.list_tools()
        out["tools"] = {
            t.name: {
                "required": t.input_schema.get("required", []),
                "properties": sorted(t.input_schema.get("properties", {})),
            }
            for t in tools.tools
        }
        r = await session.call_tool("search_memories", {"query": QUERY, "k": 20})
        out["search"] = tool_result(r)
        r = await session.call_tool(
            "search_memories", {"query": QUERY, "k": 5, "sources": ["telegram"]}
        )
        out["search_telegram"] = tool_result(r)
        r = await session.call_tool(
            "ask_persona",
            {"question": "Where did you run a half marathon?", "max_tokens": 16},
        )
        out["persona"] = tool_result(r)
        r = await session.call_tool("search_memories", {"query": "x", "source": ["a"]})
        out["bad_arguments"] = tool_result(r)

    await with_session(grant, full)

    async def whatsapp(session):
        r = await session.call_tool("search_memories", {"query": QUERY})
        out["wa_search"] = tool_result(r)
        r = await session.call_tool(
            "search_memories", {"query": QUERY, "sources": ["telegram"]}
        )
        out["wa_widen"] = tool_result(r)
        r = await session.call_tool("ask_persona", {"question": "Hello?"})
        out["wa_persona"] = tool_result(r)

    await with_session(wa_grant, whatsapp)

    async def embed_only(session):
        r = await session.call_tool("search_memories", {"query": QUERY})
        out["outside_grant"] = tool_result(r)

    await with_session(embed_grant, embed_only)

    # No grant: the client cannot even initialize; the HTTP answer is 401.
    try:
        await with_session(None, lambda s: asyncio.sleep(0))
        out["no_grant"] = {"connected": True}
    except BaseException as e:  # noqa: BLE001 (anyio wraps errors in exception groups)
        out["no_grant"] = {"connected": False, "error": type(e).__name__}
    async with httpx2.AsyncClient() as http:
        initialize = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw", "version": "1"},
            },
        }
        headers = {"Accept": "application/json, text/event-stream"}
        r = await http.post(url, json=initialize, headers=headers)
        out["no_grant"]["status"] = r.status_code
        out["no_grant"]["www_authenticate"] = r.headers.get("www-authenticate")
        headers["Authorization"] = "Bearer not-a-grant"
        r = await http.post(url, json=initialize, headers=headers)
        out["bad_grant"] = {"status": r.status_code}

    print(json.dumps(out))


asyncio.run(main())
