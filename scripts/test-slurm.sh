#!/usr/bin/env bash
# The experiment grid on a real Slurm (Debian's slurm-wlm + munge, one node, this machine):
#  1. an array of 3 tasks (experiments/slurm/array.sbatch, no --shard: the shard comes from the
#     array) and the merge job after it (merge.sbatch, --dependency=afterok), as submit.sh does;
#     the merged results equal a single-process run of the same grid line for line (timings,
#     finishedAt and the shard field left out);
#  2. one array task cancelled (scancel) while it runs, then requeued: every run id exactly once,
#     and the same lines as the single-process run.
# Installs slurm-wlm and munge when missing (apt-get), writes slurm.conf, the munge key and all
# state into a temp dir (SLURM_CONF points there), runs the daemons as root, and stops them and
# removes the dir on exit, also on failure. Prints PASS or FAIL. Run from anywhere, as root.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

fail() { echo "FAIL: test-slurm: $*" >&2; exit 1; }
[[ "$(id -u)" == 0 ]] || fail "needs root (starts munged, slurmctld and slurmd)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null; }
fi

tmp="$(mktemp -d -t pulse-slurm-XXXXXX)"
pids=()
cleanup() {
  local rc=$?
  # Jobs first (their processes are children of slurmd's steps), then the daemons we started.
  if [[ -f "$tmp/slurm.conf" ]] && command -v scancel >/dev/null; then
    SLURM_CONF="$tmp/slurm.conf" timeout 10 scancel --user=root >/dev/null 2>&1 || true
    sleep 1
  fi
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [[ $rc != 0 ]]; then
    for log in slurmctld.log slurmd.log munged.log; do
      [[ -f "$tmp/$log" ]] && { echo "--- last lines of $log"; tail -n 15 "$tmp/$log"; } >&2
    done
    for out in "$tmp"/jobs/slurm-*.out; do [[ -f "$out" ]] && { echo "--- $out"; tail -n 15 "$out"; } >&2; done
    echo "FAIL: test-slurm (exit $rc)" >&2
  fi
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- munge: its own key, socket and state in the temp dir.
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool" "$tmp/jobs"
chmod 700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
munged --force --foreground --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/munge.sock" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munged.log" --seed-file="$tmp/munge/seed" >>"$tmp/munged.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -S "$tmp/munge/munge.sock" ]] && break; sleep 0.1; done
[[ -S "$tmp/munge/munge.sock" ]] || fail "munged did not start (see munged.log)"

# --- slurm.conf: one node (this machine's CPUs and memory), one partition, no cgroups.
cpus="$(nproc)"
mem_mb="$(awk '/MemTotal/ { print int($2 / 1024) - 512 }' /proc/meminfo)"
# Ports away from the defaults (6817/6818), so a Slurm already on this machine is left alone.
port=$((20000 + RANDOM % 20000))
export SLURM_CONF="$tmp/slurm.conf"
cat > "$SLURM_CONF" <<EOF
ClusterName=pulsetest
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/munge.sock
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MinJobAge=600
NodeName=localhost CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -c -f "$SLURM_CONF" >>"$tmp/slurmctld.log" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N localhost >>"$tmp/slurmd.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do
  state="$(sinfo -h -n localhost -o %T 2>/dev/null || true)"
  [[ "$state" == idle* ]] && break
  sleep 0.5
done
[[ "$state" == idle* ]] || fail "the node did not come up (sinfo says \"${state:-nothing}\")"
echo "test-slurm: slurmctld, slurmd and munged up ($cpus CPUs, $mem_mb MB, port $port)"

# --- a tiny grid: the 32 px random-weight model the tests use, 2 images x 1 seed x 3 points,
# 3 steps each (6 runs, 2 per shard). The kill case runs more steps, so a task is caught mid-run.
work="$tmp/jobs"
npx tsx scripts/random-model.ts --out "$work/model" --res 32 --fmap-base 128 --seed 7 >/dev/null
node --input-type=module -e '
import sharp from "sharp";
const [dir] = process.argv.slice(1);
for (const [name, size, seed] of [["hr32.png", 32, 1], ["lr4.png", 4, 2]]) {
  const px = Buffer.alloc(size * size * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37 + seed * 101) % 256;
  await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(`${dir}/${name}`);
}' "$work"
write_config() { # name out steps
  cat > "$work/$1.json" <<EOF
{
  "name": "$1",
  "model": "$work/model",
  "inputs": { "files": ["$work/hr32.png", "$work/lr4.png"], "factor": 8 },
  "seeds": [3],
  "base": { "steps": $3 },
  "grid": { "loss": ["100*L2", "100*L2+0.05*GEOCROSS", "100*L2+0.5*GEOCROSS"] },
  "out": "$2"
}
EOF
}
write_config grid "$work/out-slurm" 3
write_config single "$work/out-single" 3
write_config killgrid "$work/out-kill" 12
write_config killsingle "$work/out-killsingle" 12
# The same backend everywhere, so the numbers can be compared exactly.
export PULSE_BACKEND="${PULSE_BACKEND:-cpu}"

# Runs, without what may differ between processes: timings, finishedAt, shard, index order.
normalize() { # results dir -> sorted canonical lines
  cat "$1"/results*.jsonl | node -e '
    const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
    for (const l of lines) {
      const r = JSON.parse(l);
      delete r.seconds; delete r.finishedAt; delete r.shard; delete r.experiment; delete r.index;
      console.log(JSON.stringify(r));
    }' | sort
}
ids_once() { # results dir, expected count
  local ids dups
  ids="$(cat "$1"/results*.jsonl | node -e 'for (const l of require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean)) console.log(JSON.parse(l).id)')"
  dups="$(sort <<<"$ids" | uniq -d)"
  [[ -z "$dups" ]] || fail "run ids repeated in $1: $dups"
  [[ "$(wc -l <<<"$ids")" == "$2" ]] || fail "$1 has $(wc -l <<<"$ids") runs, expected $2"
}
wait_jobs() { # job ids...; waits until none is pending or running (max 5 minutes)
  for _ in $(seq 300); do
    [[ -z "$(squeue -h -j "$(IFS=,; echo "$*")" 2>/dev/null)" ]] && return 0
    sleep 1
  done
  squeue >&2; fail "jobs $* still queued after 5 minutes"
}
job_state() { scontrol -o show job "$1" | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2; }

# --- 1. array of 3 + merge after it, against one process.
cd "$work"
started=$SECONDS
submitted="$(PULSE_REPO="$repo" bash "$repo/experiments/slurm/submit.sh" "$work/grid.json" 3 --cpus-per-task=1)"
array_id="$(awk '$1 == "array" { print $2 }' <<<"$submitted")"
merge_id="$(awk '$1 == "merge" { print $2 }' <<<"$submitted")"
[[ -n "$array_id" && -n "$merge_id" ]] || fail "submit.sh printed no job ids: $submitted"
PULSE_REPO="$repo" bash -c 'cd "$PULSE_REPO" && node bin/pulse.mjs experiment "$0" --quiet' "$work/single.json" >"$work/single.log" 2>&1 || { cat "$work/single.log" >&2; fail "the single-process run failed"; }
cd "$work"
wait_jobs "$array_id" "$merge_id"
for t in 0 1 2; do
  [[ "$(job_state "${array_id}_$t")" == COMPLETED ]] || fail "array task ${array_id}_$t: $(job_state "${array_id}_$t")"
done
[[ "$(job_state "$merge_id")" == COMPLETED ]] || fail "merge job $merge_id: $(job_state "$merge_id")"
grep -q 'Slurm array task' slurm-pulse-grid-"${array_id}"_1.out || fail "task 1 did not print its shard"
ls out-slurm/results.shard-{1,2,3}-of-3.jsonl >/dev/null || fail "expected one results file per shard"
[[ -f out-slurm/summary.csv ]] || fail "the merge job wrote no summary.csv"
ids_once out-slurm 6
diff <(normalize out-slurm) <(normalize out-single) >/dev/null || { diff <(normalize out-slurm) <(normalize out-single) | head -c 2000; fail "the array's results differ from one process's"; }
echo "test-slurm: array of 3 + merge (afterok) = one process, 6 runs line for line ($((SECONDS - started)) s)"

# --- 2. cancel a task while it runs, requeue it; nothing lost or repeated.
started=$SECONDS
kill_id="$(sbatch --parsable --array=0-2 --cpus-per-task=1 --export=ALL,PULSE_REPO="$repo" "$repo/experiments/slurm/array.sbatch" "$work/killgrid.json")"
kill_id="${kill_id%%;*}"
# Wait until task 1 has finished its first run (one line) and is into its second, then cancel it.
for _ in $(seq 240); do
  [[ -f out-kill/results.shard-2-of-3.jsonl && "$(wc -l < out-kill/results.shard-2-of-3.jsonl)" -ge 1 ]] && break
  sleep 0.5
done
[[ "$(job_state "${kill_id}_1")" == RUNNING ]] || fail "task ${kill_id}_1 is not running when it should be cancelled: $(job_state "${kill_id}_1")"
[[ "$(wc -l < out-kill/results.shard-2-of-3.jsonl)" == 1 ]] || fail "task 1 finished before it could be cancelled mid-run"
scancel "${kill_id}_1"
for _ in $(seq 30); do [[ "$(job_state "${kill_id}_1")" == CANCELLED ]] && break; sleep 0.5; done
[[ "$(job_state "${kill_id}_1")" == CANCELLED ]] || fail "task ${kill_id}_1 not cancelled: $(job_state "${kill_id}_1")"
echo "test-slurm: cancelled task ${kill_id}_1 mid-run ($(wc -l < out-kill/results.shard-2-of-3.jsonl) of 2 runs written)"
# slurmd revokes a cancelled job's credential, and refuses a relaunch of that job id whose new
# credential was made in the same second ("Job credential revoked": Slurm compares whole
# seconds). So wait until slurmd has ended the batch step, then let the clock pass a second.
raw_id="$(scontrol -o show job "${kill_id}_1" | grep -oE '(^| )JobId=[0-9]+' | head -1 | grep -oE '[0-9]+' || true)"
for _ in $(seq 60); do grep -q "\[${raw_id}.batch\] done with job" "$tmp/slurmd.log" && break; sleep 0.5; done
sleep 2
# Resubmit the cancelled task: requeued, it keeps its array index and range (so its shard).
scontrol requeue "${kill_id}_1"
# Slurm holds a requeued job back for a while (BeginTime in the future); start it now.
scontrol update JobId="${kill_id}_1" StartTime=now
PULSE_REPO="$repo" bash -c 'cd "$PULSE_REPO" && node bin/pulse.mjs experiment "$0" --quiet' "$work/killsingle.json" >"$work/killsingle.log" 2>&1 || { cat "$work/killsingle.log" >&2; fail "the single-process run failed"; }
cd "$work"
wait_jobs "$kill_id"
for t in 0 1 2; do
  [[ "$(job_state "${kill_id}_$t")" == COMPLETED ]] || fail "array task ${kill_id}_$t after requeue: $(job_state "${kill_id}_$t")"
done
ids_once out-kill 6
diff <(normalize out-kill) <(normalize out-killsingle) >/dev/null || { diff <(normalize out-kill) <(normalize out-killsingle) | head -c 2000; fail "after cancel + requeue the results differ from one process's"; }
echo "test-slurm: cancel + requeue lost and repeated nothing (6 runs, each once, = one process) ($((SECONDS - started)) s)"
echo "PASS: test-slurm"
