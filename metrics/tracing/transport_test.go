package tracing

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestTransport(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr, err := New(tp)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("traceparent")
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	client := &http.Client{Transport: tr.Transport(srv.Client().Transport)}

	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/x?token=secret", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	parent.End()
	if req.Header.Get("traceparent") != "" {
		t.Error("the caller's request was modified")
	}
	header := <-got
	spans := sr.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans; want client and parent", len(spans))
	}
	client0 := spans[0]
	want := "00-" + client0.SpanContext().TraceID().String() + "-" + client0.SpanContext().SpanID().String() + "-01"
	if header != want {
		t.Errorf("traceparent = %q; want %q", header, want)
	}
	if client0.SpanKind() != trace.SpanKindClient || client0.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("client span kind %v parent %v; want a client child of the caller's span", client0.SpanKind(), client0.Parent().SpanID())
	}
	a := attrs(client0)
	if a["url.full"] != srv.URL+"/x" || a["http.response.status_code"] != "418" {
		t.Errorf("client attributes = %v; want url.full without the query and status 418", a)
	}

	// A failed round trip records the error.
	sr.Reset()
	bad := &http.Client{Transport: tr.Transport(roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("connection refused")
	}))}
	req, _ = http.NewRequest(http.MethodGet, "http://127.0.0.1:1/", nil)
	if _, err := bad.Do(req); err == nil {
		t.Fatal("no error from a failing transport")
	}
	if s := sr.Ended(); len(s) != 1 || s[0].Status().Description != "connection refused" {
		t.Errorf("spans = %v; want one with the transport error", s)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
