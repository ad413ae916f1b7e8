using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Microsoft.Data.Sqlite;
using Vts.AutoCopy.Persistence;
using Xunit;

namespace Vts.AutoCopy.Tests.Persistence;

/// <remarks>Alone: run beside the other test classes, on 2 cores, these stalled now and then for 20 s to over a minute
/// while many actors recovered at once on a fresh database (seen before and after the journal's own statements).</remarks>
[CollectionDefinition(nameof(SqliteJournalTests), DisableParallelization = true)]
public sealed class SqliteJournalCollection;

/// <summary>The node's own journal set-up on a real SQLite file (group commit, its own statements): the shared
/// <see cref="JournalBehaviour"/>, and what only SQLite needs: recoveries read without its write lock, the write-ahead
/// log is checkpointed, and any table layout our statements do not know stays with the plugin's.</summary>
[Collection(nameof(SqliteJournalTests))]
public sealed class SqliteJournalTests : JournalBehaviour
{
    private static string? _prepared;
    private readonly string _database;

    public SqliteJournalTests() : base(Prepare())
    {
        _database = _prepared!;
    }

    /// <summary>A fresh database in WAL mode before the actor system opens it, as the node does: switching the mode
    /// needs the file to itself.</summary>
    private static Config Prepare()
    {
        _prepared = Path.Combine(Directory.CreateTempSubdirectory("vts-journal-").FullName, "journal.db");
        var config = PersistenceConfig.Sqlite(_prepared);
        EmbeddedJournal.EnableWriteAheadLog(config);
        // Akka.Persistence.Sql's own journal on the same file, as journals written before our statements were.
        var pluginAlone = ConfigurationFactory.ParseString($$"""
            akka.persistence.journal.plugin-alone {
              class = "{{typeof(Akka.Persistence.Sql.Journal.SqlWriteJournal).AssemblyQualifiedName}}"
              connection-string = "Data Source={{_prepared}}"
              provider-name = "SQLite.MS"
            }
            akka.loglevel = WARNING
            """);
        // A small bound on the write-ahead log, so that a test can write past it in seconds.
        var smallLog = ConfigurationFactory.ParseString($"akka.persistence.journal.sql.wal-size-limit = {WalLimit}");
        return smallLog.WithFallback(pluginAlone).WithFallback(config);
    }

    [Fact]
    public void A_recovery_reads_while_another_connection_holds_the_write_lock()
    {
        var first = StartRecovered("locked-reader");
        Wrote(first, new Write(3));
        Stop(first);

        using var writer = new SqliteConnection($"Data Source={_database}");
        writer.Open();
        using var transaction = writer.BeginTransaction(); // BEGIN IMMEDIATE: holds SQLite's one write lock
        Start("locked-reader");
        // A read begun as IMMEDIATE would wait for that lock until Microsoft.Data.Sqlite's 30 s timeout.
        var recovered = ExpectMsg<Recovered>(Dilated(TimeSpan.FromSeconds(10)));
        Assert.Equal(3, recovered.LastSequenceNr);
        Assert.Equal(["locked-reader:1", "locked-reader:2", "locked-reader:3"], recovered.Events);
        transaction.Rollback();
    }

    [Theory]
    [InlineData("tag-write-mode = Csv")]
    [InlineData("tag-write-mode = Both")]
    [InlineData("delete-compatibility-mode = on")]
    [InlineData("default.schema-name = \"vts\"")]
    [InlineData("provider-name = \"PostgreSQL.15\"")]
    public void Any_layout_but_the_plugins_default_on_sqlite_keeps_the_plugins_own_statements(string setting)
    {
        var journal = Sys.Settings.Config.GetConfig("akka.persistence.journal.sql");
        Assert.NotNull(SqliteJournalStatements.For(journal, Sys));
        Assert.Null(SqliteJournalStatements.For(ConfigurationFactory.ParseString(setting).WithFallback(journal), Sys));
    }

