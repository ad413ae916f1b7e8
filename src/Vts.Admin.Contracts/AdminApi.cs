using System.Text.Json;
using System.Text.Json.Serialization;

namespace Vts.Admin.Contracts;

/// <summary>The node's admin HTTP API (docs/operations.md), shared by the node that serves it and vtsctl that calls it.
/// Every body is JSON (camelCase). Errors come back as <see cref="ApiError"/> with a 4xx/5xx status.
/// Off loopback every request needs "Authorization: Bearer &lt;vts.admin.token&gt;" (401 without it).</summary>
public static class AdminApi
{
    public const string Cluster = "/api/cluster";                 // GET  → ClusterView
    public const string ClusterLeave = "/api/cluster/leave";      // POST AddressRequest → CommandResult
    public const string ClusterDown = "/api/cluster/down";        // POST AddressRequest → CommandResult
    public const string Actors = "/api/actors";                   // GET  → ActorTree
    public const string Pools = "/api/pools";                     // GET  → PoolView[]
    public static string PoolReconcile(string pool) => $"/api/pools/{pool}/reconcile";     // POST ReconcileRequest → ReconcileAnswerView (start); GET → ReconcileView; DELETE → ReconcileAnswerView (cancel)
    public const string Tapes = "/api/tapes";                     // GET  ?pool=P&state=S → TapeView[]
    public static string Tape(string pool, string volser) => $"/api/tapes/{pool}/{volser}";               // GET → TapeView
    public static string TapeRetry(string pool, string volser) => $"/api/tapes/{pool}/{volser}/retry";    // POST → CommandResult
    public const string Targets = "/api/targets";                 // GET  → TargetView[]
    public static string TargetThrottle(string target) => $"/api/targets/{target}/throttle"; // POST ThrottleRequest → CommandResult
    public const string EventLog = "/api/eventlog";               // GET  ?tail=N&since=ISO-8601 → EventLogView[]
    public const string JournalIds = "/api/journal/ids";          // GET  → string[]
    public static string JournalEvents(string persistenceId) => $"/api/journal/events/{Uri.EscapeDataString(persistenceId)}"; // GET → JournalEventView[]
    public const string License = "/api/license";                 // GET  → LicenseView; POST LicenseInstallRequest → CommandResult
    public const string Status = "/api/status";                   // GET  → StatusView (the live page's feed)
    public const string Metrics = "/metrics";                     // GET  Prometheus text

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        // Operators read this output; "+" and "'" need no escaping outside HTML.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
    };
}

public sealed record ApiError(string Error);

public sealed record CommandResult(bool Ok, string Message);

/// <param name="DryRun">report the differences only; make no copy due.</param>
/// <param name="VerifyContent">compare the SHA-256 of tapes of the same size too (the target hashes in place).</param>
public sealed record ReconcileRequest(bool DryRun, bool VerifyContent = false);

/// <summary>A reconcile of a pool with its target pool: running (progress so far) or ended (its report). Lists hold the
/// first 500 volsers of each kind; the counts are whole.</summary>
/// <param name="Trigger">"operator" or "audit".</param>
/// <param name="State">"running", "finished", "cancelled" or "failed" (<paramref name="Detail"/> says why).</param>
/// <param name="Checked">volsers compared so far, of <paramref name="Total"/> on both sides (0 until both are listed).</param>
/// <param name="Missing">at the source, not at the target.</param>
/// <param name="SizeDiffers">at both, of another size at the target.</param>
/// <param name="ContentDiffers">at both and of the same size, another SHA-256 at the target (content verified only).</param>
/// <param name="OnlyAtTarget">at the target, not at the source: reported, never deleted.</param>
/// <param name="Made">copies made due (0 in a dry run).</param>
public sealed record ReconcileView(string Pool, string Target, string TargetPool, string Id, string Trigger, string State, string? Detail,
    bool DryRun, bool VerifyContent, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, int Checked, int Total, int SourceTapes,
    int TargetTapes, int MissingCount, int SizeDiffersCount, int ContentDiffersCount, int OnlyAtTargetCount, int Made, int NotMadeCount,
    IReadOnlyList<string> Missing, IReadOnlyList<string> SizeDiffers, IReadOnlyList<string> ContentDiffers,
    IReadOnlyList<string> OnlyAtTarget, IReadOnlyList<NotMadeView> NotMade, double Seconds)
{
    [JsonIgnore] public bool IsRunning => State == "running";
}

/// <param name="Ok">the reconcile was started (or cancelled); else <paramref name="Message"/> says why not.</param>
/// <param name="Reconcile">the reconcile concerned: the one started or cancelled, or the one running.</param>
public sealed record ReconcileAnswerView(bool Ok, string Message, ReconcileView? Reconcile);

public sealed record NotMadeView(string Volser, string Why);

public sealed record AddressRequest(string Address);

public sealed record MemberView(string Address, string Status, IReadOnlyList<string> Roles, bool Reachable);

public sealed record ClusterView(string Self, string? Leader, IReadOnlyList<MemberView> Members);

public sealed record ActorTree(IReadOnlyList<string> Paths);

