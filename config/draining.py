"""Whether this process is draining: set by a ws process on SIGTERM (apps.ws.process), read by
its readiness check (apps.ops.views.readyz answers 503 "draining"). It lives here because the
apps never import each other."""
_draining = False


def start() -> None:
    global _draining
    _draining = True


def active() -> bool:
    return _draining
