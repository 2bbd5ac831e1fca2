#!/usr/bin/env bash
# Install planner.yaml's schedules as crontab entries (a marked block in your crontab), idempotently.
#
#   ./install_cron.sh [--dry-run] [--remove] [--force] [--config-dir DIR] [--output DIR] [--user NAME]
#
# --dry-run prints the resulting crontab and installs nothing; --remove takes the block (and
# schedules/apiinv.cron) out again. Every other line of the crontab is kept. An install writes the block
# to schedules/apiinv.cron; it refuses schedules whose tools lack credentials unless --force.
# Cron runs a fixed, locked build: .venv-cron, from requirements.lock and a wheel of this checkout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
apiinv=${APIINV:-"$here/.venv-cron/bin/apiinv"}
target=$apiinv  # what the crontab lines run, in a dry run too
config_dir=$here
output="$here/output"
action=install
extra=()

while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) extra+=(--dry-run) ;;
        --remove) action=remove ;;
        --config-dir) config_dir=$2; shift ;;
        --output) output=$2; shift ;;
        --user) extra+=(--user "$2"); shift ;;
        --force) extra+=(--force) ;;
        -h|--help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "install_cron.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ -z "${APIINV:-}" ] && [ "$action" = install ] && [[ ! " ${extra[*]} " =~ " --dry-run " ]]; then
    # Not the editable development environment: cron must not run whatever the working tree holds
    # tomorrow. A locked environment with a wheel of the checkout as it is now; re-run to update it.
    runtime="$here/.venv-cron"
    wheels=$(mktemp -d)
    trap 'rm -rf "$wheels"' EXIT
    [ -x "$runtime/bin/python" ] || python3 -m venv "$runtime"
    "$runtime/bin/python" -m pip install --quiet --require-hashes -r "$here/requirements.lock"
    "$runtime/bin/python" -m pip wheel --quiet --no-deps --wheel-dir "$wheels" "$here"
    "$runtime/bin/python" -m pip install --quiet --no-deps --force-reinstall "$wheels"/apiinv-*.whl
fi
if [ -z "${APIINV:-}" ] && [ ! -x "$apiinv" ] && [ -x "$here/.venv/bin/apiinv" ]; then
    apiinv="$here/.venv/bin/apiinv"  # a dry run or --remove before any install: the development build
fi
if [ ! -x "$apiinv" ]; then
    echo "install_cron.sh: apiinv is not installed at $apiinv (run ./install_cron.sh without --dry-run, or make install and APIINV=.venv/bin/apiinv); nothing was changed" >&2
    exit 1
fi
if ! command -v crontab >/dev/null 2>&1; then
    echo "install_cron.sh: crontab is not installed (Debian: apt-get install cron); nothing was changed" >&2
    exit 1
fi
if [ "$action" = install ]; then
    # Refuse before touching the crontab when planner.yaml (or tools.yaml) is invalid.
    "$apiinv" --config-dir "$config_dir" --output "$output" validate-config >/dev/null
fi
if [ "$action" = install ]; then
    extra+=(--apiinv "$target")
fi
exec "$apiinv" --config-dir "$config_dir" --output "$output" schedule "$action" "${extra[@]}"
