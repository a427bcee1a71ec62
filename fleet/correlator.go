package fleet

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// CorrelatorConfig configures a correlator.
type CorrelatorConfig struct {
	URL  string
	Conn ConnOptions
	// ID names this correlator among those sharing the cluster (1-64 of
	// [A-Za-z0-9_-]); by default the host name and a random suffix. IDs
	// must be unique among live correlators: a correlator restarted with
	// the ID of one that died takes its partitions back without waiting
	// for the leases to expire.
	ID         string
	Partitions int // the fleet's partition count (DefaultPartitions)
	// Lateness is how long in event time a contact waits for earlier
	// contacts of slower sensors before the engine sees it (5s). When no
	// contact arrives for this long on the wall clock, everything waiting
	// is fed and event time follows the wall clock.
	Lateness time.Duration
	// LeaseTTL is how soon after a correlator dies another takes its
	// partitions over (10s). Leases are renewed every third of it.
	LeaseTTL time.Duration
	// AckWait is when the stream delivers again a message its owner has
	// not acknowledged (30s, at least 4 × Lateness).
	AckWait time.Duration
	// MaxHeld bounds the contacts one partition holds back for late
	// sensors (1<<20, about 120 MB); past it the oldest are fed early.
	MaxHeld int
	// MaxFuture drops contacts dated further than this past the wall
	// clock (5m): a sensor with a broken clock must not end every episode.
	MaxFuture time.Duration
	Stream    StreamConfig
	Engine    EngineFactory
	// Sink writes one output; it is called from one goroutine at a time.
	// An error stops the correlator.
	Sink func(Output) error
	Logf func(format string, v ...any)
}

// CorrelatorStats are the correlator's counters.
type CorrelatorStats struct {
	Owned      int    // partitions owned now
	Acquired   uint64 // partitions taken (start, rebalance or takeover)
	Messages   uint64 // batches read
	Contacts   uint64 // contacts fed to engines, rebuilds included
	Replayed   uint64 // contacts read while rebuilding a partition
	Late       uint64 // contacts older than one already fed
	Future     uint64 // contacts dropped for a time past MaxFuture
	Overflow   uint64 // contacts fed before the watermark because MaxHeld were waiting
	Misrouted  uint64 // contacts in another partition than their scanner's
	BadBatches uint64 // messages that did not decode, or named another sensor than their subject
	Outputs    uint64 // outputs written
	Duplicates uint64 // outputs an earlier owner had written already
}

func (s CorrelatorStats) String() string {
	return fmt.Sprintf("%d contacts (%d replayed, %d late, %d dropped as future), %d records written, %d already written by another owner, %d bad batches",
		s.Contacts, s.Replayed, s.Late, s.Future, s.Outputs, s.Duplicates, s.BadBatches)
}

type correlatorCounters struct {
	acquired, messages, contacts, replayed, late, overflow, future, misrouted, badBatches, outputs, duplicates atomic.Uint64
	owned                                                                                                      atomic.Int64
}

// Correlator consumes the contact stream. Partitions are owned one at a
// time: each correlator holds leases in a JetStream key-value bucket whose
// TTL expires them unless renewed, takes a free partition with a create
// (which fails when the key exists) and renews with an update on the
// revision it holds (which fails when another took it), so two owners never
// both renew. Live correlators register in the same bucket, and each takes
// at most its share (partitions / live correlators), so several split the
// work and one that dies leaves its share to the others.
type Correlator struct {
	cfg     CorrelatorConfig
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  jetstream.Stream
	leases  jetstream.KeyValue
	alerted jetstream.KeyValue
	sinkMu  sync.Mutex
	stats   correlatorCounters
}

