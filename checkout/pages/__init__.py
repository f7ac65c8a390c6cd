"""HTML for every audience: the Jinja2 environment, languages and static assets.

Below both the web layer and the sandbox, which render pages with it.
"""
