package ratelimit

import "testing"

func TestFailurePolicyString(t *testing.T) {
	for p, want := range map[FailurePolicy]string{FailOpen: "fail-open", FailClosed: "fail-closed", LocalFallback: "local-fallback", 7: "FailurePolicy(7)"} {
		if got := p.String(); got != want {
			t.Errorf("FailurePolicy(%d).String() = %q; want %q", p, got, want)
		}
	}
}
