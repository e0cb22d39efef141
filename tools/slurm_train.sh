#!/usr/bin/env bash
# Training on a Slurm cluster, one task per GPU.
#   GPUS=16 tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py arguments...]
# Environment: GPUS (default 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5),
# SRUN_ARGS (extra srun arguments).
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
# Paths on the command line are the caller's; the tools are beside this script
# (in a clone, or in an installed mmplug's mmplug/.mim/tools).
tools=$(cd "$(dirname "$0")" && pwd)
# PYTHON, else the clone's environment for STACK (make exports it), else python
venv=$tools/../$([ "${STACK:-openmmlab}" = onedl ] && echo .venv-onedl || echo .venv)
PYTHON=${PYTHON:-$( [ -x "$venv/bin/python" ] && echo "$venv/bin/python" || echo python )}
# shellcheck disable=SC2086
srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 $SRUN_ARGS \
    "$PYTHON" -u "$tools/train.py" "$CONFIG" --work-dir="$WORK_DIR" --launcher slurm "${@:5}"
