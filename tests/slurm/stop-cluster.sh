#!/usr/bin/env bash
# Stop the cluster started by tests/slurm/start-cluster.sh: cancel jobs left over, then SIGTERM each daemon by the
# PID in its pid file (SIGKILL after 10 s). Never kills by name, so nothing else on the machine is touched.
# Usage: stop-cluster.sh [--purge]   (--purge also wipes slurm state, spool and logs)
set -uo pipefail

stop_pidfile() { # stop_pidfile NAME PIDFILE
    local name=$1 pidfile=$2 pid
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        echo "stopping $name (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "  $name still running after 10 s: SIGKILL"
            kill -KILL "$pid"
        fi
    fi
    rm -f "$pidfile"
}

# Cancelled jobs are killed by slurmd; stopping slurmd first would leave their processes behind.
if command -v scancel >/dev/null && scontrol ping >/dev/null 2>&1; then
    scancel --user="$(id -un)" 2>/dev/null
    for _ in $(seq 1 50); do
        [ -z "$(squeue -h -t RUNNING,COMPLETING -o %i 2>/dev/null)" ] && break
        sleep 0.2
    done
fi

stop_pidfile slurmd /run/slurm/slurmd.pid
stop_pidfile slurmctld /run/slurm/slurmctld.pid
stop_pidfile munged /run/munge/munged.pid
rm -f /run/slurm/fake-gpu* # the pretend GPU devices (symlinks to /dev/null) made by start-cluster.sh

if [ "${1:-}" = "--purge" ]; then
    rm -rf /var/spool/slurmctld/* /var/spool/slurmd/* /var/log/slurm/*
    echo "purged slurm state, spool and logs"
fi
