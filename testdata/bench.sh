#!/bin/bash
# bench.sh BIN BENCHDIR N: the ratio table of make bench (issue 13).
#
# For each mix (internal/mixgen) as pcap and pcapng, N packets each:
# scanwatch replay's wall time next to tcpdump's filter-only read of the
# same file (tcpdump -r FILE -w /dev/null 'tcp[13] & 7 != 0'), measured in
# the same run, runs interleaved (scanwatch, tcpdump, scanwatch, ...), the
# median of BENCH_RUNS (default 7) of each. Goal: ratio <= 1.00.
# Then the spoofed-source flood (1M SYNs from 1M random sources): its
# packets/s against the default mix's (goal: at least half, ratio
# benign/flood <= 2.00), and the kernel filter: the eBPF program's cost per
# dropped bulk segment against a classic 'tcp[13] & 7 != 0' filter on the
# same frame (BPF_PROG_TEST_RUN; goal <= 1.50). Last, shown without a
# goal: the detector's CPU per packet against the flow table alone on the
# same packets (BenchmarkDetectVsFloor).
# Exits 1 when any ratio is over its goal.
set -eu
bin=$1 dir=$2 n=$3
runs=${BENCH_RUNS:-7}
GO=${GO:-go}
mixes="default short syn v6vlan"
over=0

now() { echo "${EPOCHREALTIME/,/.}"; }

