using System.Text.Json;
using System.Text.Json.Serialization;

namespace Vts.Admin.Contracts;

/// <summary>The node's admin HTTP API (SPEC §4.4), shared by the node that serves it and vtsctl that calls it.
/// Every body is JSON (camelCase). Errors come back as <see cref="ApiError"/> with a 4xx/5xx status.
/// Off loopback every request needs "Authorization: Bearer &lt;vts.admin.token&gt;" (401 without it).</summary>
public static class AdminApi
{
    public const string Cluster = "/api/cluster";                 // GET  → ClusterView
    public const string ClusterLeave = "/api/cluster/leave";      // POST AddressRequest → CommandResult
    public const string ClusterDown = "/api/cluster/down";        // POST AddressRequest → CommandResult
    public const string Actors = "/api/actors";                   // GET  → ActorTree
    public const string Pools = "/api/pools";                     // GET  → PoolView[]
    public const string Tapes = "/api/tapes";                     // GET  ?pool=P&state=S → TapeView[]
    public static string Tape(string pool, string volser) => $"/api/tapes/{pool}/{volser}";               // GET → TapeView
    public static string TapeRetry(string pool, string volser) => $"/api/tapes/{pool}/{volser}/retry";    // POST → CommandResult
    public const string EventLog = "/api/eventlog";               // GET  ?tail=N&since=ISO-8601 → EventLogView[]
    public const string JournalIds = "/api/journal/ids";          // GET  → string[]
    public static string JournalEvents(string persistenceId) => $"/api/journal/events/{Uri.EscapeDataString(persistenceId)}"; // GET → JournalEventView[]
    public const string License = "/api/license";                 // GET  → LicenseView
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
public sealed record PoolView(string Pool, string Node, string Target, string TargetPool, IReadOnlyDictionary<string, int> Counts, int Mounted);

public sealed record LastCopyView(long Size, string Sha256, double DurationSeconds, double MiBPerSecond, DateTimeOffset At);

/// <param name="Mounted">null, "ring" or "noring".</param>
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
    LastCopyView? LastCopy);

public sealed record EventLogView(DateTimeOffset Time, string Severity, int MessageId, string Node, string? Pool, string? Volser, string Text);

/// <param name="Event">the event as our serializer wrote it (JSON object).</param>
public sealed record JournalEventView(long SequenceNr, string Manifest, DateTimeOffset Timestamp, JsonElement Event);

public sealed record LicenseView(string Feature, string State, string Detail);

public sealed record TargetQueueView(string Target, int Running, int Waiting, int Slots);

/// <param name="Owed">tapes whose copy is owed or failed, oldest first (at most 50): what waits, why, and since when.</param>
public sealed record StatusView(
    string Node,
    DateTimeOffset Now,
    IReadOnlyList<PoolView> Pools,
    IReadOnlyList<TargetQueueView> Targets,
    IReadOnlyList<TapeView> Owed,
    IReadOnlyList<EventLogView> RecentEvents,
    long CopiesCompleted,
    long BytesCopied,
    double MiBPerSecondLastMinute);