/// <summary>Copy states, as the API and vtsctl name them.</summary>
public static class CopyStates
{
    public const string Idle = "idle";
    public const string Due = "due";
    public const string Copying = "copying";
    public const string WaitingToRetry = "waiting-to-retry";
    public const string Failed = "failed";
    public static readonly IReadOnlyList<string> All = [Idle, Due, Copying, WaitingToRetry, Failed];
}

/// <param name="Counts">tapes per copy state (keys from <see cref="CopyStates"/>); "idle" counts the pool's tape
/// files in the vault with nothing pending.</param>
/// <param name="Mounted">tapes mounted now, whatever their copy state.</param>
/// <param name="Node">the node that owns the pool now (its vts.node-name).</param>
/// <param name="Held">why the pool's due copies do not start (R12: no valid license); null while they may.</param>
/// <param name="Reconcile">the pool's running reconcile, or else its last (counts only); null if none has run.</param>
/// <param name="LastAudit">the pool's last periodic audit (counts only); null if none has ended.</param>
public sealed record PoolView(string Pool, string Node, string Target, string TargetPool, IReadOnlyDictionary<string, int> Counts, int Mounted,
    string? Held = null,
    ReconcileView? Reconcile = null, ReconcileView? LastAudit = null);

public sealed record LastCopyView(long Size, string Sha256, double DurationSeconds, double MiBPerSecond, DateTimeOffset At);

/// <summary>A running transfer: bytes at the target (sent, or resumed from an earlier attempt) of the tape's size, the
/// rate of the bytes sent, and the share of the target's bandwidth limit it may use (null: unlimited).</summary>
public sealed record TransferView(string Pool, string Volser, long Done, long Total, long BytesPerSecond, double? SecondsLeft, long? Share);

/// <param name="Mounted">null, "ring" or "noring".</param>
/// <param name="Transfer">while a transfer runs: its progress.</param>
public sealed record TapeView(
    string Pool,
    string Volser,
    string State,
    string? Mounted,
    int Attempts,
    int MaxAttempts,
    DateTimeOffset? DueSince,
    DateTimeOffset? NextAttemptAt,
    string? LastError,
    LastCopyView? LastCopy,
    TransferView? Transfer = null,
    string? Held = null);

public sealed record EventLogView(DateTimeOffset Time, string Severity, int MessageId, string Node, string? Pool, string? Volser, string Text);

/// <param name="Event">the event as our serializer wrote it (JSON object).</param>
public sealed record JournalEventView(long SequenceNr, string Manifest, DateTimeOffset Timestamp, JsonElement Event);

/// <summary>The cluster's license (R12; docs/configuration.md, License).</summary>
/// <param name="Site">the site id to give the issuer of a key, journaled at the cluster's first start.</param>
/// <param name="State">"licensed", "evaluation" or "held".</param>
/// <param name="Held">copies waiting for a license now.</param>
/// <param name="DaysLeft">days until the key expires (0: its last day), or until the evaluation ends.</param>
/// <param name="TestIssuer">the node trusts this repository's test issuer, whose private key is public: a build that is
/// not a release (a node of an earlier build does not say, and reads as false).</param>
public sealed record LicenseView(string Site, string State, bool CopiesAllowed, string Detail, string? Holder, IReadOnlyList<string> Features,
    DateOnly? Expires, DateOnly? EvaluationUntil, int Held, int? DaysLeft, bool TestIssuer = false);

/// <param name="Key">the license key's text (VTS1.…).</param>
public sealed record LicenseInstallRequest(string Key);

/// <summary>A target's throughput (bytes sent per second) and queue at one moment of the last hour.</summary>
public sealed record TargetSampleView(DateTimeOffset At, long BytesPerSecond, int Running, int Waiting);

/// <summary>A target over the whole cluster: its transfer slots, the bandwidth limit in force and where it comes from,
/// the running transfers and the last hour.</summary>
/// <param name="Limit">bytes per second; null is unlimited. <paramref name="LimitText"/> says it for people.</param>
/// <param name="LimitSource">"configuration", "schedule Mon-Fri 07:00-19:00", "override", "override until …".</param>
/// <param name="BytesPerSecond">the running transfers' rates added up.</param>
public sealed record TargetView(string Target, int Running, int Waiting, int Slots, long? Limit, string LimitText, string LimitSource,
    long BytesPerSecond, IReadOnlyList<TransferView> Transfers, IReadOnlyList<TargetSampleView> History);

/// <param name="Rate">"200MiB/s", "400Mbit/s", "unlimited", or "configured" (lift the override).</param>
/// <param name="For">how long the override holds ("30m", "2h", "1d"); none: until changed again.</param>
public sealed record ThrottleRequest(string Rate, string? For = null);

/// <param name="Owed">tapes whose copy is owed or failed, oldest first (at most 50): what waits, why, and since when.</param>
public sealed record StatusView(
    string Node,
    DateTimeOffset Now,
    IReadOnlyList<PoolView> Pools,
    IReadOnlyList<TargetView> Targets,
    IReadOnlyList<TapeView> Owed,
    IReadOnlyList<EventLogView> RecentEvents,
    long CopiesCompleted,
    long BytesCopied,
    double MiBPerSecondLastMinute,
    string? Held = null);
