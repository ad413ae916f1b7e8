using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Upgrade;

/// <summary>Upgrades lose nothing: a state dir written by the previous build keeps every due copy.</summary>
public sealed class UpgradeTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    /// <summary>The previous build kept Cluster Sharding's coordinator in the journal (state-store-mode = persistence);
    /// this one keeps it in distributed data and journals only the remembered pools, read once from the old
    /// coordinator's events and marked migrated. Its four due copies (Data/README.md) must arrive, with no new event.</summary>
    [Fact]
    public async Task A_journal_written_by_the_one_node_build_before_the_cluster_brings_back_every_due_copy()
    {
        await using var sshd = await Sshd.Create();
        using var site = new NodeSite(sshd, retryInterval: "5m", maxAttempts: 12);
        Directory.CreateDirectory(site.State);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Upgrade", "Data", "journal-v1.db"), Path.Combine(site.State, "journal.db"));
        var due = new[] { ("POOL1", "A00001"), ("POOL1", "A00002"), ("POOL2", "B00001"), ("POOL2", "B00002") };
        var shas = due.ToDictionary(t => t.Item2, t => TapeFiles.Write(site.Tape(t.Item1, t.Item2), 4096, seed: t.Item2.GetHashCode()));
        TapeFiles.Write(site.Tape("POOL1", "A00003"), 4096); // mounted when the old node died: not due

        await using var node = NodeProcess.Start(site.ConfigFile);
        await node.WaitUntilReady(StartTimeout);

        foreach (var (pool, volser) in due)
        {
            var copy = Path.Combine(sshd.VaultRoot, pool == "POOL1" ? "DRPOOL1" : "DRPOOL2", volser);
            await Wait.Until(() => File.Exists(copy), TimeSpan.FromSeconds(60), $"{pool}/{volser} at the target");
            Assert.Equal(shas[volser], TapeFiles.Sha256(copy));
        }
        Assert.False(File.Exists(Path.Combine(sshd.VaultRoot, "DRPOOL1", "A00003")), "a mounted tape is not copied");
        // The old coordinator's history was read and the migration marked after it, once.
        Assert.Contains("SM", site.JournalManifests("/system/sharding/poolCoordinator/singleton/coordinator"));
        // A state dir from before the journal marker gets one: from now on, losing journal.db stops the node.
        Assert.True(File.Exists(Path.Combine(site.State, "journal.marker")));
    }
}
