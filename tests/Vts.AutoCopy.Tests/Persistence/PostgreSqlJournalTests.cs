using Akka.Configuration;
using Vts.AutoCopy.Persistence;
using Vts.Testing;
using Xunit;

namespace Vts.AutoCopy.Tests.Persistence;

/// <summary>One throwaway PostgreSQL 15 server for these tests.</summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public Postgres Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await Postgres.Start();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

[CollectionDefinition(nameof(PostgreSqlJournalTests), DisableParallelization = true)]
public sealed class PostgreSqlJournalCollection : ICollectionFixture<PostgresServer>;

/// <summary>The cluster's journal: <see cref="JournalBehaviour"/> on a real PostgreSQL, configured as the node does
/// (<see cref="PersistenceConfig.PostgreSql"/>, tables made by <see cref="PostgreSqlSchema"/>), a database per test.</summary>
[Collection(nameof(PostgreSqlJournalTests))]
public sealed class PostgreSqlJournalTests(PostgresServer postgres) : JournalBehaviour(Prepare(postgres))
{
    private static Config Prepare(PostgresServer postgres)
    {
        var connectionString = postgres.Server.CreateDatabase().GetAwaiter().GetResult();
        PostgreSqlSchema.CreateAsync(connectionString, CancellationToken.None).GetAwaiter().GetResult();
        var pluginAlone = ConfigurationFactory.ParseString($$"""
            akka.persistence.journal.plugin-alone {
              class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
              connection-string = "{{connectionString}}"
              provider-name = "{{PostgreSqlSchema.ProviderName}}"
              auto-initialize = off
            }
            akka.loglevel = WARNING
            """);
        return pluginAlone.WithFallback(PersistenceConfig.PostgreSql(connectionString));
    }

    [Fact]
    public async Task Making_the_tables_again_and_from_several_nodes_at_once_changes_nothing()
    {
        var connectionString = await postgres.Server.CreateDatabase();
        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => PostgreSqlSchema.CreateAsync(connectionString, CancellationToken.None)));
        await PostgreSqlSchema.CreateAsync(connectionString, CancellationToken.None);

        await using var db = new Npgsql.NpgsqlConnection(connectionString);
        await db.OpenAsync();
        await using var indexes = new Npgsql.NpgsqlCommand(
            "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY tablename, indexname", db);
        var found = new List<string>();
        await using (var rows = await indexes.ExecuteReaderAsync())
            while (await rows.ReadAsync()) found.Add($"{rows.GetString(0)}.{rows.GetString(1)}");
        Assert.Equal([
            "journal.PK_journal", "journal.journal_created_idx", "journal.journal_sequence_number_idx", "journal.journal_uq",
            "snapshot.PK_snapshot", "snapshot.snapshot_created_idx", "snapshot.snapshot_sequence_number_idx",
            "tags.PK_tags", "tags.tags_persistence_id_sequence_nr_idx", "tags.tags_tag_idx",
        ], found);
    }

    [Theory]
    [InlineData("tag-write-mode = Csv")]
    [InlineData("delete-compatibility-mode = on")]
    [InlineData("default.schema-name = \"vts\"")]
    [InlineData("provider-name = \"SqlServer.2019\"")]
    public void Any_layout_but_the_plugins_default_on_postgresql_keeps_the_plugins_own_statements(string setting)
    {
        var journal = Sys.Settings.Config.GetConfig("akka.persistence.journal.sql");
        Assert.IsType<PostgreSqlJournalStatements>(JournalStatements.For(journal, Sys));
        Assert.Null(JournalStatements.For(ConfigurationFactory.ParseString(setting).WithFallback(journal), Sys));
    }
}
