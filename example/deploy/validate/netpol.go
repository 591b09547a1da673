package main

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// endpoint is one end of a connection: a pod (Namespace set) or an address
// outside the cluster (Pod labels nil, IP only).
type endpoint struct {
	Name      string
	Namespace string
	NSLabels  map[string]string
	Labels    map[string]string
	IP        netip.Addr
}

func (e endpoint) isPod() bool { return e.Namespace != "" }

// allowed reports whether NetworkPolicies let src open a connection to dst
// on port/proto, with the semantics of the Kubernetes API: a pod selected
// by no policy of a direction is open in that direction; a selected pod
// admits only what some rule of some selecting policy admits; a connection
// needs the source's egress and the destination's ingress both.
func allowed(policies []networkingv1.NetworkPolicy, src, dst endpoint, port int32, proto corev1.Protocol) bool {
	return side(policies, src, dst, port, proto, networkingv1.PolicyTypeEgress) &&
		side(policies, dst, src, port, proto, networkingv1.PolicyTypeIngress)
}

// side checks one direction: self is the pod the policies select, peer the
// other end.
func side(policies []networkingv1.NetworkPolicy, self, peer endpoint, port int32, proto corev1.Protocol, dir networkingv1.PolicyType) bool {
	if !self.isPod() {
		return true // outside the cluster: no policy applies
	}
	selected := false
	for _, p := range policies {
		if p.Namespace != self.Namespace || !matches(&p.Spec.PodSelector, self.Labels) || !hasType(p.Spec, dir) {
			continue
		}
		selected = true
		if dir == networkingv1.PolicyTypeEgress {
			for _, r := range p.Spec.Egress {
				if portsMatch(r.Ports, port, proto) && peersMatch(r.To, p.Namespace, peer) {
					return true
				}
			}
		} else {
			for _, r := range p.Spec.Ingress {
				if portsMatch(r.Ports, port, proto) && peersMatch(r.From, p.Namespace, peer) {
					return true
				}
			}
		}
	}
	return !selected
}

// hasType applies the API's default: Ingress always, Egress when the policy
// has egress rules, unless policyTypes is given.
func hasType(s networkingv1.NetworkPolicySpec, t networkingv1.PolicyType) bool {
	if len(s.PolicyTypes) == 0 {
		return t == networkingv1.PolicyTypeIngress || len(s.Egress) > 0
	}
	for _, pt := range s.PolicyTypes {
		if pt == t {
			return true
		}
	}
	return false
}

func matches(sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(l))
}

// peersMatch: an empty list admits every peer.
func peersMatch(peers []networkingv1.NetworkPolicyPeer, policyNS string, e endpoint) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		switch {
		case p.IPBlock != nil:
			if ipIn(p.IPBlock, e.IP) {
				return true
			}
		case !e.isPod():
			// Selectors only ever select pods.
		case p.NamespaceSelector != nil && p.PodSelector != nil:
			if matches(p.NamespaceSelector, e.NSLabels) && matches(p.PodSelector, e.Labels) {
				return true
			}
		case p.NamespaceSelector != nil:
			if matches(p.NamespaceSelector, e.NSLabels) {
				return true
			}
		case p.PodSelector != nil:
			if e.Namespace == policyNS && matches(p.PodSelector, e.Labels) {
				return true
			}
		}
	}
	return false
}

func ipIn(b *networkingv1.IPBlock, ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	c, err := netip.ParsePrefix(b.CIDR)
	if err != nil || !c.Contains(ip) {
		return false
	}
	for _, x := range b.Except {
		if e, err := netip.ParsePrefix(x); err == nil && e.Contains(ip) {
			return false
		}
	}
	return true
}

// portsMatch: an empty list admits every port; a rule port without a
// number admits every port of its protocol (TCP when unset). Named ports
// are not used by these manifests and match nothing here.
func portsMatch(ports []networkingv1.NetworkPolicyPort, port int32, proto corev1.Protocol) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp != proto {
			continue
		}
		if p.Port == nil {
			return true
		}
		if p.Port.Type != 0 { // a named port
			continue
		}
		lo, hi := p.Port.IntVal, p.Port.IntVal
		if p.EndPort != nil {
			hi = *p.EndPort
		}
		if port >= lo && port <= hi {
			return true
		}
	}
	return false
}
