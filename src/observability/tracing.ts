import { type Attributes, context, ProxyTracerProvider, type Span, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';

/**
 * Spans through the OpenTelemetry API only: Gatehouse ships no SDK. An operator who wants traces
 * loads one with `node --import ./otel.mjs` (docs/deployment.md › Tracing); without it every function here
 * runs the wrapped work and nothing else. A span never carries a secret, password, code, token or
 * assertion: callers pass identifiers only, and a failure is recorded by its type, never its
 * message (messages may quote what a client sent).
 */

export type SpanAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

const TRACER_NAME = 'gatehouse';

// Looked up once, at the first span: the SDK is registered by `--import` before Gatehouse starts.
// `null` means no SDK, and the wrappers below cost one comparison.
let cached: Tracer | null | undefined;

function activeTracer(): Tracer | null {
  if (cached === undefined) {
    const provider = trace.getTracerProvider();
    const tracer = provider instanceof ProxyTracerProvider ? provider.getDelegateTracer(TRACER_NAME) : provider.getTracer(TRACER_NAME);
    cached = tracer ?? null;
  }
  return cached;
}

/** Forgets the tracer looked up at the first span; for tests that register an SDK later. */
export function resetTracingForTests(): void {
  cached = undefined;
}

function definedAttributes(attributes: SpanAttributes): Attributes {
  const out: Attributes = {};
  for (const key in attributes) {
    const value = attributes[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** The failure's type only (an OAuth error's code, a driver's error code, or the class name). */
function failureType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[\w.:-]{1,64}$/.test(code)) return code;
  return error instanceof Error ? error.name : typeof error;
}

function markFailed(span: Span, error: unknown): void {
  const type = failureType(error);
  span.recordException({ name: type });
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

/**
 * Runs `fn` inside an active span named `name`: spans started within are its children. A throw
 * marks the span failed (by the error's type) and is rethrown; the span always ends.
 */
export function withSpan<T>(name: string, attributes: SpanAttributes, fn: () => Promise<T>): Promise<T> {
  const tracer = activeTracer();
  if (tracer === null) return fn();
  return tracer.startActiveSpan(name, { attributes: definedAttributes(attributes) }, async (span) => {
    try {
      return await fn();
    } catch (error) {
      markFailed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Adds attributes to the active span (one `withSpan` opened), for what is known only later. */
export function setSpanAttributes(attributes: SpanAttributes): void {
  if (activeTracer() === null) return;
  trace.getActiveSpan()?.setAttributes(definedAttributes(attributes));
}

/**
 * A finished span for work timed afterwards (a database statement), a child of the active span.
 * Times are epoch milliseconds; `error` marks it failed.
 */
export function recordSpan(name: string, attributes: SpanAttributes, startMs: number, endMs: number, error?: unknown): void {
  const tracer = activeTracer();
  if (tracer === null) return;
  const span = tracer.startSpan(name, { attributes: definedAttributes(attributes), startTime: startMs }, context.active());
  if (error !== undefined) markFailed(span, error);
  span.end(endMs);
}

/** Whether an SDK is registered, so callers can skip building attributes nobody reads. */
export function tracingEnabled(): boolean {
  return activeTracer() !== null;
}
