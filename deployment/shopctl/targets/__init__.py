"""The deployment targets — Lambda, ECS, EKS — behind one `Target` protocol (`base.py`) and one registry
(`registry.py`); what every deploy does the same way (`naming.py`, `rollout.py`).

A module used by one target only lives here beside it: `lambda_function.py` (Lambda), `ecs_cluster.py`,
`ecs_rollout.py`, `alb.py`, `security_groups.py` (ECS), `k8s.py`, `kubectl.py` (EKS). AWS resources two or more
targets create are in `shopctl.aws`; what runs them locally is in `shopctl.local` and `shopctl.lambda_local`.
"""
