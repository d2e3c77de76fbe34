-- The W3C traceparent of the work that queued a refund (a booking cancel, a late PAID webhook,
-- the orphan refunder), so the refund worker's span and its gateway call continue that trace.
-- NULL for rows queued before tracing, and for rows queued outside any trace.
ALTER TABLE refund_outbox ADD COLUMN traceparent TEXT;
