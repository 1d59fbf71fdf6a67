"""The "restricted" Pod Security Standard (which includes "baseline"), as a pure check of a pod template.

Written from the standard's definition, https://kubernetes.io/docs/concepts/security/pod-security-standards/
(policy version "latest"): every control of its Baseline and Restricted tables, with the fields and allowed values
listed there. :func:`violations` returns one message per failed control (empty: the pod passes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Obj = Mapping[str, Any]

BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
    "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
RESTRICTED_VOLUME_TYPES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
})
SECCOMP_ALLOWED = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_TYPES = frozenset({"RuntimeDefault", "Localhost"})


def _containers(spec: Obj) -> list[Obj]:
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or []),
            *(spec.get("ephemeralContainers") or [])]


def violations(spec: Obj, annotations: Obj | None = None) -> list[str]:
    """What keeps a pod (its ``spec`` and ``metadata.annotations``) from the restricted standard."""
    found: list[str] = []
    annotations = annotations or {}
    pod_sc: Obj = spec.get("securityContext") or {}
    containers = _containers(spec)

    def each(field: str) -> list[tuple[str, Any]]:
        return [(c.get("name", "?"), (c.get("securityContext") or {}).get(field)) for c in containers]

    # Baseline.
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess") or any(
            (v or {}).get("hostProcess") for _, v in each("windowsOptions")):
        found.append("HostProcess: windowsOptions.hostProcess must be unset or false")
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            found.append(f"Host Namespaces: {field} must be unset or false")
    for name, value in each("privileged"):
        if value:
            found.append(f"Privileged Containers: {name} is privileged")
    for name, caps in each("capabilities"):
        added = set((caps or {}).get("add") or [])
        if added - BASELINE_CAPABILITIES:
            found.append(f"Capabilities: {name} adds {sorted(added - BASELINE_CAPABILITIES)}")
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            found.append(f"HostPath Volumes: {volume.get('name')}")
    for container in containers:
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                found.append(f"Host Ports: {container.get('name')} uses hostPort {port['hostPort']}")
    for key, value in annotations.items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and not (
                value == "runtime/default" or str(value).startswith("localhost/")):
            found.append(f"AppArmor: {key}={value}")
    for name, profile in [("pod", pod_sc.get("appArmorProfile")), *each("appArmorProfile")]:
        if profile is not None and profile.get("type") not in APPARMOR_TYPES:
            found.append(f"AppArmor: {name} appArmorProfile.type {profile.get('type')}")
    for name, options in [("pod", pod_sc.get("seLinuxOptions")), *each("seLinuxOptions")]:
        options = options or {}
        if options.get("type", "") not in SELINUX_TYPES or options.get("user") or options.get("role"):
            found.append(f"SELinux: {name} seLinuxOptions {dict(options)}")
    for name, mount in each("procMount"):
        if mount not in (None, "Default"):
            found.append(f"/proc Mount Type: {name} procMount {mount}")
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            found.append(f"Sysctls: {sysctl.get('name')}")

    # Restricted.
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUME_TYPES:
            found.append(f"Volume Types: {volume.get('name')} is {sorted(kinds)}")
    for name, value in each("allowPrivilegeEscalation"):
        if value is not False:
            found.append(f"Privilege Escalation: {name} must set allowPrivilegeEscalation: false")
    pod_non_root = pod_sc.get("runAsNonRoot")
    for name, value in each("runAsNonRoot"):
        if value is False or (value is None and pod_non_root is not True):
            found.append(f"Running as Non-root: {name} must run with runAsNonRoot: true")
    if pod_sc.get("runAsUser") == 0 or any(v == 0 for _, v in each("runAsUser")):
        found.append("Running as Non-root user: runAsUser must not be 0")
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    if pod_seccomp is not None and pod_seccomp not in SECCOMP_ALLOWED:
        found.append(f"Seccomp: pod seccompProfile.type {pod_seccomp}")
    for name, profile in each("seccompProfile"):
        kind = (profile or {}).get("type")
        if (kind is None and pod_seccomp is None) or (kind is not None and kind not in SECCOMP_ALLOWED):
            found.append(f"Seccomp: {name} needs seccompProfile RuntimeDefault or Localhost")
    for name, caps in each("capabilities"):
        caps = caps or {}
        if "ALL" not in (caps.get("drop") or []):
            found.append(f"Capabilities: {name} must drop ALL")
        added = set(caps.get("add") or [])
        if added - RESTRICTED_CAPABILITIES:
            found.append(f"Capabilities: {name} may add only NET_BIND_SERVICE, adds {sorted(added)}")
    return found
