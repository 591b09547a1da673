package securehdr

import (
	"fmt"
	"strings"
)

// exemptPaths records the paths that skip the host check and the
// redirect: exact paths, and subtrees for entries ending in "/".
func (g *guard) exemptPaths(paths []string) error {
	g.exempt = make(map[string]struct{}, len(paths))
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") || !validHeaderValue(p) || strings.ContainsAny(p, " ?#") {
			return fmt.Errorf("%w: exempt path %q must be a path starting with /", ErrInvalidConfig, p)
		}
		if strings.HasSuffix(p, "/") {
			g.subtrees = append(g.subtrees, p)
		} else {
			g.exempt[p] = struct{}{}
		}
	}
	return nil
}

func (g *guard) exempted(path string) bool {
	if _, ok := g.exempt[path]; ok {
		return true
	}
	for _, s := range g.subtrees {
		if strings.HasPrefix(path, s) {
			return true
		}
	}
	return false
}

// redirectTarget validates a fixed redirect host[:port] and returns it
// normalised.
func redirectTarget(hostport string) (string, error) {
	port := ""
	name := hostport
	if i := strings.LastIndexByte(name, ':'); i >= 0 && !strings.HasSuffix(name, "]") {
		name, port = name[:i], name[i:]
	}
	n, ok := NormalizeHost(name)
	if !ok || !validPort(port) || port == ":" {
		return "", fmt.Errorf("%w: redirect host %q", ErrInvalidConfig, hostport)
	}
	return n + port, nil
}
