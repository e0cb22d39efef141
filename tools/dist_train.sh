#!/usr/bin/env bash
# Distributed training on one or more nodes with torchrun.
#   tools/dist_train.sh CONFIG GPUS [train.py arguments...]
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on each node.
# Without CUDA the processes train on the CPU over the gloo backend.
set -euo pipefail
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
# Paths on the command line are the caller's; the tools are beside this script
# (in a clone, or in an installed mmplug's mmplug/.mim/tools).
tools=$(cd "$(dirname "$0")" && pwd)
# PYTHON, else the clone's environment for STACK (make exports it), else python
venv=$tools/../$([ "${STACK:-openmmlab}" = onedl ] && echo .venv-onedl || echo .venv)
PYTHON=${PYTHON:-$( [ -x "$venv/bin/python" ] && echo "$venv/bin/python" || echo python )}
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" --master_port="$PORT" \
    "$tools/train.py" "$CONFIG" --launcher pytorch "${@:3}"
