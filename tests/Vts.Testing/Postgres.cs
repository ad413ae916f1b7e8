using System.Diagnostics;
using Npgsql;

namespace Vts.Testing;

/// <summary>A throwaway PostgreSQL 15 server on 127.0.0.1, as Debian's postgresql-15 installs it: initdb into a fresh
/// folder, pg_ctl start on a free port, one database per <see cref="CreateDatabase"/>. As root the server runs as the
/// postgres user (it refuses to run as root), so its folder is opened up to that user. Stop and Start simulate an
/// outage of the cluster's journal.</summary>
public sealed class Postgres : IAsyncDisposable
{
    public const string BinDir = "/usr/lib/postgresql/15/bin";
    public string Dir { get; }
    public int Port { get; }
    private string Data => Path.Combine(Dir, "data");
    private static bool AsRoot => Environment.UserName == "root";

    private Postgres(string dir, int port)
    {
        Dir = dir;
        Port = port;
    }

    public static async Task<Postgres> Start()
    {
        var dir = Directory.CreateTempSubdirectory("vts-pg-").FullName;
        // mktemp folders are 0700; the postgres user must reach its data folder and socket folder.
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute | UnixFileMode.OtherWrite);
        var pg = new Postgres(dir, Sshd.FreePort());
        await pg.Run("initdb", "-A", "trust", "-U", "postgres", "-D", pg.Data, "--no-sync", "-E", "UTF8");
        await pg.StartServer();
        return pg;
    }

    /// <summary>A new, empty database; its Npgsql connection string.</summary>
    public async Task<string> CreateDatabase(string? name = null)
    {
        name ??= "vts_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await create.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Timeout=5;Command Timeout=10";

    public async Task StartServer()
    {
        await Run("pg_ctl", "-D", Data, "-w", "-t", "30", "-l", Path.Combine(Dir, "server.log"), "start",
            "-o", $"-p {Port} -c listen_addresses=127.0.0.1 -k {Dir} -c fsync=off -c max_connections=300");
        // This process's own pooled connections died with the server it last ran (57P01 on first use): forget them.
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>A fast shutdown: sessions are ended (clients see 57P01), as in a database restart.</summary>
    public Task StopServer() => Run("pg_ctl", "-D", Data, "-w", "-t", "30", "-m", "fast", "stop");

    private async Task Run(string tool, params string[] args)
    {
        var info = AsRoot ? new ProcessStartInfo("runuser", ["-u", "postgres", "--", Path.Combine(BinDir, tool), .. args])
                          : new ProcessStartInfo(Path.Combine(BinDir, tool), args);
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.WorkingDirectory = Dir;
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{tool} failed ({p.ExitCode}): {await stdout}{await stderr}");
    }

    public async ValueTask DisposeAsync()
    {
        try { await StopServer(); } catch (InvalidOperationException) { }
        try { Directory.Delete(Dir, true); } catch (IOException) { }
    }
}