// NewCorrelator checks the configuration and connects.
func NewCorrelator(ctx context.Context, cfg CorrelatorConfig) (*Correlator, error) {
	if cfg.Engine == nil || cfg.Sink == nil {
		return nil, errors.New("fleet: correlator needs an engine and a sink")
	}
	if cfg.ID == "" {
		cfg.ID = defaultID()
	}
	if !ValidSensorName(cfg.ID) {
		return nil, fmt.Errorf("fleet: correlator id %q: use 1-%d letters, digits, '-' or '_'", cfg.ID, MaxSensorName)
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = DefaultPartitions
	}
	if cfg.Partitions > MaxPartitions {
		return nil, fmt.Errorf("fleet: %d partitions (max %d)", cfg.Partitions, MaxPartitions)
	}
	if cfg.Lateness <= 0 {
		cfg.Lateness = 5 * time.Second
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 10 * time.Second
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	cfg.AckWait = max(cfg.AckWait, 4*cfg.Lateness)
	if cfg.MaxHeld <= 0 {
		cfg.MaxHeld = 1 << 20
	}
	if cfg.MaxFuture <= 0 {
		cfg.MaxFuture = 5 * time.Minute
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	cfg.Stream = cfg.Stream.withDefaults()
	c := &Correlator{cfg: cfg}
	nc, err := connect(cfg.URL, "scanwatch correlator "+cfg.ID, cfg.Conn,
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { cfg.Logf("fleet: %v", err) }))
	if err != nil {
		return nil, err
	}
	c.nc = nc
	if err := c.setUp(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// HostID is this host's name as a sensor or correlator name: its first
// label, cut to the characters a NATS subject token allows.
func HostID() string {
	host, _ := os.Hostname()
	host, _, _ = strings.Cut(host, ".")
	var b strings.Builder
	for _, r := range host {
		if r < 128 && ValidSensorName(string(r)) && b.Len() < 40 {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "scanwatch"
	}
	return b.String()
}

func defaultID() string {
	var n [4]byte
	rand.Read(n[:])
	return HostID() + "-" + hex.EncodeToString(n[:])
}

// setUp makes the stream and the two buckets, waiting for the server as
// long as ctx allows.
func (c *Correlator) setUp(ctx context.Context) error {
	var err error
	if c.js, err = jetstream.New(c.nc); err != nil {
		return fmt.Errorf("fleet: jetstream: %w", err)
	}
	for {
		c.stream, err = EnsureStream(ctx, c.js, c.cfg.Stream)
		if err == nil || ctx.Err() != nil {
			break
		}
		c.cfg.Logf("%v (retrying)", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	if err != nil {
		return err
	}
	c.leases, err = ensureBucket(ctx, c.js, jetstream.KeyValueConfig{
		Bucket: leaseBucket, Description: "scanwatch correlators and their partition leases",
		TTL: c.cfg.LeaseTTL, History: 1, Storage: jetstream.FileStorage, Replicas: c.cfg.Stream.Replicas,
	})
	if err != nil {
		return err
	}
	c.alerted, err = ensureBucket(ctx, c.js, jetstream.KeyValueConfig{
		Bucket: alertedBucket, Description: "scanwatch fleet outputs already written, by id",
		TTL: c.cfg.Stream.MaxAge, History: 1, Storage: jetstream.FileStorage, Replicas: c.cfg.Stream.Replicas,
	})
	return err
}

// ID is this correlator's name in the lease bucket.
func (c *Correlator) ID() string { return c.cfg.ID }

// Stats returns the counters.
func (c *Correlator) Stats() CorrelatorStats {
	s := &c.stats
	return CorrelatorStats{
		Owned: int(s.owned.Load()), Acquired: s.acquired.Load(), Messages: s.messages.Load(),
		Contacts: s.contacts.Load(), Replayed: s.replayed.Load(), Late: s.late.Load(), Overflow: s.overflow.Load(),
		Future: s.future.Load(), Misrouted: s.misrouted.Load(), BadBatches: s.badBatches.Load(),
		Outputs: s.outputs.Load(), Duplicates: s.duplicates.Load(),
	}
}

// write records an output as written, unless an earlier owner did, and
// hands it to the sink. The record goes into the alerted bucket first
// (a create, which only one writer wins), so the bucket also keeps the
// fleet's outputs for the retention window.
func (c *Correlator) write(ctx context.Context, o Output) error {
	sum := sha256.Sum256([]byte(o.ID))
	key := "o." + hex.EncodeToString(sum[:16])
	if _, err := c.alerted.Create(ctx, key, o.Record); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			c.stats.duplicates.Add(1)
			return nil
		}
		return fmt.Errorf("fleet: record output %s: %w", o.ID, err)
	}
	c.sinkMu.Lock()
	defer c.sinkMu.Unlock()
	if err := c.cfg.Sink(o); err != nil {
		return &sinkError{err}
	}
	c.stats.outputs.Add(1)
	return nil
}

// sinkError is a failure of the sink: it stops the correlator.
type sinkError struct{ err error }

func (e *sinkError) Error() string { return "fleet: write output: " + e.err.Error() }
func (e *sinkError) Unwrap() error { return e.err }

// Close disconnects without releasing the leases: the partitions wait for
// their leases to expire. Run releases them when its context ends.
func (c *Correlator) Close() { c.nc.Close() }
