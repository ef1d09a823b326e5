# Set-up shared by scripts/run.sh and scripts/test.sh (sourced, not run): pick the Python
# environment, install torch and gptscope there, and leave its interpreter in $PY.
#
#   gptscope_setup EXTRAS        e.g. gptscope_setup train   or   gptscope_setup train,dev
#
# - An active virtual environment ($VIRTUAL_ENV) or conda environment ($CONDA_PREFIX) is used
#   as it is.
# - Otherwise the project's own .venv is used, created first with `python3 -m venv` (never
#   `python`: a fresh Debian/Ubuntu has only python3, and its system Python refuses `pip
#   install`, PEP 668). When that python3 already has a CUDA build of torch, the .venv sees it
#   (--system-site-packages) instead of installing a CPU one.
# - torch: an installed torch (a CUDA build included) is kept; when there is none, the CPU
#   build torch==2.13.0 is installed (from download.pytorch.org/whl/cpu when it answers;
#   GPTSCOPE_TORCH_INDEX=URL picks another index, GPTSCOPE_TORCH_INDEX=none the default one).
# - gptscope itself: `pip install -e ".[EXTRAS]"`, skipped when pyproject.toml is unchanged
#   since the last set-up of this environment and every dependency is importable
#   (GPTSCOPE_REINSTALL=1 forces it).
# Each step prints one line ("setup: ..."). GPTSCOPE_SETUP_DRY_RUN=1 prints the plan and
# changes nothing (the tests use it).

GPTSCOPE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GPTSCOPE_TORCH="2.13.0"

_say() { echo "setup: $*"; }
_die() { echo "setup: error: $*" >&2; exit 1; }
_dry() { [ "${GPTSCOPE_SETUP_DRY_RUN:-0}" = 1 ]; }

# One call that tells all we need about an interpreter, without importing torch:
# "<major.minor> <sys.prefix> <torch version or ->"
_probe() {
  "$1" -c '
import importlib.metadata as m, sys  # gptscope-probe
try:
    torch = m.version("torch")
except m.PackageNotFoundError:
    torch = "-"
print("%d.%d" % sys.version_info[:2], sys.prefix, torch)' 2>/dev/null
}

# "cuda" when the interpreter's torch is a CUDA (or ROCm) build, else "cpu" (imports torch)
_torch_kind() {
  "$1" -c '
import torch  # gptscope-torch-kind
print("cuda" if (torch.version.cuda or getattr(torch.version, "hip", None)) else "cpu")' \
    2>/dev/null || echo cpu
}

_pick_python() {
  if [ -n "${VIRTUAL_ENV:-}" ]; then
    PY="$VIRTUAL_ENV/bin/python3"; [ -x "$PY" ] || PY="$VIRTUAL_ENV/bin/python"
    [ -x "$PY" ] || _die "no python in the active virtual environment $VIRTUAL_ENV"
    _say "using the active virtual environment $VIRTUAL_ENV"
    return
  fi
  if [ -n "${CONDA_PREFIX:-}" ]; then
    PY="$CONDA_PREFIX/bin/python3"; [ -x "$PY" ] || PY="$CONDA_PREFIX/bin/python"
    [ -x "$PY" ] || _die "no python in the active conda environment $CONDA_PREFIX"
    _say "using the active conda environment $CONDA_PREFIX"
    return
  fi
  PY="$GPTSCOPE_ROOT/.venv/bin/python3"
  if [ -x "$PY" ] && [ -n "$(_probe "$PY")" ]; then
    _say "no virtual environment active: using the project's .venv"
    return
  fi
  local sys_py info ver torch flags=""
  sys_py="$(command -v python3)" \
    || _die "python3 not found: install Python 3.10 or newer (Debian/Ubuntu: sudo apt-get install python3 python3-venv)"
  info="$(_probe "$sys_py")" || _die "$sys_py does not run"
  read -r ver _ torch <<<"$info"
  if [ "${ver%%.*}" -lt 3 ] || { [ "${ver%%.*}" = 3 ] && [ "${ver#*.}" -lt 10 ]; }; then
    _die "$sys_py is Python $ver; gptscope needs 3.10 or newer"
  fi
  if [ "$torch" != - ] && [ "${torch#*+cpu}" = "$torch" ] && [ "$(_torch_kind "$sys_py")" = cuda ]; then
    flags="--system-site-packages"  # keep the machine's CUDA torch
    _NEW_VENV_TORCH="$torch"
    _say "no virtual environment active: creating .venv with $sys_py (Python $ver), which sees its CUDA torch $torch"
  else
    _say "no virtual environment active: creating .venv with $sys_py (Python $ver); later: source .venv/bin/activate"
  fi
  _dry && return
  rm -rf "$GPTSCOPE_ROOT/.venv"
  # shellcheck disable=SC2086
  if ! "$sys_py" -m venv $flags "$GPTSCOPE_ROOT/.venv" >/dev/null; then
    rm -rf "$GPTSCOPE_ROOT/.venv"
    _die "could not create .venv (Debian/Ubuntu: sudo apt-get install python3-venv), or activate a virtual environment first"
  fi
}

