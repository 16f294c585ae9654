"""The tags every resource of a deployment carries: the project, and — for what belongs to one deployment —
its stage, target and name. `make status` and the census find leftovers by them; an operator can filter
the billing console by them (activate them as cost allocation tags).

AWS APIs spell tags three ways; one `Tags` value gives each.
"""

from __future__ import annotations

from dataclasses import dataclass

PROJECT = "shapeshifting-workshop"


@dataclass(frozen=True)
class Tags:
    stage: str | None = None
    target: str | None = None

    @classmethod
    def of(cls, deployment: str) -> Tags:
        """From a deployment's name, `<stage>-<target>` (e.g. clean-ecs)."""
        stage, target = deployment.rsplit("-", 1)
        return cls(stage, target)

    def as_dict(self) -> dict[str, str]:
        tags = {"project": PROJECT}
        if self.stage:
            tags["stage"] = self.stage
        if self.target:
            tags["target"] = self.target
        if self.stage and self.target:
            tags["deployment"] = f"{self.stage}-{self.target}"
        return tags

    def key_value(self) -> list[dict[str, str]]:
        """IAM, ELB, ECR, EC2, Cloud Map: [{"Key": …, "Value": …}]."""
        return [{"Key": k, "Value": v} for k, v in self.as_dict().items()]

    def lower_key_value(self) -> list[dict[str, str]]:
        """ECS: [{"key": …, "value": …}]."""
        return [{"key": k, "value": v} for k, v in self.as_dict().items()]
