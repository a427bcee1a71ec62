package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// PublisherConfig configures a sensor's publisher.
type PublisherConfig struct {
	URL    string // nats://host:4222, or a comma-separated list of servers
	Sensor string // the sensor's name: 1-64 of [A-Za-z0-9_-]
	Conn   ConnOptions

	Partitions    int           // the fleet's partition count (DefaultPartitions)
	BatchSize     int           // contacts that fill a batch (1024, at most 4096)
	FlushInterval time.Duration // a batch leaves at the latest this long after its first contact (500ms)
	MaxBuffered   int           // contacts held while the fleet is slow or away (100000); more are dropped
	Timeout       time.Duration // wait for the server's acknowledgement of a batch (2s)
	Logf          func(format string, v ...any)
}

// PublisherStats are the publisher's counters.
type PublisherStats struct {
	Added      uint64 // contacts accepted into the buffer
	Published  uint64 // contacts the stream acknowledged
	Batches    uint64 // batches the stream acknowledged
	Dropped    uint64 // contacts refused because the buffer was full
	Invalid    uint64 // contacts without a scanner or target address
	Retries    uint64 // batch publishes that failed and will be tried again
	Buffered   int    // contacts waiting now
	Connected  bool
	Reconnects uint64
}

type pubBatch struct {
	partition int
	cs        []Contact
	id        string
}

// Publisher sends a sensor's contacts to the fleet, batched by partition.
// Add never waits on the network: contacts go into a bounded buffer that a
// goroutine drains; when the server is away the buffer fills, further
// contacts are dropped and counted, and the connection keeps reconnecting.
// A batch whose acknowledgement did not come is published again with the
// same message id, which the stream stores once.
type Publisher struct {
	cfg   PublisherConfig
	nc    *nats.Conn
	js    jetstream.JetStream
	nonce string

	mu     sync.Mutex
	open   [][]Contact // per partition, not yet full
	opened []time.Time // when open[p] got its first contact
	ready  []*pubBatch // full or due, oldest first
	seq    uint64
	stats  PublisherStats

	failing bool // the last publish failed (log once, not every retry)

	wake    chan struct{}
	closing chan struct{}
	done    chan struct{}
	buf     []byte
}

// NewPublisher connects (in the background when no server answers yet) and
// starts sending.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	if !ValidSensorName(cfg.Sensor) {
		return nil, fmt.Errorf("fleet: sensor name %q: use 1-%d letters, digits, '-' or '_'", cfg.Sensor, MaxSensorName)
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = DefaultPartitions
	}
	if cfg.Partitions > MaxPartitions {
		return nil, fmt.Errorf("fleet: %d partitions (max %d)", cfg.Partitions, MaxPartitions)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1024
	}
	cfg.BatchSize = min(cfg.BatchSize, 4096) // 4096 of the largest records stay under MaxBatchBytes
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 500 * time.Millisecond
	}
	if cfg.MaxBuffered <= 0 {
		cfg.MaxBuffered = 100000
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	var nonce [6]byte
	rand.Read(nonce[:])
	p := &Publisher{
		cfg:     cfg,
		nonce:   hex.EncodeToString(nonce[:]),
		open:    make([][]Contact, cfg.Partitions),
		opened:  make([]time.Time, cfg.Partitions),
		wake:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	nc, err := connect(cfg.URL, "scanwatch sensor "+cfg.Sensor, cfg.Conn,
		nats.ReconnectBufSize(-1), // the publisher buffers, bounded; nats.go need not
		nats.ReconnectHandler(func(*nats.Conn) { p.signal() }),
		nats.ConnectHandler(func(*nats.Conn) { p.signal() }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				cfg.Logf("fleet: disconnected: %v", err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			cfg.Logf("fleet: %v", err)
		}),
	)
	if err != nil {
		return nil, err
	}
	p.nc = nc
	if p.js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, fmt.Errorf("fleet: jetstream: %w", err)
	}
	go p.run()
	return p, nil
}

func (p *Publisher) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Add queues one contact. It returns false when the contact was dropped
// (buffer full, or no addresses). It never blocks on the network.
func (p *Publisher) Add(c Contact) bool {
	if !c.Scanner.IsValid() || !c.Target.IsValid() {
		p.mu.Lock()
		p.stats.Invalid++
		p.mu.Unlock()
		return false
	}
	part := PartitionOf(c.Scanner, p.cfg.Partitions)
	c.Sensor = ""
	p.mu.Lock()
	if p.stats.Buffered >= p.cfg.MaxBuffered {
		p.stats.Dropped++
		p.mu.Unlock()
		return false
	}
	p.stats.Added++
	p.stats.Buffered++
	first := len(p.open[part]) == 0
	if first {
		p.opened[part] = time.Now()
	}
	p.open[part] = append(p.open[part], c)
	full := len(p.open[part]) >= p.cfg.BatchSize
	if full {
		p.sealLocked(part)
	}
	p.mu.Unlock()
	if full || first {
		p.signal() // a batch to send, or a flush timer to arm
	}
	return true
}

