"""A Sphinx extension: each page loads every script once.

Under Jupyter Book 1, sphinx-thebe and sphinx-togglebutton register their inline
configuration scripts twice, so every page declares ``const THEBE_JS_URL`` twice and the
browser logs a SyntaxError. This drops repeated script entries (same file or same
inline body, same attributes) from each page's context before it is rendered.
"""

from __future__ import annotations


def _key(script) -> tuple:
    filename = (
        getattr(script, "filename", script) or ""
    )  # an inline script says None or ""
    attributes = getattr(script, "attributes", {}) or {}
    return str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items()))


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect(
        "html-page-context", dedupe_scripts, priority=999
    )  # after the themes add theirs
    return {"parallel_read_safe": True, "parallel_write_safe": True}
