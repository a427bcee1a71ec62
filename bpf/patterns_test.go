package bpf

import (
	"reflect"
	"testing"

	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/tcpflags"
)

func TestPatternsFor(t *testing.T) {
	const F, S, R, P, A, U = tcpflags.FIN, tcpflags.SYN, tcpflags.RST, tcpflags.PSH, tcpflags.ACK, tcpflags.URG
	for _, tt := range []struct {
		name string
		yaml string // "" for the default rules
		want []Pattern
	}{
		{"default: ack and maimon are left to the flow table", "", []Pattern{
			{Mask: 0x3f, Value: S}, {Mask: 0x3f, Value: F}, {Mask: 0xff, Value: 0}, {Mask: 0x3f, Value: F | P | U},
		}},
		{"a pattern that ignores ACK stays", "tcp_flags:\n  - {type: custom, name: rst-psh, mask: RST|PSH, value: RST|PSH}\n",
			[]Pattern{{Mask: R | P, Value: R | P}}},
		{"a pattern that requires ACK clear stays", "tcp_flags:\n  - {type: custom, name: psh-noack, mask: PSH|ACK, value: PSH}\n",
			[]Pattern{{Mask: P | A, Value: P}}},
		{"a pattern that requires ACK goes", "tcp_flags:\n  - {type: custom, name: urg-ack, mask: 0xff, value: URG|ACK}\n", nil},
		{"no patterns", "tcp_flags: []\n", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := rules.Default()
			if tt.yaml != "" {
				var err error
				if r, err = rules.Parse("r.yaml", []byte(tt.yaml)); err != nil {
					t.Fatal(err)
				}
			}
			if got := PatternsFor(r); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PatternsFor = %v, want %v", got, tt.want)
			}
		})
	}
}
