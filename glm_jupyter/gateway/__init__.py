"""The course gateway: an OpenAI-compatible proxy that holds the course's key, knows each
student by a credential of their own, and counts their usage in a database.

`glm-jupyter gateway serve` runs it (standalone, or as a JupyterHub service); the kernel's
`gateway` provider talks to it. See `docs/teaching.md`.
"""
