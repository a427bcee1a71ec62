package fleet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// errLeaseLost stops a partition whose lease this correlator can no longer
// be sure of: another may own it now, so it must not write or acknowledge.
var errLeaseLost = errors.New("fleet: partition lease lost")

// worker owns one partition while this correlator holds its lease. It
// rebuilds the partition's state by replaying the partition from the start
// of the stream (everything within the retention window), then consumes
// the partition's durable consumer, feeding contacts through the reorder
// buffer into the engine.
//
// Acknowledgement: a stream message is acknowledged once every contact in
// it has been fed to the engine and every output that feeding produced has
// been recorded as written (the alerted bucket) and handed to the sink.
// The state in the engine is not saved anywhere: it is safe because the
// stream holds every contact for the retention window and a new owner
// replays it. Acknowledgements mark progress, so that messages a dead
// owner held unacknowledged are delivered again; anything the replay
// already fed is skipped by stream sequence, so no contact reaches an
// engine twice and none is lost.
type worker struct {
	c        *Correlator
	p        int
	eng      Engine
	ro       *reorder
	out      []Output
	toAck    []*inflight
	maxFed   uint64 // highest stream sequence fed into the reorder buffer
	lastSeen time.Time
	deadline atomic.Int64 // wall-clock Unix ns until which the lease is surely ours
	buf      []Contact
}

func newWorker(c *Correlator, p int) *worker {
	w := &worker{c: c, p: p, ro: newReorder(int64(c.cfg.Lateness))}
	w.eng = c.cfg.Engine(p, func(o Output) { w.out = append(w.out, o) })
	return w
}

func (w *worker) consumerName() string { return "scanwatch-p" + strconv.Itoa(w.p) }

func (w *worker) leaseValid() bool { return time.Now().UnixNano() < w.deadline.Load() }

func (w *worker) run(ctx context.Context) error {
	if err := w.rebuild(ctx); err != nil {
		return fmt.Errorf("partition %d: rebuild: %w", w.p, err)
	}
	cons, err := w.durable(ctx)
	if err != nil {
		return fmt.Errorf("partition %d: consumer: %w", w.p, err)
	}
	msgs := make(chan jetstream.Msg, 1024)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	}, jetstream.PullMaxMessages(512))
	if err != nil {
		return fmt.Errorf("partition %d: consume: %w", w.p, err)
	}
	defer cc.Stop()
	tick := time.NewTicker(max(w.c.cfg.Lateness/4, 20*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			w.handle(m, false)
		drain:
			for range 256 {
				select {
				case m := <-msgs:
					w.handle(m, false)
				default:
					break drain
				}
			}
			if err := w.step(ctx, false); err != nil {
				return err
			}
		case <-tick.C:
			if w.ro.started && time.Since(w.lastSeen) >= w.c.cfg.Lateness {
				if err := w.step(ctx, true); err != nil {
					return err
				}
			}
		}
	}
}

// rebuild replays the partition as the stream holds it now.
func (w *worker) rebuild(ctx context.Context) error {
	oc, err := w.c.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{PartitionFilter(w.p)},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return err
	}
	for {
		batch, err := oc.FetchNoWait(1024)
		if err != nil {
			return err
		}
		n, caughtUp := 0, false
		for m := range batch.Messages() {
			n++
			if md, err := m.Metadata(); err == nil && md.NumPending == 0 {
				caughtUp = true
			}
			w.handle(m, true)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return err
		}
		if err := w.step(ctx, false); err != nil {
			return err
		}
		if n == 0 || caughtUp {
			return nil
		}
	}
}

// durable opens the partition's durable consumer, creating it to start
// after what the rebuild read when it does not exist yet.
func (w *worker) durable(ctx context.Context) (jetstream.Consumer, error) {
	cons, err := w.c.stream.Consumer(ctx, w.consumerName())
	if err == nil || !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return cons, err
	}
	return w.c.stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       w.consumerName(),
		Description:   "scanwatch correlator, partition " + strconv.Itoa(w.p),
		FilterSubject: PartitionFilter(w.p),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       w.c.cfg.AckWait,
		MaxAckPending: 100000,
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   w.maxFed + 1,
	})
}

// handle decodes one message into the reorder buffer. A message already
// fed (a redelivery of what the rebuild read) is only acknowledged.
func (w *worker) handle(m jetstream.Msg, replay bool) {
	md, err := m.Metadata()
	if err != nil {
		w.c.stats.badBatches.Add(1)
		return
	}
	seq := md.Sequence.Stream
	if seq <= w.maxFed {
		if !replay {
			m.Ack()
		}
		return
	}
	w.maxFed = seq
	w.c.stats.messages.Add(1)
	w.lastSeen = time.Now()
	_, sensor, ok := parseSubject(m.Subject())
	name, cs, err := DecodeBatch(m.Data(), w.buf)
	if !ok || err != nil || name != sensor {
		// A sensor may only speak for the name its subject carries.
		w.c.stats.badBatches.Add(1)
		w.c.cfg.Logf("fleet: partition %d: dropping message %d from %q: %v (payload sensor %q)", w.p, seq, m.Subject(), err, name)
		if !replay {
			m.Term()
		}
		return
	}
	w.buf = cs[:0]
	inf := &inflight{}
	if !replay {
		inf.ack = m.Ack
	}
	future := time.Now().Add(w.c.cfg.MaxFuture).UnixNano()
	for i := range cs {
		c := &cs[i]
		if c.Time > future {
			w.c.stats.future.Add(1)
			continue
		}
		if PartitionOf(c.Scanner, w.c.cfg.Partitions) != w.p {
			w.c.stats.misrouted.Add(1)
		}
		inf.left++
		w.ro.add(c, seq, i, inf)
	}
	if replay {
		w.c.stats.replayed.Add(uint64(inf.left))
	}
	if inf.left == 0 && inf.ack != nil {
		w.toAck = append(w.toAck, inf)
	}
}

// feed gives one released contact to the engine.
func (w *worker) feed(h *held, late bool) {
	if late {
		w.c.stats.late.Add(1)
	}
	w.eng.Contact(&h.c)
	w.c.stats.contacts.Add(1)
	if h.msg != nil {
		if h.msg.left--; h.msg.left == 0 && h.msg.ack != nil {
			w.toAck = append(w.toAck, h.msg)
		}
	}
}

// step feeds the contacts the watermark passed (all of them when idle),
// moves the engine's clock, writes the outputs and then acknowledges the
// messages fully fed.
func (w *worker) step(ctx context.Context, idle bool) error {
	if !w.ro.started {
		return nil
	}
	upTo := w.ro.watermark()
	if idle {
		upTo = math.MaxInt64
	}
	w.ro.release(upTo, w.feed)
	if n := w.ro.releaseOver(w.c.cfg.MaxHeld, w.feed); n > 0 {
		w.c.stats.overflow.Add(uint64(n))
	}
	if idle {
		// Nothing came for a while: event time goes on with the wall clock,
		// so quiet episodes end.
		w.eng.Advance(w.ro.maxSeen + int64(time.Since(w.lastSeen)))
	} else {
		w.eng.Advance(upTo)
	}
	if len(w.out) == 0 && len(w.toAck) == 0 {
		return nil
	}
	if !w.leaseValid() {
		return errLeaseLost
	}
	for _, o := range w.out {
		if err := w.c.write(ctx, o); err != nil {
			return err
		}
	}
	clear(w.out)
	w.out = w.out[:0]
	for _, m := range w.toAck {
		m.ack()
	}
	clear(w.toAck)
	w.toAck = w.toAck[:0]
	return nil
}
