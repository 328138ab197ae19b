"""The web dashboard: server-rendered pages (Jinja2) on the API's FastAPI app.

`dashboard.routes.mount(app, services)` adds the pages (`/`, `/jobs/{job_id}`, `/compare`), their
fragments and downloads, and the vendored static files (`/static`). Every route resolves the
caller like the API does and reads through the same scoped use cases.
"""
