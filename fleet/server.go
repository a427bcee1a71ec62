package fleet

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a NATS server with JetStream running inside this process: the
// one-machine set-up of `scanwatch correlate --listen ADDR --store DIR`.
type Server struct {
	ns   *server.Server
	done chan struct{}
}

// ServeOptions tune the embedded server.
type ServeOptions struct {
	// ConfigFile is a nats-server configuration file (accounts, users and
	// their permissions, TLS, cluster routes) read before listen and
	// storeDir are applied over it.
	ConfigFile string
	// Name is the server's name (a cluster needs one per server).
	Name string
	// Logf receives the server's log lines; nil keeps it quiet.
	Logf func(format string, v ...any)
}

// Serve starts the embedded server listening on listen ("host:port"; port 0
// picks a free one) with its JetStream store in storeDir, and returns once
// it accepts clients. It shuts down when ctx ends.
func Serve(ctx context.Context, listen, storeDir string, o ServeOptions) (*Server, error) {
	opts := &server.Options{}
	if o.ConfigFile != "" {
		var err error
		if opts, err = server.ProcessConfigFile(o.ConfigFile); err != nil {
			return nil, fmt.Errorf("fleet: server config %s: %w", o.ConfigFile, err)
		}
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("fleet: listen address %q: %w", listen, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return nil, fmt.Errorf("fleet: listen address %q: bad port", listen)
	}
	if p == 0 {
		p = server.RANDOM_PORT
	}
	opts.Host, opts.Port = host, p
	if opts.Host == "" {
		opts.Host = "0.0.0.0"
	}
	opts.JetStream = true
	opts.StoreDir = storeDir
	opts.NoSigs = true
	if o.Name != "" {
		opts.ServerName = o.Name
	}
	opts.NoLog = o.Logf == nil
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("fleet: nats server: %w", err)
	}
	if o.Logf != nil {
		ns.SetLogger(logfLogger(o.Logf), false, false)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("fleet: nats server on %s not ready after 10s", listen)
	}
	s := &Server{ns: ns, done: make(chan struct{})}
	go func() {
		select {
		case <-ctx.Done():
			ns.Shutdown()
		case <-s.done:
		}
	}()
	return s, nil
}

// URL is the address clients dial (nats://host:port).
func (s *Server) URL() string { return s.ns.ClientURL() }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ns.Addr() }

// Shutdown stops the server and waits until it has.
func (s *Server) Shutdown() {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// Wait blocks until the server has shut down.
func (s *Server) Wait() { s.ns.WaitForShutdown() }

type logfLogger func(format string, v ...any)

func (l logfLogger) Noticef(format string, v ...any) { l("nats: "+format, v...) }
func (l logfLogger) Warnf(format string, v ...any)   { l("nats: warning: "+format, v...) }
func (l logfLogger) Fatalf(format string, v ...any)  { l("nats: fatal: "+format, v...) }
func (l logfLogger) Errorf(format string, v ...any)  { l("nats: error: "+format, v...) }
func (l logfLogger) Debugf(format string, v ...any)  {}
func (l logfLogger) Tracef(format string, v ...any)  {}
