using System.Collections.Concurrent;
using System.Security.Cryptography;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Vts.AutoCopy.Configuration;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.EventLog;
using Vts.AutoCopy.Reconcile;
using Vts.AutoCopy.Tests.CopyEngine;
using Xunit;

namespace Vts.AutoCopy.Tests.Reconcile;

/// <summary>A target pool as a reconcile sees it: the test says what is there (size and SHA-256 of each tape), and may
/// hold the target's hashing after some calls, as a slow target would, to stop a reconcile mid-pool.</summary>
public sealed class FakeTargetPool : ITargetListing
{
    public readonly ConcurrentDictionary<string, (long Size, string Sha256)> Files = new();
    /// <summary>Every volser the target was asked to hash, in order.</summary>
    public readonly ConcurrentQueue<string> Hashed = new();
    private int _freeCalls = int.MaxValue;
    private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Hashing calls answered before the rest wait for <see cref="Release"/>.</summary>
    public void HoldAfter(int calls)
    {
        _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _freeCalls = calls;
    }

    public void Release()
    {
        _freeCalls = int.MaxValue;
        _release.TrySetResult();
    }

    /// <summary>Listing fails with this (the target cannot be reached).</summary>
    public Exception? ListFault { get; set; }

    public Task<IReadOnlyList<TargetFile>> ListPool(TargetSettings target, PoolName targetPool, CancellationToken cancellation) =>
        ListFault is { } fault
            ? Task.FromException<IReadOnlyList<TargetFile>>(fault)
            : Task.FromResult<IReadOnlyList<TargetFile>>(Files.Select(f => new TargetFile(f.Key, f.Value.Size)).ToList());

    public async Task<IReadOnlyList<string?>> HashInPlace(TargetSettings target, PoolName targetPool, IReadOnlyList<string> volsers,
        CancellationToken cancellation)
    {
        if (Interlocked.Decrement(ref _freeCalls) < 0) await _release.Task.WaitAsync(cancellation);
        foreach (var volser in volsers) Hashed.Enqueue(volser);
        return volsers.Select(v => Files.TryGetValue(v, out var f) ? f.Sha256 : null).ToList();
    }
}

