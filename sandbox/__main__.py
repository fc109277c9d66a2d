"""`python -m sandbox` runs the sandbox org in the foreground."""

from __future__ import annotations

from sandbox.org import main

main()
