package scanner

import (
	"fmt"
	"slices"
	"strings"
)

// Usage returns "scanwatch scan -h": every option scanwatch implements, by
// nmap's sections, then the nmap options it refuses as "not supported".
func Usage() string {
	var b strings.Builder
	b.WriteString(`usage: scanwatch scan [options] TARGET...   (nmap's options and meanings)

  TARGET: address, name, CIDR block (10.0.0.0/24), range (10.0.0.1-20 or
  10.0.0.250-10.0.1.5), IPv4 or IPv6. Defaults as nmap's: the 1000 most common
  ports of each protocol scanned, -sS as root (-sT otherwise), -T3.
`)
	var unsupported []string
	section := ""
	for _, o := range options {
		if o.set == nil {
			unsupported = append(unsupported, o.names...)
			continue
		}
		if o.help == "" {
			continue
		}
		if o.section != section {
			section = o.section
			fmt.Fprintf(&b, "\n%s:\n", section)
		}
		name := strings.Join(o.names, ", ")
		switch {
		case o.optionalArg:
			name += o.arg
		case o.arg != "":
			name += " " + o.arg
		}
		fmt.Fprintf(&b, "  %-28s %s\n", name, o.help)
	}
	slices.Sort(unsupported)
	b.WriteString("\nNot supported (nmap options scanwatch refuses, exit status 2):\n")
	line := " "
	for _, n := range unsupported {
		if len(line)+len(n)+1 > 78 {
			b.WriteString(line + "\n")
			line = " "
		}
		line += " " + n
	}
	b.WriteString(line + "\n")
	return b.String()
}
