using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace Vts.AutoCopy.Persistence;

/// <summary>Thrown when the journal cannot be used as it is; its message says what is wrong and how to recover, and
/// the node stops with it (exit code 2) instead of hanging, crashing, or starting with an empty journal.</summary>
public sealed class JournalUnusableException(string message) : Exception(message);

/// <summary>The embedded SQLite journal (<c>journal.db</c> in the state dir).
/// <para>It runs in WAL mode: readers (vtsctl, queries) never block the writer, and a commit is one append. The mode is
/// a property of the database file, so setting it once at start is enough.</para>
/// <para>A state dir remembers that it holds a journal (<see cref="MarkerName"/>, written once the node has run on
/// it), so a journal that is later missing or emptied stops the node instead of being replaced by an empty one that
/// forgets every owed copy. A damaged file is found at start by SQLite's own check of every page.</para></summary>
public static class EmbeddedJournal
{
    public const string FileName = "journal.db";
    public const string MarkerName = "journal.marker";

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

    /// <summary>Before the node opens the journal: refuses one that is gone or emptied while the state dir says it held
    /// one, and one that is damaged or unreadable.</summary>
    /// <exception cref="JournalUnusableException">with what is wrong and how to recover.</exception>
    public static void Check(string stateDir)
    {
        var database = Path.Combine(stateDir, FileName);
        var marker = Path.Combine(stateDir, MarkerName);
        var present = File.Exists(database) && new FileInfo(database).Length > 0;
        if (!present)
        {
            if (File.Exists(marker))
                throw new JournalUnusableException(
                    $"{database} is {(File.Exists(database) ? "empty" : "missing")}, but this state dir held a journal " +
                    $"({Printable(File.ReadLines(marker).FirstOrDefault())}). Restore journal.db from a backup; to start " +
                    $"with an empty journal on purpose, delete {marker} (every copy owed would be forgotten).");
            return; // a new state dir: the journal is created
        }
        string verdict;
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = database,
                Mode = SqliteOpenMode.ReadWrite,
                Pooling = false,
            }.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            // Every page of every table and index, without the slower cross-checks of integrity_check: a damaged page is
            // found here, not by the first recovery that happens to read it (which left the node hanging).
            command.CommandText = "PRAGMA quick_check(5);";
            using var rows = command.ExecuteReader();
            var problems = new List<string>();
            while (rows.Read()) problems.Add(rows.GetString(0));
            verdict = problems is ["ok"] ? "ok" : string.Join("; ", problems);
        }
        catch (SqliteException e)
        {
            verdict = e.Message;
        }
        if (verdict != "ok")
            throw new JournalUnusableException(
                $"{database} is damaged or unreadable ({Printable(verdict)}). Restore journal.db from a backup (with its " +
                $"-wal file, if there is one); or move it aside for analysis and, to start with an empty journal on " +
                $"purpose, delete {marker} too (every copy owed would be forgotten).");
    }

    /// <summary>After the node has run on its journal (its tables exist): the state dir remembers it holds one.</summary>
    public static void Remember(string stateDir)
    {
        var marker = Path.Combine(stateDir, MarkerName);
        if (File.Exists(marker)) return;
        File.WriteAllText(marker,
            $"journal.db first used {DateTimeOffset.UtcNow:u}\n" +
            "This file tells vts-node that this state dir holds a journal: if journal.db goes missing or empty, the node\n" +
            "refuses to start rather than forget every copy it owes. Delete it only to start afresh on purpose.\n");
    }

    private static string Printable(string? text) =>
        text is null ? "no date" : new string(text.Take(300).Select(c => char.IsControl(c) ? ' ' : c).ToArray());
}
