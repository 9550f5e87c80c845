"""The built web app: index.html for every client-side route (deep links), assets by WhiteNoise."""
from django.conf import settings
from django.http import FileResponse, HttpResponse


def index(request, path: str = ""):
    index_file = settings.FRONTEND_DIST / "index.html"
    if not index_file.exists():
        return HttpResponse(
            "<h1>Chat</h1><p>The web app is not built: run <code>make run</code> (or "
            "<code>npm --prefix frontend ci && npm --prefix frontend run build</code>).</p><p>The API is at "
            "<a href='/api/docs/'>/api/docs/</a>.</p>", status=200)
    response = FileResponse(index_file.open("rb"), content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
