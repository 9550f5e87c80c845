"""This ws pod's `controller.kubernetes.io/pod-deletion-cost`, kept at its open-socket count.

When a Deployment scales down, the ReplicaSet removes the pods of lowest deletion cost first, so
the emptiest ws pods go and the fewest clients have to reconnect. Only in Kubernetes: the pod's
name and namespace come from the downward API (POD_NAME, POD_NAMESPACE, set by helm/chat), the
API server from KUBERNETES_SERVICE_HOST/PORT, the credentials from the mounted service-account
token (the chart's Role allows get/patch on pods). CHAT_POD_DELETION_COST_SECONDS=0 turns it off.
"""
import asyncio
import json
import logging
import os
import ssl
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class PodApi:
    """Where to PATCH this pod, with what credentials, how often."""
    url: str
    token_file: Path
    ca_file: Path | None
    interval: float


def from_environment(environ: Mapping[str, str] = os.environ,
                     service_account: Path = SERVICE_ACCOUNT) -> PodApi | None:
    """The pod's API address when running in Kubernetes with a token, else None."""
    interval = float(environ.get("CHAT_POD_DELETION_COST_SECONDS") or 10)
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT", "443")
    pod, namespace = environ.get("POD_NAME"), environ.get("POD_NAMESPACE")
    token = service_account / "token"
    if interval <= 0 or not (host and pod and namespace) or not token.exists():
        return None
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    ca = service_account / "ca.crt"
    url = f"https://{host}:{port}/api/v1/namespaces/{quote(namespace)}/pods/{quote(pod)}"
    return PodApi(url=url, token_file=token, ca_file=ca if ca.exists() else None, interval=interval)


def patch_cost(api: PodApi, cost: int, timeout: float = 5.0) -> None:
    """One merge-patch of the annotation (blocking; run it in a thread)."""
    body = json.dumps({"metadata": {"annotations": {ANNOTATION: str(cost)}}}).encode()
    token = api.token_file.read_text().strip()  # re-read: projected tokens rotate
    request = urllib.request.Request(api.url, data=body, method="PATCH", headers={
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/merge-patch+json",
        "Accept": "application/json",
    })
    context = ssl.create_default_context(cafile=str(api.ca_file) if api.ca_file else None) \
        if api.url.startswith("https:") else None
    with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
        response.read()


async def keep_updated(api: PodApi, count: Callable[[], int]) -> None:
    """PATCH whenever the count changed since the last successful PATCH, every interval."""
    written: int | None = None
    while True:
        cost = count()
        if cost != written:
            try:
                await asyncio.to_thread(patch_cost, api, cost)
                written = cost
            except Exception:  # noqa: BLE001 - the API away: try again next round
                log.warning("could not set the pod deletion cost", exc_info=True)
        await asyncio.sleep(api.interval)
