package fleet

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ConnOptions are the access settings of a connection to the fleet's NATS
// servers. User and password can also ride in the URL
// (nats://user:pass@host:4222); a creds file holds a JWT and its nkey seed
// (decentralised auth); an nkey seed file authenticates a bare nkey user.
// CAFile makes the client verify a TLS server with that CA (tls:// URLs);
// CertFile and KeyFile present a client certificate for mutual TLS.
type ConnOptions struct {
	User, Password string
	Token          string
	CredsFile      string
	NKeyFile       string
	CAFile         string
	CertFile       string
	KeyFile        string
}

// natsOptions turns the access settings into nats.go options.
func (o ConnOptions) natsOptions() ([]nats.Option, error) {
	var opts []nats.Option
	if o.User != "" || o.Password != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.Token != "" {
		opts = append(opts, nats.Token(o.Token))
	}
	if o.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	if o.NKeyFile != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("fleet: nkey seed %s: %w", o.NKeyFile, err)
		}
		opts = append(opts, opt)
	}
	if o.CAFile != "" {
		opts = append(opts, nats.RootCAs(o.CAFile))
	}
	if o.CertFile != "" || o.KeyFile != "" {
		opts = append(opts, nats.ClientCert(o.CertFile, o.KeyFile))
	}
	return opts, nil
}

// connect dials the fleet. It returns at once even when no server answers
// (RetryOnFailedConnect): the connection keeps trying in the background,
// forever, so a sensor started before its server catches up by itself.
func connect(url, name string, o ConnOptions, extra ...nats.Option) (*nats.Conn, error) {
	opts, err := o.natsOptions()
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		nats.Name(name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.Timeout(2*time.Second),
	)
	opts = append(opts, extra...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("fleet: connect %s: %w", url, err)
	}
	return nc, nil
}

// Redact hides the passwords in a list of server URLs, for logs.
func Redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}
