using Prometheus;

namespace Vts.AutoCopy.Observability;

/// <summary>The node's Prometheus metrics (served at /metrics). Counted where the fact is journaled, so a metric
/// never runs ahead of what a restart would remember.</summary>
public static class AutoCopyMetrics
{
    public static readonly Counter CopiesCompleted = Metrics.CreateCounter(
        "vts_copies_completed_total", "Tapes copied and verified at their target.", "pool", "target");

    public static readonly Counter CopiesFailed = Metrics.CreateCounter(
        "vts_copies_failed_total", "Copies that failed their last allowed attempt (R7).", "pool", "target");

    public static readonly Counter AttemptsFailed = Metrics.CreateCounter(
        "vts_attempts_failed_total", "Failed transfer attempts, retried or not.", "pool", "target");

    public static readonly Counter BytesSent = Metrics.CreateCounter(
        "vts_bytes_sent_total", "Bytes of completed copies.", "target");

    /// <summary>R17: of <see cref="BytesSent"/>, the bytes an earlier, cut attempt had left at the target (proven), so not
    /// sent again. What a cut cost is the rest of the tape's size.</summary>
    public static readonly Counter BytesResumed = Metrics.CreateCounter(
        "vts_bytes_resumed_total", "Bytes of completed copies that an earlier attempt had left at the target, proven and not sent again (R17).", "target");

    public static readonly Histogram AttemptDuration = Metrics.CreateHistogram(
        "vts_attempt_duration_seconds", "Duration of transfer attempts, by outcome.",
        new HistogramConfiguration
        {
            LabelNames = ["target", "outcome"],
            Buckets = Histogram.ExponentialBuckets(0.01, 2, 16),
        });

    public static readonly Gauge AuditDrift = Metrics.CreateGauge(
        "vts_audit_drift_tapes", "Tapes the pool's last audit found missing at the target or of another size there.", "pool");

    public static readonly Gauge AuditLast = Metrics.CreateGauge(
        "vts_audit_last_timestamp_seconds", "When the pool's last audit ended (Unix time).", "pool");

    public static readonly Gauge TransfersInFlight = Metrics.CreateGauge(
        "vts_transfers_in_flight", "Transfers running now.", "target");

    public static readonly Gauge TransfersWaiting = Metrics.CreateGauge(
        "vts_transfers_waiting", "Due copies waiting for a transfer slot.", "target");

    public static readonly Histogram Verification = Metrics.CreateHistogram(
        "vts_copy_verification_seconds", "Time spent proving a copy at the target after its bytes were sent, by how it was proven.",
        new HistogramConfiguration
        {
            LabelNames = ["target", "proof"],
            Buckets = [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300],
        });

    public static readonly Gauge BandwidthLimit = Metrics.CreateGauge(
        "vts_bandwidth_limit_bytes_per_second", "The target's bandwidth limit in force over the cluster; 0 is unlimited.", "target");

    public static readonly Gauge TransferRate = Metrics.CreateGauge(
        "vts_transfer_bytes_per_second", "The target's running transfers' rates added up, over the cluster.", "target");

    public static readonly Gauge CopiesDue = Metrics.CreateGauge(
        "vts_copies_due", "Copies owed to the target: due, copying or waiting to retry.", "target");

    public static readonly Gauge OldestDueAge = Metrics.CreateGauge(
        "vts_oldest_due_age_seconds", "Age of the oldest copy owed to the target.", "target");

    public static readonly Counter EmsEvents = Metrics.CreateCounter(
        "vts_ems_events_total", "EMS input lines, by kind and outcome.", "kind", "outcome");

    /// <summary>docs/ems.md: connections refused are counted, so a probe or a misconfigured sender shows.</summary>
    public static readonly Counter EmsConnectionsRefused = Metrics.CreateCounter(
        "vts_ems_connections_refused_total", "EMS connections refused: not-allowed (neither loopback nor in vts.ems.allow), peer-limit, full.", "reason");
}
