"""The web app's service worker (frontend/sw/sw.ts, built to frontend/dist/sw.js) at /sw.js.

WhiteNoise serves it from the SPA's root like index.html and favicon.svg; this adds what a
service worker script needs on top: `Service-Worker-Allowed: /` (its scope is the whole app)
and `no-cache`, so a browser checks for a new version at every registration instead of keeping a
stale worker for WhiteNoise's max-age. No Django imports: settings import this module.
"""
SERVICE_WORKER_PATH = "/sw.js"


def add_headers(headers, path: str, url: str) -> None:
    """WHITENOISE_ADD_HEADERS_FUNCTION: called for every file WhiteNoise serves."""
    if url == SERVICE_WORKER_PATH:
        headers["Service-Worker-Allowed"] = "/"
        headers["Cache-Control"] = "no-cache"