/// <summary>The pool's reconcile actor on the engine alone (in-memory journal, a fake target pool, real source files):
/// progress journaled slice by slice, picked up after a restart where it stopped, cancelled on request.</summary>
public sealed class PoolReconcileTests : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly string _vault = Directory.CreateTempSubdirectory("reconcile-").FullName;
    private readonly FakeTargetPool _target = new();
    private readonly Engine _engine;

    public PoolReconcileTests() : base(EngineHarness.TestConfig)
    {
        _engine = new Engine(this, EngineHarness.Settings(), vaultRoot: _vault, listing: _target);
        _engine.Transport.Always = _ => Engine.Copied;
        Directory.CreateDirectory(Path.Combine(_vault, "POOL1"));
    }

    /// <summary>100 tapes here (T00000–T00099), the same at the target unless <paramref name="there"/> says otherwise.</summary>
    private void Tapes(Func<string, byte[], byte[]?>? there = null)
    {
        for (var i = 0; i < 100; i++)
        {
            var volser = $"T{i:D5}";
            var bytes = RandomNumberGenerator.GetBytes(100 + i);
            File.WriteAllBytes(Path.Combine(_vault, "POOL1", volser), bytes);
            if ((there is null ? bytes : there(volser, bytes)) is { } atTarget)
                _target.Files[volser] = (atTarget.Length, Convert.ToHexStringLower(SHA256.HashData(atTarget)));
        }
    }

    private static byte[] Rotted(byte[] bytes)
    {
        var copy = bytes.ToArray();
        copy[7] ^= 0xFF;
        return copy;
    }

    private ReconcileAnswer Ask(IPoolCommand command) =>
        _engine.Pool(EngineHarness.Pool1).Ask<ReconcileAnswer>(command, Wait).GetAwaiter().GetResult();

    private ReconcileRun Current() => Ask(new GetReconcile(EngineHarness.Pool1)).Run!;

    [Fact]
    public void A_reconcile_cut_off_mid_pool_goes_on_after_the_last_volser_it_journaled_and_counts_nothing_twice()
    {
        Tapes((v, bytes) => v is "T00005" or "T00080" ? Rotted(bytes) : bytes);
        _target.HoldAfter(1); // the first slice of 64 is hashed; the second waits

        var started = Ask(new StartReconcile(EngineHarness.Pool1, DryRun: true, VerifyContent: true));
        Assert.True(started.Done, started.Detail);
        AwaitAssert(() => Assert.Equal(("T00063", 64), (Current().Through, Current().Checked)), Wait);
        var refused = Ask(new StartReconcile(EngineHarness.Pool1, DryRun: false, VerifyContent: false));
        Assert.False(refused.Done);
        Assert.Contains("running already", refused.Detail);

        _engine.Restart(); // the node stops with the second slice half done
        var hashedBefore = _target.Hashed.Count;
        _target.Release();
        var resumed = _engine.Pool(EngineHarness.Pool1); // recovers, and the reconcile with it
        AwaitAssert(() => Assert.Equal(ReconcileOutcome.Finished, Current().Outcome), Wait);

        var run = Current();
        Assert.Equal((100, 100, 100, 100), (run.Checked, run.Total, run.SourceTapes, run.TargetTapes));
        Assert.Equal(["T00005", "T00080"], run.ContentDiffers);
        Assert.Equal((2, 0, 0, 0), (run.ContentDiffersCount, run.MissingCount, run.SizeDiffersCount, run.Made));
        // After the restart, only what the journal did not say was checked is hashed again.
        Assert.Equal(Enumerable.Range(64, 36).Select(i => $"T{i:D5}"), _target.Hashed.Skip(hashedBefore));
        var journal = _engine.Journal(PoolReconcileActor.PersistenceIdFor(EngineHarness.Pool1));
        Assert.Single(journal.OfType<ReconcileStarted>());
        Assert.Equal(ReconcileOutcome.Finished, Assert.Single(journal.OfType<ReconcileEnded>()).Outcome);
        _engine.ExpectLog(MessageIds.ReconcileEnded);
        Assert.NotNull(resumed);
    }

    [Fact]
    public void A_reconcile_makes_each_difference_due_and_a_cancel_ends_it_with_those_copies_still_due()
    {
        Tapes((v, bytes) => v switch
        {
            "T00001" => null,          // lost at the target
            "T00002" => bytes[..10],   // another size there
            "T00003" => Rotted(bytes), // rotted there
            _ => bytes,
        });
        _target.Files["X00001"] = (5, new string('0', 64)); // only at the target
        _target.HoldAfter(1);

        Assert.True(Ask(new StartReconcile(EngineHarness.Pool1, DryRun: false, VerifyContent: true)).Done);
        AwaitAssert(() => Assert.Equal(64, Current().Checked), Wait);
        AwaitAssert(() => Assert.Equal(3, _engine.Transport.Count), Wait); // each difference copied as a dismount's copy is
        var run = Current();
        Assert.Equal((1, 1, 1, 3), (run.MissingCount, run.SizeDiffersCount, run.ContentDiffersCount, run.Made));

        var cancelled = Ask(new CancelReconcile(EngineHarness.Pool1));
        Assert.True(cancelled.Done, cancelled.Detail);
        Assert.Equal(ReconcileOutcome.Cancelled, cancelled.Run!.Outcome);
        Assert.Contains("cancelled after 64 of 101 tapes checked; the 3 copies it made due stay due", cancelled.Run.Detail);
        Assert.Contains("cancelled after 64", _engine.ExpectLog(MessageIds.ReconcileEnded).Text);
        Assert.False(Ask(new CancelReconcile(EngineHarness.Pool1)).Done); // nothing runs now

        // The next one starts afresh and sees the target pool's tape the source lacks: reported, never a copy.
        _target.Release();
        Assert.True(Ask(new StartReconcile(EngineHarness.Pool1, DryRun: true, VerifyContent: false)).Done);
        AwaitAssert(() => Assert.Equal(ReconcileOutcome.Finished, Current().Outcome), Wait);
        Assert.Equal(["X00001"], Current().OnlyAtTarget);
        Assert.True(Current().DryRun);
    }

    [Fact]
    public void A_target_that_cannot_be_listed_fails_the_reconcile_with_the_cause_in_the_event_log()
    {
        Assert.Null(Ask(new GetReconcile(EngineHarness.Pool1)).Run); // none has run
        _target.ListFault = new IOException("connection refused");
        Assert.True(Ask(new StartReconcile(EngineHarness.Pool1, DryRun: false, VerifyContent: false)).Done);
        var entry = _engine.ExpectLog(MessageIds.AuditFailed);
        Assert.Contains("reconcile of pool POOL1 against dr:DRPOOL1 failed: cannot list dr:DRPOOL1: connection refused", entry.Text);
        Assert.Equal(ReconcileOutcome.Failed, Current().Outcome);
    }

    [Fact]
    public void Pools_first_audits_are_spread_over_the_whole_interval_and_the_same_on_every_node()
    {
        var day = TimeSpan.FromHours(24);
        var firsts = Enumerable.Range(1, 240).Select(i => PoolSupervisor.FirstAudit(PoolName.Parse($"POOL{i:D2}"), day)).ToList();
        Assert.All(firsts, first => Assert.InRange(first, TimeSpan.Zero, day));
        // Names a site gives its pools differ in their last characters: every hour gets some, none more than thrice its share.
        var perHour = firsts.GroupBy(f => (int)f.TotalHours).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(24, perHour.Count);
        Assert.All(perHour.Values, count => Assert.InRange(count, 1, 30));
        // Twelve pools named alike are hours apart, not moments.
        var twelve = firsts.Take(12).Order().ToList();
        Assert.True(twelve[^1] - twelve[0] > TimeSpan.FromHours(12), $"POOL01-POOL12 within {twelve[^1] - twelve[0]}");
        Assert.Equal(firsts[0], PoolSupervisor.FirstAudit(PoolName.Parse("POOL01"), day));
    }

    public new void Dispose()
    {
        base.Dispose();
        Directory.Delete(_vault, recursive: true);
    }
}
