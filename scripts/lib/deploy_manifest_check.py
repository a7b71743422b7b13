"""Security and shape assertions over deploy/*.yaml and deploy/Containerfile (the settings
issue 11 asks of the DaemonSet, its RBAC and image). Prints PASS/FAIL lines; exit status 1
on any failure. Usage: deploy_manifest_check.py DEPLOY_DIR PACKAGE_SWIFT"""
import pathlib
import re
import sys

import yaml

failures = 0


def check(name, condition, detail=""):
    global failures
    print(f"{'PASS' if condition else 'FAIL'} {name}")
    if not condition:
        failures += 1
        if detail:
            print(f"     {detail}")


def main():
    deploy, package_swift = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    objects = [doc for path in sorted(deploy.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    check("manifests: one each of Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, DaemonSet",
          sorted(by_kind) == ["ClusterRole", "ClusterRoleBinding", "DaemonSet", "Namespace", "ServiceAccount"]
          and all(len(v) == 1 for v in by_kind.values()), str({k: len(v) for k, v in by_kind.items()}))
    namespace = by_kind["Namespace"][0]["metadata"]["name"]
    namespaced = [o for o in objects if o["kind"] in ("ServiceAccount", "DaemonSet")]
    check(f"namespaced objects live in {namespace}", all(o["metadata"].get("namespace") == namespace for o in namespaced))

    rules = by_kind["ClusterRole"][0]["rules"]
    granted = {(group, resource, verb) for rule in rules for group in rule["apiGroups"]
               for resource in rule["resources"] for verb in rule["verbs"]}
    wanted = {(g, r, v) for g, r in (("", "pods"), ("", "services"), ("discovery.k8s.io", "endpointslices"))
              for v in ("get", "list", "watch")}
    check("ClusterRole grants exactly get, list, watch on pods, services, endpointslices",
          granted == wanted, f"granted {sorted(granted)}")
    binding = by_kind["ClusterRoleBinding"][0]
    account = by_kind["ServiceAccount"][0]["metadata"]
    check("ClusterRoleBinding binds that ClusterRole to the ServiceAccount",
          binding["roleRef"]["name"] == by_kind["ClusterRole"][0]["metadata"]["name"]
          and binding["subjects"] == [{"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}])

    daemonset = by_kind["DaemonSet"][0]
    pod = daemonset["spec"]["template"]["spec"]
    annotations = daemonset["spec"]["template"]["metadata"].get("annotations", {})
    check("pod runs as the ServiceAccount", pod.get("serviceAccountName") == account["name"])
    check("hostNetwork with dnsPolicy ClusterFirstWithHostNet",
          pod.get("hostNetwork") is True and pod.get("dnsPolicy") == "ClusterFirstWithHostNet")
    check("no hostPID, no hostIPC", not pod.get("hostPID", False) and not pod.get("hostIPC", False))
    check("tolerates every taint (operator Exists, no key)", {"operator": "Exists"} in pod.get("tolerations", []))
    containers = pod["containers"]
    check("one container, no init containers", len(containers) == 1 and not pod.get("initContainers"))
    container = containers[0]
    security = container.get("securityContext", {})
    check("privileged false", security.get("privileged") is False)
    check("allowPrivilegeEscalation false", security.get("allowPrivilegeEscalation") is False)
    check("readOnlyRootFilesystem true", security.get("readOnlyRootFilesystem") is True)
    check("capabilities: drop ALL, add NET_RAW only",
          security.get("capabilities") == {"drop": ["ALL"], "add": ["NET_RAW"]}, str(security.get("capabilities")))
    check("pod securityContext grants nothing more (no sysctls, seccomp RuntimeDefault)",
          set(pod.get("securityContext", {})) <= {"seccompProfile"}
          and pod.get("securityContext", {}).get("seccompProfile", {}).get("type") == "RuntimeDefault")
    resources = container.get("resources", {})
    check("requests cpu 50m, memory 64Mi", resources.get("requests") == {"cpu": "50m", "memory": "64Mi"})
    limits = resources.get("limits", {})
    check("a memory limit and no CPU limit (throttling drops packets)", "memory" in limits and "cpu" not in limits, str(limits))
    env = {e["name"]: e for e in container.get("env", [])}
    check("NODE_NAME from the downward API (spec.nodeName)",
          env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName")
    args = container.get("args", [])
    metrics = args[args.index("--metrics") + 1] if "--metrics" in args else ""
    port = metrics.rpartition(":")[2]
    ports = [p for p in container.get("ports", []) if str(p.get("containerPort")) == port]
    check(f"--metrics {metrics} is a containerPort, not CoreDNS's 9153", bool(ports) and port != "9153")
    check("scrape annotations name the metrics port",
          annotations.get("prometheus.io/scrape") == "true" and annotations.get("prometheus.io/port") == port)
    check("args: live on every interface, NDJSON",
          args[:1] == ["live"] and ("-i" in args or "--interface" in args) and "any" in args
          and args[args.index("--format") + 1] == "ndjson")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = container.get("volumeMounts", [])
    writable = {m["mountPath"]: volumes[m["name"]] for m in mounts if not m.get("readOnly", False)}
    # --export-on-finding is a commented line until the flag exists; its folder is mounted already.
    evidence = args[args.index("--export-on-finding") + 1] if "--export-on-finding" in args else "/var/lib/dnstrail/evidence"
    host_paths = {path: v["hostPath"]["path"] for path, v in writable.items() if "hostPath" in v}
    check("writable mounts: only the evidence hostPath and an emptyDir /tmp",
          set(writable) == set(host_paths) | {"/tmp"} and "emptyDir" in writable.get("/tmp", {})
          and len(host_paths) == 1, str(writable))
    check(f"the evidence folder {evidence} is on that hostPath",
          any(evidence.startswith(path.rstrip("/") + "/") for path in host_paths))
    check("no other hostPath volume", all("hostPath" not in v or v["name"] in {m["name"] for m in mounts}
                                          and v["hostPath"]["path"] in host_paths.values() for v in volumes.values()))

    # Containerfile: what can be checked without a container engine.
    text = (deploy / "Containerfile").read_text()
    lines = [line for line in re.sub(r"\\\n", " ", text).splitlines() if line.strip() and not line.lstrip().startswith("#")]
    stages = [line.split() for line in lines if line.split()[0].upper() == "FROM"]
    check("Containerfile: two stages, swift:6.x bookworm then debian:bookworm-slim",
          len(stages) == 2 and re.search(r"/swift:6\.\d+(\.\d+)?-bookworm$", stages[0][1]) is not None
          and stages[0][2:] == ["AS", "build"] and stages[1][1].endswith("debian:bookworm-slim"), str(stages))
    products = re.findall(r'\.executable\(name: "([^"]+)"', package_swift.read_text())
    build = next((line for line in lines if "swift build" in line), "")
    product = re.search(r"--product (\S+)", build)
    check(f"Containerfile builds Package.swift's executable product ({', '.join(products)}) in release, static stdlib",
          product is not None and product.group(1) in products and "-c release" in build and "--static-swift-stdlib" in build)
    binary_name = product.group(1) if product else "?"
    copy = next((line.split() for line in lines if line.startswith("COPY --from=build")), [])
    entry = next((line for line in lines if line.startswith("ENTRYPOINT")), "")
    check("the binary it installs is the one the run stage copies and runs",
          f"show-bin-path)/{binary_name}\" /out/{binary_name}" in build and copy[1:] == ["--from=build", f"/out/{binary_name}", f"/usr/local/bin/{binary_name}"]
          and f'"/usr/local/bin/{binary_name}"' in entry, f"{build} / {copy} / {entry}")
    from_lines = [index for index, line in enumerate(lines) if line.split()[0].upper() == "FROM"]
    runtime = "\n".join(lines[from_lines[-1]:])
    check("run stage: libpcap0.8 and ca-certificates, non-interactive, no recommends, apt lists removed",
          all(word in runtime for word in ("libpcap0.8", "ca-certificates", "DEBIAN_FRONTEND=noninteractive",
                                           "--no-install-recommends", "rm -rf /var/lib/apt/lists/*")))
    copied = re.findall(r"^COPY (?!--from)(\S+)", "\n".join(lines), flags=re.M)
    root = package_swift.parent
    check(f"every path the build stage copies exists ({', '.join(copied)})", all((root / c).exists() for c in copied))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
