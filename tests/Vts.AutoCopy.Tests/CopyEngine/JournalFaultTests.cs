using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence.TestKit;
using Akka.TestKit.Xunit2;
using Vts.AutoCopy.CopyEngine;
using Vts.AutoCopy.Domain;
using Vts.AutoCopy.Transport;
using Xunit;
using static Vts.AutoCopy.Tests.CopyEngine.EngineHarness;

namespace Vts.AutoCopy.Tests.CopyEngine;

/// <summary>A journal that fails one tape's writes (Akka.Persistence.TestKit's journal): the tape's actor stops, as it
/// must, since it can no longer say what it journaled; the pool keeps the copy owed and starts the tape again itself.</summary>
public sealed class JournalFaultTests() : TestKit(FaultyJournal)
{
    /// <summary>The test journal's control messages carry the test's conditions (delegates), which no serializer carries:
    /// this class alone lets messages go unserialized; every message of ours is checked by the other classes.</summary>
    private static readonly Config FaultyJournal = ConfigurationFactory.ParseString("""
        akka.actor.serialize-messages = off
        akka.persistence.journal.plugin = "akka.persistence.journal.test"
        akka.persistence.journal.test {
          class = "Akka.Persistence.TestKit.TestJournal, Akka.Persistence.TestKit"
          plugin-dispatcher = "akka.actor.default-dispatcher"
        }
        """).WithFallback(TestConfig);

    private TimeSpan Wait => Dilated(TimeSpan.FromSeconds(5));

    [Fact]
    public async Task A_tape_whose_journal_write_fails_stays_owed_in_the_pools_views_and_is_started_again_by_the_pool()
    {
        var engine = new Engine(this, Settings());
        var journal = TestJournal.FromRef(Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null));
        engine.Dismount(Pool1, "F00001");
        var first = engine.Transport.Next(Wait);

        // The attempt's end cannot be journaled: the tape's actor stops.
        await journal.OnWrite.FailIf(p => p.PersistenceId == TapeCopyActor.PersistenceIdFor(Pool1, Volser.Parse("F00001")));
        await EventFilter.Warning(contains: "tape F00001 stopped unexpectedly")
            .ExpectOneAsync(() => first.Outcome.SetResult(new TransferOutcome.Failed("connection reset")));

        // Meanwhile the copy is owed all the same, and shown so.
        var summary = await engine.Pool(Pool1).Ask<PoolSummary>(new GetPoolSummary(Pool1), Wait);
        Assert.Equal(1, summary.Owed);
        var listed = await engine.Pool(Pool1).Ask<PoolTapes>(new GetPoolTapes(Pool1, null, null), Wait);
        Assert.Equal("F00001", Assert.Single(listed.Tapes).Volser);

        // The journal back, the pool starts the tape again after its back-off: it recovers the attempt it never saw end,
        // and the copy is tried again.
        await journal.OnWrite.Pass();
        engine.Scheduler.Advance(TimeSpan.FromSeconds(5));
        var again = engine.Transport.Next(Wait);
        Assert.Equal("F00001", again.Request.Volser.Value);
        again.Outcome.SetResult(new TransferOutcome.Failed("connection refused"));
        await AwaitAssertAsync(() => Assert.Equal(CopyPhase.WaitingToRetry, engine.Status(Pool1, "F00001").Phase), Wait);
    }
}
