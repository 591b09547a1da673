// Package tracingbench measures the cost of tracing requests: the metrics
// middleware as it is (stack), with tracing configured off (a no-op
// provider), with covet's tracer on (every request sampled, spans batched
// to an exporter that drops them), and the same stack wrapped by otelhttp
// on the same provider.
package tracingbench
