#!/bin/sh
# bench.sh BIN PCAP: replay throughput of scanwatch next to tcpdump reading
# the same file with the classic scan filter, in the same run. Each is run
# 5 times; the best wall time and the best CPU time (user+sys) are kept, so
# other load on the machine disturbs the comparison as little as possible.
set -eu
bin=$1 pcap=$2

best() { # prints "wall cpu" in seconds, the minimum of each over 5 runs
	"$@" >/dev/null 2>&1 || true # warm the page cache
	bw=""; bc=""
	for i in 1 2 3 4 5; do
		/usr/bin/time -f '%e %U %S' -o /tmp/bench.$$ "$@" >/dev/null 2>&1
		read w u s </tmp/bench.$$
		c=$(echo "$u + $s" | bc -l)
		if [ -z "$bw" ] || [ "$(echo "$w < $bw" | bc -l)" = 1 ]; then bw=$w; fi
		if [ -z "$bc" ] || [ "$(echo "$c < $bc" | bc -l)" = 1 ]; then bc=$c; fi
	done
	rm -f /tmp/bench.$$
	echo "$bw $bc"
}

read sw_wall sw_cpu <<EOT
$(best "$bin" replay -q "$pcap")
EOT
read td_wall td_cpu <<EOT
$(best tcpdump -r "$pcap" -w /dev/null 'tcp[13] & 7 != 0')
EOT
n=$("$bin" replay "$pcap" 2>&1 >/dev/null | awk '/packets,/ {print $1; exit}')
alerts=$("$bin" replay -q "$pcap" | grep -c '"event_type":"alert"' || true)
scanners=$("$bin" replay -q "$pcap" | grep '"event_type":"alert"' | sed 's/.*"src_ip":"\([^"]*\)".*/\1/' | sort -u | tr '\n' ' ')
printf 'scanwatch replay: wall %6.3f s (%8.0f packets/s), cpu %6.3f s\n' "$sw_wall" "$(echo "$n / $sw_wall" | bc -l)" "$sw_cpu"
printf 'tcpdump filter:   wall %6.3f s (%8.0f packets/s), cpu %6.3f s\n' "$td_wall" "$(echo "$n / $td_wall" | bc -l)" "$td_cpu"
printf 'ratio scanwatch/tcpdump: wall %.2f, cpu %.2f (target <= 2.00)\n' "$(echo "$sw_wall / $td_wall" | bc -l)" "$(echo "$sw_cpu / $td_cpu" | bc -l)"
printf 'alerts: %s from: %s\n' "$alerts" "$scanners"
