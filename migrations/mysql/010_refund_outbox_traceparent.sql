-- The W3C traceparent of the work that queued a refund (a booking cancel, a late PAID webhook,
-- the orphan refunder), so the refund worker's span and its gateway call continue that trace.
-- NULL for rows queued before tracing, and for rows queued outside any trace. Re-runnable after
-- a half-applied run (MySQL 8 has no ADD COLUMN IF NOT EXISTS).
-- @skip-if-exists column refund_outbox.traceparent
ALTER TABLE refund_outbox ADD COLUMN traceparent VARCHAR(64) NULL;
