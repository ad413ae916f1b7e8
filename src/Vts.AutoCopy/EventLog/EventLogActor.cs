using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Vts.AutoCopy.Serialization;

namespace Vts.AutoCopy.EventLog;

/// <summary>Asks for the newest entries, oldest first; answered with <see cref="RecentEntries"/>.</summary>
public sealed record GetRecentEntries(int Count) : IClusterMessage;

public sealed record RecentEntries(IReadOnlyList<EventLogEntry> Entries) : IClusterMessage;

/// <summary>Saved every <see cref="EventLogActor.SnapshotEvery"/> entries so recovery reads a bounded tail.</summary>
public sealed record EventLogSnapshot(IReadOnlyList<EventLogEntry> Recent, IReadOnlyList<string>? Keys = null);

/// <summary>The cluster's event log (docs/operations.md, Event log; docs/cluster.md): one journal for every node's entries, each naming its node, run
/// as a cluster singleton so that a keyed entry (R7's one error) is logged once even when the tape that reports it
/// moves to another node. Every node copies the journal into its own <c>event.log</c> (<see cref="EventLogFile"/>).
/// Senders just Tell; nothing waits on it.</summary>
public sealed class EventLogActor : ReceivePersistentActor
{
    public const int SnapshotEvery = 1000;
    private const int Kept = 1000;

    public const string PersistenceIdValue = "eventlog";

    private const int KeysKept = 10_000;
    private readonly Queue<EventLogEntry> _recent = new();
    private readonly Queue<string> _keyOrder = new();
    private readonly HashSet<string> _keys = [];

    public static Props Props() => Akka.Actor.Props.Create(() => new EventLogActor());

    public override string PersistenceId => PersistenceIdValue;

    public EventLogActor()
    {

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is not EventLogSnapshot s) return;
            foreach (var e in s.Recent) Keep(e);
            foreach (var key in s.Keys ?? []) Remember(key);
        });
        Recover<EventLogEntry>(Keep);

        Command<EventLogEntry>(entry =>
        {
            if (entry.Key is { } key && _keys.Contains(key))
            {
                Sender.Tell(new EntryLogged(key)); // logged before; its sender missed the answer
                return;
            }
            Persist(entry, e =>
            {
                Keep(e);
                if (e.Key is { } logged) Sender.Tell(new EntryLogged(logged));
                if (LastSequenceNr % SnapshotEvery == 0) SaveSnapshot(new EventLogSnapshot(_recent.ToList(), _keyOrder.ToList()));
            });
        });
        Command<GetRecentEntries>(q => Sender.Tell(new RecentEntries(_recent.TakeLast(Math.Max(0, q.Count)).ToList())));
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(f => Context.GetLogger().Warning(f.Cause, "event log snapshot not saved"));
    }

    private void Keep(EventLogEntry entry)
    {
        _recent.Enqueue(entry);
        while (_recent.Count > Kept) _recent.Dequeue();
        if (entry.Key is { } key) Remember(key);
    }

    private void Remember(string key)
    {
        if (!_keys.Add(key)) return;
        _keyOrder.Enqueue(key);
        while (_keyOrder.Count > KeysKept) _keys.Remove(_keyOrder.Dequeue());
    }

}

/// <summary>The VTS event-log line: <c>timestamp|severity|msgID|systemID|IP|server|user|program|text</c>, ≤ 255 chars.</summary>
public static class EventLogLine
{
    public const int MaxLength = 255;

    public static string Format(EventLogEntry e)
    {
        var where = (e.Pool, e.Volser) switch
        {
            ({ } p, { } v) => $"{p}/{v}: ",
            ({ } p, null) => $"{p}: ",
            _ => "",
        };
        var head = string.Join('|',
            e.Time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss"),
            e.Severity.ToString().ToUpperInvariant(),
            e.MessageId.ToString("D6"),
            Clean(e.Node), "127.0.0.1", Clean(Environment.MachineName), "vts", "AutoCopy", "");
        var line = head + Clean(where + e.Text);
        return line.Length <= MaxLength ? line : line[..(MaxLength - 1)] + "…";
    }

    // A pipe or a line break inside a field would break the layout for every reader of the file.
    private static string Clean(string s) => s.Replace('|', '/').Replace('\n', ' ').Replace('\r', ' ');
}
