package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/getsentry/sentry-go"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/covetgo/covet/metrics"
	"github.com/covetgo/covet/metrics/tracing"
)

// loadTelemetry reads SENTRY_DSN and checks the OTEL_* switches the
// service itself interprets; the OpenTelemetry SDK and exporter read the
// rest of OTEL_* themselves.
func loadTelemetry(c *Config, getenv func(string) string) []string {
	var problems []string
	c.SentryDSN = strings.TrimSpace(getenv("SENTRY_DSN"))
	if c.SentryDSN != "" {
		if _, err := sentry.NewDsn(c.SentryDSN); err != nil {
			// The DSN's key is a credential: name the problem, not the value.
			problems = append(problems, "SENTRY_DSN: is not a Sentry DSN (https://KEY@HOST/PROJECT)")
		}
	}
	if v := getenv("OTEL_SDK_DISABLED"); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			problems = append(problems, fmt.Sprintf("OTEL_SDK_DISABLED: %q is not true or false", v))
		}
	}
	return problems
}

// tracingConfigured reports whether the environment asks for traces to be
// exported: an OTLP endpoint is set and neither OTEL_SDK_DISABLED nor
// OTEL_TRACES_EXPORTER=none turns it off. Without it no exporter runs and
// requests are not traced.
func tracingConfigured(getenv func(string) string) bool {
	if off, _ := strconv.ParseBool(getenv("OTEL_SDK_DISABLED")); off {
		return false
	}
	if strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")) == "none" {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// setupTelemetry builds the tracer provider (Config.TracerProvider, else
// an OTLP/HTTP exporter configured by OTEL_*, else none), the request
// tracer, the correlated logger and the Sentry reporter.
func (a *App) setupTelemetry(ctx context.Context) error {
	// Every record logged with a request's context carries its IDs; the
	// access log keeps the plain logger, its line has them already.
	a.accessLog = a.log
	lh, err := tracing.NewLogHandler(a.log.Handler())
	if err != nil {
		return err
	}
	a.log = slog.New(lh)

	tp := a.cfg.TracerProvider
	if tp == nil && tracingConfigured(a.cfg.env) {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
		}
		// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override these.
		res, err := resource.New(ctx,
			resource.WithAttributes(semconv.ServiceName(a.cfg.AppName), semconv.ServiceVersion(a.cfg.AppVersion)),
			resource.WithFromEnv(), resource.WithTelemetrySDK())
		if err != nil {
			return fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
		}
		// The sampler comes from OTEL_TRACES_SAMPLER(_ARG); the default,
		// parentbased_always_on, follows the caller's decision.
		sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		a.closers = append(a.closers, func() error {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return sdk.Shutdown(sctx)
		})
		tp = sdk
		a.log.Info("exporting traces", "endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	a.tp = tp
	if a.tracer, err = tracing.New(tp); err != nil {
		return err
	}
	return a.setupSentry()
}

// tracingOn reports whether requests are traced, so that the database and
// Redis clients need tracers too.
func (a *App) tracingOn() bool {
	_, off := a.tp.(noop.TracerProvider)
	return a.tp != nil && !off
}

// pgxTracer returns the tracer of PostgreSQL queries: a span per query,
// child of the request's span. Query parameters stay out of the spans:
// they include password hashes and e-mail addresses.
func (a *App) pgxTracer() *otelpgx.Tracer {
	return otelpgx.NewTracer(otelpgx.WithTracerProvider(a.tp))
}

// traceRedis adds a span per Redis command. The command's arguments stay
// out of the spans: they carry token families and cached user data.
func (a *App) traceRedis(c redis.UniversalClient) error {
	if !a.tracingOn() {
		return nil
	}
	return redisotel.InstrumentTracing(c, redisotel.WithTracerProvider(a.tp), redisotel.WithDBStatement(false))
}

// setupSentry makes failures (5xx responses and panics) Sentry events when
// SENTRY_DSN is set.
func (a *App) setupSentry() error {
	if a.cfg.SentryDSN == "" {
		return nil
	}
	client, err := sentry.NewClient(sentry.ClientOptions{
		Dsn:         a.cfg.SentryDSN,
		Environment: a.cfg.Environment,
		Release:     a.cfg.AppName + "@" + a.cfg.AppVersion,
		// No IP addresses, headers or cookies: events are built from
		// metrics.Failure, which holds none, and the SDK's default of
		// sending no personal data keeps its integrations from adding them.
	})
	if err != nil {
		return errors.New("SENTRY_DSN: is not a Sentry DSN")
	}
	a.closers = append(a.closers, func() error {
		client.Flush(5 * time.Second)
		return nil
	})
	a.reportFailure = func(_ context.Context, f metrics.Failure) {
		client.CaptureEvent(failureEvent(f), nil, nil)
	}
	return nil
}

// failureEvent turns a failed request into a Sentry event: the error, the
// route (never the raw path or query), the status and the IDs to find the
// request's logs and trace.
func failureEvent(f metrics.Failure) *sentry.Event {
	ev := sentry.NewEvent()
	ev.Level = sentry.LevelError
	ev.Transaction = f.Method + " " + f.Route
	exc := sentry.Exception{Type: fmt.Sprintf("%T", f.Err), Value: f.Err.Error()}
	var pe *metrics.PanicError
	if errors.As(f.Err, &pe) {
		exc.Type = "panic"
		exc.Mechanism = &sentry.Mechanism{Type: "http", Handled: new(bool)}
	}
	if f.Stack != nil {
		// The hook runs while the panic unwinds, so the stack here still
		// holds the frames that raised it.
		exc.Stacktrace = sentry.NewStacktrace()
	}
	ev.Exception = []sentry.Exception{exc}
	ev.Tags = map[string]string{
		"http.method":      f.Method,
		"http.route":       f.Route,
		"http.status_code": strconv.Itoa(f.Status),
	}
	if f.RequestID != "" {
		ev.Tags["request_id"] = f.RequestID
	}
	if f.TraceID != "" {
		ev.Tags["trace_id"] = f.TraceID
		ev.Contexts["trace"] = sentry.Context{"trace_id": f.TraceID}
	}
	if f.UserID != "" {
		ev.User = sentry.User{ID: f.UserID}
	}
	return ev
}
