"""Drives a running Hearth node with the official `openai` Python client (PyPI), the way any
app would: only the base URL and the key (a Hearth grant) change.

Environment: HEARTH_URL (http://127.0.0.1:PORT), HEARTH_GRANT (a grant with model.chat,
model.embed and persona.chat), HEARTH_NARROW_GRANT (a grant with model.embed only).
Prints one JSON object with what it saw; tests/tests/node_openai.rs asserts on it.
"""

import json
import os
import sys

import openai
from openai import OpenAI

base_url = os.environ["HEARTH_URL"] + "/v1"
grant = os.environ["HEARTH_GRANT"]
narrow = os.environ["HEARTH_NARROW_GRANT"]
out = {"openai_version": openai.__version__}

client = OpenAI(base_url=base_url, api_key=grant, max_retries=0, timeout=120)

# Models the grant may use.
models = client.models.list()
out["models"] = [m.id for m in models.data]
chat_model = next(m for m in out["models"] if m not in ("persona", "all-minilm-l6-v2"))

# A chat completion.
completion = client.chat.completions.create(
    model=chat_model,
    messages=[
        {"role": "system", "content": "You are brief."},
        {"role": "user", "content": "Name a colour."},
    ],
    max_completion_tokens=8,
    temperature=0,
    seed=1,
)
out["chat"] = {
    "content": completion.choices[0].message.content,
    "finish_reason": completion.choices[0].finish_reason,
    "usage": completion.usage.model_dump(),
    "object": completion.object,
}

# The same, streamed, with usage in the last chunk.
pieces, finish, usage, chunks = [], None, None, 0
stream = client.chat.completions.create(
    model=chat_model,
    messages=[{"role": "user", "content": "Name a colour."}],
    max_tokens=8,
    temperature=0,
    seed=1,
    stream=True,
    stream_options={"include_usage": True},
)
for chunk in stream:
    chunks += 1
    if chunk.usage is not None:
        usage = chunk.usage.model_dump()
    for choice in chunk.choices:
        if choice.delta.content:
            pieces.append(choice.delta.content)
        if choice.finish_reason:
            finish = choice.finish_reason
out["stream"] = {"content": "".join(pieces), "finish_reason": finish, "usage": usage, "chunks": chunks}

# Stop strings end the answer before them.
stopped = client.chat.completions.create(
    model=chat_model,
    messages=[{"role": "user", "content": "Count from 1 to 9, separated by commas."}],
    max_tokens=30,
    temperature=0,
    stop=["5"],
)
out["stop"] = {
    "content": stopped.choices[0].message.content,
    "finish_reason": stopped.choices[0].finish_reason,
}

# Embeddings: the client asks for base64 by default and decodes it; floats when asked.
embedded = client.embeddings.create(model="all-minilm-l6-v2", input=["a cat", "a kitten", "tax law"])
floats = client.embeddings.create(model="all-minilm-l6-v2", input="a cat", encoding_format="float")
vectors = [d.embedding for d in embedded.data]


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


out["embeddings"] = {
    "count": len(vectors),
    "dim": len(vectors[0]),
    "norm": dot(vectors[0], vectors[0]),
    "cat_kitten": dot(vectors[0], vectors[1]),
    "cat_tax": dot(vectors[0], vectors[2]),
    "float_matches_base64": max(abs(x - y) for x, y in zip(floats.data[0].embedding, vectors[0])) < 1e-6,
    "usage": embedded.usage.model_dump(),
}

# The persona: an answer grounded in the owner's memories, with the ids it used.
persona = client.chat.completions.create(
    model="persona",
    messages=[{"role": "user", "content": "Where does Inês like to run?"}],
    max_tokens=8,
    temperature=0,
)
extra = persona.model_extra or {}
out["persona"] = {"content": persona.choices[0].message.content, "memory_ids": extra.get("memory_ids")}


def status_of(call):
    try:
        call()
    except openai.APIStatusError as e:
        body = e.body if isinstance(e.body, dict) else {}
        return {"status": e.status_code, "type": type(e).__name__, "code": body.get("code")}
    return {"status": 200}


# Without a grant (a key that is no grant) and outside the grant (embed-only grant chatting).
nobody = OpenAI(base_url=base_url, api_key="not-a-grant", max_retries=0, timeout=60)
out["no_grant"] = status_of(lambda: nobody.models.list())
embed_only = OpenAI(base_url=base_url, api_key=narrow, max_retries=0, timeout=60)
out["narrow_models"] = [m.id for m in embed_only.models.list().data]
out["outside_grant"] = status_of(
    lambda: embed_only.chat.completions.create(
        model=chat_model, messages=[{"role": "user", "content": "hi"}], max_tokens=2
    )
)
out["n_2"] = status_of(
    lambda: client.chat.completions.create(
        model=chat_model, messages=[{"role": "user", "content": "hi"}], max_tokens=2, n=2
    )
)
out["unknown_model"] = status_of(
    lambda: client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], max_tokens=2
    )
)

json.dump(out, sys.stdout)
