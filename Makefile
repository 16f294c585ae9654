# The Shapeshifting App workshop — `make help` is the menu.
# Conventions: make <verb> STAGE=monolith|microservices|clean TARGET=lambda|ecs|eks [ENV=local|aws]

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_BOOT ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
DEV_STAMP   := $(VENV)/.installed-dev
# The locked sets (`make lock` writes them from pyproject.toml): the workshop's, and what only tests/verify add.
LOCK        := lock/workshop.txt
DEV_LOCK    := lock/dev.txt
# --no-compile: Python writes the bytecode of the modules actually imported, on first import; pip would
# compile every file (moto's ~150 AWS services, of which the local AWS uses a dozen): ~130 MB never read.
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check --no-compile
# …which needs Python allowed to write it. A shell that sets PYTHONDONTWRITEBYTECODE (some images and CI
# machines do) makes every process compile every module it imports from source, every time: each app,
# local AWS, notebook kernel and test process (docs/testing.md has the figure). make's commands run
# without it. The local Lambda's execution environments still never write bytecode, as on AWS.
unexport PYTHONDONTWRITEBYTECODE
STAGE       ?= clean
RUNTIME     ?= LAMBDA
PORT        ?= 8000
LOCAL_AWS_PORT ?= 5000
PYTEST_ARGS ?=
TARGET      ?= lambda
ENV         ?= local
N           ?= 5
KEEP_DATA   ?= 1
# Extra flags for deploy: AUTH=NONE|AWS_IAM (Function URL), YES=1 (no prompt with ENV=aws), PYTHON_VERSION=3.12
# (AWS runtime), CLUSTER_NAME=shop, CREATE_CLUSTER=1 (EKS Auto Mode, ENV=aws), DELETE_CLUSTER=1 (destroy),
# OPTIMIZE=1 (TARGET=lambda: the package tuned for cold starts — precompiled bytecode, unused AWS SDK data stripped),
# SNAPSTART=1 (TARGET=lambda: cold starts restore a snapshot taken at publish), PACKAGE=image (TARGET=lambda: the
# stage's container image behind the Lambda Web Adapter) — ENV=local or ENV=aws (SnapStart: Python 3.12+, ZIP only)
DEPLOY_FLAGS = --stage $(STAGE) --target $(TARGET) --env $(ENV) --aws-port $(LOCAL_AWS_PORT) \
               $(if $(DEPLOY_PORT),--port $(DEPLOY_PORT)) $(if $(AUTH),--auth $(AUTH)) \
               $(if $(PYTHON_VERSION),--python $(PYTHON_VERSION)) $(if $(YES),--yes) \
               $(if $(CLUSTER_NAME),--cluster-name $(CLUSTER_NAME)) $(if $(filter 1,$(OPTIMIZE)),--optimize) \
               $(if $(filter 1,$(SNAPSTART)),--snapstart) $(if $(PACKAGE),--package $(PACKAGE)) \
               $(if $(filter 1,$(CREATE_CLUSTER)),--create-cluster) $(if $(filter 1,$(DELETE_CLUSTER)),--delete-cluster)

SHOPCTL := $(PY) -m shopctl

STAGES := monolith microservices clean

.PHONY: help venv test test-fast lint run local-aws local-aws-stop local-aws-status clean-build \
        $(addprefix run-,$(STAGES))

