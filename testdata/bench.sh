#!/bin/sh
# bench.sh BIN PCAP: replay throughput of scanwatch next to tcpdump reading
# the same file with the classic scan filter, in the same run. Best of 3.
set -eu
bin=$1 pcap=$2

best() { # best wall time in seconds of 3 runs of "$@"
	b=""
	for i in 1 2 3; do
		s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}

sw=$(best "$bin" replay -q "$pcap")
td=$(best tcpdump -r "$pcap" -w /dev/null 'tcp[13] & 7 != 0')
n=$("$bin" replay "$pcap" 2>&1 >/dev/null | awk '/packets,/ {print $1; exit}')
alerts=$("$bin" replay -q "$pcap" | grep -c '"event_type":"alert"' || true)
scanners=$("$bin" replay -q "$pcap" | grep '"event_type":"alert"' | sed 's/.*"src_ip":"\([^"]*\)".*/\1/' | sort -u | tr '\n' ' ')
printf 'scanwatch replay: %6.3f s  %8.0f packets/s\n' "$sw" "$(echo "$n / $sw" | bc -l)"
printf 'tcpdump filter:   %6.3f s  %8.0f packets/s\n' "$td" "$(echo "$n / $td" | bc -l)"
printf 'ratio scanwatch/tcpdump: %.2f (target <= 2.00)\n' "$(echo "$sw / $td" | bc -l)"
printf 'alerts: %s from: %s\n' "$alerts" "$scanners"
