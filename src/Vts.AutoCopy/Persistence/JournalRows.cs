using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using Akka.Util;

namespace Vts.AutoCopy.Persistence;

/// <summary>An event as Akka.Persistence.Sql stores it in a row: its serializer's id, the manifest that serializer asks
/// for, the bytes, and its tags (which go in a table of their own).</summary>
internal sealed record JournalRow(IPersistentRepresentation Event, byte[] Message, string Manifest, int Identifier, IImmutableSet<string> Tags)
{
    /// <summary>When the event was written, in ticks, as the plugin keeps it.</summary>
    public long Created(long now) => Event.Timestamp == 0 ? now : Event.Timestamp;
}

/// <summary>Reads and writes rows exactly as the plugin does (same columns, serializers and manifests), so our statements
/// (<see cref="SqliteJournalStatements"/>, <see cref="PostgreSqlJournalStatements"/>) and the plugin's own queries,
/// deletes and <c>vtsctl journal</c> see one journal.</summary>
internal sealed class JournalRows(ExtendedActorSystem system, string? defaultSerializer)
{
    private Akka.Serialization.Serialization Serialization => system.Serialization;

    /// <summary>The plugin's table layout our statements know: tags in their own table, no schema, no metadata table
    /// taking part in the highest sequence number. Null for any other layout, which stays with the plugin.</summary>
    public static (JournalConfig Journal, SnapshotConfig Snapshot)? KnownLayout(Akka.Configuration.Config pluginConfig)
    {
        var journal = new JournalConfig(pluginConfig.WithFallback(SqlPersistence.DefaultJournalConfiguration));
        var snapshot = new SnapshotConfig(pluginConfig.WithFallback(SqlPersistence.DefaultSnapshotConfiguration));
        if (journal.PluginConfig.TagMode != TagMode.TagTable || journal.DaoConfig.SqlCommonCompatibilityMode
            || journal.TableConfig.SchemaName is { Length: > 0 } || snapshot.TableConfig.SchemaName is { Length: > 0 })
            return null;
        return (journal, snapshot);
    }

    /// <summary>Every event of the writes as a row; a write whose events cannot be serialized is rejected, alone, as the
    /// plugin answers it: one entry per atomic write, null or why.</summary>
    public (List<JournalRow> Rows, Exception?[] Rejections) Serialize(IReadOnlyList<AtomicWrite> writes)
    {
        var rows = new List<JournalRow>();
        var rejections = new Exception?[writes.Count];
        for (var i = 0; i < writes.Count; i++)
        {
            try
            {
                rows.AddRange(((IEnumerable<IPersistentRepresentation>)writes[i].Payload).Select(Serialize).ToList());
            }
            catch (Exception e)
            {
                rejections[i] = e;
            }
        }
        return (rows, rejections);
    }

    private JournalRow Serialize(IPersistentRepresentation e)
    {
        var (payload, tags) = e.Payload is Tagged tagged ? (tagged.Payload, tagged.Tags) : (e.Payload, ImmutableHashSet<string>.Empty);
        var serializer = Serialization.FindSerializerForType(payload.GetType(), defaultSerializer);
        var manifest = serializer switch
        {
            Akka.Serialization.SerializerWithStringManifest withManifest => withManifest.Manifest(payload),
            { IncludeManifest: true } => payload.GetType().TypeQualifiedName(),
            _ => string.Empty,
        };
        var message = Akka.Serialization.Serialization.WithTransport(system, () => serializer.ToBinary(payload));
        return new JournalRow(e, message, manifest, serializer.Identifier, tags);
    }

    /// <summary>A stored event as recovery hands it to its actor.</summary>
    public Persistent Event(string persistenceId, long sequenceNr, long created, byte[] message, int? serializerId, string manifest, string? writer) =>
        new(payload: Payload(message, serializerId, manifest), sequenceNr: sequenceNr, persistenceId: persistenceId, manifest: manifest,
            isDeleted: false, sender: ActorRefs.NoSender, writerGuid: writer, timestamp: created);

    /// <summary>As the plugin reads a payload: by the serializer id it was written with, or, for rows written before
    /// ids were kept, by the type named in the manifest.</summary>
    public object Payload(byte[] bytes, int? serializerId, string manifest)
    {
        if (serializerId is { } id) return Serialization.Deserialize(bytes, id, manifest);
        var type = Type.GetType(manifest, throwOnError: true)!;
        return Akka.Serialization.Serialization.WithTransport(system,
            () => Serialization.FindSerializerForType(type, defaultSerializer).FromBinary(bytes, type));
    }
}

/// <summary>The journal's hot statements, on the node's database: the insert of a group of events and the three reads of
/// every recovery (latest snapshot, highest sequence number, replay). Through the plugin each cost far more CPU than the
/// statement itself: linq2db builds the SQL anew every time, every replay materializes a stream and every write passes
/// through a stream queue. After a restart thousands of tapes recover at once, and a burst of EMS events for idle tapes
/// starts thousands of actors: those costs, not the database, bounded both.</summary>
internal interface IJournalStatements
{
    /// <summary>All the writes in one transaction. Answers, as the plugin does, one entry per atomic write: null, or
    /// why that write was rejected (its events could not be serialized); fails if the transaction failed.</summary>
    Task<IImmutableList<Exception?>> Write(IReadOnlyList<AtomicWrite> writes);

    Task<long> HighestSequenceNr(string persistenceId, long fromSequenceNr);

    Task Replay(string persistenceId, long fromSequenceNr, long toSequenceNr, long max, Action<IPersistentRepresentation> replayed);

    Task<SelectedSnapshot?> LatestSnapshot(string persistenceId, SnapshotSelectionCriteria criteria);
}

internal static class JournalStatements
{
    /// <summary>For a journal or snapshot store plugin section: SQLite's or PostgreSQL's statements, or null for any other
    /// database or table layout (the plugin's own statements then).</summary>
    public static IJournalStatements? For(Akka.Configuration.Config pluginConfig, ActorSystem system) =>
        (IJournalStatements?)SqliteJournalStatements.For(pluginConfig, system) ?? PostgreSqlJournalStatements.For(pluginConfig, system);
}
