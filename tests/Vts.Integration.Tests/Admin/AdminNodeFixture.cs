using System.Diagnostics;
using Vts.Integration.Tests.Fixtures;
using Vts.Testing;
using Xunit;

namespace Vts.Integration.Tests.Admin;

/// <summary>One running node for the operations tests: A00001 copied, F00001 failed for good (its volser sits in
/// another pool at the target, R14), both with real journal history.</summary>
public sealed class AdminNodeFixture : IAsyncLifetime
{
    public Sshd Sshd { get; private set; } = null!;
    public NodeSite Site { get; private set; } = null!;
    public NodeProcess Node { get; private set; } = null!;
    public System.Net.IPEndPoint Ems { get; private set; } = null!;
    public string CopiedSha { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Sshd = await Sshd.Create();
        Site = new NodeSite(Sshd, retryInterval: "1s", maxAttempts: 2);
        CopiedSha = TapeFiles.Write(Site.Tape("POOL1", "A00001"), 2 * 1024 * 1024);
        TapeFiles.Write(Site.Tape("POOL1", "F00001"), 1024);
        Directory.CreateDirectory(Path.Combine(Sshd.VaultRoot, "ELSEWHERE"));
        await File.WriteAllTextAsync(Path.Combine(Sshd.VaultRoot, "ELSEWHERE", "F00001"), "another tape");

        Node = NodeProcess.Start(Site.ConfigFile);
        Ems = await Node.WaitUntilReady(TimeSpan.FromSeconds(90));
        using var ems = new EmsClient(Ems);
        await ems.Send(EmsClient.Mount("a-1", "POOL1", "A00001"));
        await ems.Send(EmsClient.Dismount("a-2", "POOL1", "A00001"));
        await ems.Send(EmsClient.Dismount("f-1", "POOL1", "F00001"));
        await Eventually(() => File.Exists(Path.Combine(Sshd.VaultRoot, "DRPOOL1", "A00001")), "the copy of A00001");
        await Eventually(() => Site.EventLogLines().Any(l => l.Contains("|624004|")), "F00001 failing for good");
    }

    public static async Task Eventually(Func<bool> condition, string what, int seconds = 60)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds)) throw new TimeoutException($"not within {seconds} s: {what}");
            await Task.Delay(50);
        }
    }

    public async Task DisposeAsync()
    {
        await Node.DisposeAsync();
        Site.Dispose();
        await Sshd.DisposeAsync();
    }
}
