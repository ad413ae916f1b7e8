using System.Globalization;
using System.Text;
using Akka;
using Akka.Actor;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace Vts.AutoCopy.EventLog;

/// <summary>Keeps <c>&lt;state-dir&gt;/event.log</c> on this node a copy of the cluster's event log, in the VTS layout
/// (docs/operations.md, Event log): it follows the event log's journal and appends each entry as a line, whichever node logged it. The
/// sequence number of the last line written is kept beside the file (<c>event.log.position</c>), so a restart goes on
/// where it stopped and a node that was down catches up. A file an older build wrote is kept and appended to.</summary>
public sealed class EventLogFile : ReceiveActor
{
    public const string FileName = "event.log";

    private readonly string _path;
    private readonly string _positionPath;
    private readonly Func<long, Source<EventEnvelope, NotUsed>> _journal;
    private UniqueKillSwitch? _following;
    private StreamWriter? _writer;
    private long _position;

    /// <param name="journal">the event log's events from a sequence number on, live: the read journal's
    /// <c>EventsByPersistenceId</c>.</param>
    public static Props Props(string stateDir, Func<long, Source<EventEnvelope, NotUsed>> journal) =>
        Akka.Actor.Props.Create(() => new EventLogFile(stateDir, journal));

    public EventLogFile(string stateDir, Func<long, Source<EventEnvelope, NotUsed>> journal)
    {
        _path = Path.Combine(stateDir, FileName);
        _positionPath = _path + ".position";
        _journal = journal;
        ReceiveAny(_ => { });
    }

    protected override void PreStart()
    {
        _position = ReadPosition();
        var writer = new StreamWriter(new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), new UTF8Encoding(false));
        // The journal may be away (a database restart): follow again from the last line written, with a back-off.
        var entries = RestartSource.OnFailuresWithBackoff(() => _journal(Interlocked.Read(ref _position) + 1),
            RestartSettings.Create(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15), 0.2));
        _following = entries
            .ViaMaterialized(KillSwitches.Single<EventEnvelope>(), Keep.Right)
            .ToMaterialized(Sink.ForEach<EventEnvelope>(envelope =>
            {
                if (envelope.Event is not EventLogEntry entry || envelope.SequenceNr <= Interlocked.Read(ref _position)) return;
                writer.WriteLine(EventLogLine.Format(entry));
                writer.Flush();
                Interlocked.Exchange(ref _position, envelope.SequenceNr);
                File.WriteAllText(_positionPath, envelope.SequenceNr.ToString(CultureInfo.InvariantCulture));
            }), Keep.Left)
            .Run(Context.Materializer());
        _writer = writer;
    }

    protected override void PostStop()
    {
        _following?.Shutdown();
        _writer?.Dispose();
    }

    /// <summary>A missing or unreadable position starts from the beginning: a line twice is better than a line lost.</summary>
    private long ReadPosition()
    {
        try
        {
            return File.Exists(_positionPath) && long.TryParse(File.ReadAllText(_positionPath).Trim(), NumberStyles.None,
                CultureInfo.InvariantCulture, out var position) ? position : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
