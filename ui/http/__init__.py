"""The HTTP room: newsrag's whole HTTP API, one router per area, behind one app factory.

    from ui.http.app import create_app          # the read API over one rag.Assistant
    from ui.http.server import build_app, serve  # + admin and owner routes and the chat at "/": `newsrag serve`

- `app.py`: `create_app`: middleware, error handlers, the routers below and the MCP mount; request-body limits.
- `answers.py` (/v1/ask, /v1/chat, /v1/timeline), `openai.py` (/v1/chat/completions, /v1/models, the OpenAI
  shapes), `service.py` (/v1/health, /v1/articles), `admin.py` (/v1/admin/*, DELETE /v1/articles/{id}),
  `store.py` (/v1/store/*: commands from other newsrag processes on this machine), `mcp.py` (/mcp).
- `schemas.py` (request and response models), `errors.py` (errors as `{"error", "type"}`), `auth.py` (keys),
  `middleware.py` (request ids, body limits), `serving.py` (start-up checks shared with `newsrag ui`).

It may use `rag` (the Assistant, its records and errors) and `index` (ingest, uploads); nothing imports it
but the rest of `ui`. Importing this package imports nothing else.
"""
