#!/bin/bash
# docker-compose.yml and the Dockerfile: "docker-compose config" (Debian's
# docker-compose parses without a container engine) accepts the file,
# and the result has what the issue names: PostgreSQL, memcached, the
# mailer, nginx and the four responders, health checks on /health and
# /health/ready, secrets from files and none in the environment.  The
# Dockerfile is multi-stage on Debian 12 and its images run as an
# unprivileged user.
DEPLOY_NO_STACK=1
. "$(dirname "$0")/lib.sh"

command -v docker-compose >/dev/null ||
    fail "docker-compose is missing (tests/harness/install-deps.sh)"
/usr/bin/python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml is missing"

# A copy, so nothing (such as a .env file) in the work tree counts.
mkdir -p "$T/project"
cp "$SRC/docker-compose.yml" "$SRC/Dockerfile" "$SRC/.dockerignore" \
    "$T/project/"
if ! (cd "$T/project" && docker-compose config) >"$T/config.yml" \
    2>"$T/config.err"; then
	if grep -q -i 'docker daemon\|docker engine\|connect to docker' \
	    "$T/config.err"; then
		fail "docker-compose config wants a container engine:" \
		    "$(cat "$T/config.err")"
	fi
	fail "docker-compose config refused the file: $(cat "$T/config.err")"
fi
say "docker-compose config accepted docker-compose.yml"

/usr/bin/python3 - "$T/config.yml" "$SRC/Dockerfile" <<'PY' ||
import re, sys
import yaml

cfg = yaml.safe_load(open(sys.argv[1]))
errors = []
services = cfg.get("services", {})
want = ["postgres", "memcached", "mailer", "web", "auth", "users",
    "admin", "health", "migrate"]
for s in want:
    if s not in services:
        errors.append(f"no service {s}")
def health_test(s):
    t = (services.get(s, {}).get("healthcheck") or {}).get("test", [])
    return " ".join(t) if isinstance(t, list) else str(t)
if "/health" not in health_test("health"):
    errors.append("the health service is not checked on /health")
if "/health/ready" not in health_test("web"):
    errors.append("nginx (web) is not checked on /health/ready")
for s in ("auth", "users", "admin", "postgres"):
    if not health_test(s):
        errors.append(f"{s} has no health check")
for name, sec in (cfg.get("secrets") or {}).items():
    if "file" not in sec:
        errors.append(f"secret {name} is not from a file")
for name, s in services.items():
    env = s.get("environment") or {}
    for k, v in env.items():
        if re.search(r"PASSWORD$|^DATABASE_URL$", k) and \
                not k.endswith("_FILE"):
            errors.append(f"{name}: secret {k} in the environment")
    if s.get("image", "").startswith("websands") and name != "web":
        if "websands.env" not in [x.get("source") for x in
                s.get("secrets", [])]:
            errors.append(f"{name}: no secret configuration file")
if not services.get("postgres", {}).get("environment", {}) \
        .get("POSTGRES_PASSWORD_FILE"):
    errors.append("postgres does not read its password from a file")

# The Dockerfile: several stages, all Debian 12; the final stages run
# as an unprivileged numeric user.
stages = []
for line in open(sys.argv[2]):
    m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
    if m:
        stages.append({"base": m.group(1), "name": m.group(2),
            "user": None})
    m = re.match(r"USER\s+(\S+)", line)
    if m and stages:
        stages[-1]["user"] = m.group(1)
if len(stages) < 2:
    errors.append("the Dockerfile is not multi-stage")
for st in stages:
    if not re.match(r"debian:12|debian:bookworm", st["base"]):
        errors.append(f"stage {st['name']} is not Debian 12")
for st in stages:
    if st["name"] in ("runtime", "web"):
        u = (st["user"] or "0").split(":")[0]
        if not u.isdigit() or int(u) == 0:
            errors.append(f"stage {st['name']} runs as {st['user']}")
for e in errors:
    print("compose: " + e)
sys.exit(1 if errors else 0)
PY
    fail "the compose file or Dockerfile lacks something (above)"
say "ok"
