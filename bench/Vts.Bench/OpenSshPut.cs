using Vts.Testing;

namespace Vts.Bench;

/// <summary>OpenSSH's `sftp put` of one file to a test sshd, with the cipher OpenSSH would pick fastest here: the peer
/// every copy figure is set beside.</summary>
public sealed class OpenSshPut
{
    private readonly Sshd _sshd;
    private readonly string _batch;
    private readonly string _knownHosts;
    private readonly long _bytes;

    public string Target { get; }

    private OpenSshPut(Sshd sshd, string batch, string knownHosts, string target, long bytes)
    {
        (_sshd, _batch, _knownHosts, Target, _bytes) = (sshd, batch, knownHosts, target, bytes);
    }

    /// <param name="scratch">a folder of the bench's own, for the batch and known_hosts files.</param>
    public static async Task<OpenSshPut> For(Sshd sshd, string source, string scratch)
    {
        var knownHosts = Path.Combine(scratch, "known_hosts");
        await File.WriteAllTextAsync(knownHosts, $"[{sshd.Host}]:{sshd.Port} {await File.ReadAllTextAsync(sshd.HostKey + ".pub")}");
        var batch = Path.Combine(scratch, "put.batch");
        var target = Path.Combine(sshd.VaultRoot, "openssh.put");
        await File.WriteAllTextAsync(batch, $"put {source} {target}\n");
        return new OpenSshPut(sshd, batch, knownHosts, target, new FileInfo(source).Length);
    }

    /// <summary>One put, the whole process; its seconds.</summary>
    public double Run()
    {
        File.Delete(Target);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Machine.Run("sftp", "-q", "-b", _batch, "-i", _sshd.ClientKey, "-P", _sshd.Port.ToString(),
            "-o", $"UserKnownHostsFile={_knownHosts}", "-o", "StrictHostKeyChecking=yes", "-o", "Ciphers=aes128-gcm@openssh.com",
            $"{_sshd.User}@{_sshd.Host}");
        if (new FileInfo(Target).Length != _bytes) throw new InvalidOperationException("sftp put did not copy the file");
        return clock.Elapsed.TotalSeconds;
    }
}
