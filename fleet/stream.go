package fleet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// StreamConfig sets the contact stream's limits.
type StreamConfig struct {
	// MaxAge is how long contacts are kept: the window a correlator that
	// takes a partition over replays to rebuild its state. It must exceed
	// the longest episode the rules allow (idle timeout, slow-scan window).
	MaxAge time.Duration
	// MaxBytes caps the stream's size on disk (oldest contacts go first);
	// 0 means no cap.
	MaxBytes int64
	// Replicas is the number of servers that store each contact (1, or 3
	// in a cluster).
	Replicas int
	// Duplicates is the window within which a batch published again with
	// the same message id (a publisher's retry) is stored once.
	Duplicates time.Duration
}

func (c StreamConfig) withDefaults() StreamConfig {
	if c.MaxAge <= 0 {
		c.MaxAge = 24 * time.Hour
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.Duplicates <= 0 {
		c.Duplicates = 2 * time.Minute
	}
	if c.Duplicates > c.MaxAge {
		c.Duplicates = c.MaxAge
	}
	return c
}

// The key-value buckets the correlators coordinate through.
const (
	leaseBucket   = "scanwatch_leases"  // partition leases and live correlators
	alertedBucket = "scanwatch_alerted" // alerts already written, by id
)

// EnsureStream creates the contact stream, or updates its limits.
func EnsureStream(ctx context.Context, js jetstream.JetStream, c StreamConfig) (jetstream.Stream, error) {
	c = c.withDefaults()
	cfg := jetstream.StreamConfig{
		Name:        StreamName,
		Description: "scanwatch contact records from sensors, partitioned by scanner prefix",
		Subjects:    []string{SubjectRoot + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      c.MaxAge,
		MaxBytes:    c.MaxBytes,
		MaxMsgs:     -1,
		MaxMsgSize:  MaxBatchBytes,
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
		Duplicates:  c.Duplicates,
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = -1
	}
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("fleet: create stream %s: %w", StreamName, err)
	}
	return s, nil
}

// ensureBucket creates a key-value bucket, or opens it when it exists.
func ensureBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) {
		if kv, err = js.UpdateKeyValue(ctx, cfg); err != nil {
			kv, err = js.KeyValue(ctx, cfg.Bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("fleet: key-value bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}
