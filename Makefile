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
	$(MAKE) sanity
	$(MAKE) integration
	$(MAKE) molecule

deps: system-deps venv jars collection

# Debian packages: Java 17 and Maven for Kafka, OpenSSH for the lab's hosts, venv for Debian's Python.
system-deps:
	bash lab/install-debian-packages.sh

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt
	/usr/bin/python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -U pip
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Apache Kafka's jars, resolved with mvn into caches outside the repository: 3.9.1 (ZooKeeper lab, KRaft lab with
# --kafka 3.9.1), 4.4.0 (KRaft lab).
jars: venv
	$(PY) -m lab fetch

# Lets ansible, ansible-lint and pytest import the working tree as kafka_ops.remediation.
collection: $(COLLECTION_LINK)
$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

# The collection's unit tests, and the lab's own (tests/lab: they test lab/, not the collection).
unit: venv collection
	$(PY) -m pytest -q tests/unit tests/lab

# The ZooKeeper lab's tests, then the KRaft lab's on Kafka 4.4.0, then on 3.9.1 (each KRaft directory brings the lab
# before it down first): every lab uses the brokers' addresses, so they run one after the other, each with its own
# session fixture.
integration: deps
	$(PY) -m pytest -q tests/integration --ignore=tests/integration/kraft --ignore=tests/integration/kraft39
	$(PY) -m pytest -q tests/integration/kraft
	$(PY) -m pytest -q tests/integration/kraft39

lint: venv collection
	ansible-lint --profile production --offline
	antsibull-changelog lint
	$(MAKE) ee-context

# ansible-test wants the collection under ansible_collections/<namespace>/<name> in a git work tree; it
# seeds its per-test virtualenvs with a get-pip script that tools/ansible_test_get_pip.py stands in for.
sanity: venv
	rm -rf build/sanity && mkdir -p $(SANITY_ROOT)
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t $(SANITY_ROOT)
	cd $(SANITY_ROOT) && git init -q && git add -A
	$(PY) tools/ansible_test_get_pip.py --install
	cd $(SANITY_ROOT) && ansible-test sanity --python 3.11 --color no

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
