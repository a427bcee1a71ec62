package fleet

import (
	"context"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scanwatch/scanwatch/detector"
	"github.com/scanwatch/scanwatch/rules"
	"github.com/scanwatch/scanwatch/technique"
)

// benchSpacing spaces the benchmark's contacts in event time: 200,000 a
// second, so the reorder buffer holds the contacts of Lateness at that rate.
const benchSpacing = 5 * time.Microsecond

// benchBatch is a batch of n contacts of one sweep with nmap fingerprints.
func benchBatch(b *testing.B, n int, t0 int64) []byte {
	cs := make([]Contact, n)
	for i := range cs {
		cs[i] = Contact{Time: t0 + int64(i)*int64(benchSpacing), Scanner: netip.AddrFrom4([4]byte{203, 0, 113, byte(i % 3)}),
			Target: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), Port: uint16(i % 1000), Technique: TechSyn, Outcome: OutClosed, Probes: 1,
			HasPrint: true, Print: Fingerprint{Flags: 2, TTL: 44, Options: OptMSSOnly, Window: 1024, MSS: 1460, IPID: uint16(i), SrcPort: 40000, Seq: 77}}
	}
	data, err := AppendBatch(nil, "web-01", cs)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkDecodeBatch(b *testing.B) {
	data := benchBatch(b, 1024, 1_700_000_000_000_000_000)
	var buf []Contact
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var err error
		if _, buf, err = DecodeBatch(data, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1024/b.Elapsed().Seconds(), "contacts/s")
}

// benchMsg is a stream message without a server.
type benchMsg struct {
	jetstream.Msg
	data []byte
	seq  uint64
}

func (m *benchMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: m.seq}}, nil
}
func (m *benchMsg) Data() []byte         { return m.data }
func (m *benchMsg) Subject() string      { return "scanwatch.contacts.0.web-01" }
func (m *benchMsg) Ack() error           { return nil }
func (m *benchMsg) Headers() nats.Header { return nil }

type nopEngine struct{ n int }

func (e *nopEngine) Contact(*Contact) { e.n++ }
func (e *nopEngine) Advance(int64)    {}

// BenchmarkPartitionWorker measures one partition's own work per contact
// (decode, reorder buffer, acknowledgement bookkeeping) with an engine that
// does nothing: the correlator's overhead over the episode logic.
func BenchmarkPartitionWorker(b *testing.B) {
	c := &Correlator{cfg: CorrelatorConfig{Partitions: 1, Lateness: 5 * time.Second, MaxHeld: 1 << 20, MaxFuture: math.MaxInt64 / 2,
		Engine: func(int, func(Output)) Engine { return &nopEngine{} }}}
	w := newWorker(c, 0)
	w.deadline.Store(math.MaxInt64)
	const per = 1024
	t0 := time.Now().Add(-time.Hour).UnixNano()
	msgs := make([]*benchMsg, 64)
	for i := range msgs {
		msgs[i] = &benchMsg{data: benchBatch(b, per, t0+int64(i)*int64(per)*int64(benchSpacing))}
	}
	seq := uint64(0)
	for b.Loop() {
		for _, m := range msgs {
			seq++
			m.seq = seq
			w.handle(m, false)
			if err := w.step(context.Background(), false); err != nil {
				b.Fatal(err)
			}
		}
		// The next round's times follow on.
		b.StopTimer()
		for _, m := range msgs {
			_, cs, _ := DecodeBatch(m.data, nil)
			for i := range cs {
				cs[i].Time += int64(len(msgs)) * per * int64(benchSpacing)
			}
			m.data, _ = AppendBatch(m.data[:0], "web-01", cs)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N)*float64(len(msgs)*per)/b.Elapsed().Seconds(), "contacts/s")
}

// BenchmarkFleet sends contacts from a publisher through an embedded
// server to a correlator whose engine does nothing: the fleet's transport
// end to end, on this machine.
func BenchmarkFleet(b *testing.B) {
	s := startServer(b, b.TempDir(), 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := NewCorrelator(ctx, CorrelatorConfig{URL: s.URL(), ID: "bench", Partitions: 4, Lateness: 200 * time.Millisecond,
		LeaseTTL: 3 * time.Second, Stream: StreamConfig{MaxAge: time.Hour},
		Engine: func(int, func(Output)) Engine { return &nopEngine{} }, Sink: func(Output) error { return nil }})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	p, err := NewPublisher(PublisherConfig{URL: s.URL(), Sensor: "bench", Partitions: 4, BatchSize: 2048, FlushInterval: 50 * time.Millisecond, MaxBuffered: 1 << 18})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	t0 := time.Now().Add(-time.Hour).UnixNano()
	total := 0
	start := time.Now()
	for b.Loop() {
		for i := range 1024 {
			ct := Contact{Time: t0 + int64(total)*int64(benchSpacing), Scanner: netip.AddrFrom4([4]byte{203, 0, byte(i & 3), 1}),
				Target: netip.AddrFrom4([4]byte{10, 1, byte(total >> 8), byte(total)}), Port: uint16(i), Technique: TechSyn, Outcome: OutClosed, Probes: 1}
			for !p.Add(ct) {
				time.Sleep(100 * time.Microsecond)
			}
			total++
		}
	}
	for c.Stats().Contacts < uint64(total) {
		time.Sleep(time.Millisecond)
	}
	// Until the correlator has fed the last of them, not the publisher's Add.
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "contacts/s")
	cancel()
	<-done
}