func (p *Publisher) sealLocked(part int) {
	p.seq++
	p.ready = append(p.ready, &pubBatch{
		partition: part,
		cs:        p.open[part],
		id:        p.cfg.Sensor + "-" + p.nonce + "-" + strconv.FormatUint(p.seq, 10),
	})
	p.open[part] = nil
}

// sealDue seals the open batches older than the flush interval (all of
// them when all is set).
func (p *Publisher) sealDue(all bool) {
	now := time.Now()
	p.mu.Lock()
	for part, cs := range p.open {
		if len(cs) > 0 && (all || now.Sub(p.opened[part]) >= p.cfg.FlushInterval) {
			p.sealLocked(part)
		}
	}
	p.mu.Unlock()
}

// Stats returns the counters.
func (p *Publisher) Stats() PublisherStats {
	p.mu.Lock()
	s := p.stats
	p.mu.Unlock()
	s.Connected = p.nc.IsConnected()
	s.Reconnects = p.nc.Stats().Reconnects
	return s
}

// Close sends what is buffered until ctx ends, then disconnects. Contacts
// still buffered then are counted as dropped.
func (p *Publisher) Close(ctx context.Context) error {
	select {
	case <-p.closing:
	default:
		close(p.closing)
	}
	var err error
	select {
	case <-p.done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.nc.Close()
	<-p.done
	p.mu.Lock()
	p.stats.Dropped += uint64(p.stats.Buffered)
	p.stats.Buffered = 0
	p.ready = nil
	p.mu.Unlock()
	return err
}

// run sends batches. Its timer runs only while contacts wait, so an idle
// sensor's publisher costs nothing.
func (p *Publisher) run() {
	defer close(p.done)
	tick := time.NewTimer(time.Hour)
	defer tick.Stop()
	closing := false
	for {
		p.mu.Lock()
		waiting := p.stats.Buffered > 0
		p.mu.Unlock()
		var due <-chan time.Time
		if waiting || closing {
			tick.Reset(p.cfg.FlushInterval / 4)
			due = tick.C
		}
		select {
		case <-p.wake:
		case <-due:
		case <-p.closing:
			closing = true
		}
		p.sealDue(closing)
		sent := p.sendReady()
		if closing {
			p.mu.Lock()
			empty := len(p.ready) == 0
			p.mu.Unlock()
			if empty || p.nc.IsClosed() {
				return
			}
			if !sent {
				// Wait for a reconnect or the caller's deadline.
				tick.Reset(p.cfg.FlushInterval / 4)
				select {
				case <-p.wake:
				case <-tick.C:
				}
			}
		}
	}
}

// sendReady publishes sealed batches in order until one fails. It reports
// whether the queue emptied.
func (p *Publisher) sendReady() bool {
	for {
		p.mu.Lock()
		if len(p.ready) == 0 {
			p.mu.Unlock()
			return true
		}
		b := p.ready[0]
		p.mu.Unlock()
		if !p.nc.IsConnected() {
			return false
		}
		var err error
		p.buf, err = AppendBatch(p.buf[:0], p.cfg.Sensor, b.cs)
		if err != nil { // cannot happen: Add checked the addresses
			p.cfg.Logf("fleet: dropping a batch: %v", err)
			p.finish(b, false)
			continue
		}
		msg := &nats.Msg{Subject: Subject(b.partition, p.cfg.Sensor), Data: p.buf, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, b.id)
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.Timeout)
		_, err = p.js.PublishMsg(ctx, msg)
		cancel()
		if err != nil {
			p.mu.Lock()
			p.stats.Retries++
			p.mu.Unlock()
			if !p.failing {
				p.cfg.Logf("fleet: publish %s: %v (retrying)", msg.Subject, err)
			}
			p.failing = true
			return false
		}
		if p.failing {
			p.cfg.Logf("fleet: publishing again")
			p.failing = false
		}
		p.finish(b, true)
	}
}

func (p *Publisher) finish(b *pubBatch, ok bool) {
	p.mu.Lock()
	p.ready = p.ready[1:]
	p.stats.Buffered -= len(b.cs)
	if ok {
		p.stats.Published += uint64(len(b.cs))
		p.stats.Batches++
	} else {
		p.stats.Dropped += uint64(len(b.cs))
	}
	p.mu.Unlock()
}
