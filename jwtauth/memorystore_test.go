package jwtauth_test

import (
	"testing"

	"github.com/covetgo/covet/jwtauth"
	"github.com/covetgo/covet/jwtauth/internal/storetest"
)

func newMemoryStore(t *testing.T) *jwtauth.MemoryStore {
	t.Helper()
	m, err := jwtauth.NewMemoryStore()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMemoryStore(t *testing.T) { storetest.Store(t, newMemoryStore(t)) }

func TestRefreshFlowMemory(t *testing.T) { storetest.Flow(t, newMemoryStore(t)) }