// memKV stands in for the alerted bucket in benchmarks.
type memKV struct {
	jetstream.KeyValue
	keys map[string]bool
}

func (m *memKV) Create(_ context.Context, key string, _ []byte, _ ...jetstream.KVCreateOpt) (uint64, error) {
	if m.keys[key] {
		return 0, jetstream.ErrKeyExists
	}
	m.keys[key] = true
	return uint64(len(m.keys)), nil
}

// BenchmarkCorrelatorDetector is what one correlator sustains on one core
// with the detector's episode logic: batches of contacts (9 in 10 from four
// sweepers, the rest from 4096 sources making a few failed contacts each)
// through decode, the reorder buffer and the episodes, alerts rendered as
// EVE lines.
func BenchmarkCorrelatorDetector(b *testing.B) {
	c := &Correlator{cfg: CorrelatorConfig{Partitions: 1, Lateness: 100 * time.Millisecond, MaxHeld: 1 << 20, MaxFuture: math.MaxInt64 / 2,
		Engine: DetectorEngine(rules.Default(), "bench")}, alerted: &memKV{keys: map[string]bool{}}}
	c.cfg.Sink = func(Output) error { return nil }
	w := newWorker(c, 0)
	w.deadline.Store(math.MaxInt64)
	rng := rand.New(rand.NewPCG(1, 2))
	const per = 1024
	t := time.Now().Add(-24 * time.Hour).UnixNano()
	msgs := make([]*benchMsg, 256)
	cs := make([]Contact, per)
	for m := range msgs {
		for i := range cs {
			t += int64(benchSpacing)
			src := rng.IntN(4096)
			if rng.IntN(10) > 0 {
				src = rng.IntN(4) // most contacts are the sweepers'
			}
			cs[i] = Contact{Time: t, First: t - int64(time.Millisecond), Scanner: netip.AddrFrom4([4]byte{100, byte(src >> 8), byte(src), 1}),
				Target: netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(256)), byte(rng.IntN(256))}), Port: uint16(rng.IntN(1024)),
				Technique: TechSyn, Outcome: OutClosed, Probes: 1, HasPrint: true,
				Print: Fingerprint{Flags: 2, TTL: 50, Options: OptMSSOnly, Window: 1024, MSS: 1460, IPID: uint16(i), SrcPort: 40000, Seq: uint32(src)}}
			if src < 4 { // sweepers: one port over many hosts
				cs[i].Port = 22
			}
		}
		data, err := AppendBatch(nil, "web-01", cs)
		if err != nil {
			b.Fatal(err)
		}
		msgs[m] = &benchMsg{data: data}
	}
	seq, fed := uint64(0), 0
	for b.Loop() {
		m := msgs[int(seq)%len(msgs)]
		if seq > 0 && int(seq)%len(msgs) == 0 {
			b.Fatal("benchmark ran past its contacts; make more")
		}
		seq++
		m.seq = seq
		w.handle(m, false)
		if err := w.step(context.Background(), false); err != nil {
			b.Fatal(err)
		}
		fed += per
	}
	b.ReportMetric(float64(fed)/b.Elapsed().Seconds(), "contacts/s")
	b.ReportMetric(float64(c.stats.outputs.Load()), "outputs")
}

// BenchmarkPublisherAdd is a sensor's cost per contact it publishes: the
// conversion from the detector's record and Add (the sending happens on
// another goroutine, measured with it here on the same cores).
func BenchmarkPublisherAdd(b *testing.B) {
	s := startServer(b, b.TempDir(), 0)
	dial(b, s.URL())
	p, err := NewPublisher(PublisherConfig{URL: s.URL(), Sensor: "bench", MaxBuffered: 1 << 22})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now().UnixNano()
	i := 0
	for b.Loop() {
		d := detector.Contact{Time: t0 + int64(i), First: t0, Scanner: netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), 1}),
			Target: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), Port: uint16(i), Technique: technique.Syn, Outcome: detector.OutClosed, Probes: 1}
		if Publishable(&d) {
			p.Add(FromDetector(&d))
		}
		i++
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p.Close(ctx)
	if st := p.Stats(); st.Dropped > 0 {
		b.Logf("%d of %d dropped", st.Dropped, i)
	}
}