help: ## Show this menu
	@echo "The Shapeshifting App workshop — one shop, three architectures, three runtimes."
	@echo
	@echo "Usage: make <target> [STAGE=monolith|microservices|clean] [RUNTIME=LAMBDA|ECS|EKS] [PORT=8000]"
	@echo
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  \033[36m%-30s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Aliases: make deploy-<stage>-<target> / destroy-<stage>-<target>, e.g. make deploy-clean-lambda"
	@echo
	@echo "Start with:  make lab   (JupyterLab on notebook 00)     make test   (every suite)"

# --- setup -------------------------------------------------------------------------------------------

# WHEELHOUSE=<folder> (from `make wheelhouse`, e.g. on a USB stick): install from it with no package index
# at all, so a room without a network installs in seconds. make passes it on to checkov's install too
# (shopctl/verify/tools.py). `shopctl.wheelhouse check` first says in one line if the folder was built from
# other locks or lacks this machine's platform.
WHEELHOUSE  ?=
PIP_FROM     = $(if $(WHEELHOUSE),--no-index --find-links $(abspath $(WHEELHOUSE)))
PIP_HINT     = $(if $(WHEELHOUSE),is every package of the lock in $(WHEELHOUSE)? (make wheelhouse builds it),check your network / PyPI access)
WHEELHOUSE_CHECK = $(if $(WHEELHOUSE),PYTHONPATH=deployment $(PYTHON_BOOT) -m shopctl.wheelhouse check $(WHEELHOUSE) --set $(1) || exit 1)
# Every other pip that make's commands start (the Lambda package's dependencies, on the first `make deploy`)
# reads pip's own environment variables: with a wheelhouse, it too finds its wheels there and nowhere else.
# (Not for `make wheelhouse WHEELHOUSE=…`, which names the folder to fill from the index.)
ifneq ($(WHEELHOUSE),)
ifeq ($(filter wheelhouse,$(MAKECMDGOALS)),)
export PIP_NO_INDEX   := 1
export PIP_FIND_LINKS := $(abspath $(WHEELHOUSE))
endif
endif

venv: $(STAMP) ## Create .venv with the workshop's locked packages (done automatically by the other targets); WHEELHOUSE=dir: offline, from a wheelhouse

$(STAMP): $(LOCK)
	@echo "… creating virtualenv in $(VENV) and installing the workshop's packages from $(LOCK)$(if $(WHEELHOUSE), out of $(WHEELHOUSE), no index) (first time: about a minute)"
	@$(call WHEELHOUSE_CHECK,workshop)
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV) || { echo "error: could not create a virtualenv with $(PYTHON_BOOT)"; echo "  hint: install Python 3.11+ with venv support (e.g. apt-get install python3-venv)"; exit 1; }
	@$(PIP_INSTALL) $(PIP_FROM) -r $(LOCK) 2>&1 | grep -v "^WARNING: Location" ; \
	  test $${PIPESTATUS[0]} -eq 0 || { echo "error: package installation failed (see above)"; echo "  hint: $(PIP_HINT), then run 'make venv' again"; exit 1; }
	@# Put the stage folders on the venv's path: `import monolith`, `import clean_shop`, … work anywhere.
	@$(PY) -c "import site, pathlib; root = pathlib.Path.cwd(); dirs = ['01-monolith', '02-microservices', '03-clean-architecture', 'deployment']; pathlib.Path(site.getsitepackages()[0], 'shapeshifting_workshop.pth').write_text(''.join(str(root / d) + '\n' for d in dirs))"
	@touch $(STAMP)
	@echo "✓ virtualenv ready: $(VENV) ($$(du -sm $(VENV) | cut -f1) MB)"

# What only `make test`, `make lint` and `make verify` need (ruff, hadolint, kubernetes-validate and its
# schemas), added to .venv on their first use; checkov gets its own virtualenv (shopctl/verify/tools.py).
$(DEV_STAMP): $(STAMP) $(DEV_LOCK)
	@echo "… adding the test and verify tools to $(VENV) from $(DEV_LOCK): ruff, hadolint, kubernetes-validate (once, about 30 s)"
	@$(call WHEELHOUSE_CHECK,dev)
	@$(PIP_INSTALL) $(PIP_FROM) -r $(DEV_LOCK) 2>&1 | grep -v "^WARNING: Location" ; \
	  test $${PIPESTATUS[0]} -eq 0 || { echo "error: package installation failed (see above)"; echo "  hint: $(PIP_HINT), then run the same command again"; exit 1; }
	@touch $(DEV_STAMP)

