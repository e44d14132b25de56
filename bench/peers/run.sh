#!/usr/bin/env bash
# bench/peers/run.sh - HyperStep beside its peers (qemu-system-i386 TCG, Bochs, optionally v86) on the same
# Multiboot benchmark kernels (ALU: 5 instructions/iteration, MIX: 16), all measured in ONE run by the shared
# peer harness, which takes HyperStep as its extra command. Prints each peer's guest MIPS and HyperStep's
# ratio to each peer. Compare ratios from one run, never absolute numbers across runs.
#
# Usage: bench/peers/run.sh                      (from the repository; builds dist/ first)
# Environment: PEERS_SCRIPT (default ../shared/bench/run-peers.sh next to the repository), PEERS (default
#   "qemu bochs", plus v86 when V86_DIR is set), ITER_ALU (default 100000000), ITER_MIX (5000000), RUNS (3).
# Needs (Debian): nasm binutils qemu-system-x86 hyperfine python3, and for Bochs: bochs bochsbios bochs-term
#   vgabios grub-pc-bin grub-common xorriso mtools.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
script=${PEERS_SCRIPT:-$repo/../shared/bench/run-peers.sh}
if [ ! -f "$script" ]; then
  echo "bench/peers: the peer harness was not found at $script (set PEERS_SCRIPT)" >&2
  exit 2
fi
for tool in nasm ld hyperfine python3 qemu-system-i386; do
  command -v "$tool" >/dev/null || { echo "bench/peers: $tool is required" >&2; exit 2; }
done
default_peers="qemu"
command -v bochs >/dev/null && command -v grub-mkrescue >/dev/null && default_peers="$default_peers bochs"
[ -n "${V86_DIR:-}" ] && default_peers="$default_peers v86"
export PEERS=${PEERS:-$default_peers}
export ITER_ALU=${ITER_ALU:-100000000} ITER_MIX=${ITER_MIX:-5000000} RUNS=${RUNS:-3}
(cd "$repo" && npm run build --silent >/dev/null)
export EXTRA_NAME=hyperstep
# No host time limit: the harness times the whole run; HyperStep's exit status is the guest's (33).
export EXTRA_CMD="node $repo/dist/cli.js run {elf} --time-limit 0"
echo "# peers: $PEERS + hyperstep; ITER_ALU=$ITER_ALU ITER_MIX=$ITER_MIX RUNS=$RUNS; $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
bash "$script" | tee /dev/stderr | python3 -c '
import sys
mips = {}
for line in sys.stdin:
    parts = line.split()
    if len(parts) == 3 and parts[2] != "n/a":
        mips[(parts[0], parts[1])] = float(parts[2])
for workload in ("alu", "mix"):
    ours = mips.get(("hyperstep", workload))
    for (peer, w), value in sorted(mips.items()):
        if w == workload and peer != "hyperstep" and ours:
            print(f"ratio {workload} hyperstep/{peer} = {ours / value:.3f}  ({ours:.0f} vs {value:.0f} MIPS)")
' 2>&1
