package app

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// REDIS_URL takes one of three forms, told apart by its query parameters.
// They are go-redis's own URL forms (ParseURL, ParseClusterURL,
// ParseFailoverURL), so every option those parsers accept
// (dial_timeout=, pool_size=, …) works here too.
//
//	redis://[user:password@]host:6379[/db]                 one node
//	redis://[user:password@]host1:6379?addr=host2:6379     Redis Cluster: the
//	    host and every addr are seed nodes; add cluster=true when one seed
//	    (a configuration endpoint or a Kubernetes service) fronts the cluster
//	redis://[user:password@]sentinel1:26379[/db]?master_name=mymaster&addr=sentinel2:26379
//	    Sentinel: the host and every addr are sentinels; user:password@
//	    authenticates to the sentinels, username= and password= to the master
//
// rediss:// turns on TLS in every form.
type redisMode string

const (
	redisSingle   redisMode = "single"
	redisCluster  redisMode = "cluster"
	redisSentinel redisMode = "sentinel"
)

// errRedisURL names the problem without repeating the URL, which may hold a
// password.
var errRedisURL = errors.New("must be a redis:// or rediss:// URL")

// redisTarget is a parsed REDIS_URL.
type redisTarget struct {
	mode     redisMode
	single   *redis.Options
	cluster  *redis.ClusterOptions
	sentinel *redis.FailoverOptions
}

// parseRedisURL reads REDIS_URL in any of its forms.
func parseRedisURL(raw string) (*redisTarget, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, errRedisURL
	}
	q := u.Query()
	cluster := false
	if v := q.Get("cluster"); v != "" {
		switch strings.ToLower(v) {
		case "true", "1", "yes":
			cluster = true
		case "false", "0", "no":
		default:
			return nil, fmt.Errorf("cluster=%q is not true or false", v)
		}
		// go-redis does not know the parameter; it is ours.
		q.Del("cluster")
		u.RawQuery = q.Encode()
	}
	switch {
	case q.Has("master_name"):
		if cluster {
			return nil, errors.New("cluster=true and master_name= are exclusive: Sentinel watches one master")
		}
		o, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, scrub(err)
		}
		if o.MasterName == "" {
			return nil, errors.New("master_name= is empty")
		}
		return &redisTarget{mode: redisSentinel, sentinel: o}, nil
	case cluster || q.Has("addr"):
		if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
			return nil, fmt.Errorf("a Redis Cluster has only database 0, not %q", p)
		}
		u.Path = ""
		o, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, scrub(err)
		}
		return &redisTarget{mode: redisCluster, cluster: o}, nil
	}
	o, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, scrub(err)
	}
	return &redisTarget{mode: redisSingle, single: o}, nil
}

// scrub drops go-redis's "redis: " prefix; its parse errors name options and
// addresses, never the password.
func scrub(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "redis: "))
}

// client builds the client for t. Per-call deadlines (rate limits, cache)
// are enforced on the connection instead of a goroutine per call.
// dialAttempts is the example's go-redis DialerRetries unless the URL sets
// dialer_retries: go-redis's default (5 attempts 100 ms apart) turns a
// refused connection into half a second of waiting, longer than any
// request-path budget; a refused dial should fail at once and let the
// failure policies answer.
const dialAttempts = 1

func (t *redisTarget) client() redis.UniversalClient {
	switch t.mode {
	case redisCluster:
		o := *t.cluster
		o.ContextTimeoutEnabled = true
		if o.DialerRetries == 0 {
			o.DialerRetries = dialAttempts
		}
		return redis.NewClusterClient(&o)
	case redisSentinel:
		o := *t.sentinel
		o.ContextTimeoutEnabled = true
		if o.DialerRetries == 0 {
			o.DialerRetries = dialAttempts
		}
		return redis.NewFailoverClient(&o)
	}
	o := *t.single
	o.ContextTimeoutEnabled = true
	if o.DialerRetries == 0 {
		o.DialerRetries = dialAttempts
	}
	return redis.NewClient(&o)
}