# For facilitators: the folder to hand out (WHEELHOUSE= names another). Run with the system Python, since
# there may be no virtualenv yet. Without PLATFORMS: this machine only.
.PHONY: wheelhouse
wheelhouse: ## (facilitators) Every locked package as wheels in build/wheelhouse/ for a room without network [PLATFORMS=all|linux-x86_64,linux-aarch64,macos-x86_64,macos-arm64 PYTHONS=3.11,3.12,3.13 DEV=1: test tools too]
	@PYTHONPATH=deployment $(PYTHON_BOOT) -m shopctl.wheelhouse build --out $(or $(WHEELHOUSE),build/wheelhouse) \
	  $(if $(PLATFORMS),--platforms $(PLATFORMS)) $(if $(PYTHONS),--pythons $(PYTHONS)) $(if $(filter 1,$(DEV)),--dev)

.PHONY: ci-policy
ci-policy: $(STAMP) ## Regenerate the weekly AWS run's IAM policy (deployment/aws-ci-role.yaml) from the calls deploy/coldstart/destroy-all make
	@$(PY) -m shopctl.verify.ci_policy

.PHONY: lock
lock: ## Regenerate lock/*.txt from pyproject.toml with uv (after adding or bumping a dependency)
	@UV=$$(PYTHONPATH=deployment $(PYTHON_BOOT) -m shopctl.verify.tools uv) || exit 1; \
	  set -e; \
	  $$UV pip compile pyproject.toml --universal --python-version 3.11 --quiet --custom-compile-command "make lock" --extra workshop -o $(LOCK); \
	  $$UV pip compile pyproject.toml --universal --python-version 3.11 --quiet --custom-compile-command "make lock" --extra workshop --extra dev -c $(LOCK) -o $(DEV_LOCK); \
	  echo "checkov==$$(PYTHONPATH=deployment $(PYTHON_BOOT) -c 'from shopctl.verify.tools import pinned; print(pinned("checkov"))')" \
	    | $$UV pip compile - --universal --python-version 3.11 --quiet --custom-compile-command "make lock" -o lock/checkov.txt; \
	  echo "✓ $(LOCK), $(DEV_LOCK), lock/checkov.txt (make venv / make test install them)"

# --- tests -------------------------------------------------------------------------------------------

test: $(DEV_STAMP) ## Run every suite: lint, unit, integration, contract, e2e, reliability, notebooks (starts what it needs, ~8 min on 2 cores)
	@$(PY) -m ruff check . || { echo "  hint: 'make lint' shows the same; '$(PY) -m ruff check --fix .' fixes most"; exit 1; }
	@$(PY) -m shopctl.verify.tools checkov || exit 1   # installed on first use (again after make clean-build)
	@$(PY) tests/run_suites.py $(PYTEST_ARGS)

FAST_SUITES := tests/contract 03-clean-architecture/tests/unit 03-clean-architecture/tests/test_architecture.py
test-fast: $(STAMP) ## Contract suite (all stages) + clean unit tests (~25 s) — for between exercises
	@SHOP_CONTRACT_TARGETS=local $(PY) -m pytest -m "not e2e" -n 2 $(FAST_SUITES) $(PYTEST_ARGS)

