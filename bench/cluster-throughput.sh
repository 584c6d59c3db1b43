#!/usr/bin/env bash
# Measures the cluster on one machine: starts redis-server, `flowdiffusion serve --cluster` and W workers (one slot
# each), queues RUNS txt2img runs on the tiny model and prints runs/minute once all completed. With KILL=1 it instead
# queues one long run, kills the worker running it with SIGKILL and prints the seconds until another worker claimed it.
#
#   bench/cluster-throughput.sh [WORKERS] [RUNS] [STEPS] [SIZE]      defaults: 1 12 20 128
#
# Environment: PROBE_TIMEOUT (seconds, default 1), MISSED_PROBES (default 2) — Orleans' defaults are 5 and 3.
# MODELS="models/tiny-sd models/shapes-sd" queues a mixed queue (the models in a fixed shuffled order) and ROUTING=affinity
# or round-robin picks the dispatcher's routing; the script then prints each slot's model loads (claims whose model
# differs from the slot's previous one, the first included).
# Needs a built CLI (dotnet build engine/FlowDiffusion.Cli) and redis-server. Everything lives in a temp folder.
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${1:-1}
runs=${2:-12}
steps=${3:-20}
size=${4:-128}
probe=${PROBE_TIMEOUT:-1}
missed=${MISSED_PROBES:-2}
models=${MODELS:-models/tiny-sd}
routing=${ROUTING:-affinity}
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
cli=$(ls -t engine/FlowDiffusion.Cli/bin/*/net10.0/flowdiffusion.dll | head -1)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
redis_port=$(port); api_port=$(port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly yes --dir "$work" > "$work/redis.log" & pids+=($!)
export FLOWDIFFUSION_HOME=$PWD
common=(--cluster "redis://127.0.0.1:$redis_port" --advertise 127.0.0.1 --config FlowDiffusion:WatchPlugins=false
  --config "FlowDiffusion:Cluster:ProbeTimeoutSeconds=$probe" --config "FlowDiffusion:Cluster:NumMissedProbesLimit=$missed"
  --config "FlowDiffusion:Cluster:Routing=$routing")
dotnet "$cli" serve "${common[@]}" --urls "http://127.0.0.1:$api_port" --silo-port "$(port)" \
  --config "FlowDiffusion:DataFolder=$work/data" --config "FlowDiffusion:OutputFolder=$work/outputs" > "$work/serve.log" 2>&1 & pids+=($!)
for i in $(seq 1 "$workers"); do
  dotnet "$cli" worker "${common[@]}" --name "w$i" --silo-port "$(port)" > "$work/w$i.log" 2>&1 & pids+=($!); eval "worker_w$i=$!"
done
until grep -qs "API listening" "$work/serve.log"; do sleep 0.2; done
for i in $(seq 1 "$workers"); do until grep -qs "worker joined" "$work/w$i.log"; do sleep 0.2; done; done
sleep 3  # the workers' first claims reach the dispatcher
submit() { curl -s -X POST "http://127.0.0.1:$api_port/api/runs" -H 'Content-Type: application/json' \
  -d "{\"workflow\":\"txt2img\",\"inputs\":{\"model\":\"${2:-models/tiny-sd}\",\"steps\":$1,\"width\":$size,\"height\":$size}}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
status() { curl -s "http://127.0.0.1:$api_port/api/runs/$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["attempts"])'; }
if [ "${KILL:-0}" = 1 ]; then
  id=$(submit 1000)
  until grep -aq "Run $id attempt 1" "$work/serve.log"; do sleep 0.05; done
  victim=$(grep -a "Run $id attempt 1" "$work/serve.log" | grep -o '|w[0-9]*|' | tr -d '|')
  sleep 1
  start=$(date +%s.%N); eval "kill -9 \$worker_$victim"
  until grep -aq "Run $id attempt 2" "$work/serve.log"; do sleep 0.02; done
  echo "failover: $(python3 -c "print(round($(date +%s.%N) - $start, 2))") s (probe timeout $probe s, $missed missed probes)"
  echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi
# The queue's models: MODELS cycled, then shuffled with a fixed seed so every routing sees the same queue.
queue=$(python3 -c "import random,sys; m=sys.argv[2:]; q=[m[i % len(m)] for i in range(int(sys.argv[1]))]; random.Random(7).shuffle(q); print(' '.join(q))" "$runs" $models)
start=$(date +%s.%N)
ids=(); for model in $queue; do ids+=("$(submit "$steps" "$model")"); done
failed=0
for id in "${ids[@]}"; do
  until [[ "$(status "$id")" != queued* && "$(status "$id")" != running* ]]; do sleep 0.1; done
  [[ "$(status "$id")" == completed* ]] || { failed=$((failed + 1)); echo "run $id: $(status "$id")"; }
done
[ "$failed" = 0 ] || echo "$failed run(s) did not complete"
elapsed=$(python3 -c "print($(date +%s.%N) - $start)")
echo "workers=$workers runs=$runs steps=$steps size=$size models=[$models] routing=$routing: $(python3 -c "print(round($elapsed, 1))") s, $(python3 -c "print(round($runs * 60 / $elapsed, 1))") runs/min"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
# Claims in order: "Run <id> attempt 1 → <silo>|<worker>|<slot> model <model> (<reason>)".
grep -a "attempt [0-9]* →" "$work/serve.log" | python3 -c '
import re, sys
last, loads, per = {}, 0, {}
for line in sys.stdin:
    m = re.search(r"→ \S+\|(\S+)\|(\d+) model (\S+)", line)
    if not m: continue
    slot, model = m.group(1) + "/" + m.group(2), m.group(3)
    per.setdefault(slot, [])
    if last.get(slot) != model: loads += 1; per[slot].append(model.split("/")[-1])
    last[slot] = model
print(f"model loads: {loads} (" + "; ".join(f"{s}: {len(v)}" for s, v in sorted(per.items())) + ")")'
grep -a "attempt 1 →" "$work/serve.log" | sed 's/.* model [^ ]* (\(.*\))$/\1/' | cut -d: -f1 | sort | uniq -c
