#!/bin/bash
# The Kubernetes manifests (deploy/k8s/*.yaml) parse as YAML and hold
# what the issue names: a Deployment per responder with readiness on
# /health/ready and liveness on /health, resource requests and limits
# on every container, a HorizontalPodAutoscaler per responder (min 3,
# max 20, CPU 70 percent), a Service selecting each Deployment's pods,
# a ConfigMap and Secrets the containers read, and a migration Job.
# Debian's python3-yaml does the parsing (/usr/bin/python3: a python3
# earlier on PATH may not see Debian's packages).
DEPLOY_NO_STACK=1
. "$(dirname "$0")/lib.sh"

/usr/bin/python3 -c 'import yaml' 2>/dev/null ||
    fail "python3-yaml is missing (tests/harness/install-deps.sh)"
/usr/bin/python3 - "$SRC/deploy/k8s" <<'PY' || fail "manifests: see above"
import glob, os, sys
import yaml

d = sys.argv[1]
docs = []
for f in sorted(glob.glob(os.path.join(d, "*.yaml"))):
    with open(f) as fh:
        for doc in yaml.safe_load_all(fh):
            if doc:
                doc["_file"] = os.path.basename(f)
                docs.append(doc)
errors = []
def err(msg):
    errors.append(msg)

def kind(k):
    return [x for x in docs if x.get("kind") == k]
def named(k, name):
    return [x for x in kind(k) if x["metadata"]["name"] == name]
def check_resources(where, c):
    r = c.get("resources") or {}
    for part in ("requests", "limits"):
        for res in ("cpu", "memory"):
            if res not in (r.get(part) or {}):
                err(f"{where}: container {c['name']}: no {part}.{res}")

for x in docs:
    if "apiVersion" not in x or "metadata" not in x:
        err(f"{x['_file']}: a document without apiVersion or metadata")
    elif x.get("kind") != "Namespace" and \
            x["metadata"].get("namespace") != "websands":
        err(f"{x['_file']}: {x['kind']} outside namespace websands")

config_maps = {x["metadata"]["name"] for x in kind("ConfigMap")}
secrets = {x["metadata"]["name"] for x in kind("Secret")}
if "websands-config" not in config_maps:
    err("no ConfigMap websands-config")
if "websands-secrets" not in secrets:
    err("no Secret websands-secrets")

for r in ("auth", "users", "admin", "health"):
    name = "websands-" + r
    deps = named("Deployment", name)
    if len(deps) != 1:
        err(f"{name}: {len(deps)} Deployments")
        continue
    dep = deps[0]
    spec = dep["spec"]["template"]["spec"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    sel = dep["spec"]["selector"]["matchLabels"]
    if any(labels.get(k) != v for k, v in sel.items()):
        err(f"{name}: the selector does not match the pod labels")
    if not spec.get("securityContext", {}).get("runAsNonRoot"):
        err(f"{name}: pods may run as root")
    ready = [c for c in spec["containers"]
        if (c.get("readinessProbe") or {}).get("httpGet", {})
            .get("path") == "/health/ready"]
    live = [c for c in spec["containers"]
        if (c.get("livenessProbe") or {}).get("httpGet", {})
            .get("path") == "/health"]
    if not ready:
        err(f"{name}: no readiness probe on /health/ready")
    if not live:
        err(f"{name}: no liveness probe on /health")
    for c in spec.get("initContainers", []) + spec["containers"]:
        check_resources(name, c)
    main = [c for c in spec["containers"] if name in c.get("args", [])]
    if not main:
        err(f"{name}: no container runs {name}")
    for c in main:
        refs = {(e.get("configMapRef") or e.get("secretRef") or {})
            .get("name") for e in c.get("envFrom", [])}
        if not {"websands-config", "websands-secrets"} <= refs:
            err(f"{name}: configuration not from the ConfigMap and Secret")
    svc = named("Service", name)
    if len(svc) != 1 or any(labels.get(k) != v for k, v in
            svc[0]["spec"]["selector"].items()):
        err(f"{name}: no Service selecting its pods")
    hpas = [h for h in kind("HorizontalPodAutoscaler")
        if h["spec"]["scaleTargetRef"]["name"] == name]
    if len(hpas) != 1:
        err(f"{name}: {len(hpas)} HorizontalPodAutoscalers")
        continue
    h = hpas[0]
    if h["apiVersion"] != "autoscaling/v2" or \
            h["spec"]["scaleTargetRef"]["kind"] != "Deployment":
        err(f"{name}: the HPA is not autoscaling/v2 on the Deployment")
    if h["spec"].get("minReplicas") != 3 or \
            h["spec"].get("maxReplicas") != 20:
        err(f"{name}: HPA replicas not 3..20")
    cpu = [m for m in h["spec"].get("metrics", [])
        if m.get("type") == "Resource" and
        m["resource"]["name"] == "cpu" and
        m["resource"]["target"].get("averageUtilization") == 70]
    if not cpu:
        err(f"{name}: HPA not on 70 percent CPU")

jobs = [j for j in kind("Job")
    if "migrate" in j["spec"]["template"]["spec"]["containers"][0]
        .get("args", [])]
if not jobs:
    err("no Job runs websands migrate")
for j in jobs:
    for c in j["spec"]["template"]["spec"]["containers"]:
        check_resources(j["metadata"]["name"], c)
for dep in kind("Deployment"):
    vols = {v["name"] for v in dep["spec"]["template"]["spec"]
        .get("volumes", [])}
    for c in dep["spec"]["template"]["spec"].get("initContainers", []) + \
            dep["spec"]["template"]["spec"]["containers"]:
        for m in c.get("volumeMounts", []):
            if m["name"] not in vols:
                err(f"{dep['metadata']['name']}: mount of unknown "
                    f"volume {m['name']}")
    for v in dep["spec"]["template"]["spec"].get("volumes", []):
        if "configMap" in v and v["configMap"]["name"] not in config_maps:
            err(f"{dep['metadata']['name']}: no ConfigMap "
                f"{v['configMap']['name']}")
        if "secret" in v and v["secret"]["secretName"] not in secrets:
            err(f"{dep['metadata']['name']}: no Secret "
                f"{v['secret']['secretName']}")
for e in errors:
    print("k8s: " + e)
print(f"k8s: {len(docs)} documents, {len(errors)} problems")
sys.exit(1 if errors else 0)
PY
say "ok"
