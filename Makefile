# The README's two commands are `make demo` and `make test`; everything else is a step of those.
# Every target installs what it needs and is safe to run again.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
COLLECTION_LINK := .ansible/collections/ansible_collections/kafka_ops/remediation
SANITY_ROOT := build/sanity/ansible_collections/kafka_ops/remediation

.PHONY: demo test deps system-deps venv jars collection unit integration lint sanity molecule \
        lab-up lab-status lab-down bench build ee-context clean

demo: deps
	$(PY) -m lab demo

test: deps
	$(MAKE) unit
	$(MAKE) lint
	$(MAKE) publish-check
	$(MAKE) sanity
	$(MAKE) integration
	$(MAKE) molecule

deps: system-deps venv jars collection

# Debian packages: Java 17 and Maven for Kafka, OpenSSH for the lab's hosts, venv for Debian's Python.
system-deps:
	bash lab/install-debian-packages.sh

# The newest supported ansible-core line runs everything in .venv; each older supported line gets its own
# environment for the unit and sanity tests. Every environment uses a Python 3.12+ (ansible-core 2.20 and later need
# it): lab/install-python.sh finds one or builds it once. A changed requirements file rebuilds the environment.
ANSIBLE_CORE_OLDER := 2.19 2.20
OLDER_VENVS := $(foreach v,$(ANSIBLE_CORE_OLDER),$(VENV)-$(v)/.installed)

# $(call new_venv,DIR,PIP ARGUMENTS): DIR afresh from lab/install-python.sh's Python, pip upgraded, PIP ARGUMENTS installed.
define new_venv
rm -rf $(1)
base=$$(bash lab/install-python.sh) && "$$base" -m venv $(1)
$(1)/bin/pip install -q --disable-pip-version-check -U pip
$(1)/bin/pip install -q --disable-pip-version-check $(2)
touch $(1)/.installed
endef

# $(call core_version,DIR): the ansible-core version of the environment in DIR, for the logs of the loops below.
core_version = $$($(1)/bin/python -c 'import ansible.release as r; print(r.__version__)')

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-test.txt requirements-dev.txt lab/install-python.sh
	$(call new_venv,$(VENV),-r requirements-dev.txt)

$(VENV)-%/.installed: requirements.txt requirements-test.txt lab/install-python.sh
	$(call new_venv,$(VENV)-$*,-r requirements-test.txt "ansible-core~=$*.0")

# The declared minimums, pinned exactly (tools/requirement_floors.py): the unit tests and one lab test run on them.
$(VENV)-floors/.installed: requirements.txt requirements-test.txt meta/runtime.yml tools/requirement_floors.py \
		lab/install-python.sh
	mkdir -p build && /usr/bin/python3 tools/requirement_floors.py > build/floors.txt
	$(call new_venv,$(VENV)-floors,-r build/floors.txt -r requirements-test.txt)

# Apache Kafka's jars, resolved with mvn into caches outside the repository: 3.9.1 (ZooKeeper lab, KRaft lab with
# --kafka 3.9.1), 4.4.0 (KRaft lab).
jars: venv
	$(PY) -m lab fetch

# Lets ansible, ansible-lint and pytest import the working tree as kafka_ops.remediation.
collection: $(COLLECTION_LINK)
$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

# The collection's unit tests on every supported ansible-core line and at the declared minimums, and the lab's own
# (tests/lab: they test lab/, not the collection) once.
unit: venv $(OLDER_VENVS) $(VENV)-floors/.installed collection
	$(PY) -m pytest -q tests/unit tests/lab
	for env in $(foreach v,$(ANSIBLE_CORE_OLDER),$(VENV)-$(v)) $(VENV)-floors; do \
		echo "unit tests in $$env, ansible-core $(call core_version,$$env)"; \
		$$env/bin/python -m pytest -q -p no:cacheprovider tests/unit; \
	done

# The ZooKeeper lab's tests, then the KRaft lab's on Kafka 4.4.0, then on 3.9.1 (each KRaft directory brings the lab
# before it down first): every lab uses the brokers' addresses, so they run one after the other, each with its own
# session fixture. While the ZooKeeper lab is still up, one test that moves offsets in both stores runs at the
# declared minimums, and the paramiko connection is proved on the newest ansible-core that still ships it.
FLOORS_LAB_TEST := tests/integration/test_skip_corrupt_kafka.py::test_a_dual_commit_group_is_skipped_in_both_stores_and_restored_in_both
PARAMIKO_CORE := 2.20
integration: deps $(VENV)-floors/.installed $(VENV)-$(PARAMIKO_CORE)/.installed
	LAB_KEEP=1 $(PY) -m pytest -q --durations=15 tests/integration --ignore=tests/integration/kraft --ignore=tests/integration/kraft39
	LAB_KEEP=1 $(VENV)-floors/bin/python -m pytest -q -p no:cacheprovider $(FLOORS_LAB_TEST)
	LAB_KEEP=1 $(VENV)-$(PARAMIKO_CORE)/bin/python -m pytest -q -p no:cacheprovider \
		tests/integration/test_seed_scenario.py -k test_ansible_reaches_every_lab_host
	$(PY) -m pytest -q --durations=10 tests/integration/kraft
	$(PY) -m pytest -q tests/integration/kraft39

