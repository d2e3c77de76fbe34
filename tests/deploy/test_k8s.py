"""deploy/k8s and deploy/argocd: render every kustomization with `kubectl kustomize` and check the
objects a cluster would get: probes, resources, security context, args, one HPA and one PDB per
Deployment, gateway routes (simulated request by request) to existing Services and ports, the two
rewrites, CORS, the PreSync migrate Job, and nothing secret in ConfigMaps.

Each checker returns a list of problems; the mutation tests at the end break a copy of the
rendered objects in one way each and require the checkers to name the problem, so no check passes
vacuously.

    /usr/bin/python3 -m pytest tests/deploy -q
"""
from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="python3-yaml (Debian package) is needed to parse manifests")

REPO = Path(__file__).resolve().parents[2]
KUBECTL = shutil.which("kubectl")
NAMESPACE = "cloudjet"
SECRET = "cloudjet-secrets"  # created out of band; the only Secret the manifests may reference
API_HOST = "api.cloudjet.click"  # the host the original front end calls
FRONT_END_ORIGINS = {"https://cloudjet.click", "https://www.cloudjet.click"}
VARIANTS = {"base": "deploy/k8s/base", "default": "deploy/k8s", "istio": "deploy/k8s/istio"}

# component -> (API prefix, port) (README "What runs where")
SERVICES = {
    "auth": ("/api/auth", 5001),
    "flight": ("/api/flights", 5002),
    "booking": ("/api/bookings", 5003),
    "admin": ("/api/admin", 5004),
    "payment": ("/api/payments", 5005),
}
# What the gateway must do with a request path: (Service, port, path the service receives), or
# None for "not routed". The original VirtualService's table, plus paths under each prefix.
ROUTE_TABLE = {
    "/api/health": ("cloudjet-auth", 5001, "/api/auth/health"),
    "/api/airports": ("cloudjet-flight", 5002, "/api/flights/airports"),
    "/api/auth/login": ("cloudjet-auth", 5001, "/api/auth/login"),
    "/api/auth/health": ("cloudjet-auth", 5001, "/api/auth/health"),
    "/api/flights/search": ("cloudjet-flight", 5002, "/api/flights/search"),
    "/api/flights/airports": ("cloudjet-flight", 5002, "/api/flights/airports"),
    "/api/bookings": ("cloudjet-booking", 5003, "/api/bookings"),
    "/api/bookings/occupied-seats/7": ("cloudjet-booking", 5003, "/api/bookings/occupied-seats/7"),
    "/api/admin/flights-with-schedules": ("cloudjet-admin", 5004, "/api/admin/flights-with-schedules"),
    "/api/payments/webhook": ("cloudjet-payment", 5005, "/api/payments/webhook"),
    "/api/unknown": None,
    "/metrics": None,  # per-pod metrics are scraped inside the cluster, never published
}
NGINX = "nginx.ingress.kubernetes.io/"  # ingress-nginx annotation prefix
SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY|TOKEN|CREDENTIAL", re.I)
URL_WITH_PASSWORD = re.compile(r"://[^/@:\s]+:[^/@\s]+@")


# ---------------------------------------------------------------------------------------------
# rendering and small helpers


