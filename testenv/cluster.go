package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster starts a 3-master Redis Cluster on free local ports (one
// redis-server per master, nothing kept on disk) and returns a client for it.
// The processes are stopped and their files removed at cleanup.
//
// Without redis-server and redis-cli on PATH the test is skipped (or fails
// under COVET_REQUIRE_SERVICES=1).
func RedisCluster(t testing.TB) *redis.ClusterClient {
	t.Helper()
	server, err1 := exec.LookPath("redis-server")
	cli, err2 := exec.LookPath("redis-cli")
	if err1 != nil || err2 != nil {
		Unavailable(t, "redis-cluster", "local redis-server", fmt.Errorf("redis-server or redis-cli not on PATH"))
	}
	dir := t.TempDir()
	ports := freeClusterPorts(t, 3)
	var addrs []string
	for _, p := range ports {
		ps := strconv.Itoa(p)
		cmd := exec.Command(server,
			"--port", ps, "--bind", "127.0.0.1",
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes-"+ps+".conf",
			"--cluster-node-timeout", "2000",
			"--save", "", "--appendonly", "no",
			"--dir", dir, "--daemonize", "no", "--loglevel", "warning")
		cmd.Dir = dir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			Unavailable(t, "redis-cluster", "port "+ps, err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		addrs = append(addrs, "127.0.0.1:"+ps)
	}
	for _, a := range addrs {
		waitPing(t, a)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command(cli, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("testenv: redis-cli --cluster create: %v\n%s", err, out)
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DialTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if clusterReady(c, addrs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: redis cluster on %v not ready after 20s", addrs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c
}

func clusterReady(c *redis.ClusterClient, addrs []string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, a := range addrs {
		n := redis.NewClient(&redis.Options{Addr: a})
		info, err := n.ClusterInfo(ctx).Result()
		_ = n.Close()
		if err != nil || !strings.Contains(info, "cluster_state:ok") {
			return false
		}
	}
	// Every slot must be reachable through the client: write to keys that
	// land on each master.
	for i := 0; i < 30; i++ {
		k := "covet-test-ready:" + strconv.Itoa(i)
		if err := c.Set(ctx, k, "1", time.Second).Err(); err != nil {
			return false
		}
		_ = c.Del(ctx, k).Err()
	}
	return true
}

func waitPing(t testing.TB, addr string) {
	t.Helper()
	n := redis.NewClient(&redis.Options{Addr: addr})
	defer n.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := n.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: redis-server at %s did not start: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeClusterPorts finds n ports p that are free along with their cluster
// bus ports p+10000.
func freeClusterPorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	seen := map[int]bool{}
	for tries := 0; len(ports) < n && tries < 500; tries++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("testenv: listen: %v", err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if p+10000 > 65535 || seen[p] {
			continue
		}
		lb, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000))
		if err != nil {
			continue
		}
		_ = lb.Close()
		seen[p] = true
		ports = append(ports, p)
	}
	if len(ports) < n {
		t.Fatalf("testenv: no free ports for a redis cluster")
	}
	return ports
}