# The contract suite over HTTP alone, against a shop deployed elsewhere (tests/support/url_mode.py): what needs
# more than the URL is skipped, saying why. Without URL: against every deployment recorded for ENV (`shopctl
# urls`; TARGET= narrows it), side by side (tests/support/contract_urls.py). One pytest process per URL, no
# workers: a test that counts the users before and after assumes nobody else writes meanwhile.
# STAGE/TARGET count only when given, not as the deploy defaults.
CONTRACT_STAGE  = $(if $(filter command line environment,$(origin STAGE)),$(STAGE))
CONTRACT_TARGET = $(if $(filter command line environment,$(origin TARGET)),$(TARGET))
.PHONY: contract
contract: $(DEV_STAMP) ## The contract suite against a deployed URL, HTTP only (Function URLs signed): URL=… STAGE=… [TARGET= ORDERS_URL= SIGN=0|1]; no URL: every deployment of ENV
	@if [ -n "$(URL)" ]; then \
	  SHOP_CONTRACT_URL="$(URL)" SHOP_CONTRACT_STAGE="$(CONTRACT_STAGE)" SHOP_CONTRACT_TARGET="$(CONTRACT_TARGET)" \
	    SHOP_CONTRACT_ORDERS_URL="$(ORDERS_URL)" SHOP_CONTRACT_SIGN="$(SIGN)" \
	    $(PY) -m pytest -q -p no:cacheprovider tests/contract $(PYTEST_ARGS); \
	else \
	  set -o pipefail; \
	  $(SHOPCTL) urls --env $(ENV) --aws-port $(LOCAL_AWS_PORT) $(if $(CONTRACT_TARGET),--target $(CONTRACT_TARGET)) \
	    | SHOP_CONTRACT_SIGN="$(SIGN)" $(PY) -m tests.support.contract_urls $(PYTEST_ARGS); \
	fi

lint: $(DEV_STAMP) ## ruff + the import-linter contracts (deployment/README.md); the GitHub workflows (schema, zizmor) and the weekly run's role template (cfn-lint)
	@$(PY) -m ruff check .
	@$(VENV)/bin/lint-imports
	@$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	@$(VENV)/bin/zizmor --offline --no-progress --min-severity low .github/workflows
	@$(VENV)/bin/cfn-lint deployment/aws-ci-role.yaml && echo "✓ cfn-lint: deployment/aws-ci-role.yaml"

# --- local AWS -----------------------------------------------------------------------------------------

local-aws: $(STAMP) ## Start the local AWS (moto server) in the background and create STAGE's tables/config
	@$(SHOPCTL) local-aws start --port $(LOCAL_AWS_PORT) --stage $(STAGE) --runtime $(RUNTIME)

local-aws-stop: $(STAMP) ## Stop the local AWS started by `make local-aws` (by its pid)
	@$(SHOPCTL) local-aws stop --port $(LOCAL_AWS_PORT)

local-aws-status: $(STAMP) ## Is the local AWS running? Which tables does it hold?
	@$(SHOPCTL) local-aws status --port $(LOCAL_AWS_PORT)

# --- run ---------------------------------------------------------------------------------------------

run: $(STAMP) ## Serve STAGE on PORT against local AWS (RUNTIME picks env/SSM/file config); Ctrl-C stops it
	@$(SHOPCTL) run --stage $(STAGE) --runtime $(RUNTIME) --port $(PORT) --aws-port $(LOCAL_AWS_PORT)

run-monolith: ## = make run STAGE=monolith
	@$(MAKE) --no-print-directory run STAGE=monolith
run-microservices: ## = make run STAGE=microservices
	@$(MAKE) --no-print-directory run STAGE=microservices
run-clean: ## = make run STAGE=clean
	@$(MAKE) --no-print-directory run STAGE=clean

# --- deploy ------------------------------------------------------------------------------------------

deploy: $(STAMP) ## Deploy STAGE to TARGET=lambda|ecs|eks — ENV=local (default) or ENV=aws; OPTIMIZE=1: faster Lambda cold starts; SNAPSTART=1 / PACKAGE=image: Lambda modes; CREATE_CLUSTER=1: new EKS Auto Mode cluster (aws)
	@$(SHOPCTL) deploy $(DEPLOY_FLAGS)

destroy: $(STAMP) ## Remove STAGE's TARGET deployment and stop its local processes (KEEP_DATA=0 also drops tables; DELETE_CLUSTER=1 the EKS cluster)
	@$(SHOPCTL) destroy $(DEPLOY_FLAGS) $(if $(filter 0,$(KEEP_DATA)),--delete-data)

