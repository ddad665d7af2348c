package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// validateCluster checks redis_url, node_id and public_url.
func (c *Config) validateCluster() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
	}
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return bad("redis_url %q: want redis://[:password@]host:port/db or rediss://... (TLS)", RedactURL(c.RedisURL))
		}
	}
	if c.NodeID != "" && !nodeIDPattern.MatchString(c.NodeID) {
		return bad("node_id %q: want 1-64 letters, digits, '.', '_' or '-'", c.NodeID)
	}
	if c.NodeCapacity < 0 {
		return bad("node_capacity %d: want 0 (no limit) or the members this node hosts before rooms span nodes", c.NodeCapacity)
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("public_url %q: want this node's own base URL, like https://node1.example.com", c.PublicURL)
		}
	}
	if c.RedisURL != "" && c.PublicURL == "" && (c.NodeIP == "" || c.HTTP == "") {
		return bad("cluster mode (redis_url) needs public_url (this node's own URL), or node_ip and http to build it from")
	}
	return nil
}

// NodePublicURL is public_url, or http://{node_ip}:{httpPort} ("" when
// neither can be had). httpPort is the port http listens on (its
// setting's may be 0). No trailing slash.
func (c *Config) NodePublicURL(httpPort string) string {
	if c.PublicURL != "" {
		return strings.TrimRight(c.PublicURL, "/")
	}
	if c.NodeIP == "" || c.HTTP == "" || httpPort == "" || httpPort == "0" {
		return ""
	}
	return "http://" + net.JoinHostPort(c.NodeIP, httpPort)
}

// RedactURL hides a URL's password (redis_url's), for messages and logs.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
