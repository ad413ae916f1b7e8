using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Vts.AutoCopy.Persistence;
using Vts.Testing;

namespace Vts.Bench;

/// <summary>#13: a node on SQLite checks every page of its journal at start (<see cref="EmbeddedJournal.Check"/>), so a
/// damaged file stops it with one message instead of a hang. What that costs on a journal of 4 million rows, with the
/// file in the page cache and read from disk.</summary>
public static class JournalCheckBench
{
    public static async Task Run(Report report, string scratch, int rows)
    {
        report.Section("10. Start-up check of the embedded journal (PRAGMA quick_check)");
        await using var sshd = await Sshd.Create(start: false);
        // The node's own file, tables and indexes: it is started once on an empty state dir, then filled.
        var state = Path.Combine(scratch, "journal-check", "state");
        await using (var node = new BenchNode(scratch, "journal-check", sshd.Port, sshd.User, sshd.ClientKey, sshd.HostKeyFingerprint, sshd.VaultRoot))
        {
            await node.Start();
            Console.Error.WriteLine($"[10] node {await node.Process!.Terminate(TimeSpan.FromSeconds(60))}");
        }
        var database = Path.Combine(state, EmbeddedJournal.FileName);
        var fill = Stopwatch.StartNew();
        Fill(database, rows);
        var megabytes = new FileInfo(database).Length / 1e6;
        Console.Error.WriteLine($"[10] {rows:N0} rows, {megabytes:N0} MB in {fill.Elapsed.TotalSeconds:F0} s");

        EmbeddedJournal.Check(state); // the file in the page cache, as after a restart of the node alone
        var warm = Timed(() => EmbeddedJournal.Check(state));
        report.Add(new Figure($"quick_check, {rows:N0}-row journal ({megabytes:N0} MB), file in the page cache", $"{warm:F1} s", "-", "-",
            "every page of every table and index read once; what a restart of the node alone costs"));
        if (DropPageCache())
        {
            var cold = Timed(() => EmbeddedJournal.Check(state));
            report.Add(new Figure($"quick_check, same journal, read from disk", $"{cold:F1} s", "-", "-",
                "the page cache dropped first, as after a reboot of the machine"));
        }
        else report.Note("The page cache could not be dropped here (/proc/sys/vm/drop_caches not writable): no cold figure.");
        report.Note("Rows as the node writes them (a tape's events of about 130 bytes, four per tape; the node tags none); the check " +
            "runs before the actor system starts, so it adds to the time until the EMS port opens.");
    }

    private static double Timed(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }

    private static void Fill(string database, int rows)
    {
        using var connection = new SqliteConnection($"Data Source={database};Pooling=false");
        connection.Open();
        using var transaction = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.CommandText = """
            INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid)
            VALUES ($created, 0, $id, $seq, $message, 'tape.dismount.v1', 7400, $writer);
            """;
        var created = insert.Parameters.Add("$created", SqliteType.Integer);
        var id = insert.Parameters.Add("$id", SqliteType.Text);
        var seq = insert.Parameters.Add("$seq", SqliteType.Integer);
        var message = insert.Parameters.Add("$message", SqliteType.Blob);
        insert.Parameters.AddWithValue("$writer", Guid.NewGuid().ToString());
        var random = new Random(13);
        var bytes = new byte[130];
        var start = DateTime.UtcNow.Ticks;
        for (var row = 0; row < rows; row++)
        {
            random.NextBytes(bytes);
            created.Value = start + row;
            id.Value = $"tape-P{row / 4 % 100:D3}-V{row / 400:D5}";
            seq.Value = row % 4 + 1;
            message.Value = bytes;
            insert.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    private static bool DropPageCache()
    {
        try
        {
            Process.Start("sync")!.WaitForExit();
            File.WriteAllText("/proc/sys/vm/drop_caches", "3");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
