package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

func loadPolicies(t *testing.T) []networkingv1.NetworkPolicy {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "k8s", "networkpolicy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []networkingv1.NetworkPolicy
	for _, doc := range splitYAML(data) {
		var p networkingv1.NetworkPolicy
		if err := yaml.UnmarshalStrict(doc, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func pod(name, ns string, ip string, l map[string]string) endpoint {
	return endpoint{Name: name, Namespace: ns, NSLabels: map[string]string{"kubernetes.io/metadata.name": ns}, Labels: l, IP: netip.MustParseAddr(ip)}
}

func external(name, ip string) endpoint {
	return endpoint{Name: name, IP: netip.MustParseAddr(ip)}
}

// TestNetworkPolicyFlows evaluates networkpolicy.yaml for every flow the
// service needs (allowed) and for the neighbours of each (denied).
func TestNetworkPolicyFlows(t *testing.T) {
	policies := loadPolicies(t)
	var (
		app      = pod("app", "covet", "10.1.0.10", map[string]string{"app": "covet-example"})
		job      = pod("job", "covet", "10.1.0.11", map[string]string{"app": "covet-example-job", "component": "migrate"})
		postgres = pod("postgres", "covet", "10.1.0.12", map[string]string{"app": "postgres"})
		redis    = pod("redis", "covet", "10.1.0.13", map[string]string{"app": "redis"})
		other    = pod("other pod in covet", "covet", "10.1.0.14", map[string]string{"app": "debug"})
		ingress  = pod("ingress controller", "ingress-nginx", "10.1.1.10", map[string]string{"app.kubernetes.io/name": "ingress-nginx"})
		ingOther = pod("other pod in ingress-nginx", "ingress-nginx", "10.1.1.11", map[string]string{"app": "debug"})
		prom     = pod("prometheus", "monitoring", "10.1.2.10", map[string]string{"app.kubernetes.io/name": "prometheus"})
		grafana  = pod("grafana", "monitoring", "10.1.2.11", map[string]string{"app.kubernetes.io/name": "grafana"})
		dns      = pod("kube-dns", "kube-system", "10.1.3.10", map[string]string{"k8s-app": "kube-dns"})
		apiSrv   = pod("other kube-system pod", "kube-system", "10.1.3.11", map[string]string{"component": "etcd"})
		otel     = pod("otel collector", "observability", "10.1.4.10", map[string]string{"app.kubernetes.io/name": "opentelemetry-collector"})
		stranger = pod("pod in default", "default", "10.1.5.10", map[string]string{"app": "x"})
		s3       = external("S3", "52.95.110.1")
		metadata = external("cloud metadata", "169.254.169.254")
		private  = external("private address", "10.20.30.40")
	)
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	tests := []struct {
		src, dst endpoint
		port     int32
		proto    corev1.Protocol
		want     bool
	}{
		// What the service needs.
		{ingress, app, 8080, tcp, true},
		{prom, app, 8081, tcp, true},
		{app, postgres, 5432, tcp, true},
		{app, redis, 6379, tcp, true},
		{app, dns, 53, udp, true},
		{app, dns, 53, tcp, true},
		{app, otel, 4318, tcp, true},
		{app, otel, 4317, tcp, true},
		{app, s3, 443, tcp, true},
		{job, postgres, 5432, tcp, true},
		{job, dns, 53, udp, true},
		{job, s3, 443, tcp, true},
		// Ingress: only the controller on 8080, only Prometheus on 8081.
		{ingress, app, 8081, tcp, false},
		{ingOther, app, 8080, tcp, false},
		{prom, app, 8080, tcp, false},
		{grafana, app, 8081, tcp, false},
		{stranger, app, 8080, tcp, false},
		{other, app, 8080, tcp, false},
		{s3, app, 8080, tcp, false},
		{ingress, job, 8080, tcp, false},
		// The datastores: the app and jobs only, on their ports only.
		{other, postgres, 5432, tcp, false},
		{stranger, postgres, 5432, tcp, false},
		{job, redis, 6379, tcp, false},
		{other, redis, 6379, tcp, false},
		{app, postgres, 22, tcp, false},
		{app, redis, 6380, tcp, false},
		// Egress elsewhere: nothing inside the cluster, no plain HTTP out.
		{app, other, 8080, tcp, false},
		{app, stranger, 443, tcp, false},
		{app, apiSrv, 53, udp, false},
		{app, apiSrv, 443, tcp, false},
		{app, grafana, 3000, tcp, false},
		{app, metadata, 80, tcp, false},
		{app, metadata, 443, tcp, false},
		{app, private, 443, tcp, false},
		{app, s3, 80, tcp, false},
		{app, otel, 8888, tcp, false},
		{job, otel, 4318, tcp, false},
		{job, app, 8080, tcp, false},
	}
	for _, tt := range tests {
		if got := allowed(policies, tt.src, tt.dst, tt.port, tt.proto); got != tt.want {
			t.Errorf("allowed(%s → %s:%d/%s) = %v; want %v", tt.src.Name, tt.dst.Name, tt.port, tt.proto, got, tt.want)
		}
	}
}

// TestPolicyEvaluator checks the evaluator itself on the API's defaults,
// so that TestNetworkPolicyFlows's answers mean what Kubernetes does.
func TestPolicyEvaluator(t *testing.T) {
	a := pod("a", "ns", "10.0.0.1", map[string]string{"app": "a"})
	b := pod("b", "ns", "10.0.0.2", map[string]string{"app": "b"})
	c := pod("c", "other", "10.0.0.3", map[string]string{"app": "b"})
	var none []networkingv1.NetworkPolicy
	if !allowed(none, a, b, 80, corev1.ProtocolTCP) {
		t.Error("no policy: denied; want allowed")
	}
	denyIn := []networkingv1.NetworkPolicy{{}}
	denyIn[0].Namespace = "ns"
	if allowed(denyIn, a, b, 80, corev1.ProtocolTCP) {
		t.Error("empty policy (Ingress by default) in ns: allowed; want denied")
	}
	if !allowed(denyIn, b, c, 80, corev1.ProtocolTCP) {
		t.Error("empty policy in ns: egress to another namespace denied; want allowed (no Egress type)")
	}
}
