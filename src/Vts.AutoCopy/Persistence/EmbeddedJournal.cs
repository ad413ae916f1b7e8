using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace Vts.AutoCopy.Persistence;

/// <summary>The embedded SQLite journal runs in WAL mode: readers (vtsctl, queries) never block the writer, and a
/// commit is one append. The mode is a property of the database file, so setting it once at start is enough.</summary>
public static class EmbeddedJournal
{
    public static void EnableWriteAheadLog(Config akka)
    {
        if (akka.GetString("akka.persistence.journal.plugin") != "akka.persistence.journal.sql") return;
        if (akka.GetString("akka.persistence.journal.sql.provider-name") is not { } provider || !provider.StartsWith("SQLite")) return;
        using var connection = new SqliteConnection(akka.GetString("akka.persistence.journal.sql.connection-string"));
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }
}
