#!/usr/bin/env bash
# The GitLab train / deploy-model jobs: trigger <TRIGGER_ACTION>__<cc> for each country and wait
# for all of them; the job fails when any run fails or times out.
#   TRIGGER_ACTION   train | deploy
#   COUNTRY / TRAIN_COUNTRIES   the countries (train: else those the change touches)
#   DATA_MONTH (train), MODEL_PACKAGE_ARN (deploy)   the runs' conf
#   TRIGGER_TIMEOUT, TRIGGER_POLL_INTERVAL   how long to wait (3h), how often to ask (30s)
#   TRIGGER_RETRY_DEADLINE   how long each call retries transient failures (2m; trigger_dag.py)
# A paused DAG fails its trigger at once, printing the command that unpauses it.
set -euo pipefail
cd "$(dirname "$0")/.."

action="${TRIGGER_ACTION:?set TRIGGER_ACTION to train or deploy}"
countries="${COUNTRY:-${TRAIN_COUNTRIES:-}}"
case "$action" in
  train)
    if [ -z "$countries" ]; then
      countries="$(python3 scripts/changed_countries.py --base "${CI_COMMIT_BEFORE_SHA:-}")"
    fi
    conf="$(python3 -c 'import json, os; print(json.dumps({"data_month": os.environ.get("DATA_MONTH", "")}))')"
    ;;
  deploy)
    if [ -z "$countries" ]; then
      echo "deploy-model: set COUNTRY (or TRAIN_COUNTRIES) to the countries to deploy" >&2
      exit 2
    fi
    conf="$(python3 -c 'import json, os; print(json.dumps({"model_package_arn": os.environ.get("MODEL_PACKAGE_ARN", "")}))')"
    ;;
  *)
    echo "TRIGGER_ACTION must be train or deploy, not '$action'" >&2
    exit 2
    ;;
esac

if [ -z "$countries" ]; then
  echo "no country touched by this change: nothing to $action"
  exit 0
fi

declare -A jobs=()
for cc in $countries; do
  # One run id per pipeline job and country: a retried job finds its runs instead of starting more.
  python3 scripts/trigger_dag.py --dag "${action}__${cc}" --conf "$conf" \
    --run-id "gitlab-${CI_PIPELINE_ID:-local}-${CI_JOB_ID:-0}-${cc}" \
    --wait --timeout "${TRIGGER_TIMEOUT:-3h}" --poll-interval "${TRIGGER_POLL_INTERVAL:-30s}" \
    --retry-deadline "${TRIGGER_RETRY_DEADLINE:-2m}" 2>&1 | sed "s/^/[${action}__${cc}] /" &
  jobs[$cc]=$!
done

failed=()
for cc in "${!jobs[@]}"; do
  wait "${jobs[$cc]}" || failed+=("${action}__${cc}")
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed or timed out: ${failed[*]}" >&2
  exit 1
fi
echo "all runs succeeded: $countries"
