# Two commands do all the setup on a fresh machine:
#   make sample   install into .venv, then sample the bundled dcgan-celeba model into faces.png
#   make test     install into .venv, then run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: sample test install

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -e '.[test]'
	touch $@

sample: install
	$(VENV)/bin/ganzoo sample dcgan-celeba -n 64 -o faces.png

test: install
	$(PY) -m pytest
