using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using System.Runtime.Serialization;
using Akka.Serialization;
using Vts.AutoCopy.Cluster;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Licensing;
using Vts.AutoCopy.Reconcile;

namespace Vts.AutoCopy.Serialization;

/// <summary>Serializes everything VtsActors journals. Each type has a short, versioned manifest that never
/// names a CLR type, so classes can be renamed or moved without orphaning the journal. A change of shape
/// gets a new manifest (".v2") and the old one keeps being read.</summary>
public sealed class VtsSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 7400;

    /// <summary>The HOCON that binds our persisted types to this serializer.</summary>
    public const string Hocon = """
        akka.actor {
          serializers.vts = "Vts.AutoCopy.Serialization.VtsSerializer, Vts.AutoCopy"
          serialization-bindings {
            "Vts.AutoCopy.CopyEngine.ITapeEvent, Vts.AutoCopy" = vts
            "Vts.AutoCopy.CopyEngine.TapeCopyState, Vts.AutoCopy" = vts
            "Vts.AutoCopy.CopyEngine.TapeActivated, Vts.AutoCopy" = vts
            "Vts.AutoCopy.CopyEngine.TapeSettledDown, Vts.AutoCopy" = vts
            "Vts.AutoCopy.CopyEngine.PoolSnapshot, Vts.AutoCopy" = vts
            "Vts.AutoCopy.EventLog.EventLogEntry, Vts.AutoCopy" = vts
            "Vts.AutoCopy.EventLog.EventLogSnapshot, Vts.AutoCopy" = vts
            "Vts.AutoCopy.CopyEngine.ThrottleChanged, Vts.AutoCopy" = vts
            "Vts.AutoCopy.Licensing.SiteEstablished, Vts.AutoCopy" = vts
            "Vts.AutoCopy.Licensing.LicenseInstalled, Vts.AutoCopy" = vts
            "Vts.AutoCopy.Reconcile.IReconcileEvent, Vts.AutoCopy" = vts
            "Vts.AutoCopy.Reconcile.ReconcileSnapshot, Vts.AutoCopy" = vts
            "Vts.AutoCopy.Serialization.IClusterMessage, Vts.AutoCopy" = vts
          }
          serialization-identifiers { "Vts.AutoCopy.Serialization.VtsSerializer, Vts.AutoCopy" = 7400 }
        }
        """;

    private static readonly FrozenDictionary<string, Type> TypeOf = new Dictionary<string, Type>
    {
        ["tape.mount.v1"] = typeof(MountRecorded),
        ["tape.dismount.v1"] = typeof(DismountRecorded),
        ["tape.mount-withdrawn.v1"] = typeof(MountWithdrawn),
        ["tape.attempt-started.v1"] = typeof(AttemptStarted),
        ["tape.attempt-failed.v1"] = typeof(AttemptFailed),
        ["tape.attempt-cancelled.v1"] = typeof(AttemptCancelled),
        ["tape.copied.v1"] = typeof(CopyCompleted),
        ["tape.failed.v1"] = typeof(CopyFailed),
        ["tape.retry.v1"] = typeof(RetryRequested),
        ["tape.copy-requested.v1"] = typeof(CopyRequested),
        ["tape.failure-reported.v1"] = typeof(FailureReported),
        ["tape.state.v1"] = typeof(TapeCopyState),
        ["pool.activated.v1"] = typeof(TapeActivated),
        ["pool.settled.v1"] = typeof(TapeSettledDown),
        ["pool.snapshot.v1"] = typeof(PoolSnapshot),
        ["eventlog.entry.v1"] = typeof(EventLogEntry),
        ["eventlog.snapshot.v1"] = typeof(EventLogSnapshot),
        ["license.site.v1"] = typeof(SiteEstablished),
        ["license.installed.v1"] = typeof(LicenseInstalled),
        ["reconcile.started.v1"] = typeof(ReconcileStarted),
        ["reconcile.checked.v1"] = typeof(ReconcileChecked),
        ["reconcile.ended.v1"] = typeof(ReconcileEnded),
        ["reconcile.snapshot.v1"] = typeof(ReconcileSnapshot),
        // Messages between nodes (IClusterMessage): never journaled, but two nodes of different builds may meet
        // during a rolling upgrade, so they are versioned the same way.
        ["msg.mount.v1"] = typeof(RecordMount),
        ["msg.dismount.v1"] = typeof(RecordDismount),
        ["msg.mount-withdrawn.v1"] = typeof(RecordMountWithdrawn),
        ["msg.mount-accepted.v1"] = typeof(RecordMountAccepted),
        ["msg.journaled.v1"] = typeof(TapeEventJournaled),
        ["msg.retry.v1"] = typeof(RetryCopy),
        ["msg.retry-answer.v1"] = typeof(RetryAnswer),
        ["msg.request-copy.v1"] = typeof(RequestCopy),
        ["msg.request-copy-answer.v1"] = typeof(CopyRequestAnswer),
        ["msg.tape-status?.v1"] = typeof(GetTapeStatus),
        ["msg.tape-status.v1"] = typeof(TapeStatus),
        ["msg.pool-summary?.v1"] = typeof(GetPoolSummary),
        // Still v1 though its fields changed: every node asks every pool for it before it takes events, so nodes of the
        // earlier build and this one must read each other's (each reads the other's fields it lacks as empty).
        ["msg.pool-summary.v1"] = typeof(PoolSummary),
        ["msg.pool-tapes?.v1"] = typeof(GetPoolTapes),
        ["msg.pool-tapes.v1"] = typeof(PoolTapes),
        ["msg.slot-request.v1"] = typeof(RequestTransferSlot),
        ["msg.slot-held.v1"] = typeof(HoldingTransferSlot),
        ["msg.slot-queued.v1"] = typeof(TransferSlotQueued),
        ["msg.slot-granted.v1"] = typeof(TransferSlotGranted),
        ["msg.slot-release.v1"] = typeof(ReleaseTransferSlot),
        ["msg.slot-share.v1"] = typeof(TransferShare),
        ["msg.slot-progress.v1"] = typeof(TransferProgress),
        ["msg.throttle.v1"] = typeof(ThrottleTarget),
        ["msg.throttle-answer.v1"] = typeof(ThrottleAnswer),
        ["gate.throttle.v1"] = typeof(ThrottleChanged),
        ["msg.gate-status?.v1"] = typeof(GetGateStatus),
        ["msg.gate-status.v1"] = typeof(GateStatus),
        ["msg.shared-settings?.v1"] = typeof(GetSharedSettings),
        ["msg.shared-settings.v1"] = typeof(SharedSettings),
        ["msg.eventlog-logged.v1"] = typeof(EntryLogged),
        ["msg.eventlog-recent?.v1"] = typeof(GetRecentEntries),
        ["msg.eventlog-recent.v1"] = typeof(RecentEntries),
        ["msg.license-install.v1"] = typeof(InstallLicense),
        ["msg.license-install-answer.v1"] = typeof(LicenseInstallAnswer),
        ["msg.license?.v1"] = typeof(GetLicense),
        ["msg.license.v1"] = typeof(LicenseState),
        ["msg.reconcile-start.v1"] = typeof(StartReconcile),
        ["msg.reconcile?.v1"] = typeof(GetReconcile),
        ["msg.reconcile-cancel.v1"] = typeof(CancelReconcile),
        ["msg.reconcile.v1"] = typeof(ReconcileAnswer),
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<Type, string> ManifestOf =
        TypeOf.ToFrozenDictionary(kv => kv.Value, kv => kv.Key);

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public override int Identifier => Id;

    public override string Manifest(object o) =>
        ManifestOf.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"VtsSerializer has no manifest for {o.GetType()}");

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Json);

    public override object FromBinary(byte[] bytes, string manifest) =>
        TypeOf.TryGetValue(manifest, out var type)
            ? JsonSerializer.Deserialize(bytes, type, Json) ?? throw new SerializationException($"empty payload for {manifest}")
            : throw new SerializationException($"unknown manifest '{manifest}'");
}
