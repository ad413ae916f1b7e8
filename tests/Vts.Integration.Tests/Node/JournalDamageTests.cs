using Vts.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Vts.Integration.Tests.Node;

/// <summary>A node's own journal (SQLite) damaged, truncated, emptied or gone: the node stops at once with exit code 2
/// and one message saying how to recover; it never hangs, crashes with a trace, or starts afresh owing nothing.</summary>
public sealed class JournalDamageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_damaged_truncated_emptied_or_missing_journal_stops_the_node_with_exit_2_and_how_to_recover()
    {
        await using var sshd = await Sshd.Create(start: false); // the target is down: every copy stays owed
        using var site = new NodeSite(sshd);
        const int owed = 300;
        await using (var node = NodeProcess.Start(site.ConfigFile))
        {
            using var ems = new EmsClient(await node.WaitUntilReady(StartTimeout));
            for (var i = 0; i < owed; i++) File.WriteAllBytes(site.Tape("POOL1", $"J{i:D5}"), new byte[1024]);
            for (var i = 0; i < owed; i++)
                Assert.True((await ems.Send(EmsClient.Dismount($"d-{i}", "POOL1", $"J{i:D5}"))).TryGetProperty("ack", out _));
            var exit = await node.Terminate(TimeSpan.FromSeconds(30));
            Assert.True(exit == 0, $"SIGTERM: exit {exit}; the end of the node's output:\n{string.Join('\n', node.Output.Split('\n').TakeLast(60))}");
        }
        var journal = Path.Combine(site.State, "journal.db");
        Assert.True(File.Exists(Path.Combine(site.State, "journal.marker")), "the state dir does not remember its journal");
        var pristine = Directory.CreateTempSubdirectory("vts-pristine-").FullName;
        foreach (var file in Directory.GetFiles(site.State)) File.Copy(file, Path.Combine(pristine, Path.GetFileName(file)));
        output.WriteLine($"journal.db: {new FileInfo(journal).Length} bytes");

        void Restore()
        {
            foreach (var file in Directory.GetFiles(site.State)) File.Delete(file);
            foreach (var file in Directory.GetFiles(pristine)) File.Copy(file, Path.Combine(site.State, Path.GetFileName(file)));
        }

        var damages = new (string Name, Action Damage, string Said)[]
        {
            ("emptied", () => File.WriteAllBytes(journal, []), "journal.db is empty, but this state dir held a journal"),
            ("deleted", () => File.Delete(journal), "journal.db is missing, but this state dir held a journal"),
            ("garbage in the middle", () =>
            {
                using var file = File.OpenWrite(journal);
                file.Seek(file.Length / 2 / 4096 * 4096, SeekOrigin.Begin);
                var garbage = new byte[16 * 1024];
                new Random(42).NextBytes(garbage);
                file.Write(garbage);
            }, "is damaged or unreadable"),
            ("truncated to half", () =>
            {
                using var file = File.OpenWrite(journal);
                file.SetLength(file.Length / 2);
            }, "is damaged or unreadable"),
        };
        foreach (var (name, damage, said) in damages)
        {
            Restore();
            File.Delete(journal + "-wal"); // what was written is in journal.db (a graceful stop checkpoints it)
            damage();
            output.WriteLine(name);
            Assert.Contains("Restore journal.db from a backup", await ExpectUnusable(site.ConfigFile, said));
        }

        // The journal as it was: the node starts and still owes every copy.
        Restore();
        await using var again = NodeProcess.Start(site.ConfigFile);
        await again.WaitUntilReady(StartTimeout);
        await Wait.Until(async () => await Fixtures.VtsCtl.Owed(again.AdminNode, "POOL1") == owed, TimeSpan.FromSeconds(60), "every copy still owed");
        Directory.Delete(pristine, true);
    }

    [Fact]
    public async Task A_node_whose_PostgreSQL_journal_was_dropped_stops_with_exit_2_instead_of_starting_afresh()
    {
        await using var sshd = await Sshd.Create(start: false); // the target is down: the copy stays owed
        await using var pg = await Postgres.Start();
        var connection = await pg.CreateDatabase("vts_dropped");
        using var site = new NodeSite(sshd, extra: $"journal {{ provider = postgresql, connection-string = \"{connection}\" }}");
        File.WriteAllBytes(site.Tape("POOL1", "P00001"), new byte[1024]);
        await using (var node = NodeProcess.Start(site.ConfigFile))
        {
            using var ems = new EmsClient(await node.WaitUntilReady(StartTimeout));
            Assert.True((await ems.Send(EmsClient.Dismount("p-1", "POOL1", "P00001"))).TryGetProperty("ack", out _));
            Assert.Equal(0, await node.Terminate(TimeSpan.FromSeconds(30)));
        }
        var marker = Path.Combine(site.State, "journal.postgresql.marker");
        Assert.True(File.Exists(marker), "the state dir does not remember its journal");

        // The database recreated empty (a restore gone wrong, a DBA's mistake): every copy owed would be forgotten.
        await using (var admin = new Npgsql.NpgsqlConnection(pg.ConnectionString("postgres")))
        {
            await admin.OpenAsync();
            await using var recreate = new Npgsql.NpgsqlCommand("DROP DATABASE vts_dropped WITH (FORCE); CREATE DATABASE vts_dropped", admin);
            await recreate.ExecuteNonQueryAsync();
        }
        await ExpectUnusable(site.ConfigFile, "has no journal, but this node journaled there before");

        // A node that never ran here (its own state dir) makes a new journal in that database: still not this node's.
        using (var newcomer = new NodeSite(sshd, extra: $"journal {{ provider = postgresql, connection-string = \"{connection}\" }}"))
        {
            await using var node = NodeProcess.Start(newcomer.ConfigFile);
            await node.WaitUntilReady(StartTimeout);
        }
        await ExpectUnusable(site.ConfigFile, "holds another journal, but this node journaled there before");

        // Starting afresh on purpose: the marker deleted, the node creates the journal and starts.
        File.Delete(marker);
        await using var fresh = NodeProcess.Start(site.ConfigFile);
        await fresh.WaitUntilReady(StartTimeout);
        Assert.Equal(0, await Fixtures.VtsCtl.Owed(fresh.AdminNode, "POOL1"));
    }

    /// <summary>The node stops at once with exit code 2 and one message (no stack trace) that says <paramref name="said"/>.</summary>
    private async Task<string> ExpectUnusable(string configFile, string said)
    {
        var (code, text) = await NodeProcess.RunToExit(["--config", configFile], TimeSpan.FromSeconds(60));
        output.WriteLine($"exit {code}: {text.Trim()}");
        Assert.Equal(2, code);
        Assert.Contains("journal unusable", text);
        Assert.Contains(said, text);
        Assert.DoesNotContain("   at ", text);
        return text;
    }
}