# timed CMD...: prints the wall time and the CPU time (user+sys) of one run
# in seconds, as "wall/cpu".
timed() {
	local t0 t1 u s
	t0=$(now)
	/usr/bin/time -f '%U %S' -o "$tmp" "$@" >/dev/null 2>&1 || { echo "bench: $* failed" >&2; exit 1; }
	t1=$(now)
	read -r u s <"$tmp"
	echo "$(echo "$t1 - $t0" | bc -l)/$(echo "$u + $s" | bc -l)"
}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# median N: the median of the Nth field of "wall/cpu" words.
median() { tr ' ' '\n' | grep . | cut -d/ -f"$1" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# pair FILE: median wall and CPU times of scanwatch and of tcpdump,
# interleaved: "sw_wall sw_cpu td_wall td_cpu".
pair() {
	local f=$1 sw="" td=""
	"$bin" replay -q "$f" >/dev/null 2>&1 # warm the page cache
	tcpdump -r "$f" -w /dev/null 'tcp[13] & 7 != 0' >/dev/null 2>&1
	for _ in $(seq "$runs"); do
		sw="$sw $(timed "$bin" replay -q "$f")"
		td="$td $(timed tcpdump -r "$f" -w /dev/null 'tcp[13] & 7 != 0')"
	done
	echo "$(echo "$sw" | median 1) $(echo "$sw" | median 2) $(echo "$td" | median 1) $(echo "$td" | median 2)"
}

# verdict RATIO GOAL: sets v to ok or OVER (and over=1), in this shell.
verdict() {
	if [ "$(echo "$1 <= $2" | bc -l)" = 1 ]; then v=ok; else v=OVER over=1; fi
}

# div A B: A/B, or 0 when B is 0 (a CPU time under the clock's 10 ms).
div() { if [ "$(echo "$2 == 0" | bc -l)" = 1 ]; then echo 0; else echo "$1 / $2" | bc -l; fi; }

echo "(wall: the goal's measure; cpu: user+sys, for a loaded machine, where wall time is mostly waiting)"
printf '%-8s %-7s %9s %12s %9s %12s %7s %5s %-4s %s\n' mix format "scanwatch" "packets/s" tcpdump "packets/s" ratio goal "" "cpu: scanwatch tcpdump ratio"
declare -A pps cpps
for m in $mixes; do
	for fmt in pcap pcapng; do
		f="$dir/$m-$n.$fmt"
		read -r sw swc td tdc <<<"$(pair "$f")"
		r=$(echo "$sw / $td" | bc -l)
		pps[$m.$fmt]=$(echo "$n / $sw" | bc -l)
		cpps[$m.$fmt]=$(div "$n" "$swc")
		alerts=$("$bin" replay -q "$f" | grep -c '"event_type":"alert"' || true)
		verdict "$r" 1.00
		printf '%-8s %-7s %8.3fs %12.0f %8.3fs %12.0f %7.2f %5s %-4s %8.2fs %6.2fs %5.2f (%s alerts)\n' "$m" "$fmt" "$sw" "${pps[$m.$fmt]}" "$td" \
			"$(echo "$n / $td" | bc -l)" "$r" "1.00" "$v" "$swc" "$tdc" "$(div "$swc" "$tdc")" "$alerts"
	done
done

# The flood, next to the default mix's pcap from this run.
flood="$dir/spoof-1000000.pcap"
fw=""
for _ in $(seq "$runs"); do fw="$fw $(timed "$bin" replay -q "$flood")"; done
fc=$(echo "$fw" | median 2)
fw=$(echo "$fw" | median 1)
fpps=$(echo "1000000 / $fw" | bc -l)
r=$(echo "${pps[default.pcap]} / $fpps" | bc -l)
mem=$( { /usr/bin/time -f '%M' "$bin" replay -q "$flood" >/dev/null; } 2>&1 | tail -n 1)
verdict "$r" 2.00
printf '%-16s %8.3fs %12.0f %9s %12.0f %7.2f %5s %-4s %8.2fs cpu ratio %.2f (benign/flood packets/s; max RSS %d MB)\n' "spoof-flood pcap" "$fw" "$fpps" \
	"default" "${pps[default.pcap]}" "$r" "2.00" "$v" "$fc" "$(div "${cpps[default.pcap]}" "$(div 1000000 "$fc")")" "$((mem / 1024))"

# The kernel filter: eBPF against classic on the same bulk segment.
if out=$($GO test -run '^$' -bench 'FilterVsClassic$' -benchtime 1x ./bpf 2>&1) &&
	line=$(echo "$out" | grep '^BenchmarkFilterVsClassic'); then
	e=$(echo "$line" | awk '{for (i=1;i<NF;i++) if ($(i+1)=="ebpf-ns/pkt") print $i}')
	c=$(echo "$line" | awk '{for (i=1;i<NF;i++) if ($(i+1)=="classic-ns/pkt") print $i}')
	r=$(echo "$e / $c" | bc -l)
	verdict "$r" 1.50
	printf '%-16s %7.0fns %12s %8.0fns %12s %7.2f %5s %s (eBPF/classic ns per dropped bulk segment)\n' "kernel filter" "$e" "" "$c" "" "$r" "1.50" "$v"
else
	echo "kernel filter: BenchmarkFilterVsClassic did not run (needs root and eBPF):"
	echo "$out" | tail -n 5
	over=1
fi
# The detector against the flow table alone (BenchmarkDetectVsFloor), on
# the first million packets of each pcap mix: the figure proposed as the
# contact-heavy mixes' goal (issue 13's note). Shown, not judged: it has no
# goal yet.
files=""
for m in $mixes; do files="$files $PWD/$dir/$m-$n.pcap"; done
if out=$(SCANWATCH_BENCH_FILES="$files" $GO test -run '^$' -bench 'DetectVsFloor$' -benchtime 1x ./detector 2>&1); then
	echo "$out" | grep '^BenchmarkDetectVsFloor/' | while read -r line; do
		name=$(echo "$line" | awk '{print $1}' | sed -e 's|^BenchmarkDetectVsFloor/||' -e "s|-$n.pcap.*||")
		d=$(echo "$line" | awk '{for (i=1;i<NF;i++) if ($(i+1)=="detector-ns/pkt") print $i}')
		f=$(echo "$line" | awk '{for (i=1;i<NF;i++) if ($(i+1)=="floor-ns/pkt") print $i}')
		r=$(echo "$line" | awk '{for (i=1;i<NF;i++) if ($(i+1)=="ratio") print $i}')
		printf '%-16s %7.0fns %12s %8.0fns %12s %7.2f %5s %s (detector/flow table alone, CPU ns per packet, no goal yet)\n' "detector $name" "$d" "" "$f" "" "$r" "-" "-"
	done
else
	echo "detector: BenchmarkDetectVsFloor did not run:"
	echo "$out" | tail -n 5
fi
if [ "$over" = 1 ]; then
	echo "bench: a ratio is over its goal" >&2
	exit 1
fi
