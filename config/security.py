"""Browser security headers for every answer (the SPA, the API, the docs).

The Content-Security-Policy comes from django-csp (CONTENT_SECURITY_POLICY in settings); this
middleware adds the app's own WebSocket origin to connect-src (`'self'` covers ws: / wss: only
in CSP Level 3 browsers) and sends Permissions-Policy, which Django has no setting for.
"""
from csp.middleware import CSPMiddleware, PolicyParts
from django.core.exceptions import DisallowedHost

# The chat uses none of these; a page that is never allowed them cannot be tricked into asking.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "autoplay", "camera", "display-capture", "geolocation", "gyroscope", "magnetometer",
    "microphone", "midi", "payment", "usb", "interest-cohort"))


class SecurityHeadersMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        try:
            host = request.get_host()
        except DisallowedHost:
            return parts
        scheme = "wss" if request.is_secure() else "ws"
        parts.update = {**(parts.update or {}), "connect-src": [f"{scheme}://{host}"]}
        return parts

    def process_response(self, request, response):
        response = super().process_response(request, response)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
