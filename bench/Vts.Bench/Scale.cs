using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Serialization;
using Vts.Testing;

namespace Vts.Bench;

/// <summary>Goal 4: a node whose journal holds the history of a million tapes in 100 pools, a thousand of them due.
/// The history is written straight into the journal file (the same rows the node writes, through our serializer),
/// because producing it through EMS would take hours; then the node starts on it.</summary>
public static class Scale
{
    public static async Task Run(Report report, string scratch, int tapes, int pools, int due)
    {
        report.Section($"4. Scale: {tapes:N0} known tapes in {pools} pools, {due:N0} due");
        await using var sshd = await Sshd.Create(start: false);
        await using var hole = new BlackHole();
        await using var node = new BenchNode(scratch, "scale-node", hole.Port, sshd.User, sshd.ClientKey, sshd.HostKeyFingerprint, "/vault",
            pools: pools, connectTimeout: "10m");
        await node.Start(); // creates the journal's tables
        await node.Kill();

        var writing = Stopwatch.StartNew();
        var rows = WriteHistory(Path.Combine(node.Dir, "state", "journal.db"), tapes, pools, due);
        var written = writing.Elapsed;
        for (var i = 0; i < due; i++)
        {
            var folder = Path.Combine(node.Vault, BenchNode.PoolName(i % pools));
            Directory.CreateDirectory(folder);
            await File.WriteAllBytesAsync(Path.Combine(folder, Volser(i)), new byte[1024]);
        }
        report.Note($"Journal prepared: {rows:N0} rows ({tapes:N0} tapes × mount, dismount, attempt, copy; then mount and dismount " +
                    $"again for the {due:N0} due ones; their pools' busy lists) in {written.TotalSeconds:F0} s, " +
                    $"{new FileInfo(Path.Combine(node.Dir, "state", "journal.db")).Length / 1048576.0:F0} MiB.");

        var clock = Stopwatch.StartNew();
        var ready = await node.Start();
        while (await node.Metric("vts_transfers_waiting", "target=\"dr\"") + await node.Metric("vts_transfers_in_flight", "target=\"dr\"") < due)
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(10)) throw new TimeoutException("the due copies never resumed");
            await Task.Delay(100);
        }
        var recovered = clock.Elapsed;
        var rss = node.Process!.ResidentBytes;
        report.Add(new Figure("node RSS while the due copies wait", $"{rss / 1048576.0:F0} MiB", "< 1 GiB", Stats.Met(rss < 1L << 30)));
        report.Add(new Figure("start-up: process start → EMS port open", $"{ready.TotalSeconds:F1} s", "report", "-"));
        report.Add(new Figure($"recovery: process start → all {due:N0} due copies queued", $"{recovered.TotalSeconds:F1} s", "report", "-",
            "idle tapes are never recovered: a pool wakes only its busy tapes"));
    }

    /// <summary>Base-36 volsers: a million fit in six characters.</summary>
    private static string Volser(int i)
    {
        const string digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        var chars = new char[6];
        for (var p = 5; p >= 0; p--) { chars[p] = digits[i % 36]; i /= 36; }
        return new string(chars);
    }

    private static long WriteHistory(string database, int tapes, int pools, int due)
    {
        using var db = new SqliteConnection($"Data Source={database}");
        db.Open();
        using var tx = db.BeginTransaction();
        using var insert = db.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = "INSERT INTO journal (created, deleted, persistence_id, sequence_number, message, manifest, identifier, writer_uuid) " +
                             "VALUES ($created, 0, $pid, $seq, $message, $manifest, 7400, 'bench')";
        var created = insert.Parameters.Add("$created", SqliteType.Integer);
        var pid = insert.Parameters.Add("$pid", SqliteType.Text);
        var seq = insert.Parameters.Add("$seq", SqliteType.Integer);
        var message = insert.Parameters.Add("$message", SqliteType.Blob);
        var manifest = insert.Parameters.Add("$manifest", SqliteType.Text);
        insert.Prepare();

        var serializer = new Dictionary<Type, string>
        {
            [typeof(MountRecorded)] = "tape.mount.v1", [typeof(DismountRecorded)] = "tape.dismount.v1",
            [typeof(AttemptStarted)] = "tape.attempt-started.v1", [typeof(CopyCompleted)] = "tape.copied.v1",
            [typeof(TapeActivated)] = "pool.activated.v1",
        };
        long rows = 0;
        void Write(string persistenceId, long sequence, object e)
        {
            created.Value = DateTime.UtcNow.Ticks;
            pid.Value = persistenceId;
            seq.Value = sequence;
            message.Value = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(e, e.GetType(), VtsSerializer.Json);
            manifest.Value = serializer[e.GetType()];
            insert.ExecuteNonQuery();
            rows++;
        }

        var at = DateTimeOffset.UtcNow.AddDays(-1);
        var sha = new string('0', 64);
        var poolSequence = new long[pools];
        for (var i = 0; i < tapes; i++)
        {
            var pool = BenchNode.PoolName(i % pools);
            var volser = Volser(i);
            var id = $"tape-{pool}-{volser}";
            Write(id, 1, new MountRecorded($"h-{i}-1", MountMode.Ring, at));
            Write(id, 2, new DismountRecorded($"h-{i}-2", true, at));
            Write(id, 3, new AttemptStarted(1, at));
            Write(id, 4, new CopyCompleted(1, 1024, sha, TimeSpan.FromMilliseconds(50), at));
            if (i >= due) continue;
            Write(id, 5, new MountRecorded($"h-{i}-5", MountMode.Ring, at.AddHours(1)));
            Write(id, 6, new DismountRecorded($"h-{i}-6", true, at.AddHours(1).AddSeconds(i)));
            Write($"pool-{pool}", ++poolSequence[i % pools], new TapeActivated(volser));
        }
        tx.Commit();
        return rows;
    }
}
