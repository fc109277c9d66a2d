"""The admin console: `engage-sync console` serves the guide's CRM Settings screens.

Server-rendered (FastAPI + Jinja2), bound to 127.0.0.1 by default; every page and
API route needs a login (or the API's bearer token) except `/login`, `/static/` and
`/healthz`. The top layer: it may import everything below; nothing imports it.
"""
