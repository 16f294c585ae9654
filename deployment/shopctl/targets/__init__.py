"""The three deployment targets — Lambda, ECS, EKS — behind one `Target` protocol and one registry (`base.py`).

A module used by one target only lives here beside it: `package.py`/`artifacts.py` (Lambda's zip and its
S3 bucket), `alb.py`/`security_groups.py` (ECS), `k8s.py`/`kubectl.py` (EKS). AWS resources two or more
targets create are in `shopctl.aws`; what runs them locally is in `shopctl.local`.
"""