    private const int WalLimit = 256 * 1024;

    [Fact]
    public void The_write_ahead_log_stays_bounded_under_steady_writes_while_readers_always_hold_it()
    {
        // Readers that overlap (one always open, as vtsctl, queries and recoveries can be) never let a passive
        // checkpoint finish: SQLite then has no moment to start the log over, and it grew by every write.
        var writer = StartRecovered("bounded-log");
        Wrote(writer, new Write(1)); // the tables made
        using var stop = new CancellationTokenSource();
        var readers = Task.Run(() => ReadWithoutGaps(_database, stop.Token));
        var wal = new FileInfo(_database + "-wal");
        long largest = 0;
        try
        {
            for (var round = 0; round < 60; round++)
            {
                writer.Tell(new Write(200));
                ExpectMsg<Written>(Dilated(TimeSpan.FromSeconds(20)));
                wal.Refresh();
                largest = Math.Max(largest, wal.Exists ? wal.Length : 0);
            }
            AwaitAssert(() =>
            {
                Wrote(writer, new Write(50));
                wal.Refresh();
                Assert.True(wal.Length <= WalLimit, $"the write-ahead log is {wal.Length} bytes (largest seen {largest}), over its limit {WalLimit}");
            }, Dilated(TimeSpan.FromSeconds(15)), TimeSpan.FromMilliseconds(300));
        }
        finally
        {
            stop.Cancel();
            readers.Wait();
        }
        // Every event written is in the journal and recovers (the checkpoints lost none of them).
        Stop(writer);
        Start("bounded-log");
        var recovered = ExpectMsg<Recovered>(Dilated(TimeSpan.FromSeconds(30)));
        Assert.True(recovered.LastSequenceNr > 60 * 200);
        Assert.Equal(recovered.LastSequenceNr, recovered.Events.Count);
        Assert.Equal(recovered.LastSequenceNr, CountEvents("bounded-log"));
    }

    /// <summary>Two connections taking turns so that one read transaction is always open, each holding its snapshot a
    /// little while the other begins.</summary>
    private static void ReadWithoutGaps(string database, CancellationToken stop)
    {
        using var a = new SqliteConnection($"Data Source={database}");
        using var b = new SqliteConnection($"Data Source={database}");
        a.Open();
        b.Open();
        var (holding, next) = (a.BeginTransaction(deferred: true), (SqliteConnection?)b);
        Count(a);
        while (!stop.IsCancellationRequested)
        {
            var other = next == a ? a : b;
            var started = other.BeginTransaction(deferred: true);
            Count(other); // the read begins: a snapshot of the log as it is now
            holding.Rollback();
            holding.Dispose();
            holding = started;
            next = other == a ? b : a;
            Thread.Sleep(20);
        }
        holding.Rollback();
        holding.Dispose();

        static void Count(SqliteConnection connection)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM journal";
            command.ExecuteScalar();
        }
    }

    private long CountEvents(string id)
    {
        using var connection = new SqliteConnection($"Data Source={_database}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM journal WHERE persistence_id = $id";
        command.Parameters.AddWithValue("$id", id);
        return (long)command.ExecuteScalar()!;
    }

    [Fact]
    public void The_write_ahead_log_is_copied_into_the_database_while_writes_go_on()
    {
        var writer = StartRecovered("checkpointed");
        var before = new FileInfo(_database).Length;
        writer.Tell(new Write(200));
        ExpectMsg<Written>(Dilated(TimeSpan.FromSeconds(20)));
        // Commits never checkpoint (that stalled them); a reader thread does, about once a second, after a write.
        AwaitAssert(() =>
        {
            Wrote(writer, new Write(1));
            Assert.True(new FileInfo(_database).Length > before, "the database file never grew: the log was not checkpointed");
        }, Dilated(TimeSpan.FromSeconds(10)), TimeSpan.FromMilliseconds(300));
    }
}
