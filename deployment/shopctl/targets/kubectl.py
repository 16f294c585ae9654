"""kubectl, only ever against the deployment's own EKS cluster.

Every call gets an explicit `--kubeconfig` written for this cluster (endpoint and CA from DescribeCluster,
tokens from `aws eks get-token`) and its `--context`; the current context of the user's ~/.kube/config is
never used, so a deploy or destroy cannot land on whatever cluster a shell last pointed at. Before the
first call the kubeconfig's server is checked against the cluster's endpoint, and a mismatch is refused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopctl.errors import ShopctlError


@dataclass(frozen=True)
class Cluster:
    """What kubectl needs to know about an EKS cluster (from DescribeCluster)."""

    name: str
    arn: str
    endpoint: str
    certificate_authority: str  # base64, as EKS returns it
    region: str

    @classmethod
    def from_description(cls, cluster: dict[str, Any], region: str) -> Cluster:
        return cls(
            name=cluster["name"],
            arn=cluster["arn"],
            endpoint=cluster.get("endpoint", ""),
            certificate_authority=cluster.get("certificateAuthority", {}).get("data", ""),
            region=region,
        )


def kubeconfig(cluster: Cluster) -> dict[str, Any]:
    """A kubeconfig holding this one cluster, as `aws eks update-kubeconfig` writes it."""
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["--region", cluster.region, "eks", "get-token", "--cluster-name", cluster.name],
        }
    }
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster.arn,
                "cluster": {"server": cluster.endpoint, "certificate-authority-data": cluster.certificate_authority},
            }
        ],
        "users": [{"name": cluster.arn, "user": user}],
        "contexts": [{"name": cluster.arn, "context": {"cluster": cluster.arn, "user": cluster.arn}}],
        "current-context": cluster.arn,
    }


class Kubectl:
    """kubectl bound to one cluster through its own kubeconfig file."""

    def __init__(self, cluster: Cluster, workdir: Path) -> None:
        if shutil.which("kubectl") is None:
            raise ShopctlError("kubectl not found", "install kubectl (https://kubernetes.io/docs/tasks/tools/)")
        self.cluster = cluster
        self.path = workdir / "kubeconfig"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # JSON is YAML: kubectl reads it, and no YAML library is needed at run time
        self.path.write_text(json.dumps(kubeconfig(cluster), indent=2))
        self._checked = False

    def argv(self, *args: str) -> list[str]:
        return ["kubectl", "--kubeconfig", str(self.path), "--context", self.cluster.arn, *args]

    def _check_target(self) -> None:
        """Refuse to go on unless kubectl would talk to this cluster's endpoint."""
        result = subprocess.run(
            self.argv("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"),
            text=True,
            capture_output=True,
        )
        server = result.stdout.strip()
        if result.returncode != 0 or server != self.cluster.endpoint:
            raise ShopctlError(
                f"refusing to run kubectl: its context points at {server or 'nothing'}, "
                f"not at EKS cluster {self.cluster.name} ({self.cluster.endpoint})",
                f"check {self.path} (written for this cluster by shopctl) and KUBECONFIG",
            )
        self._checked = True

    def run(self, *args: str, stdin: str | None = None, what: str) -> str:
        if not self._checked:
            self._check_target()
        result = subprocess.run(self.argv(*args), input=stdin, text=True, capture_output=True)
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["(no output)"]
            raise ShopctlError(
                f"{what} failed on cluster {self.cluster.name}: {last[0]}",
                f"run it yourself to see everything: {' '.join(self.argv(*args))}",
            )
        return result.stdout
