#!/usr/bin/env bash
# Install planner.yaml's schedules as crontab entries (a marked block in your crontab), idempotently.
#
#   ./install_cron.sh [--dry-run] [--remove] [--config-dir DIR] [--output DIR] [--user NAME]
#
# --dry-run prints the resulting crontab and installs nothing; --remove takes the block out again.
# Every other line of the crontab is kept. An install also writes the block to schedules/apiinv.cron.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
apiinv=${APIINV:-"$here/.venv/bin/apiinv"}
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
        -h|--help) sed -n '2,7s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "install_cron.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ ! -x "$apiinv" ]; then
    echo "install_cron.sh: apiinv is not installed at $apiinv (run: make install); nothing was changed" >&2
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
exec "$apiinv" --config-dir "$config_dir" --output "$output" schedule "$action" "${extra[@]}"
