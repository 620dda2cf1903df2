"""Security headers on every response (pages, fragments, JSON, static files, errors).

The Content-Security-Policy allows scripts, styles, images and requests from this origin only:
no inline script, no inline `style=` attribute, no `on…=` handler, no `eval` (htmx runs with
`allowEval: false` and `includeIndicatorStyles: false`, base.html's htmx-config). Forms may post
here and to LinkedIn's OAuth page (Connect LinkedIn redirects there); nothing may frame a page
(`frame-ancestors 'none'`, and X-Frame-Options for older browsers), so the dashboard's buttons
cannot be clickjacked. HSTS is sent in production only (APP_ENV=production), where the app is
served over HTTPS: a development server on plain http must stay reachable."""

from __future__ import annotations

from flask import Flask, Response

#: The policy, directive by directive (README "Security" lists it for anyone adding JavaScript).
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self' https://www.linkedin.com",
    "frame-ancestors 'none'",
])
#: One year; not includeSubDomains: the deployer's other subdomains are not ours to decide.
HSTS = "max-age=31536000"

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    # Post ids are in our URLs: other sites (an image host, LinkedIn) are not told which page linked them.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    production = app.config.get("APP_ENV") == "production"

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if production:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
