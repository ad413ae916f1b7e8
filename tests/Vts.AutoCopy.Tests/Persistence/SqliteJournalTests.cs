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
        return pluginAlone.WithFallback(config);
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