doctor: $(STAMP) ## Check what a deploy needs, one line each with a hint (ENV=aws: credentials, tools, VPC, quotas; TARGET= narrows it)
	@$(SHOPCTL) doctor --env $(ENV) --aws-port $(LOCAL_AWS_PORT) $(if $(filter command line,$(origin TARGET)),--target $(TARGET))

status: $(STAMP) ## List deployments (URL, local processes) and every project resource AWS holds, recorded or not (ENV=aws: your account)
	@$(SHOPCTL) status --env $(ENV) --aws-port $(LOCAL_AWS_PORT)

coldstart: $(STAMP) ## Force N cold starts of STAGE on TARGET=lambda and print Init (SnapStart: Restore) Duration etc. from REPORT lines
	@$(SHOPCTL) coldstart $(DEPLOY_FLAGS) -n $(N)

deploy-all: $(STAMP) ## Deploy all 3 stages to all 3 targets locally (9 side by side) and run the talk's flow on each
	@$(SHOPCTL) deploy-all --env $(ENV) --aws-port $(LOCAL_AWS_PORT)

destroy-all: $(STAMP) ## Destroy every deployment found (recorded or in AWS), then a census of what is left (KEEP_DATA=0 also drops tables; ENV=aws: your account, YES=1)
	@$(SHOPCTL) destroy-all --env $(ENV) --aws-port $(LOCAL_AWS_PORT) $(if $(filter 0,$(KEEP_DATA)),--delete-data) $(if $(YES),--yes)

deploy-mixed: $(STAMP) ## The talk's mixed deployment: clean stage, users through EKS, orders through Lambda, same tables
	@$(SHOPCTL) deploy-mixed --aws-port $(LOCAL_AWS_PORT)

compare: $(STAMP) ## Compare the stages: coupling, cold starts (Lambda in four modes/ECS/EKS vs a floor), test cost -> build/compare/report.md (N=5; QUICK=1; SECTIONS=coupling,coldstart,tests; MODES=plain,optimized,snapstart,image; ENV=aws: Lambda in your account)
	@$(PY) -m shopctl.compare --out build/compare $(if $(filter command line,$(origin N)),--n $(N)) $(if $(filter 1,$(QUICK)),--quick) \
	  $(if $(SECTIONS),--sections $(SECTIONS)) $(if $(COMPARE_STAGES),--stages $(COMPARE_STAGES)) $(if $(COMPARE_TARGETS),--targets $(COMPARE_TARGETS)) \
	  $(if $(MODES),--modes $(MODES)) \
	  --env $(ENV) $(if $(PYTHON_VERSION),--python $(PYTHON_VERSION)) $(if $(YES),--yes)

manifests: $(STAMP) ## Render deployment/eks/<stage>.yaml from shopctl.targets.k8s (tests check they are current)
	@for s in $(STAGES); do $(PY) -m shopctl.targets.k8s render --stage $$s > deployment/eks/$$s.yaml; done; echo "✓ deployment/eks/*.yaml"

# Tab-completable aliases: make deploy-<stage>-<target> / make destroy-<stage>-<target>
ALIASES := $(foreach t,lambda ecs eks,$(foreach s,$(STAGES),deploy-$(s)-$(t) destroy-$(s)-$(t)))
.PHONY: deploy destroy doctor status coldstart deploy-all destroy-all deploy-mixed compare manifests verify $(ALIASES)
$(foreach t,lambda ecs eks,$(foreach s,$(STAGES),deploy-$(s)-$(t))):
	@$(MAKE) --no-print-directory deploy STAGE=$(word 2,$(subst -, ,$@)) TARGET=$(word 3,$(subst -, ,$@))
$(foreach t,lambda ecs eks,$(foreach s,$(STAGES),destroy-$(s)-$(t))):
	@$(MAKE) --no-print-directory destroy STAGE=$(word 2,$(subst -, ,$@)) TARGET=$(word 3,$(subst -, ,$@))

# --- notebooks ---------------------------------------------------------------------------------------