def render(path: str) -> list[dict]:
    r = subprocess.run([KUBECTL, "kustomize", str(REPO / path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"kubectl kustomize {path} failed:\n{r.stderr}"
    return [o for o in yaml.safe_load_all(r.stdout) if o]


def kustomize_version() -> tuple[str, tuple[int, ...]]:
    """kubectl's version and the version of the kustomize built into it ((), if it does not say:
    kubectl before 1.24, e.g. Debian 12's kubernetes-client 1.20 with kustomize v2)."""
    r = subprocess.run([KUBECTL, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=30)
    info = json.loads(r.stdout or "{}")
    found = re.match(r"v?(\d+)\.(\d+)", info.get("kustomizeVersion", ""))
    return info.get("clientVersion", {}).get("gitVersion", "?"), tuple(map(int, found.groups())) if found else ()


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    if KUBECTL is None:
        pytest.skip("kubectl not installed (it renders the kustomizations: `kubectl kustomize`)")
    kubectl, kustomize = kustomize_version()
    if kustomize < (4, 0):
        pytest.skip(f"kubectl {kubectl} has no kustomize >= v4 built in (`patches` with targets, generator "
                    "options); install kubectl >= 1.24")
    return {name: render(path) for name, path in VARIANTS.items()}


def of_kind(objs: list[dict], kind: str) -> list[dict]:
    return [o for o in objs if o.get("kind") == kind]


def find(objs: list[dict], kind: str, name: str) -> dict:
    """The object of that kind whose name is `name` (or `name-<hash>` for generated ConfigMaps)."""
    pattern = re.escape(name) + r"(-[a-z0-9]{10})?"
    hits = [o for o in of_kind(objs, kind) if re.fullmatch(pattern, o["metadata"]["name"])]
    assert len(hits) == 1, f"{kind}/{name}: {len(hits)} objects"
    return hits[0]


def name_of(o: dict) -> str:
    return f'{o["kind"]}/{o["metadata"]["name"]}'


def pod_spec(o: dict) -> dict:
    return o["spec"]["template"]["spec"]


def labels_match(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def quantity(q) -> float:
    s = str(q)
    units = (("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30), ("m", 1e-3), ("k", 1e3), ("M", 1e6), ("G", 1e9))
    for unit, factor in units:
        if s.endswith(unit):
            return float(s[: -len(unit)]) * factor
    return float(s)


def container_port(c: dict, port) -> int | None:
    """A probe's or Service's port (number or name) resolved against a container's ports."""
    for p in c.get("ports", []):
        if port in (p.get("name"), p["containerPort"]):
            return p["containerPort"]
    return None


# ---------------------------------------------------------------------------------------------
# checkers: each returns a list of human-readable problems


def pod_security_problems(where: str, spec: dict) -> list[str]:
    sc = spec.get("securityContext") or {}
    out = []
    if sc.get("runAsNonRoot") is not True:
        out.append(f"{where}: pod securityContext.runAsNonRoot is not true")
    if sc.get("runAsUser") != 10001:
        out.append(f"{where}: pod securityContext.runAsUser is {sc.get('runAsUser')!r}, not 10001")
    if (sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        out.append(f"{where}: pod securityContext.seccompProfile is not RuntimeDefault")
    return out


def container_problems(where: str, c: dict) -> list[str]:
    """Resources and security context every container (service or Job) must have."""
    out = []
    res = c.get("resources") or {}
    for bound in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if not (res.get(bound) or {}).get(r):
                out.append(f"{where}: no resources.{bound}.{r}")
    for r in ("cpu", "memory"):
        req, lim = (res.get("requests") or {}).get(r), (res.get("limits") or {}).get(r)
        if req and lim and quantity(req) > quantity(lim):
            out.append(f"{where}: resources.requests.{r} {req} exceeds the limit {lim}")
    sc = c.get("securityContext") or {}
    for key, want in (("runAsNonRoot", True), ("runAsUser", 10001), ("readOnlyRootFilesystem", True),
                      ("allowPrivilegeEscalation", False)):
        if sc.get(key) != want:
            out.append(f"{where}: securityContext.{key} is {sc.get(key)!r}, not {want!r}")
    if sc.get("privileged"):
        out.append(f"{where}: securityContext.privileged")
    if "ALL" not in (sc.get("capabilities") or {}).get("drop", []):
        out.append(f"{where}: securityContext.capabilities does not drop ALL")
    if (sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        out.append(f"{where}: securityContext.seccompProfile is not RuntimeDefault")
    for e in c.get("env", []):
        if SECRET_NAME.search(e["name"]) and "value" in e:
            out.append(f"{where}: env {e['name']} has a literal value (secrets come from {SECRET})")
    if c.get("image", "").split(":")[0].rsplit("/", 1)[-1] != "cloudjet":
        out.append(f"{where}: image {c.get('image')!r} is not the cloudjet image")
    return out


def refs_problems(where: str, objs: list[dict], c: dict) -> list[str]:
    """envFrom sources must exist: ConfigMaps in the render, the Secret out of band."""
    out = []
    cms = {o["metadata"]["name"] for o in of_kind(objs, "ConfigMap")}
    for src in c.get("envFrom", []):
        if "configMapRef" in src and src["configMapRef"]["name"] not in cms:
            out.append(f"{where}: envFrom ConfigMap {src['configMapRef']['name']} is not rendered")
        if "secretRef" in src and src["secretRef"]["name"] != SECRET:
            out.append(f"{where}: envFrom Secret {src['secretRef']['name']} is not {SECRET}")
    return out


def services_arg(args: list[str]) -> str | None:
    for i, a in enumerate(args):
        if a == "--services" and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--services="):
            return a.split("=", 1)[1]
    return None


def metrics_problems(where: str, objs: list[dict], d: dict, c: dict) -> list[str]:
    """/metrics is served on METRICS_PORT only (README "Monitoring"): the container port `metrics`
    is that port, and the pod's prometheus.io annotations point the scraper at it."""
    out = []
    configs = [o for o in of_kind(objs, "ConfigMap") if o["metadata"]["name"].startswith("cloudjet-config")]
    metrics_port = next((cm.get("data", {}).get("METRICS_PORT") for cm in configs), None)
    ann = d["spec"]["template"]["metadata"].get("annotations") or {}
    if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/path") != "/metrics":
        out.append(f"{where}: pod annotations {ann} do not ask for a scrape of /metrics")
    port = container_port(c, "metrics")
    if port is None or str(ann.get("prometheus.io/port")) != str(port):
        out.append(f"{where}: prometheus.io/port {ann.get('prometheus.io/port')!r} is not the `metrics` container port {port}")
    if metrics_port is None or str(port) != str(metrics_port):
        out.append(f"{where}: the `metrics` container port {port} is not METRICS_PORT ({metrics_port}) of cloudjet-config")
    return out


def check_deployments(objs: list[dict]) -> list[str]:
    out = []
    deployments = of_kind(objs, "Deployment")
    components = [d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") for d in deployments]
    if sorted(components) != sorted(SERVICES):
        out.append(f"Deployments are for {sorted(components)}, not one per service {sorted(SERVICES)}")
    for d in deployments:
        where = name_of(d)
        comp = d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component")
        if comp not in SERVICES:
            continue
        prefix, port = SERVICES[comp]
        spec = pod_spec(d)
        if "replicas" in d["spec"]:
            out.append(f"{where}: sets spec.replicas, which fights its HorizontalPodAutoscaler on every sync")
        out += pod_security_problems(where, spec)
        if len(spec["containers"]) != 1:
            out.append(f"{where}: {len(spec['containers'])} containers, expected the one cloudjet container")
        mounts = {v["name"] for v in spec.get("volumes", [])}
        for c in spec["containers"]:
            cw = f"{where} container {c['name']}"
            out += container_problems(cw, c) + refs_problems(cw, objs, c)
            args = c.get("args", [])
            if args[:1] != ["serve"] or services_arg(args) != comp:
                out.append(f"{cw}: args {args} do not run `serve --services {comp}`")
            for flag in ("--no-migrate", "--no-seed"):
                if flag not in args:
                    out.append(f"{cw}: args {args} lack {flag}")
            if container_port(c, "http") != port:
                out.append(f"{cw}: port `http` is {container_port(c, 'http')}, the {comp} service listens on {port}")
            for probe, path in (("readinessProbe", "/ready"), ("livenessProbe", f"{prefix}/health"),
                                ("startupProbe", f"{prefix}/health")):
                get = (c.get(probe) or {}).get("httpGet")
                if not get:
                    out.append(f"{cw}: no {probe} (httpGet)")
                    continue
                if get.get("path") != path:
                    out.append(f"{cw}: {probe} path {get.get('path')!r}, expected {path}")
                if container_port(c, get.get("port")) != port:
                    out.append(f"{cw}: {probe} port {get.get('port')!r} is not the service port {port}")
            out += metrics_problems(cw, objs, d, c)
            # The root filesystem is read-only: the data dir (image CLOUDJET_DATA_DIR) must be a mount.
            paths = {m["mountPath"] for m in c.get("volumeMounts", [])}
            if not {"/var/lib/cloudjet", "/tmp"} <= paths:
                out.append(f"{cw}: /var/lib/cloudjet and /tmp must be writable mounts (has {sorted(paths)})")
            for m in c.get("volumeMounts", []):
                if m["name"] not in mounts:
                    out.append(f"{cw}: volumeMount {m['name']} has no volume")
    return out


def check_scaling(objs: list[dict]) -> list[str]:
    out = []
    deployments = of_kind(objs, "Deployment")
    names = {d["metadata"]["name"] for d in deployments}
    hpas, pdbs = of_kind(objs, "HorizontalPodAutoscaler"), of_kind(objs, "PodDisruptionBudget")
    for h in hpas:
        ref = h["spec"]["scaleTargetRef"]
        if h["apiVersion"] != "autoscaling/v2":
            out.append(f"{name_of(h)}: apiVersion {h['apiVersion']}, expected autoscaling/v2")
        if ref.get("kind") != "Deployment" or ref.get("name") not in names:
            out.append(f"{name_of(h)}: targets {ref.get('kind')}/{ref.get('name')}, which is not rendered")
        if not 1 <= h["spec"].get("minReplicas", 1) <= h["spec"]["maxReplicas"]:
            out.append(f"{name_of(h)}: minReplicas/maxReplicas out of order")
        if not h["spec"].get("metrics"):
            out.append(f"{name_of(h)}: no metrics")
    for p in pdbs:
        if p["apiVersion"] != "policy/v1":
            out.append(f"{name_of(p)}: apiVersion {p['apiVersion']}, expected policy/v1")
        if "minAvailable" not in p["spec"] and "maxUnavailable" not in p["spec"]:
            out.append(f"{name_of(p)}: neither minAvailable nor maxUnavailable")
    for d in deployments:
        name, labels = d["metadata"]["name"], d["spec"]["template"]["metadata"]["labels"]
        mine = [h for h in hpas if h["spec"]["scaleTargetRef"].get("name") == name
                and h["spec"]["scaleTargetRef"].get("kind") == "Deployment"]
        if len(mine) != 1:
            out.append(f"{name_of(d)}: {len(mine)} HorizontalPodAutoscalers, expected exactly one")
        budgets = [p for p in pdbs if labels_match(p["spec"].get("selector", {}).get("matchLabels", {}), labels)]
        if len(budgets) != 1:
            out.append(f"{name_of(d)}: {len(budgets)} PodDisruptionBudgets select its pods, expected exactly one")
        for p in budgets:
            low = min((h["spec"].get("minReplicas", 1) for h in mine), default=1)
            if isinstance(p["spec"].get("minAvailable"), int) and p["spec"]["minAvailable"] >= low:
                out.append(f"{name_of(p)}: minAvailable {p['spec']['minAvailable']} >= minReplicas {low} "
                           "blocks every drain")
    for p in pdbs:
        sel = p["spec"].get("selector", {}).get("matchLabels", {})
        if not any(labels_match(sel, d["spec"]["template"]["metadata"]["labels"]) for d in deployments):
            out.append(f"{name_of(p)}: selects no Deployment's pods")
    return out


def check_services(objs: list[dict]) -> list[str]:
    """Each Service selects exactly one Deployment, and each of its ports reaches a container port."""
    out = []
    for s in of_kind(objs, "Service"):
        backing = [d for d in of_kind(objs, "Deployment")
                   if labels_match(s["spec"].get("selector", {}), d["spec"]["template"]["metadata"]["labels"])]
        if len(backing) != 1:
            out.append(f"{name_of(s)}: selects {len(backing)} Deployments, expected one")
            continue
        c = pod_spec(backing[0])["containers"][0]
        for p in s["spec"]["ports"]:
            if container_port(c, p.get("targetPort", p["port"])) is None:
                out.append(f"{name_of(s)}: port {p['port']} targetPort {p.get('targetPort')!r} is no container port")
    return out


def check_job(objs: list[dict], istio: bool) -> list[str]:
    out = []
    jobs = of_kind(objs, "Job")
    if len(jobs) != 1:
        return [f"{len(jobs)} Jobs, expected the one migrate Job"]
    job = jobs[0]
    where = name_of(job)
    ann = job["metadata"].get("annotations", {})
    if ann.get("argocd.argoproj.io/hook") != "PreSync":
        out.append(f"{where}: not an Argo CD PreSync hook")
    if "BeforeHookCreation" not in ann.get("argocd.argoproj.io/hook-delete-policy", ""):
        out.append(f"{where}: without hook-delete-policy BeforeHookCreation the next sync cannot recreate it")
    spec = pod_spec(job)
    out += pod_security_problems(where, spec)
    if spec.get("restartPolicy") not in ("Never", "OnFailure"):
        out.append(f"{where}: restartPolicy {spec.get('restartPolicy')!r}")
    steps = spec.get("initContainers", []) + spec["containers"]
    commands = [c.get("args", [])[:1] for c in steps]
    if ["migrate"] not in commands:
        out.append(f"{where}: no step runs `cloudjet migrate` ({commands})")
    elif ["seed"] not in commands[commands.index(["migrate"]) + 1:]:
        out.append(f"{where}: no step runs `cloudjet seed` after migrate ({commands})")
    hook_waves = {o["metadata"]["name"]: int(o["metadata"]["annotations"].get("argocd.argoproj.io/sync-wave", 0))
                  for o in of_kind(objs, "ConfigMap")
                  if o["metadata"].get("annotations", {}).get("argocd.argoproj.io/hook") == "PreSync"}
    job_wave = int(ann.get("argocd.argoproj.io/sync-wave", 0))
    for c in steps:
        cw = f"{where} container {c['name']}"
        args = c.get("args", [])
        if "--demo" in args or args[:1] == ["serve"]:
            out.append(f"{cw}: args {args} (the Job migrates and creates the admin, nothing else)")
        out += container_problems(cw, c) + refs_problems(cw, objs, c)
        for src in c.get("envFrom", []):
            ref = (src.get("configMapRef") or {}).get("name")
            # PreSync hooks run before any normal resource exists (the first sync would hang).
            if ref and (ref not in hook_waves or hook_waves[ref] >= job_wave):
                out.append(f"{cw}: reads ConfigMap {ref}, which is not a PreSync hook of an earlier wave")
        if args[:1] == ["seed"]:
            pw = [e for e in c.get("env", []) if e["name"] == "CLOUDJET_ADMIN_PASSWORD"]
            key = pw and (pw[0].get("valueFrom") or {}).get("secretKeyRef")
            if not key or key.get("name") != SECRET or key.get("optional"):
                out.append(f"{cw}: CLOUDJET_ADMIN_PASSWORD must be a required key of {SECRET} "
                           "(else seed prints a generated password into the Job log)")
    if istio:
        meta = job["spec"]["template"]["metadata"]
        inject = "sidecar.istio.io/inject"
        flag = meta.get("labels", {}).get(inject, meta.get("annotations", {}).get(inject))
        if flag != "false":
            out.append(f"{where}: an injected Istio sidecar never exits, so the hook would never complete")
    return out


def check_config(objs: list[dict]) -> list[str]:
    out = []
    for o in objs:
        if o.get("kind") == "Secret":
            out.append(f"{name_of(o)}: a Secret in the manifests (secrets are created out of band)")
        if o["metadata"].get("namespace") != NAMESPACE and o["kind"] != "Namespace":
            out.append(f"{name_of(o)}: namespace {o['metadata'].get('namespace')!r}, not {NAMESPACE}")
    for cm in of_kind(objs, "ConfigMap"):
        for key, value in (cm.get("data") or {}).items():
            if SECRET_NAME.search(key):
                out.append(f"{name_of(cm)}: key {key} looks secret (it belongs in {SECRET})")
            if URL_WITH_PASSWORD.search(str(value)):
                out.append(f"{name_of(cm)}: {key} embeds a password in a URL")
        data = cm.get("data") or {}
        if data.get("CLOUDJET_ENV") != "production":
            out.append(f"{name_of(cm)}: CLOUDJET_ENV is {data.get('CLOUDJET_ENV')!r} "
                       "(production requires SECRET_KEY)")
        if data.get("CORS_ORIGINS"):
            out.append(f"{name_of(cm)}: CORS_ORIGINS set; the gateway owns CORS "
                       "(two Allow-Origin headers break browsers)")
        for svc, (_, port) in SERVICES.items():
            if data.get(f"{svc.upper()}_SERVICE_PORT", str(port)) != str(port):
                out.append(f"{name_of(cm)}: {svc.upper()}_SERVICE_PORT differs from the containerPort {port}")
        for key in ("SERVICES", "SINGLE_PORT"):
            if key in data:
                out.append(f"{name_of(cm)}: {key} overrides the per-Deployment --services")
    return out


# -- gateways: resolve a request path the way each controller does ---------------------------


def service_ports(objs: list[dict]) -> dict[str, set]:
    """Service name -> the port numbers and names it exposes."""
    return {s["metadata"]["name"]: {q for p in s["spec"]["ports"] for q in (p["port"], p.get("name"))}
            for s in of_kind(objs, "Service")}


def ingress_route(objs: list[dict], host: str, path: str):
    """ingress-nginx: a rewrite-target or use-regex on any Ingress of a host makes every path of
    the host a case-insensitive regex, tried longest first; otherwise longest prefix wins."""
    entries = []
    for ing in of_kind(objs, "Ingress"):
        ann = ing["metadata"].get("annotations", {})
        for rule in ing["spec"].get("rules", []):
            if rule.get("host") != host:
                continue
            for p in rule["http"]["paths"]:
                entries.append((p["path"], p.get("pathType"), ann, p["backend"]["service"]))
    regex = any(NGINX + "rewrite-target" in a or a.get(NGINX + "use-regex") == "true" for _, _, a, _ in entries)
    best = None
    for p, kind, ann, backend in sorted(entries, key=lambda e: len(e[0]), reverse=True):
        if regex:
            m = re.match(p, path, re.I)
        elif kind == "Exact":
            m = re.fullmatch(re.escape(p), path)
        else:
            m = re.match(re.escape(p.rstrip("/")) + r"(/|$)", path)
        if m:
            best = (m, ann, backend)
            break
    if best is None:
        return None
    m, ann, backend = best
    target = ann.get(NGINX + "rewrite-target")
    upstream = re.sub(r"\$(\d)", lambda g: m.group(int(g.group(1))) or "", target) if target else path
    return backend["name"], backend["port"].get("number", backend["port"].get("name")), upstream


def vs_service(host: str) -> str:
    """A VirtualService destination host as a Service name of this namespace (or the host itself)."""
    for suffix in (f".{NAMESPACE}.svc.cluster.local", f".{NAMESPACE}.svc", f".{NAMESPACE}"):
        if host.endswith(suffix):
            return host[: -len(suffix)]
    return host


def vs_route(objs: list[dict], host: str, path: str):
    """Istio: the first matching http route of a VirtualService for the host; a prefix rewrite
    replaces the matched prefix."""
    for vs in of_kind(objs, "VirtualService"):
        if host not in vs["spec"].get("hosts", []):
            continue
        for route in vs["spec"].get("http", []):
            for match in route.get("match") or [{}]:
                uri = match.get("uri", {"prefix": "/"})
                if "prefix" in uri and path.startswith(uri["prefix"]):
                    rest = path[len(uri["prefix"]):]
                elif "exact" in uri and path == uri["exact"]:
                    rest = ""
                elif "regex" in uri and re.fullmatch(uri["regex"], path):
                    rest = None
                else:
                    continue
                new = route.get("rewrite", {}).get("uri")
                upstream = path if new is None else new + (rest or "")
                dest = route["route"][0]["destination"]
                return vs_service(dest["host"]), dest.get("port", {}).get("number"), upstream
    return None


def cors_problems(where: str, origins: set[str], methods: str, headers: str, credentials) -> list[str]:
    out = []
    if origins != FRONT_END_ORIGINS:
        out.append(f"{where}: CORS allows origins {sorted(origins)}, "
                   f"expected the front end's {sorted(FRONT_END_ORIGINS)}")
    allowed_headers = {h.strip().lower() for h in headers.split(",")}
    if not {"authorization", "content-type"} <= allowed_headers:
        out.append(f"{where}: CORS allow-headers {headers!r} lack Authorization/Content-Type")
    if not {"GET", "POST", "PUT", "DELETE", "OPTIONS"} <= {m.strip().upper() for m in methods.split(",")}:
        out.append(f"{where}: CORS allow-methods {methods!r}")
    if credentials not in (True, "true"):
        out.append(f"{where}: CORS without credentials")
    return out


def check_gateway(objs: list[dict]) -> list[str]:
    ingresses, services = of_kind(objs, "Ingress"), of_kind(objs, "VirtualService")
    if bool(ingresses) == bool(services):
        return [f"expected either Ingress or VirtualService objects, found {len(ingresses)} and {len(services)}"]
    out = []
    ports = service_ports(objs)

    def backend_problem(where, svc, port):
        if svc not in ports:
            return [f"{where}: routes to Service {svc}, which is not rendered"]
        if port not in ports[svc]:
            return [f"{where}: routes to port {port} of Service {svc}, which exposes {sorted(map(str, ports[svc]))}"]
        return []

    for ing in ingresses:
        ann = ing["metadata"].get("annotations", {})
        if ing["spec"].get("ingressClassName") != "nginx":
            out.append(f"{name_of(ing)}: ingressClassName is not nginx (the annotations are ingress-nginx's)")
        for rule in ing["spec"].get("rules", []):
            if rule.get("host") != API_HOST:
                out.append(f"{name_of(ing)}: host {rule.get('host')!r}, expected {API_HOST}")
            for p in rule["http"]["paths"]:
                b = p["backend"]["service"]
                port = b["port"].get("number", b["port"].get("name"))
                out += backend_problem(f"{name_of(ing)} path {p['path']}", b["name"], port)
        if ann.get(NGINX + "enable-cors") != "true":
            out.append(f"{name_of(ing)}: CORS not enabled (enable-cors)")
        origins = {o.strip() for o in ann.get(NGINX + "cors-allow-origin", "").split(",") if o.strip()}
        out += cors_problems(name_of(ing), origins, ann.get(NGINX + "cors-allow-methods", ""),
                             ann.get(NGINX + "cors-allow-headers", ""), ann.get(NGINX + "cors-allow-credentials"))
    gateways = {g["metadata"]["name"]: g for g in of_kind(objs, "Gateway")}
    for vs in services:
        for g in vs["spec"].get("gateways", []):
            if g.split("/")[-1] not in gateways:
                out.append(f"{name_of(vs)}: gateway {g} is not rendered")
                continue
            # Every server (the HTTP redirect and the HTTPS listener) must accept the API host.
            for server in gateways[g.split("/")[-1]]["spec"]["servers"]:
                if not set(vs["spec"]["hosts"]) <= set(server.get("hosts", [])):
                    out.append(f"{name_of(vs)}: hosts {vs['spec']['hosts']} are not all served by "
                               f"Gateway {g} port {server['port']['number']}")
        if API_HOST not in vs["spec"].get("hosts", []):
            out.append(f"{name_of(vs)}: does not serve {API_HOST}")
        for route in vs["spec"].get("http", []):
            where = f"{name_of(vs)} route {route.get('name', route.get('match'))}"
            for r in route.get("route", []):
                d = r["destination"]
                out += backend_problem(where, vs_service(d["host"]), d.get("port", {}).get("number"))
            cors = route.get("corsPolicy") or {}
            origins = {o.get("exact") or f"(non-exact {o})" for o in cors.get("allowOrigins", [])}
            out += cors_problems(f"{where} corsPolicy", origins, ",".join(cors.get("allowMethods", [])),
                                 ",".join(cors.get("allowHeaders", [])), cors.get("allowCredentials"))
    resolve = ingress_route if ingresses else vs_route
    for path, want in ROUTE_TABLE.items():
        got = resolve(objs, API_HOST, path)
        if got != want:
            out.append(f"request {path}: routed to {got}, expected {want}")
    return out


def all_problems(objs: list[dict], variant: str) -> list[str]:
    out = check_deployments(objs) + check_scaling(objs) + check_services(objs) + check_config(objs)
    out += check_job(objs, istio=variant == "istio")
    if variant != "base":
        out += check_gateway(objs)
    return out


# ---------------------------------------------------------------------------------------------
# the rendered manifests pass every check


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("checker", [check_deployments, check_scaling, check_services, check_config],
                         ids=lambda f: f.__name__)
def test_workloads(rendered, variant, checker):
    assert checker(rendered[variant]) == []


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_migrate_job(rendered, variant):
    assert check_job(rendered[variant], istio=variant == "istio") == []


@pytest.mark.parametrize("variant", ["default", "istio"])
def test_gateway_routes_cors_and_rewrites(rendered, variant):
    assert check_gateway(rendered[variant]) == []


def test_default_gateway_is_a_plain_ingress_needing_no_istio_crds(rendered):
    for variant in ("base", "default"):
        istio = [name_of(o) for o in rendered[variant] if o["apiVersion"].split("/")[0].endswith("istio.io")]
        assert istio == [], (variant, istio)
    assert len(of_kind(rendered["default"], "Ingress")) == 3  # prefixes + one per rewrite
    assert {o["kind"] for o in rendered["istio"]} >= {"Gateway", "VirtualService"}


def test_both_gateways_route_the_same(rendered):
    for path in ROUTE_TABLE:
        assert ingress_route(rendered["default"], API_HOST, path) == vs_route(rendered["istio"], API_HOST, path), path


def test_argocd_application_points_at_a_rendered_kustomization():
    app_file = REPO / "deploy" / "argocd" / "application.yaml"
    app = yaml.safe_load(app_file.read_text())
    assert (app["apiVersion"], app["kind"]) == ("argoproj.io/v1alpha1", "Application")
    source, dest = app["spec"]["source"], app["spec"]["destination"]
    assert source["path"] in VARIANTS.values() and (REPO / source["path"] / "kustomization.yaml").is_file()
    assert dest["namespace"] == NAMESPACE
    assert "CreateNamespace=true" in app["spec"]["syncPolicy"]["syncOptions"]
    # The placeholder stays until someone fills it in, and the file says so.
    if source["repoURL"] == "REPLACE_WITH_THIS_REPOSITORY_URL":
        assert re.search(r"^#.*REPLACE_WITH_THIS_REPOSITORY_URL", app_file.read_text(), re.M)
    else:
        assert re.match(r"(https://|ssh://|git@)", source["repoURL"]), source["repoURL"]


# ---------------------------------------------------------------------------------------------
# every check can fail: break one thing in a copy, the checkers must name it


def keys(path: str) -> list[str]:
    """`a.b.0.c[some.dotted/key]` -> ["a", "b", "0", "c", "some.dotted/key"]."""
    return [bracketed or plain for bracketed, plain in re.findall(r"\[([^\]]+)\]|([^.\[\]]+)", path)]


def put(o, path: str, value) -> None:
    *head, last = keys(path)
    for key in head:
        o = o[int(key)] if isinstance(o, list) else o[key]
    index = int(last) if isinstance(o, list) else last
    if value is DELETE:
        del o[index]
    else:
        o[index] = value


DELETE = object()  # put(..., DELETE) removes the key
POD = "spec.template.spec"
C0 = f"{POD}.containers.0"  # a Deployment's container; for the Job, the create-admin step
INIT0 = f"{POD}.initContainers.0"  # the Job's migrate step
ANN = f"metadata.annotations[{NGINX}"  # + "name]": an ingress-nginx annotation


def edit(kind: str, name: str, path: str, value):
    return lambda objs: put(find(objs, kind, name), path, value)


def remove(kind: str, name: str):
    return lambda objs: objs.remove(find(objs, kind, name))


def duplicate(kind: str, name: str, new_name: str):
    def go(objs):
        clone = copy.deepcopy(find(objs, kind, name))
        clone["metadata"]["name"] = new_name
        objs.append(clone)
    return go


def vs_http(name: str, path: str, value):
    def go(objs):
        route = next(r for r in find(objs, "VirtualService", "cloudjet-api")["spec"]["http"] if r["name"] == name)
        put(route, path, value)
    return go


def dep(svc: str, path: str, value):
    return edit("Deployment", f"cloudjet-{svc}", path, value)


def job(path: str, value):
    return edit("Job", "cloudjet-migrate", path, value)


SECRET_OBJECT = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": SECRET, "namespace": NAMESPACE},
                 "stringData": {"SECRET_KEY": "x"}}

# (variant, mutation, text one of the problems must contain)
MUTATIONS = [
    # Deployments
    ("default", dep("auth", f"{C0}.startupProbe", DELETE), "no startupProbe"),
    ("default", dep("flight", f"{C0}.resources.limits.cpu", DELETE), "no resources.limits.cpu"),
    ("default", dep("admin", f"{C0}.resources.requests.memory", "2Gi"), "exceeds the limit"),
    ("default", dep("booking", f"{C0}.securityContext.readOnlyRootFilesystem", False), "readOnlyRootFilesystem"),
    ("default", dep("payment", f"{C0}.securityContext.capabilities.drop", []), "drop ALL"),
    ("default", dep("auth", f"{POD}.securityContext.seccompProfile", DELETE), "pod securityContext.seccompProfile"),
    ("default", dep("auth", f"{POD}.securityContext.runAsUser", 0), "runAsUser is 0"),
    ("default", dep("flight", f"{C0}.args", ["serve", "--services", "flight", "--no-seed"]), "lack --no-migrate"),
    ("default", dep("booking", f"{C0}.args.2", "flight"), "do not run `serve --services booking`"),
    ("default", dep("admin", f"{C0}.livenessProbe.httpGet.path", "/ready"), "livenessProbe path"),
    ("default", dep("admin", f"{C0}.readinessProbe.httpGet.port", 8080), "readinessProbe port"),
    ("default", dep("auth", "spec.replicas", 2), "spec.replicas"),
    ("default", dep("auth", f"{C0}.volumeMounts", []), "writable mounts"),
    ("default", dep("auth", f"{C0}.env", [{"name": "SECRET_KEY", "value": "x" * 32}]), "literal value"),
    # autoscaling, disruption budgets, Services
    ("default", remove("HorizontalPodAutoscaler", "cloudjet-admin"), "0 HorizontalPodAutoscalers"),
    ("default", duplicate("HorizontalPodAutoscaler", "cloudjet-auth", "cloudjet-auth-2"), "2 HorizontalPodAutoscalers"),
    ("default", edit("HorizontalPodAutoscaler", "cloudjet-flight", "spec.scaleTargetRef.name", "cloudjet-flights"),
     "not rendered"),
    ("default", edit("PodDisruptionBudget", "cloudjet-payment",
                     "spec.selector.matchLabels[app.kubernetes.io/component]", "booking"), "2 PodDisruptionBudgets"),
    ("default", remove("PodDisruptionBudget", "cloudjet-booking"), "0 PodDisruptionBudgets"),
    ("default", edit("Service", "cloudjet-auth", "spec.ports.0.targetPort", "no-such-port"), "is no container port"),
    # Metrics (METRICS_PORT)
    ("default", edit("Deployment", "cloudjet-flight", "spec.template.metadata.annotations[prometheus.io/port]", "5002"),
     "is not the `metrics` container port"),
    ("base", edit("Deployment", "cloudjet-admin", "spec.template.spec.containers.0.ports.1.containerPort", 9200),
     "METRICS_PORT"),
    # Ingress
    ("default", edit("Ingress", "cloudjet-api", "spec.rules.0.http.paths.2.backend.service.port.number", 5009),
     "port 5009 of Service cloudjet-booking"),
    ("default", edit("Ingress", "cloudjet-api", "spec.rules.0.http.paths.4.backend.service.name", "cloudjet-payments"),
     "Service cloudjet-payments, which is not rendered"),
    ("default", edit("Ingress", "cloudjet-api-health", ANN + "rewrite-target]", DELETE), "request /api/health"),
    ("default", edit("Ingress", "cloudjet-api-airports", "spec.rules.0.http.paths.0.backend.service.name",
                     "cloudjet-auth"), "request /api/airports"),
    ("default", edit("Ingress", "cloudjet-api", ANN + "cors-allow-credentials]", DELETE), "CORS without credentials"),
    ("default", edit("Ingress", "cloudjet-api-health", ANN + "cors-allow-origin]", "*"), "CORS allows origins"),
    # Istio
    ("istio", vs_http("booking", "route.0.destination.port.number", 5030), "port 5030 of Service cloudjet-booking"),
    ("istio", vs_http("payment", "route.0.destination.host", "cloudjet-paymnt"), "Service cloudjet-paymnt"),
    ("istio", vs_http("airports-alias", "rewrite.uri", "/api/flights/airport"), "request /api/airports"),
    ("istio", vs_http("health-alias", "rewrite", DELETE), "request /api/health"),
    ("istio", vs_http("auth", "corsPolicy.allowOrigins", [{"regex": ".*"}]), "CORS allows origins"),
    ("istio", vs_http("admin", "corsPolicy.allowHeaders", ["Content-Type"]), "lack Authorization"),
    ("istio", edit("Gateway", "cloudjet-gateway", "spec.servers.1.hosts", ["cloudjet.click"]), "not all served"),
    ("istio", job("spec.template.metadata.labels[sidecar.istio.io/inject]", DELETE), "sidecar"),
    # the migrate Job
    ("default", job("metadata.annotations[argocd.argoproj.io/hook]", DELETE), "PreSync hook"),
    ("default", job(f"{C0}.args", ["seed", "--demo"]), "--demo"),
    ("default", job(f"{INIT0}.args", ["version"]), "runs `cloudjet migrate`"),
    ("default", job(f"{INIT0}.securityContext.allowPrivilegeEscalation", True), "allowPrivilegeEscalation"),
    ("default", job(f"{C0}.resources.limits", DELETE), "no resources.limits.memory"),
    ("default", job(f"{C0}.env", []), "CLOUDJET_ADMIN_PASSWORD"),
    ("default", edit("ConfigMap", "cloudjet-migrate-config", "metadata.annotations[argocd.argoproj.io/hook]", DELETE),
     "not a PreSync hook"),
    # configuration and secrets
    ("default", edit("ConfigMap", "cloudjet-config", "data.DB_PASSWORD", "hunter2hunter2"), "key DB_PASSWORD"),
    ("default", edit("ConfigMap", "cloudjet-config", "data.DATABASE_URL", "mysql://u:pw@db/x"), "password in a URL"),
    ("default", edit("ConfigMap", "cloudjet-config", "data.CORS_ORIGINS", "*"), "CORS_ORIGINS"),
    ("default", edit("Service", "cloudjet-admin", "metadata.namespace", "default"), "namespace 'default'"),
    ("default", lambda objs: objs.append(copy.deepcopy(SECRET_OBJECT)), "a Secret in the manifests"),
]


@pytest.mark.parametrize("variant,mutate,expected", MUTATIONS,
                         ids=[f"{i:02d}-{m[2][:40]}" for i, m in enumerate(MUTATIONS)])
def test_checkers_catch(rendered, variant, mutate, expected):
    objs = copy.deepcopy(rendered[variant])
    assert all_problems(objs, variant) == []
    mutate(objs)
    problems = all_problems(objs, variant)
    assert any(expected in p for p in problems), f"no problem mentions {expected!r}: {problems}"
