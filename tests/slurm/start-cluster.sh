#!/usr/bin/env bash
# Start a real one-node SLURM cluster on this machine for the SLURM tests: Debian's slurm 22.05 + munge, run as
# plain background daemons (containers have no systemd). Must run as root. Running it again while the cluster is up
# does nothing. Stop it with tests/slurm/stop-cluster.sh (by PID).
#
# Usage: start-cluster.sh [--no-install] [--fresh]
#   --no-install  do not apt-get install missing packages (fail instead)
#   --fresh       wipe slurm state, spool and logs first (job ids restart at 1); refused while daemons run
# Exit status: 0 cluster up; 3 the packages are missing and cannot be installed; any other: it failed.
#
# The node pretends to be a GPU node so that the project's real profile (slurm/config.yaml) runs unchanged:
#   EEBENCH_SLURM_CPUS (default 16), EEBENCH_SLURM_MEM_MB (default 65536), EEBENCH_SLURM_GPUS (default 4).
# Files: /etc/slurm/{slurm.conf,gres.conf}; pids in /run/slurm and /run/munge; logs in /var/log/slurm.
set -euo pipefail
# The daemons and runuser live in sbin, which a non-login or minimal PATH (CI, env -i) may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
INSTALL=1
FRESH=0
for arg in "$@"; do
    case "$arg" in
        --no-install) INSTALL=0 ;;
        --fresh) FRESH=1 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "start-cluster: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

[ "$(id -u)" -eq 0 ] || { echo "start-cluster: must run as root (it installs packages and starts daemons)" >&2; exit 1; }

CPUS=${EEBENCH_SLURM_CPUS:-16}
MEM_MB=${EEBENCH_SLURM_MEM_MB:-65536}
GPUS=${EEBENCH_SLURM_GPUS:-4}
MARKER="# eebench test cluster"

log() { echo "[start-cluster $(date +%H:%M:%S)] $*"; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local secs=$1 what=$2
    shift 2
    local end=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$end" ]; then echo "start-cluster: timed out waiting for $what" >&2; return 1; fi
        sleep 0.2
    done
}
T0=$SECONDS

# ------------------------------------------------------------------ packages
packages=(munge slurmctld slurmd slurm-client)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$INSTALL" -eq 0 ]; then echo "start-cluster: missing packages: ${missing[*]}" >&2; exit 1; fi
    log "apt-get install ${missing[*]}"
    # Exit status 3 says "packages unavailable" (no apt, no network), so the tests can skip instead of fail.
    command -v apt-get >/dev/null || { echo "start-cluster: missing ${missing[*]} and no apt-get" >&2; exit 3; }
    apt-get update -qq || { echo "start-cluster: apt-get update failed" >&2; exit 3; }
    # Debian containers ship a policy-rc.d that stops postinst from starting services: expected, we start them.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        { echo "start-cluster: apt-get install ${missing[*]} failed" >&2; exit 3; }
fi

# ------------------------------------------------------------------ config
mkdir -p /etc/slurm /run/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
if [ -s /etc/slurm/slurm.conf ] && ! head -n 1 /etc/slurm/slurm.conf | grep -qF "$MARKER"; then
    echo "start-cluster: /etc/slurm/slurm.conf exists and was not written by this script; not touching it" >&2
    exit 1
fi
if [ "$FRESH" -eq 1 ]; then
    for f in /run/slurm/slurmctld.pid /run/slurm/slurmd.pid; do
        if alive "$f"; then echo "start-cluster: refusing --fresh while $(basename "$f" .pid) runs; stop it first" >&2; exit 1; fi
    done
    rm -rf /var/spool/slurmctld/* /var/spool/slurmd/* /var/log/slurm/*
fi
{
    echo "$MARKER (written by $HERE/start-cluster.sh; do not edit)"
    sed -e "s/@CPUS@/$CPUS/" -e "s/@MEM_MB@/$MEM_MB/" -e "s/@GPUS@/$GPUS/" "$HERE/slurm.conf"
} >/etc/slurm/slurm.conf.new
# Pretend GPUs: slurmd drops a GPU without a device file, and wants a character device, so each one is a symlink
# to /dev/null. Jobs get CUDA_VISIBLE_DEVICES set as on a real GPU node; torch still runs on the CPU.
rm -f /run/slurm/fake-gpu*
for ((i = 0; i < GPUS; i++)); do ln -s /dev/null "/run/slurm/fake-gpu$i"; done
echo "NodeName=localhost Name=gpu File=/run/slurm/fake-gpu[0-$((GPUS - 1))]" >/etc/slurm/gres.conf
if alive /run/slurm/slurmctld.pid && ! cmp -s /etc/slurm/slurm.conf.new /etc/slurm/slurm.conf; then
    echo "start-cluster: the cluster is running with another configuration; run stop-cluster.sh first" >&2
    rm -f /etc/slurm/slurm.conf.new
    exit 1
fi
mv /etc/slurm/slurm.conf.new /etc/slurm/slurm.conf

# ------------------------------------------------------------------ munge (authentication between the daemons)
if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key
chmod 600 /etc/munge/munge.key
mkdir -p /run/munge
chown munge:munge /run/munge
if ! alive /run/munge/munged.pid; then
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged # daemonises, writes /run/munge/munged.pid
fi
wait_for 10 munged bash -c 'munge -n | unmunge'

# ------------------------------------------------------------------ slurm
if ! alive /run/slurm/slurmctld.pid; then
    log "starting slurmctld"
    /usr/sbin/slurmctld # daemonises; SlurmctldHost=localhost works whatever the hostname
fi
wait_for 30 slurmctld scontrol ping
if ! alive /run/slurm/slurmd.pid; then
    log "starting slurmd"
    /usr/sbin/slurmd -N localhost # -N: the node name need not match `hostname`
fi
node_ready() { sinfo -h -n localhost -o %T | grep -qE '^(idle|mixed|allocated)$'; }
# slurmctld keeps a node's DRAIN state across restarts (e.g. from an earlier start with another gres.conf), and
# ReturnToService does not undo a drain: give the node back once it has registered with this configuration.
if wait_for 10 "slurmd to register" bash -c 'sinfo -h -n localhost -o %T | grep -qvE "^(unknown|down)\*?$"' &&
    sinfo -h -n localhost -o %T | grep -qE '^drain'; then
    log "node was left drained ($(sinfo -h -n localhost -o %E)); resuming it"
    scontrol update NodeName=localhost State=RESUME
fi
if ! wait_for 30 "the node to become idle" node_ready; then
    sinfo -N -l >&2
    tail -n 20 /var/log/slurm/slurmd.log /var/log/slurm/slurmctld.log >&2
    exit 1
fi
log "cluster up after $((SECONDS - T0))s: node localhost, ${CPUS} CPUs, ${MEM_MB} MB, gpu:${GPUS}"
sinfo