lint: venv collection
	ansible-lint --profile production --offline
	antsibull-changelog lint
	$(MAKE) ee-context

# ansible-test wants the collection under ansible_collections/<namespace>/<name> in a git work tree; it
# seeds its per-test virtualenvs with a get-pip script that tools/ansible_test_get_pip.py stands in for.
# It runs once per supported ansible-core line, each with its own rules.
sanity: venv $(OLDER_VENVS)
	rm -rf build/sanity && mkdir -p $(SANITY_ROOT)
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t $(SANITY_ROOT)
	cd $(SANITY_ROOT) && git init -q && git add -A
	for env in $(foreach v,$(ANSIBLE_CORE_OLDER),$(CURDIR)/$(VENV)-$(v)) $(CURDIR)/$(VENV); do \
		echo "sanity in $$env, ansible-core $(call core_version,$$env)"; \
		$$env/bin/python tools/ansible_test_get_pip.py --install; \
		(cd $(SANITY_ROOT) && PATH=$$env/bin:$$PATH $$env/bin/ansible-test sanity --color no \
			--python "$$($$env/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"); \
	done

# What Galaxy, Automation Hub and a docsite would say about the collection, in a virtualenv of its own
# (requirements-publish.txt): galaxy-importer pins ansible-lint and more to its own ranges, which must not decide
# what .venv gets. Builds the tarball; runs galaxy-importer on it as Galaxy does on an upload, but for its
# container-based ansible-test (tools/galaxy-importer.cfg), and fails on any warning or error it logs; lints the
# plugin, role and extra docs with antsibull-docs; builds the docsite with warnings as errors. Offline, so the
# docsite has no intersphinx (tools/docsite_offline_conf.py).
PUBLISH_VENV := .venv-publish
PUBLISH_DIR := build/publish
DOCSITE_DIR := build/docsite
.PHONY: publish-check

$(PUBLISH_VENV)/.installed: requirements-publish.txt
	/usr/bin/python3 -m venv $(PUBLISH_VENV)
	$(PUBLISH_VENV)/bin/pip install -q --disable-pip-version-check -U pip
	$(PUBLISH_VENV)/bin/pip install -q --disable-pip-version-check -r requirements-publish.txt
	touch $@

publish-check: export PATH := $(CURDIR)/$(PUBLISH_VENV)/bin:$(PATH)
publish-check: $(PUBLISH_VENV)/.installed collection
	rm -rf $(PUBLISH_DIR) $(DOCSITE_DIR) && mkdir -p $(PUBLISH_DIR) $(DOCSITE_DIR)
	ansible-galaxy collection build --output-path $(PUBLISH_DIR)
	python tools/galaxy_import_check.py $(PUBLISH_DIR)/kafka_ops-remediation-*.tar.gz
	antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs $(COLLECTION_LINK)
	antsibull-docs sphinx-init --use-current --fail-on-error --squash-hierarchy --dest-dir $(DOCSITE_DIR) \
	    --project kafka_ops.remediation --title kafka_ops.remediation --copyright "kafka_ops.remediation contributors" \
	    kafka_ops.remediation
	cat tools/docsite_offline_conf.py >> $(DOCSITE_DIR)/conf.py
	$(DOCSITE_DIR)/build.sh

# The lab has fixed addresses, so everything that starts, stops or breaks it holds one lock.
LAB_LOCK := flock /tmp/kafka-ops-lab.lock

molecule: deps
	$(LAB_LOCK) molecule test --all

lab-up: deps
	$(LAB_LOCK) $(PY) -m lab up

lab-status: venv
	$(PY) -m lab status

lab-down: venv
	$(LAB_LOCK) $(PY) -m lab down

bench: deps
	for b in bench/bench_*.py; do $(PY) "$$b"; done

build: venv
	mkdir -p build && ansible-galaxy collection build --force --output-path build

# The example execution environment's build context (ansible-builder create; no container engine needed), from a
# fresh tarball of the collection, then a check that the context holds the runtime requirements, bindep.txt and
# the collection, and a Containerfile that installs it.
EE_DEFINITION := docs/execution-environment/execution-environment.yml
EE_CONTEXT := build/ee
ee-context: venv
	rm -rf build/collection $(EE_CONTEXT)
	ansible-galaxy collection build --force --output-path build/collection
	ansible-builder create -f $(EE_DEFINITION) -c $(EE_CONTEXT) --output-filename Containerfile
	cmp requirements.txt $(EE_CONTEXT)/_build/requirements.txt
	cmp bindep.txt $(EE_CONTEXT)/_build/bindep.txt
	ls $(EE_CONTEXT)/_build/collection/kafka_ops-remediation-*.tar.gz
	grep -q 'ansible-galaxy collection install --offline' $(EE_CONTEXT)/Containerfile

clean: lab-down
	rm -rf build .ansible .pytest_cache