_torch_index_args() {
  local index="${GPTSCOPE_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
  [ "$index" = none ] && return
  [ "$(uname -s)" = Linux ] || return  # PyPI's macOS and Windows wheels are CPU builds already
  # pip prefers 2.13.0+cpu from this index to PyPI's CUDA build of 2.13.0 (GBs of CUDA
  # libraries); asked only when it answers, so that an offline mirror does not wait on it
  if "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)" \
       "$index/torch/" >/dev/null 2>&1; then
    echo "--extra-index-url $index"
  fi
}

_install_torch() {
  local torch="$1"
  if [ "$torch" != - ]; then
    _say "torch $torch already installed: kept"
    return
  fi
  _say "installing torch $GPTSCOPE_TORCH (CPU build, a few hundred MB)..."
  _dry && return
  # shellcheck disable=SC2046
  "$PY" -m pip install -q $(_torch_index_args) "torch==$GPTSCOPE_TORCH" \
    || _die "could not install torch==$GPTSCOPE_TORCH"
}

_deps_importable() {  # every module the extras need, found without importing them
  local modules="pandas,pyarrow,numpy,matplotlib,streamlit,watchdog,gptscope,trainer,analyzer,app"
  case ",$1," in *,train,*) modules="$modules,torch,tiktoken" ;; esac
  case ",$1," in
    *,dev,*) modules="$modules,pytest,pytest_timeout,hypothesis,playwright,tensorboard" ;;
  esac
  "$PY" -c "
import importlib.util, sys  # gptscope-deps
missing = [m for m in sys.argv[1].split(',') if importlib.util.find_spec(m) is None]
sys.exit(1 if missing else 0)" "$modules" 2>/dev/null
}

_stamp_covers() {  # stamp file, extras, pyproject checksum: installed with these extras or more?
  local sum1 sum2 extras root e ok
  while read -r sum1 sum2 extras root; do
    [ "$root" = "$GPTSCOPE_ROOT" ] && [ "$sum1 $sum2" = "$3" ] || continue
    ok=1
    for e in ${2//,/ }; do
      case ",${extras//[\[\]]/}," in *",$e,"*) ;; *) ok=0 ;; esac
    done
    [ "$ok" = 1 ] && return 0
  done <"$1"
  return 1
}

_install_project() {
  local extras="$1" prefix="$2" stamp sum
  stamp="$prefix/.gptscope-setup"  # lines: <pyproject.toml cksum> [<extras>] <project>
  sum="$(cksum <"$GPTSCOPE_ROOT/pyproject.toml")"
  if [ "${GPTSCOPE_REINSTALL:-0}" != 1 ] && [ -f "$stamp" ] \
     && _stamp_covers "$stamp" "$extras" "$sum" && _deps_importable "$extras"; then
    _say "gptscope[$extras] already installed (pyproject.toml unchanged)"
    return
  fi
  _say "installing gptscope[$extras] and its dependencies (pandas, pyarrow, streamlit...)..."
  _dry && return
  (cd "$GPTSCOPE_ROOT" && "$PY" -m pip install -q -e ".[$extras]") \
    || _die "could not install gptscope[$extras]"
  { [ -f "$stamp" ] && grep -vF "[$extras] $GPTSCOPE_ROOT" "$stamp"; echo "$sum [$extras] $GPTSCOPE_ROOT"; } \
    >"$stamp.new" 2>/dev/null && mv "$stamp.new" "$stamp" || rm -f "$stamp.new"
}

gptscope_setup() {
  local extras="$1" info prefix torch start=$SECONDS
  _pick_python
  if _dry && [ ! -x "$PY" ]; then  # the .venv would be new: nothing in it yet
    prefix="$GPTSCOPE_ROOT/.venv" torch="${_NEW_VENV_TORCH:--}"
  else
    info="$(_probe "$PY")" || _die "$PY does not run"
    read -r _ prefix torch <<<"$info"
  fi
  _install_torch "$torch"
  _install_project "$extras" "$prefix"
  if _dry; then
    _say "dry run: nothing was changed"
  else
    _say "ready in $((SECONDS - start)) s: $PY"
  fi
}