NOTEBOOKS ?=
LAB_PORT  ?= 8888
.PHONY: notebooks notebooks-strip lab

notebooks: $(STAMP) ## Execute every notebook (or NOTEBOOKS="01 03") and render HTML into build/notebooks/
	@$(PY) -m shopctl.workshop.notebooks run --html build/notebooks $(NOTEBOOKS)

notebooks-strip: $(STAMP) ## Remove outputs from notebooks/*.ipynb before committing (the tests insist)
	@$(PY) -m shopctl.workshop.notebooks strip $(NOTEBOOKS)

# This project's JupyterLab settings (notebooks/.jupyter/overrides.json: no "get notified about Jupyter
# news?" prompt, no update checks) go into the virtualenv's own JupyterLab, not into your user settings.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings
# Rooted at the repository, so that the notebooks' links to the stages' code open in Lab's editor.
LAB_ARGS = --ServerApp.root_dir="$(CURDIR)" --port=$(LAB_PORT) \
           --LabApp.default_url=/lab/tree/notebooks/00-welcome.ipynb \
           $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(STAMP) ## Open JupyterLab on the repository at notebooks/00-welcome.ipynb, the project's virtualenv as kernel (LAB_PORT=8888)
	@mkdir -p $(LAB_SETTINGS) && cp notebooks/.jupyter/overrides.json $(LAB_SETTINGS)/overrides.json
	@echo "… starting JupyterLab on the repository, at notebooks/00-welcome.ipynb (Ctrl-C stops it)"
	@# --allow-root: dev containers often run as root, which Jupyter otherwise refuses.
	@$(VENV)/bin/jupyter lab $(LAB_ARGS) $(LAB_FLAGS) \
	  || { echo "error: Jupyter Lab did not start"; echo "  hint: is port $(LAB_PORT) taken? try make lab LAB_PORT=8899"; exit 1; }

# --- exercises ---------------------------------------------------------------------------------------

.PHONY: exercises exercise-reset
exercises: $(STAMP) ## The exercises of notebooks 01-05, each judged on its own part (todo/passed/failed); SOLUTIONS=1: the reference solutions on a copy of HEAD
	@$(PY) -m shopctl.workshop.exercises list $(if $(filter 1,$(SOLUTIONS)),--solutions)

exercise-reset: $(STAMP) ## Put back only one exercise's part as HEAD has it, a copy kept in build/exercises/: make exercise-reset NAME=cached-config [FORCE=1]
	@test -n "$(NAME)" || { echo "error: NAME is not set"; echo "  hint: make exercise-reset NAME=<exercise>; make exercises lists them"; exit 1; }
	@$(PY) -m shopctl.workshop.exercises reset $(NAME) $(if $(filter 1,$(FORCE)),--force)

# --- verify ------------------------------------------------------------------------------------------

.PHONY: verify
# STAGE/TARGET filter only when given on the command line (their defaults are for deploy/run).
VERIFY_FLAGS = $(if $(filter command line environment,$(origin STAGE)),--stages $(STAGE)) \
               $(if $(filter command line environment,$(origin TARGET)),--targets $(TARGET)) \
               $(if $(CHECKS),--checks $(CHECKS)) $(if $(filter 1,$(REDUCED)),--reduced)
verify: $(DEV_STAMP) ## Fuzz, faults, load, deploy safety, least privilege: 3 stages x local/lambda/ecs/eks, one table [STAGE= TARGET= CHECKS= REDUCED=1]
	@$(SHOPCTL) verify $(VERIFY_FLAGS)

# .run/deployments stays: it records what each deployment created, and destroy needs it to remove exactly that.
clean-build: ## Remove build outputs, logs and caches (build/, .run/), keep the virtualenv and the deployment records
	rm -rf build .pytest_cache
	@test ! -d .run || find .run -mindepth 1 -maxdepth 1 ! -name deployments -exec rm -rf {} +
	@test ! -d .run/deployments || echo "  kept .run/deployments: the records make destroy works from"
